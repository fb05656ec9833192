//! Scalar math written out, so that a native build and a wasm build compute the same bits:
//! `f32::exp` is the platform's libm natively and a Rust port in wasm, and the two may differ
//! in the last place. Everything here uses only IEEE-exact operations (+, *, floor, sqrt) in
//! a fixed order; loops with independent lanes are left for the compiler to vectorize.

/// e^x with a relative error of about 2 ulp (the Cephes `expf` polynomial).
#[inline]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split into a part exact in f32 and the rest (Cody-Waite reduction).
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    if x.is_nan() {
        return x;
    }
    if x > 88.376_26 {
        return f32::INFINITY;
    }
    if x < -87.336_55 {
        return 0.0;
    }
    let n = floor(x * LOG2E + 0.5);
    let r = x - n * C1 - n * C2;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n: n is in [-126, 127] after the range checks above.
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `v.floor()` for |v| < 2^31, without a libm call (natively, `floor` is one unless SSE4.1 is
/// enabled at build time): truncation, then one step down for negative non-integers. Exact.
#[inline]
pub fn floor(v: f32) -> f32 {
    let t = v as i32 as f32;
    if t > v { t - 1.0 } else { t }
}

/// `v.round()` (half away from zero) for |v| < 2^23, without a libm call (wasm's `nearest`
/// rounds half to even, so `round` is a software routine there). `v - trunc(v)` is exact in
/// that range, so this is exact.
#[inline]
pub fn round(v: f32) -> f32 {
    let t = v as i32 as f32;
    let frac = v - t;
    if frac >= 0.5 {
        t + 1.0
    } else if frac <= -0.5 {
        t - 1.0
    } else {
        t
    }
}

/// x * sigmoid(x).
#[inline]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

/// Dot product with 8 independent accumulators (vectorizable, and the same order everywhere).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let chunks = n / 8;
    for c in 0..chunks {
        let (x, y) = (&a[c * 8..c * 8 + 8], &b[c * 8..c * 8 + 8]);
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0f32;
    for i in chunks * 8..n {
        tail += a[i] * b[i];
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `y += a * x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// In place: `x = x / rms(x) * gain`, the mean of squares summed in f64 as ggml does.
pub fn rms_norm(x: &mut [f32], gain: &[f32], eps: f32) {
    let mut sum = 0f64;
    for &v in x.iter() {
        sum += (v as f64) * (v as f64);
    }
    let mean = (sum / x.len().max(1) as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    for (v, g) in x.iter_mut().zip(gain) {
        *v = (*v * scale) * g;
    }
}

/// In place softmax.
pub fn softmax(x: &mut [f32]) {
    // A comparison rather than `f32::max`, which is a libm call in wasm (NaNs are skipped
    // either way).
    let max = x
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let mut sum = 0f32;
    for v in x.iter_mut() {
        *v = exp(*v - max);
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// An f16 (as bits) to f32, exactly, for every finite value. Written with integer shifts and
/// one multiply so that the SIMD kernels can do the same to four scales at once and agree
/// with this to the bit (infinities and NaNs, which no valid weight holds, come out finite).
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let magnitude = f32::from_bits((h & 0x7fff) << 13) * f32::from_bits(0x7780_0000); // 2^112
    f32::from_bits(magnitude.to_bits() | ((h & 0x8000) << 16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_close_to_libm() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.0137;
        }
        assert!(worst < 4e-7, "relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(100.0), f32::INFINITY);
    }

    #[test]
    fn floor_and_round_equal_the_standard_ones() {
        let mut v = -300.0f32;
        while v < 300.0 {
            for x in [v, v.floor(), v.floor() + 0.5, -(v.floor() + 0.5)] {
                assert_eq!(floor(x).to_bits(), x.floor().to_bits(), "floor {x}");
                assert_eq!(round(x), x.round(), "round {x}");
            }
            v += 0.013;
        }
    }

    #[test]
    fn f16_conversion_is_exact_for_finite_values() {
        for h in 0..=u16::MAX {
            let v = half::f16::from_bits(h);
            if v.is_finite() {
                assert_eq!(f16_to_f32(h).to_bits(), v.to_f32().to_bits(), "{h:#06x}");
            }
        }
    }
}
