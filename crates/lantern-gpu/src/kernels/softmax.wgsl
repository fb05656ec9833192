// Softmax of every row, one workgroup per row, in f32 with the row maximum subtracted.
struct Params {
    rows: u32,
    cols: u32,
    pad0: u32,
    pad1: u32,
}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= P.rows) {
        return;
    }
    let base = row * P.cols;
    var m = -3.0e38;
    for (var c = lid; c < P.cols; c += 256u) {
        m = max(m, X[base + c]);
    }
    let mx = reduce_max(lid, m);
    var s = 0.0;
    for (var c = lid; c < P.cols; c += 256u) {
        s += exp(X[base + c] - mx);
    }
    let inv = 1.0 / reduce_sum(lid, s);
    for (var c = lid; c < P.cols; c += 256u) {
        Y[base + c] = exp(X[base + c] - mx) * inv;
    }
}
