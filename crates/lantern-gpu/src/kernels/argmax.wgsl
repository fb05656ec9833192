// The index of the largest value of every row (the first one on ties, NaN never wins; a row of
// NaN gives 0xffffffff). One workgroup per row.
struct Params {
    rows: u32,
    cols: u32,
    pad0: u32,
    pad1: u32,
}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> IDS: array<u32>;
@group(0) @binding(2) var<uniform> P: Params;

var<workgroup> bv: array<f32, 256>;
var<workgroup> bi: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= P.rows) {
        return;
    }
    let base = row * P.cols;
    // -f32::MAX, written as bits: WGSL compilers disagree on rounding decimal literals near it.
    var best = bitcast<f32>(0xff7fffffu);
    var idx = 0xffffffffu;
    for (var c = lid; c < P.cols; c += 256u) {
        let v = X[base + c];
        if (v > best || (idx == 0xffffffffu && v == best)) {
            best = v;
            idx = c;
        }
    }
    bv[lid] = best;
    bi[lid] = idx;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (lid < s) {
            let ov = bv[lid + s];
            let oi = bi[lid + s];
            if (oi != 0xffffffffu && (bi[lid] == 0xffffffffu || ov > bv[lid] || (ov == bv[lid] && oi < bi[lid]))) {
                bv[lid] = ov;
                bi[lid] = oi;
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        IDS[row] = bi[0];
    }
}
