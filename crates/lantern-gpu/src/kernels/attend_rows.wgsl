// attend.wgsl's attention for many query rows (an encoder's self-attention): one thread per
// query row, 64 rows of one item and head per workgroup, the keys and values visited in tiles
// of 8 that the workgroup loads once into shared memory. Every key is read from global memory
// once per 64 rows instead of once per row, and a tile costs two barriers instead of the ~15 of
// attend.wgsl's per-row reductions: Whisper's 1500 x 1500 encoder attention went from most of
// a minute to seconds on a software adapter. Online softmax per row, rescaled once per tile.
// head_dim <= 128 (a multiple of 4); same bindings and semantics as attend.wgsl (padding keys
// get exactly zero weight, query rows past VALID[batch + b] come out zero; the same HAS_BIAS).
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
@group(0) @binding(0) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> K: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> V: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> VALID: array<u32>;
@group(0) @binding(4) var<storage, read_write> O: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> BIAS: array<f32>;
@group(0) @binding(6) var<uniform> P: Params;

const R: u32 = 64u;
const TK: u32 = 8u;
const D4: u32 = 32u;
var<workgroup> kt: array<vec4<f32>, 256>;
var<workgroup> vt: array<vec4<f32>, 256>;
var<workgroup> keys_w: u32;
var<workgroup> rows_w: u32;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let wg = wid.x + wid.y * nwg.x;
    let blocks = (P.q_len + R - 1u) / R;
    if (wg >= P.batch * P.heads * blocks) {
        return;
    }
    let h = wg % P.heads;
    let rest = wg / P.heads;
    let b = rest / blocks;
    let i = (rest % blocks) * R + lid;
    if (lid == 0u) {
        keys_w = min(VALID[b], P.kv_len);
        rows_w = min(VALID[P.batch + b], P.q_len);
    }
    let keys = workgroupUniformLoad(&keys_w);
    let rows = workgroupUniformLoad(&rows_w);
    let hd4 = P.head_dim / 4u;
    let width4 = P.heads * hd4;
    let live = i < rows && keys > 0u;
    let ob = (b * P.q_len + i) * width4 + h * hd4;
    var q: array<vec4<f32>, 32>;
    var acc: array<vec4<f32>, 32>;
    if (live) {
        for (var k = 0u; k < hd4; k++) {
            q[k] = Q[ob + k];
        }
    }
    let kv0 = b * P.kv_len;
    // Read only for live rows (i < q_len).
    let bias_row = (h * P.q_len + i) * P.kv_len;
    var m = -3.0e38;
    var l = 0.0;
    var s: array<f32, 8>;
    for (var t0 = 0u; t0 < keys; t0 += TK) {
        for (var e = lid; e < TK * hd4; e += R) {
            let j = e / hd4;
            let k = e % hd4;
            if (t0 + j < keys) {
                let at = (kv0 + t0 + j) * width4 + h * hd4 + k;
                kt[j * D4 + k] = K[at];
                vt[j * D4 + k] = V[at];
            }
        }
        workgroupBarrier();
        if (live) {
            let count = min(TK, keys - t0);
            var m_new = m;
            for (var j = 0u; j < count; j++) {
                var d = 0.0;
                for (var k = 0u; k < hd4; k++) {
                    d += dot(q[k], kt[j * D4 + k]);
                }
                s[j] = d * P.scale;
                if (HAS_BIAS != 0u) {
                    s[j] += BIAS[bias_row + t0 + j];
                }
                m_new = max(m_new, s[j]);
            }
            let corr = exp(m - m_new);
            l *= corr;
            for (var k = 0u; k < hd4; k++) {
                acc[k] *= corr;
            }
            for (var j = 0u; j < count; j++) {
                let p = exp(s[j] - m_new);
                l += p;
                for (var k = 0u; k < hd4; k++) {
                    acc[k] += p * vt[j * D4 + k];
                }
            }
            m = m_new;
        }
        // The tile is rewritten by the next one.
        workgroupBarrier();
    }
    if (i < P.q_len) {
        for (var k = 0u; k < hd4; k++) {
            if (live) {
                O[ob + k] = acc[k] / l;
            } else {
                O[ob + k] = vec4<f32>(0.0);
            }
        }
    }
}
