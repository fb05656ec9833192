//! The kernels in wasm SIMD (simd128), one lane per row of a 4-row group. Each lane computes
//! exactly what [`super::portable`] computes for its row: the integer sums are exact (i16
//! partial sums cannot overflow: |q * x| <= 16 * 127 for the 4- and 5-bit types summed 4
//! times, |q8 * x| <= 128 * 127 summed twice, |q6 * x| <= 32 * 127 summed twice) and the
//! float work per block is the same sequence of IEEE operations.
#![allow(unsafe_code)]

use core::arch::wasm32::*;

use super::{GROUP, Kind, QActs, QK, TOKEN_TILE, portable};

/// 16 bytes at `b[at..]`. The slice index checks the bounds; the load itself is unaligned,
/// which wasm allows for every load.
#[inline(always)]
fn load(b: &[u8], at: usize) -> v128 {
    let s = &b[at..at + 16];
    // SAFETY: `s` is 16 readable bytes; v128_load has no alignment requirement.
    unsafe { v128_load(s.as_ptr().cast()) }
}

#[inline(always)]
fn load_i8(b: &[i8], at: usize) -> v128 {
    let s = &b[at..at + 16];
    // SAFETY: as in `load`.
    unsafe { v128_load(s.as_ptr().cast()) }
}

/// Four f16 scales at `b[at..at + 8]` as f32x4, bit-identical to `math::f16_to_f32`: the
/// sign-extended f16 shifted so that its exponent and mantissa sit where f32's do (one sign
/// copy lands on bit 31, the others are masked off), then scaled by 2^112 as there (the sign
/// rides along: IEEE multiplication is exact in magnitude either way).
#[inline(always)]
fn f16x4(b: &[u8], at: usize) -> v128 {
    let s = &b[at..at + 8];
    // SAFETY: `s` is 8 readable bytes; v128_load64_zero reads exactly 8, unaligned.
    let h = i32x4_extend_low_i16x8(unsafe { v128_load64_zero(s.as_ptr().cast()) });
    f32x4_mul(
        v128_and(i32x4_shl(h, 13), u32x4_splat(0x8fff_e000)),
        f32x4_splat(f32::from_bits(0x7780_0000)),
    )
}

/// Horizontal sums of four i32x4 vectors, as one vector `[Σa, Σb, Σc, Σd]`.
#[inline(always)]
fn hsum4(a: v128, b: v128, c: v128, d: v128) -> v128 {
    let ab = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let cd = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    i32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(ab, cd),
        i32x4_shuffle::<2, 3, 6, 7>(ab, cd),
    )
}

/// Partial sums (4 lanes) of lo * x0 + hi * x1 for 4-bit (or small signed) quants.
#[inline(always)]
fn dot_small(lo: v128, hi: v128, x0: v128, x1: v128) -> v128 {
    let p = i16x8_add(
        i16x8_add(
            i16x8_extmul_low_i8x16(lo, x0),
            i16x8_extmul_high_i8x16(lo, x0),
        ),
        i16x8_add(
            i16x8_extmul_low_i8x16(hi, x1),
            i16x8_extmul_high_i8x16(hi, x1),
        ),
    );
    i32x4_extadd_pairwise_i16x8(p)
}

/// The quants of 4 rows of one block as i16 (elements 0..8, 8..16, 16..24, 24..32).
type Wide = [[v128; 4]; GROUP];

/// Σ w * x over 32 values held as i16 (`i32x4.dot_i16x8_s`: pairwise products, exact).
#[inline(always)]
fn dot_wide(w: &[v128; 4], x: &[v128; 4]) -> v128 {
    i32x4_add(
        i32x4_add(i32x4_dot_i16x8(w[0], x[0]), i32x4_dot_i16x8(w[1], x[1])),
        i32x4_add(i32x4_dot_i16x8(w[2], x[2]), i32x4_dot_i16x8(w[3], x[3])),
    )
}

/// Runs `$call` over tokens `0..$len` in tiles whose size `$n` is a constant (so a tile's
/// accumulators live in registers; a decode step is all 1-token tiles): 8 tokens at a time,
/// then 4, then one at a time, with `$t0` the tile's first token.
macro_rules! by_tiles {
    ($len:expr, |$n:ident, $t0:ident| $call:expr) => {{
        let len = $len;
        let mut $t0 = 0;
        while len - $t0 >= TOKEN_TILE {
            const $n: usize = TOKEN_TILE;
            $call;
            $t0 += $n;
        }
        while len - $t0 >= 4 {
            const $n: usize = 4;
            $call;
            $t0 += $n;
        }
        while $t0 < len {
            const $n: usize = 1;
            $call;
            $t0 += $n;
        }
    }};
}

/// The common loop of the 32-wide types: for each tile of tokens, for each block, the 4 rows'
/// quants are widened to i16 once and used by every token of the tile; the products are
/// summed by `i32x4.dot_i16x8_s` (one instruction on x86 and ARM, where the i8 `extmul`
/// pairs and `extadd` of [`dot_small`] are several: measured 22% less CPU time for a whole
/// Q4_1 benchmark run under Node). Unsigned quants carry their offset `OFFSET`, taken out
/// with the exact activation sums.
#[inline(always)]
fn group_wide<const BB: usize, const FIELDS: usize, const OFFSET: i32>(
    w: &[u8],
    a: &QActs,
    out: &mut [[f32; GROUP]],
    unpack: impl Fn(&[u8]) -> Wide + Copy,
) {
    let blocks = a.blocks;
    // Cannot fail on any file: `CpuMatrix::matmul_fast_many` hands whole 4-row groups of a
    // matrix whose shape was checked at load and activations quantized for its `cols`. Stated
    // once here so the compiler drops the bounds checks of every load in the loops below.
    assert!(
        w.len() >= blocks * GROUP * BB
            && a.qs.len() >= out.len() * a.cols
            && a.d.len() >= out.len() * blocks
            && a.s.len() >= out.len() * blocks
            && a.sums.len() >= out.len() * blocks
    );
    by_tiles!(out.len(), |N, t0| wide_tile::<BB, FIELDS, OFFSET, N>(
        w,
        a,
        t0,
        &mut out[t0..],
        unpack
    ));
}

/// Tokens `t0..t0 + N` into `out[..N]`.
#[inline(always)]
fn wide_tile<const BB: usize, const FIELDS: usize, const OFFSET: i32, const N: usize>(
    w: &[u8],
    a: &QActs,
    t0: usize,
    out: &mut [[f32; GROUP]],
    unpack: impl Fn(&[u8]) -> Wide,
) {
    let head = 2 * FIELDS * GROUP;
    let blocks = a.blocks;
    let mut acc = [f32x4_splat(0.0); N];
    let mut accm = [f32x4_splat(0.0); N];
    for b in 0..blocks {
        let c = &w[b * GROUP * BB..(b + 1) * GROUP * BB];
        let d4 = f16x4(c, 0);
        let m4 = if FIELDS == 2 {
            f16x4(c, 2 * GROUP)
        } else {
            f32x4_splat(0.0)
        };
        let q = unpack(&c[head..]);
        for i in 0..N {
            let t = t0 + i;
            let x0 = load_i8(&a.qs, t * a.cols + b * QK);
            let x1 = load_i8(&a.qs, t * a.cols + b * QK + 16);
            let x = [
                i16x8_extend_low_i8x16(x0),
                i16x8_extend_high_i8x16(x0),
                i16x8_extend_low_i8x16(x1),
                i16x8_extend_high_i8x16(x1),
            ];
            let k = t * blocks + b;
            let mut isum = hsum4(
                dot_wide(&q[0], &x),
                dot_wide(&q[1], &x),
                dot_wide(&q[2], &x),
                dot_wide(&q[3], &x),
            );
            if OFFSET != 0 {
                // Σ (u - o) x = Σ u x - o Σ x, exactly.
                isum = i32x4_sub(isum, i32x4_splat(OFFSET * a.sums[k]));
            }
            let scale = f32x4_mul(d4, f32x4_splat(a.d[k]));
            acc[i] = f32x4_add(acc[i], f32x4_mul(f32x4_convert_i32x4(isum), scale));
            if FIELDS == 2 {
                accm[i] = f32x4_add(accm[i], f32x4_mul(m4, f32x4_splat(a.s[k])));
            }
        }
    }
    for (i, o) in out.iter_mut().enumerate().take(N) {
        *o = lanes(f32x4_add(acc[i], accm[i]));
    }
}

/// 4-bit quants (16 bytes per row: low nibbles are elements 0..16, high ones 16..32) as i16,
/// unsigned.
#[inline(always)]
fn nibbles_wide(q: &[u8]) -> Wide {
    let mask = u16x8_splat(15);
    let mut out = [[u16x8_splat(0); 4]; GROUP];
    for (r, o) in out.iter_mut().enumerate() {
        let v = load(q, 16 * r);
        let (l, h) = (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v));
        *o = [
            v128_and(l, mask),
            v128_and(h, mask),
            u16x8_shr(l, 4),
            u16x8_shr(h, 4),
        ];
    }
    out
}

/// Q8_0's signed quants (32 bytes per row) as i16.
#[inline(always)]
fn q8_wide(q: &[u8]) -> Wide {
    let mut out = [[u16x8_splat(0); 4]; GROUP];
    for (r, o) in out.iter_mut().enumerate() {
        let (v0, v1) = (load(q, 32 * r), load(q, 32 * r + 16));
        *o = [
            i16x8_extend_low_i8x16(v0),
            i16x8_extend_high_i8x16(v0),
            i16x8_extend_low_i8x16(v1),
            i16x8_extend_high_i8x16(v1),
        ];
    }
    out
}

/// Q5_0 as unsigned 5-bit values (`nibble | bit << 4`, offset 16) in i16: per row
/// `[qh: u32 LE][qs: 16 bytes]`, value k is `nibble_k | (bit k of qh) << 4`. The fifth bits
/// are merged into the bytes before widening: each byte of `qh` is spread over the 8 lanes
/// it serves (a constant shuffle), the lane's bit is tested (and + eq) and becomes 16. Per row
/// that is ~17 operations against ~24 for doing it per 16-bit lane after widening.
#[inline(always)]
fn q5_0_wide(q: &[u8]) -> Wide {
    let nibble = u8x16_splat(15);
    let sixteen = u8x16_splat(16);
    let bits = u8x16(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    let fifth = |sel: v128| v128_and(i8x16_eq(v128_and(sel, bits), bits), sixteen);
    let mut out = [[u16x8_splat(0); 4]; GROUP];
    for (r, o) in out.iter_mut().enumerate() {
        let at = 20 * r;
        let qh = &q[at..at + 4];
        let h = u32x4_splat(u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]));
        let lo_sel = i8x16_shuffle::<0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1>(h, h);
        let hi_sel = i8x16_shuffle::<2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3>(h, h);
        let v = load(q, at + 4);
        let lo = v128_or(v128_and(v, nibble), fifth(lo_sel));
        let hi = v128_or(u8x16_shr(v, 4), fifth(hi_sel));
        *o = [
            u16x8_extend_low_u8x16(lo),
            u16x8_extend_high_u8x16(lo),
            u16x8_extend_low_u8x16(hi),
            u16x8_extend_high_u8x16(hi),
        ];
    }
    out
}

/// One 4-row group.
pub fn group(kind: Kind, w: &[u8], a: &QActs, out: &mut [[f32; GROUP]]) {
    match kind {
        Kind::Q4_0 => group_wide::<18, 1, 8>(w, a, out, nibbles_wide),
        Kind::Q4_1 => group_wide::<20, 2, 0>(w, a, out, nibbles_wide),
        Kind::Q5_0 => group_wide::<22, 1, 16>(w, a, out, q5_0_wide),
        Kind::Q8_0 => group_wide::<34, 1, 0>(w, a, out, q8_wide),
        Kind::Q4K => group_q4k(w, a, out),
        Kind::Q6K => group_q6k(w, a, out),
    }
}

fn lanes(v: v128) -> [f32; GROUP] {
    [
        f32x4_extract_lane::<0>(v),
        f32x4_extract_lane::<1>(v),
        f32x4_extract_lane::<2>(v),
        f32x4_extract_lane::<3>(v),
    ]
}

/// Q4_K (layout in `x86.rs`'s `group_q4k`): sub-block `j` is a Q4_1-like block with scale
/// `d * sc_j` and min `dmin * m_j`.
fn group_q4k(w: &[u8], a: &QActs, out: &mut [[f32; GROUP]]) {
    const BB: usize = 144;
    let blocks = a.blocks;
    let nb = a.cols / 256;
    // Cannot fail on any file: `CpuMatrix::matmul_fast_many` hands whole 4-row groups of a
    // matrix whose shape was checked at load and activations quantized for its `cols`. Stated
    // once here so the compiler drops the bounds checks of every load in the loops below.
    assert!(
        w.len() >= nb * GROUP * BB
            && a.qs.len() >= out.len() * a.cols
            && a.d.len() >= out.len() * blocks
            && a.s.len() >= out.len() * blocks
    );
    by_tiles!(out.len(), |N, t0| q4k_tile::<N>(w, a, t0, &mut out[t0..]));
}

/// Tokens `t0..t0 + N` of [`group_q4k`] into `out[..N]` (a size known at compile time keeps
/// the accumulators in registers, as in `wide_tile`).
#[inline(always)]
fn q4k_tile<const N: usize>(w: &[u8], a: &QActs, t0: usize, out: &mut [[f32; GROUP]]) {
    const BB: usize = 144;
    const HEAD: usize = 4 * GROUP;
    const QB: usize = 140;
    let blocks = a.blocks;
    let nb = a.cols / 256;
    let mut acc = [f32x4_splat(0.0); N];
    let mut accm = [f32x4_splat(0.0); N];
    for b in 0..nb {
        let c = &w[b * GROUP * BB..(b + 1) * GROUP * BB];
        let d4 = f16x4(c, 0);
        let dmin4 = f16x4(c, 2 * GROUP);
        let mut sc = [[0f32; GROUP]; 8];
        let mut mn = [[0f32; GROUP]; 8];
        for r in 0..GROUP {
            let scales = &c[HEAD + r * QB..HEAD + r * QB + 12];
            for j in 0..8 {
                let (s, m) = portable::q4k_scale_min(j, scales);
                sc[j][r] = s as f32;
                mn[j][r] = m as f32;
            }
        }
        for j in 0..8 {
            let scale4 = f32x4_mul(d4, f32x4(sc[j][0], sc[j][1], sc[j][2], sc[j][3]));
            let min4 = f32x4_mul(dmin4, f32x4(mn[j][0], mn[j][1], mn[j][2], mn[j][3]));
            let mut q = [[u8x16_splat(0); 2]; GROUP];
            for (r, q) in q.iter_mut().enumerate() {
                let at = HEAD + r * QB + 12 + (j / 2) * 32;
                let (v0, v1) = (load(c, at), load(c, at + 16));
                *q = if j.is_multiple_of(2) {
                    [v128_and(v0, u8x16_splat(15)), v128_and(v1, u8x16_splat(15))]
                } else {
                    [u8x16_shr(v0, 4), u8x16_shr(v1, 4)]
                };
            }
            for i in 0..N {
                let t = t0 + i;
                let x0 = load_i8(&a.qs, t * a.cols + b * 256 + j * QK);
                let x1 = load_i8(&a.qs, t * a.cols + b * 256 + j * QK + 16);
                let isum = hsum4(
                    dot_small(q[0][0], q[0][1], x0, x1),
                    dot_small(q[1][0], q[1][1], x0, x1),
                    dot_small(q[2][0], q[2][1], x0, x1),
                    dot_small(q[3][0], q[3][1], x0, x1),
                );
                let k = t * blocks + b * 8 + j;
                let scale = f32x4_mul(scale4, f32x4_splat(a.d[k]));
                acc[i] = f32x4_add(acc[i], f32x4_mul(f32x4_convert_i32x4(isum), scale));
                accm[i] = f32x4_add(accm[i], f32x4_mul(min4, f32x4_splat(a.s[k])));
            }
        }
    }
    for (i, o) in out.iter_mut().enumerate().take(N) {
        *o = lanes(f32x4_sub(acc[i], accm[i]));
    }
}

/// Partial sums (4 lanes) of `w * x` for 16 values (`|w * x|` <= 32 * 128, two per i16 lane).
#[inline(always)]
fn dot16(w: v128, x: v128) -> v128 {
    i32x4_extadd_pairwise_i16x8(i16x8_add(
        i16x8_extmul_low_i8x16(w, x),
        i16x8_extmul_high_i8x16(w, x),
    ))
}

/// Q6_K (layout in `x86.rs`'s `group_q6k`): a 32-wide block's two 16-wide halves are summed
/// apart and weighted by their 8-bit scales in i32 (exact).
fn group_q6k(w: &[u8], a: &QActs, out: &mut [[f32; GROUP]]) {
    const BB: usize = 210;
    let blocks = a.blocks;
    let nb = a.cols / 256;
    // Cannot fail on any file: `CpuMatrix::matmul_fast_many` hands whole 4-row groups of a
    // matrix whose shape was checked at load and activations quantized for its `cols`. Stated
    // once here so the compiler drops the bounds checks of every load in the loops below.
    assert!(
        w.len() >= nb * GROUP * BB
            && a.qs.len() >= out.len() * a.cols
            && a.d.len() >= out.len() * blocks
    );
    by_tiles!(out.len(), |N, t0| q6k_tile::<N>(w, a, t0, &mut out[t0..]));
}

/// Tokens `t0..t0 + N` of [`group_q6k`] into `out[..N]` (a size known at compile time keeps
/// the accumulators in registers, as in `wide_tile`).
#[inline(always)]
fn q6k_tile<const N: usize>(w: &[u8], a: &QActs, t0: usize, out: &mut [[f32; GROUP]]) {
    const BB: usize = 210;
    const HEAD: usize = 2 * GROUP;
    const QB: usize = 208;
    let blocks = a.blocks;
    let nb = a.cols / 256;
    let mut acc = [f32x4_splat(0.0); N];
    for b in 0..nb {
        let c = &w[b * GROUP * BB..(b + 1) * GROUP * BB];
        let d4 = f16x4(c, 0);
        for blk in 0..8 {
            let (half, kk) = (blk / 4, blk % 4);
            let mut q = [[u8x16_splat(0); 2]; GROUP];
            let mut scales = [[i32x4_splat(0); 2]; GROUP];
            for r in 0..GROUP {
                let base = HEAD + r * QB;
                for (h, q) in q[r].iter_mut().enumerate() {
                    let low = load(c, base + 64 * half + 32 * (kk % 2) + 16 * h);
                    let low = if kk < 2 {
                        v128_and(low, u8x16_splat(15))
                    } else {
                        u8x16_shr(low, 4)
                    };
                    let high = load(c, base + 128 + 32 * half + 16 * h);
                    let high =
                        u8x16_shl(v128_and(u8x16_shr(high, 2 * kk as u32), u8x16_splat(3)), 4);
                    *q = i8x16_sub(v128_or(low, high), i8x16_splat(32));
                }
                let at = base + 192 + 8 * half + 2 * kk;
                scales[r] = [
                    i32x4_splat(c[at] as i8 as i32),
                    i32x4_splat(c[at + 1] as i8 as i32),
                ];
            }
            for (i, acc) in acc.iter_mut().enumerate() {
                let t = t0 + i;
                let x0 = load_i8(&a.qs, t * a.cols + b * 256 + blk * QK);
                let x1 = load_i8(&a.qs, t * a.cols + b * 256 + blk * QK + 16);
                let row = |r: usize| {
                    i32x4_add(
                        i32x4_mul(dot16(q[r][0], x0), scales[r][0]),
                        i32x4_mul(dot16(q[r][1], x1), scales[r][1]),
                    )
                };
                let isum = hsum4(row(0), row(1), row(2), row(3));
                let k = t * blocks + b * 8 + blk;
                let scale = f32x4_mul(d4, f32x4_splat(a.d[k]));
                *acc = f32x4_add(*acc, f32x4_mul(f32x4_convert_i32x4(isum), scale));
            }
        }
    }
    for (o, acc) in out.iter_mut().zip(acc) {
        *o = lanes(acc);
    }
}
