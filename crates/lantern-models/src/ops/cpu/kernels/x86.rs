//! The kernels in x86-64 AVX2, chosen at run time (`is_x86_feature_detected!`), one lane per
//! row of a 4-row group for the float work. Each lane computes exactly what
//! [`super::portable`] computes for its row: the integer dot products are exact
//! (`maddubs` pairs stay below i16's range: 4-bit quants give at most 2 * 15 * 127, 5-bit
//! 2 * 31 * 127, and Q8_0 through the sign trick 2 * 128 * 127 = 32512; activations are in
//! [-127, 127]), offsets are taken out with the exact integer sum of the activations, and the
//! float work per block is the same sequence of IEEE operations as the scalar code (no FMA).
//!
//! `unsafe` here: calling the `#[target_feature(enable = "avx2")]` entry point, which is sound
//! only after the run-time check in [`groups`], and unaligned loads from bounds-checked slices.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::{GROUP, Kind, QActs, QK, TOKEN_TILE};

/// Whether this CPU runs these kernels (the result is cached by the standard library).
pub fn available() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// [`super::groups`] with AVX2, if the CPU has it; `false` (nothing written) otherwise.
pub fn groups(kind: Kind, w: &[u8], a: &QActs, out: &mut [[f32; GROUP]]) -> bool {
    if !available() {
        return false;
    }
    // SAFETY: the CPU has AVX2 (checked just above), the only requirement of `groups_avx2`.
    unsafe { groups_avx2(kind, w, a, out) };
    true
}

#[target_feature(enable = "avx2")]
fn groups_avx2(kind: Kind, w: &[u8], a: &QActs, out: &mut [[f32; GROUP]]) {
    let gbytes = super::group_bytes(kind, a.cols);
    for (g, o) in w.chunks_exact(gbytes).zip(out.chunks_exact_mut(a.rows)) {
        match kind {
            Kind::Q4_0 => group::<18, 1, Q4_0>(g, a, o),
            Kind::Q4_1 => group::<20, 2, Q4_1>(g, a, o),
            Kind::Q5_0 => group::<22, 1, Q5_0>(g, a, o),
            Kind::Q8_0 => group::<34, 1, Q8_0>(g, a, o),
            Kind::Q4K => group_q4k(g, a, o),
            Kind::Q6K => group_q6k(g, a, o),
        }
    }
}

/// 32 bytes at `b[at..]`.
#[target_feature(enable = "avx2")]
#[inline]
fn load32(b: &[u8], at: usize) -> __m256i {
    let s = &b[at..at + 32];
    // SAFETY: `s` is 32 readable bytes; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
}

#[target_feature(enable = "avx2")]
#[inline]
fn load32_i8(b: &[i8], at: usize) -> __m256i {
    let s = &b[at..at + 32];
    // SAFETY: as in `load32`.
    unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
}

#[target_feature(enable = "avx2")]
#[inline]
fn load16(b: &[u8], at: usize) -> __m128i {
    let s = &b[at..at + 16];
    // SAFETY: `s` is 16 readable bytes; `loadu` has no alignment requirement.
    unsafe { _mm_loadu_si128(s.as_ptr().cast()) }
}

/// Four f16 scales at `b[at..at + 8]` as f32, bit-identical to `math::f16_to_f32`.
#[target_feature(enable = "avx2")]
#[inline]
fn f16x4(b: &[u8], at: usize) -> __m128 {
    let s = &b[at..at + 8];
    // SAFETY: `s` is 8 readable bytes; `loadl_epi64` reads exactly 8, unaligned.
    let h = _mm_cvtepu16_epi32(unsafe { _mm_loadl_epi64(s.as_ptr().cast()) });
    let magnitude = _mm_mul_ps(
        _mm_castsi128_ps(_mm_slli_epi32::<13>(_mm_and_si128(
            h,
            _mm_set1_epi32(0x7fff),
        ))),
        _mm_set1_ps(f32::from_bits(0x7780_0000)),
    );
    _mm_or_ps(
        magnitude,
        _mm_castsi128_ps(_mm_slli_epi32::<16>(_mm_and_si128(
            h,
            _mm_set1_epi32(0x8000),
        ))),
    )
}

/// `[Σa, Σb, Σc, Σd]` of four i32x8 vectors.
#[target_feature(enable = "avx2")]
#[inline]
fn hsum4(a: __m256i, b: __m256i, c: __m256i, d: __m256i) -> __m128i {
    let s = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s))
}

/// Pairwise sums of `u * x` as i32x8 (`u` unsigned bytes, `x` signed).
#[target_feature(enable = "avx2")]
#[inline]
fn dot_u8(u: __m256i, x: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1))
}

/// The weight formats of [`group`] (a const parameter, so each gets its own loop).
const Q4_0: u8 = 0;
const Q4_1: u8 = 1;
const Q8_0: u8 = 2;
const Q5_0: u8 = 3;

/// 16 bytes of nibbles as 32 bytes: low nibbles (elements 0..16), then high (16..32).
#[target_feature(enable = "avx2")]
#[inline]
fn nibbles(q: &[u8], at: usize) -> __m256i {
    let v = load16(q, at);
    _mm256_and_si256(
        _mm256_set_m128i(_mm_srli_epi16::<4>(v), v),
        _mm256_set1_epi8(15),
    )
}

/// The 32 quants of row `r` of a block whose quants start at `q`, as bytes: unsigned for the
/// 4-bit types, signed for Q8_0.
#[target_feature(enable = "avx2")]
#[inline]
fn unpack<const F: u8>(q: &[u8], r: usize) -> __m256i {
    match F {
        Q8_0 => load32(q, 32 * r),
        // [qh: 4 bytes][qs: 16 bytes] per row; the fifth bit of element k is bit k of qh.
        Q5_0 => _mm256_or_si256(
            nibbles(q, 20 * r + 4),
            _mm256_and_si256(bits_as_bytes(q, 20 * r), _mm256_set1_epi8(0x10)),
        ),
        _ => nibbles(q, 16 * r),
    }
}

/// The 32 bits at `b[at..at + 4]` (little endian) as bytes: 0xff where bit k is set (llama.cpp's
/// `bytes_from_bits_32`).
#[target_feature(enable = "avx2")]
#[inline]
fn bits_as_bytes(b: &[u8], at: usize) -> __m256i {
    let x = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    // Byte k takes byte k / 8 of x, ...
    let shuffle = _mm256_set_epi64x(
        0x0303_0303_0303_0303,
        0x0202_0202_0202_0202,
        0x0101_0101_0101_0101,
        0,
    );
    let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(x as i32), shuffle);
    // ... then all bits but bit k % 8 are set, so it is all ones exactly when bit k was.
    let others = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe);
    _mm256_cmpeq_epi8(_mm256_or_si256(bytes, others), _mm256_set1_epi64x(-1))
}

/// The i32x8 partial sums of one row's quants times `x`. Signed quants go through the sign
/// trick: `|w|` (unsigned; `|-128|` = 128 fits) times `x` with `w`'s sign.
#[target_feature(enable = "avx2")]
#[inline]
fn dot<const F: u8>(w: __m256i, x: __m256i) -> __m256i {
    match F {
        Q8_0 => dot_u8(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w)),
        _ => dot_u8(w, x),
    }
}

/// The common loop, as in the portable and simd128 kernels: tokens in tiles; per block, the
/// 4 rows' quants are unpacked once and used by every token of the tile.
#[target_feature(enable = "avx2")]
#[inline]
fn group<const BB: usize, const FIELDS: usize, const F: u8>(
    w: &[u8],
    a: &QActs,
    out: &mut [[f32; GROUP]],
) {
    let head = 2 * FIELDS * GROUP;
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
    for (tile, o_tile) in out.chunks_mut(TOKEN_TILE).enumerate() {
        let t0 = tile * TOKEN_TILE;
        let n = o_tile.len();
        let mut acc = [_mm_setzero_ps(); TOKEN_TILE];
        let mut accm = [_mm_setzero_ps(); TOKEN_TILE];
        for b in 0..blocks {
            let c = &w[b * GROUP * BB..(b + 1) * GROUP * BB];
            let d4 = f16x4(c, 0);
            let m4 = if FIELDS == 2 {
                f16x4(c, 2 * GROUP)
            } else {
                _mm_setzero_ps()
            };
            let q = &c[head..];
            let wq = [
                unpack::<F>(q, 0),
                unpack::<F>(q, 1),
                unpack::<F>(q, 2),
                unpack::<F>(q, 3),
            ];
            for i in 0..n {
                let t = t0 + i;
                let x = load32_i8(&a.qs, t * a.cols + b * QK);
                let mut isum = hsum4(
                    dot::<F>(wq[0], x),
                    dot::<F>(wq[1], x),
                    dot::<F>(wq[2], x),
                    dot::<F>(wq[3], x),
                );
                let k = t * blocks + b;
                if F == Q4_0 || F == Q5_0 {
                    // Σ (n - o) x = Σ n x - o Σ x, exactly.
                    let o = if F == Q4_0 { 8 } else { 16 };
                    isum = _mm_sub_epi32(isum, _mm_set1_epi32(o * a.sums[k]));
                }
                let scale = _mm_mul_ps(d4, _mm_set1_ps(a.d[k]));
                acc[i] = _mm_add_ps(acc[i], _mm_mul_ps(_mm_cvtepi32_ps(isum), scale));
                if FIELDS == 2 {
                    accm[i] = _mm_add_ps(accm[i], _mm_mul_ps(m4, _mm_set1_ps(a.s[k])));
                }
            }
        }
        for (i, o) in o_tile.iter_mut().enumerate() {
            *o = lanes(_mm_add_ps(acc[i], accm[i]));
        }
    }
}

/// Stores a 4-lane vector.
#[target_feature(enable = "avx2")]
#[inline]
fn lanes(v: __m128) -> [f32; GROUP] {
    let mut out = [0f32; GROUP];
    // SAFETY: `out` is 4 writable f32; `storeu` has no alignment requirement.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), v) };
    out
}

/// Q4_K: per 256-wide super-block, the 4 rows' `d` and `dmin`, then per row 12 bytes of 6-bit
/// scales and mins and 128 bytes of nibbles. Sub-block `j` is then a Q4_1-like block with
/// scale `d * sc_j` and min `dmin * m_j` (exact products in f32).
#[target_feature(enable = "avx2")]
#[inline]
fn group_q4k(w: &[u8], a: &QActs, out: &mut [[f32; GROUP]]) {
    const BB: usize = 144;
    const HEAD: usize = 4 * GROUP;
    const QB: usize = 140;
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
    for (tile, o_tile) in out.chunks_mut(TOKEN_TILE).enumerate() {
        let t0 = tile * TOKEN_TILE;
        let n = o_tile.len();
        let mut acc = [_mm_setzero_ps(); TOKEN_TILE];
        let mut accm = [_mm_setzero_ps(); TOKEN_TILE];
        for b in 0..nb {
            let c = &w[b * GROUP * BB..(b + 1) * GROUP * BB];
            let d4 = f16x4(c, 0);
            let dmin4 = f16x4(c, 2 * GROUP);
            let mut sc = [[0f32; GROUP]; 8];
            let mut mn = [[0f32; GROUP]; 8];
            for r in 0..GROUP {
                let scales = &c[HEAD + r * QB..HEAD + r * QB + 12];
                for j in 0..8 {
                    let (s, m) = super::portable::q4k_scale_min(j, scales);
                    sc[j][r] = s as f32;
                    mn[j][r] = m as f32;
                }
            }
            for j in 0..8 {
                let scale4 = _mm_mul_ps(d4, _mm_setr_ps(sc[j][0], sc[j][1], sc[j][2], sc[j][3]));
                let min4 = _mm_mul_ps(dmin4, _mm_setr_ps(mn[j][0], mn[j][1], mn[j][2], mn[j][3]));
                let mut wq = [_mm256_setzero_si256(); GROUP];
                for (r, wq) in wq.iter_mut().enumerate() {
                    let v = load32(c, HEAD + r * QB + 12 + (j / 2) * 32);
                    let v = if j.is_multiple_of(2) {
                        v
                    } else {
                        _mm256_srli_epi16::<4>(v)
                    };
                    *wq = _mm256_and_si256(v, _mm256_set1_epi8(15));
                }
                for i in 0..n {
                    let t = t0 + i;
                    let x = load32_i8(&a.qs, t * a.cols + b * 256 + j * QK);
                    let isum = hsum4(
                        dot_u8(wq[0], x),
                        dot_u8(wq[1], x),
                        dot_u8(wq[2], x),
                        dot_u8(wq[3], x),
                    );
                    let k = t * blocks + b * 8 + j;
                    let scale = _mm_mul_ps(scale4, _mm_set1_ps(a.d[k]));
                    acc[i] = _mm_add_ps(acc[i], _mm_mul_ps(_mm_cvtepi32_ps(isum), scale));
                    accm[i] = _mm_add_ps(accm[i], _mm_mul_ps(min4, _mm_set1_ps(a.s[k])));
                }
            }
        }
        for (i, o) in o_tile.iter_mut().enumerate() {
            *o = lanes(_mm_sub_ps(acc[i], accm[i]));
        }
    }
}

/// Q6_K: per 256-wide super-block, the 4 rows' `d`, then per row `ql` (128), `qh` (64) and 16
/// signed 8-bit scales of 16 values each. A 32-wide block's integer sum applies its two scales
/// in `madd` (`sc * (pair sum)`: at most 128 * 2 * 32 * 127 per lane, exact in i32).
#[target_feature(enable = "avx2")]
#[inline]
fn group_q6k(w: &[u8], a: &QActs, out: &mut [[f32; GROUP]]) {
    const BB: usize = 210;
    const HEAD: usize = 2 * GROUP;
    const QB: usize = 208;
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
    for (tile, o_tile) in out.chunks_mut(TOKEN_TILE).enumerate() {
        let t0 = tile * TOKEN_TILE;
        let n = o_tile.len();
        let mut acc = [_mm_setzero_ps(); TOKEN_TILE];
        for b in 0..nb {
            let c = &w[b * GROUP * BB..(b + 1) * GROUP * BB];
            let d4 = f16x4(c, 0);
            for blk in 0..8 {
                let (half, kk) = (blk / 4, blk % 4);
                let mut wq = [_mm256_setzero_si256(); GROUP];
                let mut wabs = [_mm256_setzero_si256(); GROUP];
                let mut scales = [_mm256_setzero_si256(); GROUP];
                for r in 0..GROUP {
                    let q = &c[HEAD + r * QB..HEAD + (r + 1) * QB];
                    let low = load32(q, 64 * half + 32 * (kk % 2));
                    let low = if kk < 2 {
                        low
                    } else {
                        _mm256_srli_epi16::<4>(low)
                    };
                    let low = _mm256_and_si256(low, _mm256_set1_epi8(15));
                    let high = _mm256_srl_epi16(
                        load32(q, 128 + 32 * half),
                        _mm_cvtsi32_si128(2 * kk as i32),
                    );
                    let high = _mm256_slli_epi16::<4>(_mm256_and_si256(high, _mm256_set1_epi8(3)));
                    let v = _mm256_sub_epi8(_mm256_or_si256(low, high), _mm256_set1_epi8(32));
                    wq[r] = v;
                    wabs[r] = _mm256_abs_epi8(v);
                    let at = 192 + 8 * half + 2 * kk;
                    scales[r] = _mm256_set_m128i(
                        _mm_set1_epi16(q[at + 1] as i8 as i16),
                        _mm_set1_epi16(q[at] as i8 as i16),
                    );
                }
                for (i, acc) in acc.iter_mut().take(n).enumerate() {
                    let t = t0 + i;
                    let x = load32_i8(&a.qs, t * a.cols + b * 256 + blk * QK);
                    let dot = |r: usize| {
                        _mm256_madd_epi16(
                            _mm256_maddubs_epi16(wabs[r], _mm256_sign_epi8(x, wq[r])),
                            scales[r],
                        )
                    };
                    let isum = hsum4(dot(0), dot(1), dot(2), dot(3));
                    let k = t * blocks + b * 8 + blk;
                    let scale = _mm_mul_ps(d4, _mm_set1_ps(a.d[k]));
                    *acc = _mm_add_ps(*acc, _mm_mul_ps(_mm_cvtepi32_ps(isum), scale));
                }
            }
        }
        for (o, acc) in o_tile.iter_mut().zip(acc) {
            *o = lanes(acc);
        }
    }
}
