// Q4_0 (GGML block of 32: f16 scale d, 16 bytes of nibbles; weight j is the low nibble of
// byte j, weight j + 16 the high nibble, both minus 8, times d).
// GPU layout: the 4 nibble words of every block, in order; then the scales, two per word.
@group(0) @binding(0) var<storage, read> W: array<u32>;

// Weights 8g .. 8g + 7 of row r of the part.
fn load8(r: u32, g: u32) -> array<vec4<H>, 2> {
    let b = r * (P.w_cols / 32u) + g / 4u;
    let p = g % 4u;
    // Parts 0, 1: low nibbles of bytes 0-7, 8-15; parts 2, 3: their high nibbles.
    let q = b * 4u + 2u * (p & 1u);
    let shift = (p >> 1u) * 4u;
    let d = H(f16_at(P.w_soff, b));
    let lo = (vec4<H>(nib4(W[q], shift)) - H(8.0)) * d;
    let hi = (vec4<H>(nib4(W[q + 1u], shift)) - H(8.0)) * d;
    return array<vec4<H>, 2>(lo, hi);
}
