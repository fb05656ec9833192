// The mean of every column of X [rows, cols], one workgroup per column: each thread sums a
// strided share of the rows, then a tree reduction adds the 256 partial sums (a pairwise-like
// order, which keeps f32's error small on a detector's thousands of rows).
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
    let col = wid.x + wid.y * nwg.x;
    if (col >= P.cols) {
        return;
    }
    var s = 0.0;
    for (var r = lid; r < P.rows; r += 256u) {
        s += X[r * P.cols + col];
    }
    let total = reduce_sum(lid, s);
    if (lid == 0u) {
        Y[col] = total / f32(P.rows);
    }
}
