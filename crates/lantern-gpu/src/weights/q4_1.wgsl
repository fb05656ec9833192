// Q4_1 (GGML block of 32: f16 scale d, f16 minimum m, 16 bytes of nibbles laid out as Q4_0;
// weight = nibble * d + m).
// GPU layout: the 4 nibble words of every block; then one word (d, m) per block.
@group(0) @binding(0) var<storage, read> W: array<u32>;

fn load8(r: u32, g: u32) -> array<vec4<H>, 2> {
    let b = r * (P.w_cols / 32u) + g / 4u;
    let p = g % 4u;
    let q = b * 4u + 2u * (p & 1u);
    let shift = (p >> 1u) * 4u;
    let dm = unpack2x16float(W[P.w_soff + b]);
    let d = H(dm.x);
    let m = H(dm.y);
    let lo = vec4<H>(nib4(W[q], shift)) * d + m;
    let hi = vec4<H>(nib4(W[q + 1u], shift)) * d + m;
    return array<vec4<H>, 2>(lo, hi);
}
