// Q8_0 (GGML block of 32: f16 scale d, 32 signed bytes; weight = byte * d).
// GPU layout: the 8 words of bytes of every block; then the scales, two per word.
@group(0) @binding(0) var<storage, read> W: array<u32>;

fn load8(r: u32, g: u32) -> array<vec4<H>, 2> {
    let b = r * (P.w_cols / 32u) + g / 4u;
    let q = b * 8u + 2u * (g % 4u);
    let d = H(f16_at(P.w_soff, b));
    return array<vec4<H>, 2>(vec4<H>(sbyte4(W[q])) * d, vec4<H>(sbyte4(W[q + 1u])) * d);
}
