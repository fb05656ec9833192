// Scaled dot-product attention over the KV cache, one workgroup of 64 threads per (query row,
// head). Keys are visited in tiles of 64 positions (one per thread); the softmax is computed
// online (running maximum m and sum l, earlier partial results rescaled by exp(m_old - m_new)),
// so any context length works with fixed workgroup memory. Thread d owns output dimensions
// d, d + 64, ... (head_dim <= 256). Grouped KV heads: head h reads KV head h / (heads / kv_heads).
// With HAS_BIAS (T5's relative positions), BIAS[(h * n + i) * (start_pos + n) + t] is added to
// the scaled score of query row i, head h, key position t (future positions' columns are never
// read: causality is the loop's bound); without it BIAS is a dummy binding never read, and the
// branch is compiled out.
override HAS_BIAS: u32 = 0u;
struct Params {
    n: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    start_pos: u32,
    causal: u32,
    scale: f32,
    pad: u32,
}
@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> KC: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> VC: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<storage, read> BIAS: array<f32>;
@group(0) @binding(5) var<uniform> P: Params;

const T: u32 = 64u;
var<workgroup> qv: array<vec4<f32>, 64>;
var<workgroup> pv: array<f32, 64>;
var<workgroup> red: array<f32, 64>;

fn tile_reduce(lid: u32, v: f32, is_max: bool) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = T / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            if (is_max) {
                red[lid] = max(red[lid], red[lid + s]);
            } else {
                red[lid] += red[lid + s];
            }
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let wg = wid.x + wid.y * nwg.x;
    if (wg >= P.n * P.heads) {
        return;
    }
    let i = wg / P.heads;
    let h = wg % P.heads;
    let hd = P.head_dim;
    let hd4 = hd / 4u;
    let kvh = h / (P.heads / P.kv_heads);
    let width = P.kv_heads * hd;
    let qb = i * P.heads * hd + h * hd;
    if (lid < hd4) {
        let q = qb + 4u * lid;
        qv[lid] = vec4<f32>(Q[q], Q[q + 1u], Q[q + 2u], Q[q + 3u]);
    }
    workgroupBarrier();
    let total = P.start_pos + P.n;
    let bias_row = (h * P.n + i) * total;
    var visible = total;
    if (P.causal != 0u) {
        visible = P.start_pos + i + 1u;
    }
    var m = -3.0e38;
    var l = 0.0;
    var acc: array<f32, 4>;
    for (var t0 = 0u; t0 < visible; t0 += T) {
        let t = t0 + lid;
        var s = -3.0e38;
        if (t < visible) {
            let kb = (t * width + kvh * hd) / 4u;
            var d = 0.0;
            for (var k = 0u; k < hd4; k++) {
                d += dot(qv[k], KC[kb + k]);
            }
            s = d * P.scale;
            if (HAS_BIAS != 0u) {
                s += BIAS[bias_row + t];
            }
        }
        let m_new = max(m, tile_reduce(lid, s, true));
        var p = 0.0;
        if (t < visible) {
            p = exp(s - m_new);
        }
        pv[lid] = p;
        let corr = exp(m - m_new);
        l = l * corr + tile_reduce(lid, p, false);
        let count = min(T, visible - t0);
        for (var k = 0u; k < 4u; k++) {
            let d = lid + k * T;
            if (d < hd) {
                var a = acc[k] * corr;
                for (var j = 0u; j < count; j++) {
                    a += pv[j] * VC[(t0 + j) * width + kvh * hd + d];
                }
                acc[k] = a;
            }
        }
        m = m_new;
        // pv is rewritten by the next tile.
        workgroupBarrier();
    }
    for (var k = 0u; k < 4u; k++) {
        let d = lid + k * T;
        if (d < hd) {
            O[qb + d] = acc[k] / l;
        }
    }
}
