// Y[t, w_row0 + r] = sum over c of W[r, c] * X[t, c] for many tokens (prefill): tiles of
// 64 rows x 32 tokens, 32 columns at a time. Each tile of weights is dequantized once into
// workgroup memory and used by all 32 tokens, so the weights are read once per 32 tokens
// instead of once per token. Each thread computes 4 rows x 2 tokens. Needs w_cols % 32 == 0.
struct Params {
    w_cols: u32,
    w_soff: u32,
    w_rows: u32,
    w_row0: u32,
    tokens: u32,
    y_cols: u32,
    row_tiles: u32,
    token_tiles: u32,
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

const BM: u32 = 64u;
const BN: u32 = 32u;
// One row of a tile: 32 columns as 8 vec4.
const KV: u32 = 8u;
var<workgroup> wt: array<vec4<H>, 512>;
var<workgroup> xt: array<vec4<H>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let wg = wid.x + wid.y * nwg.x;
    if (wg >= P.row_tiles * P.token_tiles) {
        return;
    }
    let r0 = (wg % P.row_tiles) * BM;
    let t0 = (wg / P.row_tiles) * BN;
    // Compute role: rows tr + 16 * i (i < 4), tokens 2 * tt + j (j < 2).
    let tr = lid % 16u;
    let tt = lid / 16u;
    // Load roles: weight row lr, eight columns lg; token xr, four columns xq.
    let lr = lid / 4u;
    let lg = lid % 4u;
    let xr = lid / 8u;
    let xq = lid % 8u;
    var acc: array<f32, 8>;
    for (var i = 0u; i < 8u; i++) {
        acc[i] = 0.0;
    }
    for (var k0 = 0u; k0 < P.w_cols; k0 += 32u) {
        var w = array<vec4<H>, 2>(vec4<H>(H(0.0)), vec4<H>(H(0.0)));
        if (r0 + lr < P.w_rows) {
            w = load8(r0 + lr, k0 / 8u + lg);
        }
        wt[lr * KV + 2u * lg] = w[0];
        wt[lr * KV + 2u * lg + 1u] = w[1];
        var xv = vec4<f32>(0.0);
        if (t0 + xr < P.tokens) {
            xv = X[((t0 + xr) * P.w_cols + k0) / 4u + xq];
        }
        xt[xr * KV + xq] = vec4<H>(xv);
        workgroupBarrier();
        for (var k = 0u; k < KV; k++) {
            let x0 = xt[(2u * tt) * KV + k];
            let x1 = xt[(2u * tt + 1u) * KV + k];
            for (var i = 0u; i < 4u; i++) {
                let wv = wt[(tr + 16u * i) * KV + k];
                acc[2u * i] += f32(dot(wv, x0));
                acc[2u * i + 1u] += f32(dot(wv, x1));
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let r = r0 + tr + 16u * i;
        for (var j = 0u; j < 2u; j++) {
            let t = t0 + 2u * tt + j;
            if (r < P.w_rows && t < P.tokens) {
                Y[t * P.y_cols + P.w_row0 + r] = biased(acc[2u * i + j], P.w_row0 + r);
            }
        }
    }
}
