// Depthwise convolution plus bias, one thread per output value: the bias, then the kernel
// cells in row-major order (the CPU's order of the sum), padding contributing nothing.
// W is [kernel_h * kernel_w, channels].
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

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
    var acc = B[c];
    for (var ky = 0u; ky < P.kernel_h; ky++) {
        for (var kx = 0u; kx < P.kernel_w; kx++) {
            let src = source_pixel(p, ky, kx);
            if (src >= 0) {
                acc += W[(ky * P.kernel_w + kx) * P.channels + c] * X[u32(src) * P.channels + c];
            }
        }
    }
    Y[i] = acc;
}
