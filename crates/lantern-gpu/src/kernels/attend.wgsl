// Non-causal scaled dot-product attention over a padded batch: encoder self-attention, and
// cross-attention of query rows over a fixed memory. One workgroup of 64 threads per (item,
// query row, head). Item b's query rows are rows b * q_len .. of Q, its keys and values rows
// b * kv_len .. of K and V; only its first VALID[b] keys are attended to (the padding after them
// gets exactly zero weight), and its query rows from VALID[batch + b] on come out zero.
// Keys are visited in tiles of 64 positions (one per thread) with an online softmax (running
// maximum m and sum l, earlier partial results rescaled by exp(m_old - m_new)), as in
// attention.wgsl. Thread d owns output dimensions d, d + 64, ... (head_dim <= 256).
// With HAS_BIAS (T5's relative positions), BIAS[(h * q_len + i) * kv_len + t] is added to the
// scaled score of query row i (within its item), head h, key t: one bias for every item, read
// for the real keys only, so padding keys still get zero weight. Without it, BIAS is a dummy
// binding never read, and the branch is compiled out.
override HAS_BIAS: u32 = 0u;
struct Params {
    batch: u32,
    q_len: u32,
    kv_len: u32,
    heads: u32,
    head_dim: u32,
    scale: f32,
    pad0: u32,
    pad1: u32,
}
@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read> VALID: array<u32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
@group(0) @binding(5) var<storage, read> BIAS: array<f32>;
@group(0) @binding(6) var<uniform> P: Params;

const T: u32 = 64u;
var<workgroup> qv: array<vec4<f32>, 64>;
var<workgroup> pv: array<f32, 64>;
var<workgroup> red: array<f32, 64>;
// The item's valid lengths, read by one thread and shared through workgroupUniformLoad: values
// read from a storage buffer are not uniform to the compiler, and the loop below has barriers.
var<workgroup> keys_w: u32;
var<workgroup> rows_w: u32;

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
    if (wg >= P.batch * P.q_len * P.heads) {
        return;
    }
    let h = wg % P.heads;
    let row = wg / P.heads;
    let b = row / P.q_len;
    let i = row % P.q_len;
    if (lid == 0u) {
        keys_w = min(VALID[b], P.kv_len);
        rows_w = min(VALID[P.batch + b], P.q_len);
    }
    let keys = workgroupUniformLoad(&keys_w);
    let rows = workgroupUniformLoad(&rows_w);
    let hd = P.head_dim;
    let width = P.heads * hd;
    let ob = row * width + h * hd;
    if (i >= rows || keys == 0u) {
        for (var d = lid; d < hd; d += T) {
            O[ob + d] = 0.0;
        }
        return;
    }
    let hd4 = hd / 4u;
    if (lid < hd4) {
        let q = ob + 4u * lid;
        qv[lid] = vec4<f32>(Q[q], Q[q + 1u], Q[q + 2u], Q[q + 3u]);
    }
    workgroupBarrier();
    let kv0 = b * P.kv_len;
    let bias_row = (h * P.q_len + i) * P.kv_len;
    var m = -3.0e38;
    var l = 0.0;
    var acc: array<f32, 4>;
    for (var t0 = 0u; t0 < keys; t0 += T) {
        let t = t0 + lid;
        var s = -3.0e38;
        if (t < keys) {
            let kb = ((kv0 + t) * width + h * hd) / 4u;
            var d = 0.0;
            for (var k = 0u; k < hd4; k++) {
                d += dot(qv[k], K[kb + k]);
            }
            s = d * P.scale;
            if (HAS_BIAS != 0u) {
                s += BIAS[bias_row + t];
            }
        }
        let m_new = max(m, tile_reduce(lid, s, true));
        var p = 0.0;
        if (t < keys) {
            p = exp(s - m_new);
        }
        pv[lid] = p;
        let corr = exp(m - m_new);
        l = l * corr + tile_reduce(lid, p, false);
        let count = min(T, keys - t0);
        for (var k = 0u; k < 4u; k++) {
            let d = lid + k * T;
            if (d < hd) {
                var a = acc[k] * corr;
                for (var j = 0u; j < count; j++) {
                    a += pv[j] * V[(kv0 + t0 + j) * width + h * hd + d];
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
            O[ob + d] = acc[k] / l;
        }
    }
}
