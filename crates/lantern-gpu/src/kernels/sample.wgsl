// Sampling one token per row from logits, with temperature, top-k and top-p, given a uniform
// random number u in [0, 1) from the host (the host keeps the seeded generator). One workgroup
// per row. The kept set and the draw:
//   1. top-k: keep the values >= the k-th largest (ties at the boundary are all kept); the
//      threshold is found exactly by a radix search over the order-preserving u32 keys of the
//      f32 values (32 counting passes, no sort);
//   2. p_i = exp((x_i - max) / temperature) over the kept values;
//   3. top-p: keep the largest p_i whose sum reaches top_p of the total (again a radix search,
//      over the bits of p_i, which order like the values since p_i >= 0);
//   4. walk the kept p_i in index order and take the first index where the running sum
//      exceeds u * total (a prefix sum over 256 contiguous chunks, then one chunk's walk).
// The draw follows the same distribution as a CPU sampler that sorts, but not the same index
// for the same u: a CPU reference must walk in index order to match it exactly.
struct Params {
    rows: u32,
    cols: u32,
    top_k: u32,
    top_p: f32,
    inv_temp: f32,
    u: f32,
    pad0: u32,
    pad1: u32,
}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> IDS: array<u32>;
@group(0) @binding(2) var<uniform> P: Params;

var<workgroup> cnt: array<u32, 256>;
var<workgroup> chosen: atomic<u32>;

// f32 bits -> u32 that orders like the floats.
fn key(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn reduce_count(lid: u32, v: u32) -> u32 {
    cnt[lid] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            cnt[lid] += cnt[lid + s];
        }
        workgroupBarrier();
    }
    let r = cnt[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= P.rows) {
        return;
    }
    let base = row * P.cols;
    let n = P.cols;

    // The maximum (every kept probability is relative to it).
    var m = bitcast<f32>(0xff7fffffu);
    for (var c = lid; c < n; c += 256u) {
        m = max(m, X[base + c]);
    }
    let mx = reduce_max(lid, m);

    // 1. top-k threshold on the keys of the values.
    var kmin = 0u;
    if (P.top_k > 0u && P.top_k < n) {
        for (var bit = 31i; bit >= 0i; bit--) {
            let cand = kmin | (1u << u32(bit));
            var c = 0u;
            for (var i = lid; i < n; i += 256u) {
                c += select(0u, 1u, key(X[base + i]) >= cand);
            }
            if (reduce_count(lid, c) >= P.top_k) {
                kmin = cand;
            }
        }
    }

    // 2. probabilities of the kept values, and their total.
    var z = 0.0;
    for (var i = lid; i < n; i += 256u) {
        let x = X[base + i];
        if (key(x) >= kmin) {
            z += exp((x - mx) * P.inv_temp);
        }
    }
    let total = reduce_sum(lid, z);

    // 3. top-p threshold on the bits of the probabilities.
    var pmin = 0u;
    if (P.top_p > 0.0 && P.top_p < 1.0) {
        let need = P.top_p * total;
        for (var bit = 31i; bit >= 0i; bit--) {
            let cand = pmin | (1u << u32(bit));
            var mass = 0.0;
            for (var i = lid; i < n; i += 256u) {
                let x = X[base + i];
                let p = exp((x - mx) * P.inv_temp);
                if (key(x) >= kmin && bitcast<u32>(p) >= cand) {
                    mass += p;
                }
            }
            if (reduce_sum(lid, mass) >= need) {
                pmin = cand;
            }
        }
    }

    // 4. the draw: chunk sums, their inclusive prefix sum, then the walk in the right chunk.
    let chunk = (n + 255u) / 256u;
    let lo = min(n, lid * chunk);
    let hi = min(n, lo + chunk);
    var local = 0.0;
    for (var i = lo; i < hi; i++) {
        let x = X[base + i];
        let p = exp((x - mx) * P.inv_temp);
        if (key(x) >= kmin && bitcast<u32>(p) >= pmin) {
            local += p;
        }
    }
    red[lid] = local;
    workgroupBarrier();
    for (var off = 1u; off < 256u; off <<= 1u) {
        var v = red[lid];
        if (lid >= off) {
            v += red[lid - off];
        }
        workgroupBarrier();
        red[lid] = v;
        workgroupBarrier();
    }
    let incl = red[lid];
    let excl = incl - local;
    let kept_total = red[255];
    if (lid == 0u) {
        atomicStore(&chosen, 0xffffffffu);
    }
    workgroupBarrier();
    let goal = P.u * kept_total;
    if (local > 0.0 && goal >= excl && goal < incl) {
        var run = excl;
        var pick = 0xffffffffu;
        for (var i = lo; i < hi; i++) {
            let x = X[base + i];
            let p = exp((x - mx) * P.inv_temp);
            if (key(x) >= kmin && bitcast<u32>(p) >= pmin) {
                pick = i;
                run += p;
                if (run > goal) {
                    break;
                }
            }
        }
        atomicMin(&chosen, pick);
    }
    // If rounding put u * total past every chunk, the last kept index is the draw. Computed by
    // everyone (a branch on `chosen` would put the barriers below in non-uniform control flow).
    var last = 0u;
    for (var i = lid; i < n; i += 256u) {
        let x = X[base + i];
        let p = exp((x - mx) * P.inv_temp);
        if (key(x) >= kmin && bitcast<u32>(p) >= pmin) {
            last = max(last, i);
        }
    }
    cnt[lid] = last;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            cnt[lid] = max(cnt[lid], cnt[lid + s]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let id = atomicLoad(&chosen);
        IDS[row] = select(id, cnt[0], id == 0xffffffffu);
    }
}
