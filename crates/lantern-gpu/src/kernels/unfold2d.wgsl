// im2col, one thread per output value: row p of Y holds, for every kernel cell (ky, kx) in
// row-major order, the `channels` values of the pixel that cell sees (zeros in padding), and
// then zeros up to `out_cols` (so that the dense kernels' rows are a multiple of 8 wide).
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(lid, wid, nwg);
    if (i >= P.out_h * P.out_w * P.out_cols) {
        return;
    }
    let p = i / P.out_cols;
    let r = i % P.out_cols;
    var y = 0.0;
    if (r < P.kernel_h * P.kernel_w * P.channels) {
        let cell = r / P.channels;
        let c = r % P.channels;
        let src = source_pixel(p, cell / P.kernel_w, cell % P.kernel_w);
        if (src >= 0) {
            y = X[u32(src) * P.channels + c];
        }
    }
    Y[i] = y;
}
