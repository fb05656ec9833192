// f32 weights, row-major, as GGUF stores them.
@group(0) @binding(0) var<storage, read> W: array<vec4<f32>>;

fn load8(r: u32, g: u32) -> array<vec4<H>, 2> {
    let i = (r * P.w_cols) / 4u + 2u * g;
    return array<vec4<H>, 2>(vec4<H>(W[i]), vec4<H>(W[i + 1u]));
}
