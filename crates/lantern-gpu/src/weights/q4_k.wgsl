// Q4_K (GGML super-block of 256: f16 d, f16 dmin, 12 bytes packing eight 6-bit scales and eight
// 6-bit minimums, 128 bytes of nibbles). Each 64 weights j*64 .. j*64 + 63 use bytes
// 32j .. 32j + 31: the first 32 the low nibbles (sub-block 2j), the next 32 the high nibbles
// (sub-block 2j + 1); weight = d * scale * nibble - dmin * min.
// GPU layout: GGML's own (144 bytes, already word-aligned): word 0 (d, dmin), words 1-3 the
// packed scales, words 4-35 the nibbles.
@group(0) @binding(0) var<storage, read> W: array<u32>;

fn kbyte(base: u32, k: u32) -> u32 {
    return (W[base + 1u + k / 4u] >> (8u * (k % 4u))) & 255u;
}

fn load8(r: u32, g: u32) -> array<vec4<H>, 2> {
    let sb = r * (P.w_cols / 256u) + g / 32u;
    let col = (g % 32u) * 8u;
    let j = col / 64u;
    let high = (col % 64u) / 32u;
    let l0 = col % 32u;
    let base = sb * 36u;
    let dd = unpack2x16float(W[base]);
    // The 6-bit scale and minimum of sub-block `s` (llama.cpp's get_scale_min_k4).
    let s = 2u * j + high;
    var sc: u32;
    var mn: u32;
    if (s < 4u) {
        sc = kbyte(base, s) & 63u;
        mn = kbyte(base, s + 4u) & 63u;
    } else {
        sc = (kbyte(base, s + 4u) & 15u) | ((kbyte(base, s - 4u) >> 6u) << 4u);
        mn = (kbyte(base, s + 4u) >> 4u) | ((kbyte(base, s) >> 6u) << 4u);
    }
    let d = H(dd.x * f32(sc));
    let m = H(dd.y * f32(mn));
    let q = base + 4u + 8u * j + l0 / 4u;
    let shift = high * 4u;
    let lo = vec4<H>(nib4(W[q], shift)) * d - m;
    let hi = vec4<H>(nib4(W[q + 1u], shift)) * d - m;
    return array<vec4<H>, 2>(lo, hi);
}
