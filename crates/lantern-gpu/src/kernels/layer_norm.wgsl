// Y[row] = (X[row] - mean) / sqrt(var + eps) * G + B (B only when has_bias), one workgroup per
// row; the variance from a second pass over the centred values, as the CPU computes it.
struct Params {
    rows: u32,
    cols: u32,
    eps: f32,
    has_bias: u32,
}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= P.rows) {
        return;
    }
    let base = row * P.cols;
    let n = f32(P.cols);
    var s = 0.0;
    for (var c = lid; c < P.cols; c += 256u) {
        s += X[base + c];
    }
    let mean = reduce_sum(lid, s) / n;
    var v = 0.0;
    for (var c = lid; c < P.cols; c += 256u) {
        let d = X[base + c] - mean;
        v += d * d;
    }
    let inv = 1.0 / sqrt(reduce_sum(lid, v) / n + P.eps);
    for (var c = lid; c < P.cols; c += 256u) {
        var y = (X[base + c] - mean) * inv * G[c];
        if (P.has_bias != 0u) {
            y += B[c];
        }
        Y[base + c] = y;
    }
}
