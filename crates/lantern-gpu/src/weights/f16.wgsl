// f16 weights, row-major, as GGUF stores them; eight to a vec4<u32>.
@group(0) @binding(0) var<storage, read> W: array<vec4<u32>>;

fn load8(r: u32, g: u32) -> array<vec4<H>, 2> {
    let w = W[(r * P.w_cols) / 8u + g];
    let lo = vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
    let hi = vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w));
    return array<vec4<H>, 2>(vec4<H>(lo), vec4<H>(hi));
}
