// Q6_K (GGML super-block of 256: 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16
// signed 8-bit scales, f16 d; 210 bytes, not word-aligned). In each half of 128 weights
// (ql + 64 * half, qh + 32 * half, scales + 8 * half), for l in 0..32:
//   weight l      = low nibble of ql[l]      | qh[l] bits 0-1 << 4
//   weight l + 32 = low nibble of ql[l + 32] | qh[l] bits 2-3 << 4
//   weight l + 64 = high nibble of ql[l]     | qh[l] bits 4-5 << 4
//   weight l + 96 = high nibble of ql[l + 32]| qh[l] bits 6-7 << 4
// each minus 32, times d * scale[l / 16 + 2 * quarter].
// GPU layout: 52 words per super-block (ql, qh, scales: 208 bytes, word-aligned); then the d
// of every super-block, two per word.
@group(0) @binding(0) var<storage, read> W: array<u32>;

fn load8(r: u32, g: u32) -> array<vec4<H>, 2> {
    let sb = r * (P.w_cols / 256u) + g / 32u;
    let col = (g % 32u) * 8u;
    let half = col / 128u;
    let quarter = (col % 128u) / 32u;
    let l0 = col % 32u;
    let base = sb * 52u;
    let ql = base + (64u * half + 32u * (quarter & 1u) + l0) / 4u;
    let qh = base + 32u + (32u * half + l0) / 4u;
    let ql_shift = (quarter >> 1u) * 4u;
    let qh_shift = vec4<u32>(0u, 8u, 16u, 24u) + vec4<u32>(2u * quarter);
    let si = 8u * half + l0 / 16u + 2u * quarter;
    let scale = (bitcast<i32>(W[base + 48u + si / 4u]) << (24u - 8u * (si % 4u))) >> 24u;
    let d = H(f16_at(P.w_soff, sb) * f32(scale));
    let q0 = vec4<i32>(nib4(W[ql], ql_shift) | (((vec4<u32>(W[qh]) >> qh_shift) & vec4<u32>(3u)) << vec4<u32>(4u))) - vec4<i32>(32);
    let q1 = vec4<i32>(nib4(W[ql + 1u], ql_shift) | (((vec4<u32>(W[qh + 1u]) >> qh_shift) & vec4<u32>(3u)) << vec4<u32>(4u))) - vec4<i32>(32);
    return array<vec4<H>, 2>(vec4<H>(q0) * d, vec4<H>(q1) * d);
}
