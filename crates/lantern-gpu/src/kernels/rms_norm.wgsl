// Y[row] = X[row] / sqrt(mean(X[row]²) + eps) * G, one workgroup per row. A per-head norm is the
// same kernel over rows of one head.
struct Params {
    rows: u32,
    cols: u32,
    eps: f32,
    pad: u32,
}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= P.rows) {
        return;
    }
    let base = row * P.cols;
    var ss = 0.0;
    for (var c = lid; c < P.cols; c += 256u) {
        let v = X[base + c];
        ss += v * v;
    }
    let total = reduce_sum(lid, ss);
    let inv = 1.0 / sqrt(total / f32(P.cols) + P.eps);
    for (var c = lid; c < P.cols; c += 256u) {
        Y[base + c] = X[base + c] * inv * G[c];
    }
}
