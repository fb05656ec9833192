// Y[i, :] = W[ids[i], :] as f32, for the ids that fall in this weight part.
struct Params {
    w_cols: u32,
    w_soff: u32,
    w_rows: u32,
    w_row0: u32,
    n: u32,
    groups: u32,
    pad0: u32,
    pad1: u32,
}
@group(0) @binding(1) var<storage, read> IDS: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    if (i >= P.n * P.groups) {
        return;
    }
    let tok = i / P.groups;
    let g = i % P.groups;
    let id = IDS[tok];
    if (id >= P.w_row0 && id < P.w_row0 + P.w_rows) {
        let w = load8(id - P.w_row0, g);
        let o = (tok * P.w_cols) / 4u + 2u * g;
        Y[o] = vec4<f32>(w[0]);
        Y[o + 1u] = vec4<f32>(w[1]);
    }
}
