// Rotary position embedding, in place: for row i, every head, and rotated pair j < half,
//   (x[a], x[b]) <- (x[a] cos - x[b] sin, x[a] sin + x[b] cos)
// with (a, b) = (2j, 2j + 1) (llama.cpp's "normal" style) or (j, j + half) (NeoX style), and
// cos/sin from the table row pos0 + i. Dimensions from 2 * half on pass through.
struct Params {
    rows: u32,
    cols: u32,
    head_dim: u32,
    half: u32,
    neox: u32,
    pos0: u32,
    pad0: u32,
    pad1: u32,
}
@group(0) @binding(0) var<storage, read_write> X: array<f32>;
@group(0) @binding(1) var<storage, read> COS: array<f32>;
@group(0) @binding(2) var<storage, read> SIN: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    let heads = P.cols / P.head_dim;
    if (i >= P.rows * heads * P.half) {
        return;
    }
    let j = i % P.half;
    let rh = i / P.half;
    let h = rh % heads;
    let row = rh / heads;
    let base = row * P.cols + h * P.head_dim;
    var a = 2u * j;
    var b = 2u * j + 1u;
    if (P.neox != 0u) {
        a = j;
        b = j + P.half;
    }
    let t = (P.pos0 + row) * P.half + j;
    let c = COS[t];
    let s = SIN[t];
    let x0 = X[base + a];
    let x1 = X[base + b];
    X[base + a] = x0 * c - x1 * s;
    X[base + b] = x0 * s + x1 * c;
}
