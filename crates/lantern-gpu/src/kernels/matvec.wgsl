// Y[t, w_row0 + r] = sum over c of W[r, c] * X[t, c], for every row r of one weight part and
// every token t: the decode path (one to a few tokens), where reading the weights once per
// token is the whole cost. 32 threads share a row (eight weights per thread and step, so
// neighbouring threads read neighbouring words), 8 rows per workgroup.
struct Params {
    w_cols: u32,
    w_soff: u32,
    w_rows: u32,
    w_row0: u32,
    tokens: u32,
    y_cols: u32,
    row_groups: u32,
    pad: u32,
}
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
// The bias of row w_row0 + r, added to its outputs when HAS_BIAS is 1 (a linear layer); when it
// is 0 the binding holds X, never read.
@group(0) @binding(3) var<storage, read> BIAS: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;
override HAS_BIAS: u32 = 0u;

fn biased(v: f32, row: u32) -> f32 {
    if (HAS_BIAS != 0u) {
        return v + BIAS[row];
    }
    return v;
}

const TPR: u32 = 32u;
const RPW: u32 = 8u;
var<workgroup> sums: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let wg = wid.x + wid.y * nwg.x;
    if (wg >= P.row_groups * P.tokens) {
        return;
    }
    let t = wg / P.row_groups;
    let r = (wg % P.row_groups) * RPW + lid / TPR;
    let lane = lid % TPR;
    var acc = 0.0;
    if (r < P.w_rows) {
        let xb = t * (P.w_cols / 4u);
        let groups = P.w_cols / 8u;
        for (var g = lane; g < groups; g += TPR) {
            let w = load8(r, g);
            let xa = vec4<H>(X[xb + 2u * g]);
            let xc = vec4<H>(X[xb + 2u * g + 1u]);
            // Eight products summed in H, accumulated in f32.
            acc += f32(dot(w[0], xa) + dot(w[1], xc));
        }
    }
    sums[lid] = acc;
    workgroupBarrier();
    for (var s = TPR / 2u; s > 0u; s >>= 1u) {
        if (lane < s) {
            sums[lid] += sums[lid + s];
        }
        workgroupBarrier();
    }
    if (lane == 0u && r < P.w_rows) {
        Y[t * P.y_cols + P.w_row0 + r] = biased(sums[lid], P.w_row0 + r);
    }
}
