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
    portable(w, x)
}

/// The oracle: `math::dot` of the widened row.
pub fn portable(w: &[f16], x: &[f32]) -> f32 {
    let row: Vec<f32> = w.iter().map(|v| v.to_f32()).collect();
    math::dot(&row, x)
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

    /// Bit for bit the portable sum, at every length around the 8-wide chunks, with values of
    /// every magnitude f16 holds (subnormals and infinities included).
    #[test]
    fn equals_the_portable_sum_bit_for_bit() {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 64, 383, 384, 1000] {
            for _ in 0..20 {
                let w: Vec<f16> = (0..n).map(|_| f16::from_bits(next() as u16)).collect();
                let x: Vec<f32> = (0..n)
                    .map(|_| (next() >> 40) as f32 / (1u64 << 20) as f32 - 8.0)
                    .collect();
                let (got, want) = (dot_f16(&w, &x), portable(&w, &x));
                let same =
                    |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
                assert!(same(got, want), "n {n}: {got} vs {want}");
            }
        }
    }
}
