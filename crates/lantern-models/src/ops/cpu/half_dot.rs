//! Dot products of f16 weight rows with f32 activations (f16 matrices: Whisper's token
//! embedding as its output projection, F16 tensors of GGUF files), without widening the row
//! into a buffer first. The sum is `math::dot`'s, in the same order and with the same roundings
//! (products, then sums, no FMA), so the result is bit for bit the dot product of the widened
//! row on every target; natively with F16C conversions of 8 weights at a time where the CPU has
//! them.
//!
//! `unsafe` here: calling the `#[target_feature]` entry point, sound only after the run-time
//! check, and unaligned loads from bounds-checked slices.
#![allow(unsafe_code)]

use half::f16;

use super::math;

/// `sum_i w[i] * x[i]` over the shorter of the two.
pub fn dot_f16(w: &[f16], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    let (w, x) = (&w[..n], &x[..n]);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("f16c") {
        // SAFETY: the CPU has AVX and F16C, checked just above.
        return unsafe { x86::dot(w, x) };
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::dot(w, x);
    #[allow(unreachable_code)]
    portable(w, x)
}

/// `math::dot`'s sum with each weight widened by `math::f16_to_f32` (exact for every finite
/// f16; weights hold no infinities or NaNs): the wasm path, and the x86 one without F16C. Plain
/// 8-lane loops over integer shifts and one multiply, which the compiler turns into simd128.
pub fn portable(w: &[f16], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    let (w, x) = (&w[..n], &x[..n]);
    let mut acc = [0f32; 8];
    let chunks = n / 8;
    for c in 0..chunks {
        let (wc, xc) = (&w[c * 8..c * 8 + 8], &x[c * 8..c * 8 + 8]);
        for l in 0..8 {
            acc[l] += math::f16_to_f32(wc[l].to_bits()) * xc[l];
        }
    }
    let mut tail = 0f32;
    for i in chunks * 8..n {
        tail += math::f16_to_f32(w[i].to_bits()) * x[i];
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// In wasm, 8 weights at a time widened as `kernels::simd128` widens f16 scales (bit-identical
/// to `math::f16_to_f32`), two f32x4 accumulators holding `math::dot`'s lanes 0-3 and 4-7: the
/// compiler did not vectorize the portable loop (0.9 G multiply-adds a second under V8).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    use half::f16;

    /// 4 f16 (sign-extended to i32 lanes) as f32: exponent and mantissa shifted to f32's
    /// places, one sign copy kept on bit 31, scaled by 2^112 (exact for finite values).
    #[inline(always)]
    fn widen(h: v128) -> v128 {
        f32x4_mul(
            v128_and(i32x4_shl(h, 13), u32x4_splat(0x8fff_e000)),
            f32x4_splat(f32::from_bits(0x7780_0000)),
        )
    }

    pub(super) fn dot(w: &[f16], x: &[f32]) -> f32 {
        let n = w.len().min(x.len());
        let chunks = n / 8;
        let (mut lo, mut hi) = (f32x4_splat(0.0), f32x4_splat(0.0));
        for c in 0..chunks {
            let (wc, xc) = (&w[c * 8..c * 8 + 8], &x[c * 8..c * 8 + 8]);
            // SAFETY: `wc` is 16 readable bytes and `xc` 32; wasm loads are unaligned.
            let (h, x0, x1) = unsafe {
                (
                    v128_load(wc.as_ptr().cast()),
                    v128_load(xc.as_ptr().cast()),
                    v128_load(xc[4..].as_ptr().cast()),
                )
            };
            lo = f32x4_add(lo, f32x4_mul(widen(i32x4_extend_low_i16x8(h)), x0));
            hi = f32x4_add(hi, f32x4_mul(widen(i32x4_extend_high_i16x8(h)), x1));
        }
        let l = |v: v128, i: usize| match i {
            0 => f32x4_extract_lane::<0>(v),
            1 => f32x4_extract_lane::<1>(v),
            2 => f32x4_extract_lane::<2>(v),
            _ => f32x4_extract_lane::<3>(v),
        };
        let mut tail = 0f32;
        for i in chunks * 8..n {
            tail += super::math::f16_to_f32(w[i].to_bits()) * x[i];
        }
        ((l(lo, 0) + l(hi, 0)) + (l(lo, 1) + l(hi, 1)))
            + ((l(lo, 2) + l(hi, 2)) + (l(lo, 3) + l(hi, 3)))
            + tail
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use half::f16;

    /// `math::dot`'s 8 lanes as one vector: lane `l` sums the products of every 8th pair from
    /// `l`, then the lanes are added as `math::dot` adds them, then the tail.
    #[target_feature(enable = "avx,f16c")]
    pub(super) fn dot(w: &[f16], x: &[f32]) -> f32 {
        let n = w.len().min(x.len());
        let chunks = n / 8;
        let mut acc = _mm256_setzero_ps();
        for c in 0..chunks {
            let (wc, xc) = (&w[c * 8..c * 8 + 8], &x[c * 8..c * 8 + 8]);
            // SAFETY: `wc` is 8 f16 (16 bytes) and `xc` 8 f32, both readable; the loads are
            // unaligned.
            let (wv, xv) = unsafe {
                (
                    _mm256_cvtph_ps(_mm_loadu_si128(wc.as_ptr().cast())),
                    _mm256_loadu_ps(xc.as_ptr()),
                )
            };
            acc = _mm256_add_ps(acc, _mm256_mul_ps(wv, xv));
        }
        let mut lanes = [0f32; 8];
        // SAFETY: `lanes` is 8 writable f32.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
        let mut tail = 0f32;
        for i in chunks * 8..n {
            tail += w[i].to_f32() * x[i];
        }
        ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
            + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
            + tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit for bit `math::dot` of the widened row, on this target's path and the portable one,
    /// at every length around the 8-wide chunks, with finite values of every magnitude f16
    /// holds (subnormals included).
    #[test]
    fn equals_the_dot_of_the_widened_row_bit_for_bit() {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 64, 383, 384, 1000] {
            for _ in 0..20 {
                let w: Vec<f16> = (0..n)
                    .map(|_| f16::from_bits(next() as u16))
                    .map(|v| if v.is_finite() { v } else { f16::MAX })
                    .collect();
                let x: Vec<f32> = (0..n)
                    .map(|_| (next() >> 40) as f32 / (1u64 << 20) as f32 - 8.0)
                    .collect();
                let row: Vec<f32> = w.iter().map(|v| v.to_f32()).collect();
                let want = math::dot(&row, &x);
                for got in [dot_f16(&w, &x), portable(&w, &x)] {
                    assert!(
                        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                        "n {n}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
