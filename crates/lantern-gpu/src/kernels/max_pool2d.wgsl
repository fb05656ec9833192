// Max pooling, one thread per output value. Padding cells are skipped, which is what padding
// with -inf does (PyTorch's MaxPool2d): a valid window always holds at least one pixel of the
// image, so the first pixel seen starts the maximum (WGSL has no infinite literal, and a
// bitcast one may be folded into a constant that compilers reject).
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(lid, wid, nwg);
    if (i >= P.out_h * P.out_w * P.channels) {
        return;
    }
    let p = i / P.channels;
    let c = i % P.channels;
    var best = 0.0;
    var seen = false;
    for (var ky = 0u; ky < P.kernel_h; ky++) {
        for (var kx = 0u; kx < P.kernel_w; kx++) {
            let src = source_pixel(p, ky, kx);
            if (src >= 0) {
                let v = X[u32(src) * P.channels + c];
                best = select(v, max(best, v), seen);
                seen = true;
            }
        }
    }
    Y[i] = best;
}
