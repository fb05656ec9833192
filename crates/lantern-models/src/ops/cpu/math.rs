//! Scalar math written out, so that a native build and a wasm build compute the same bits:
//! `f32::exp` is the platform's libm natively and a Rust port in wasm, and the two may differ
//! in the last place. Everything here uses only IEEE-exact operations (+, *, floor, sqrt) in
//! a fixed order; loops with independent lanes are left for the compiler to vectorize.

/// e^x with a relative error of about 2 ulp (the Cephes `expf` polynomial).
///
/// Branch-free (the out-of-range inputs are clamped, computed, and replaced by selects), so
/// that loops calling it vectorize: `f32x4` in wasm, SSE natively, the same bits either way.
#[inline]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split into a part exact in f32 and the rest (Cody-Waite reduction).
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    const HI: f32 = 88.376_26;
    const LO: f32 = -87.336_55;
    // Comparisons rather than `clamp`/`max` (libm calls in wasm); a NaN passes through both.
    let c = if x > HI { HI } else { x };
    let c = if c < LO { LO } else { c };
    // n = floor(c * log2 e + 0.5), as a float and an integer at once (|t| < 2^31 here; a NaN
    // truncates to 0 and stays a NaN below).
    let t = c * LOG2E + 0.5;
    let ti = t as i32;
    let tf = ti as f32;
    let (n, ni) = if tf > t { (tf - 1.0, ti - 1) } else { (tf, ti) };
    let r = c - n * C1 - n * C2;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n: n is in [-126, 128] after the clamp (2^128 is infinity's bits, as e^HI rounds to).
    let e = y * f32::from_bits(((ni + 127) as u32) << 23);
    let e = if x > HI { f32::INFINITY } else { e };
    let e = if x < LO { 0.0 } else { e };
    if x.is_nan() { x } else { e }
}

/// `v.floor()` for |v| < 2^31, without a libm call (natively, `floor` is one unless SSE4.1 is
/// enabled at build time): truncation, then one step down for negative non-integers. Exact.
/// (`exp` inlines the same steps; this one serves the tests' oracle.)
#[cfg(test)]
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

/// BERT's GELU, `x/2 * (1 + erf(x / √2))`, in place over a slice.
///
/// `1 + erf(z)` is computed as `erfc(|z|)` for z < 0 and `2 - erfc(|z|)` otherwise, with
/// `erfc(a) = t * P(t) * e^(-a²)`, `t = 1 / (1 + p a)` (Abramowitz & Stegun 7.1.26,
/// |error| ≤ 1.5e-7): no cancellation for negative inputs (where `1 + erf(z)` is tiny), no
/// branches (so the loop vectorizes: in wasm, libm's scalar `erff` and `expf` were 15 % of a
/// short-sentence batch), and the same bits natively and in wasm. Against an exact GELU the
/// error stays under 3e-7 * max(1, |x|) (tested).
#[inline(never)]
pub fn gelu_erf(xs: &mut [f32]) {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_74;
    const A3: f32 = 1.421_413_8;
    const A4: f32 = -1.453_152;
    const A5: f32 = 1.061_405_4;
    const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
    for x in xs.iter_mut() {
        let a = (*x * FRAC_1_SQRT_2).abs();
        let t = 1.0 / (1.0 + P * a);
        let erfc = ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t * exp(-(a * a));
        let one_plus_erf = if *x < 0.0 { erfc } else { 2.0 - erfc };
        *x = 0.5 * *x * one_plus_erf;
    }
}

/// GELU's tanh approximation in place, `x/2 * (1 + tanh(u))` with `u = √(2/π) (x + 0.044715 x³)`
/// (transformers' `gelu_new` / `gelu_pytorch_tanh`), computed as `x / (1 + e^(-2u))`: the same
/// function (`1 + tanh(u) = 2 / (1 + e^(-2u))`) without the cancellation of `1 + tanh(u)` for
/// negative inputs, branch-free (it vectorizes) and with the same bits natively and in wasm.
#[inline(never)]
pub fn gelu_tanh(xs: &mut [f32]) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    for x in xs.iter_mut() {
        let v = *x;
        let u = SQRT_2_OVER_PI * (v + 0.044_715 * v * v * v);
        *x = v / (1.0 + exp(-2.0 * u));
    }
}

/// tanh in place, as `sign(x) * (1 - 2 / (e^(2|x|) + 1))`: absolute error within a few 1e-8
/// (relative error grows for |x| < 1e-3, where tanh's value is below what a classification
/// head's logits can resolve), no libm call, the same bits natively and in wasm.
#[inline(never)]
pub fn tanh(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        let v = *x;
        let t = 1.0 - 2.0 / (exp(2.0 * v.abs()) + 1.0);
        *x = if v < 0.0 { -t } else { t };
    }
}

/// max(x, 0) in place (a NaN stays a NaN).
pub fn relu(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        if *x < 0.0 {
            *x = 0.0;
        }
    }
}

/// `min(max(x, 0), 6)` in place (`clamp` keeps a NaN a NaN, as PyTorch's `relu6` does).
pub fn relu6(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = x.clamp(0.0, 6.0);
    }
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

/// In place softmax, its sum in index order: the same bits as the softmax the text-generation
/// goldens were recorded with (its exponentials vectorize; its sum is one chain).
#[inline(never)]
pub fn softmax(x: &mut [f32]) {
    exponentials(x);
    let mut sum = 0f32;
    for &v in x.iter() {
        sum += v;
    }
    scale(x, 1.0 / sum);
}

/// Lanes of `softmax_lanes`' sum: each runs over every `LANES`-th value, and they are combined
/// in a fixed order, so the loop vectorizes and gives the same bits natively and in wasm.
const LANES: usize = 8;

/// In place softmax, its sum in `LANES` lanes (a few ulp from `softmax`, and faster).
///
/// Never inlined: inlined into the encoder attention's loops, the whole ran 1.4x slower in
/// wasm (V8), measured.
#[inline(never)]
pub fn softmax_lanes(x: &mut [f32]) {
    exponentials(x);
    let mut acc = [0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    let mut tail = 0f32;
    for &v in chunks.remainder() {
        tail += v;
    }
    let sum =
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
    scale(x, 1.0 / sum);
}

/// In place: `x = exp(x - max(x))`, a plain map that the compiler vectorizes whole.
#[inline(always)]
fn exponentials(x: &mut [f32]) {
    let max = max_of(x);
    for v in x.iter_mut() {
        *v = exp(*v - max);
    }
}

/// The largest value (NaNs skipped; -inf for none). Comparisons rather than `f32::max`,
/// which is a libm call in wasm (NaNs are skipped either way); in lanes, so that it
/// vectorizes too (the max is exact whatever the order).
#[inline(always)]
fn max_of(x: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            m[l] = if c[l] > m[l] { c[l] } else { m[l] };
        }
    }
    chunks
        .remainder()
        .iter()
        .chain(&m)
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// `x - max - ln(sum(exp(x - max)))` over one row (the log-probabilities of a beam search
/// step), in f32 as torch computes it; the f32 exponentials ([`exp`], vectorized) summed in
/// f64 in index order. A row whose largest value is not finite (all -inf, or an inf) is
/// returned as it is.
///
/// Not `f32::max` and `f64::exp`: both are libm calls in wasm, and a beam step takes this over
/// the whole vocabulary for every beam (58101 values for opus-mt).
pub fn log_softmax(x: &[f32]) -> Vec<f32> {
    let max = max_of(x);
    if !max.is_finite() {
        return x.to_vec();
    }
    let mut e = x.to_vec();
    for v in e.iter_mut() {
        *v = exp(*v - max);
    }
    let sum: f64 = e.iter().map(|&v| f64::from(v)).sum();
    let lse = sum.ln() as f32;
    for (e, &v) in e.iter_mut().zip(x) {
        *e = (v - max) - lse;
    }
    e
}

#[inline(always)]
fn scale(x: &mut [f32], by: f32) {
    for v in x.iter_mut() {
        *v *= by;
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

    /// Against the f64 definition over a vocabulary-sized row: within 2e-6 relative to the
    /// logit range; non-finite rows as they are.
    #[test]
    fn log_softmax_is_the_definition() {
        let x: Vec<f32> = (0..58101)
            .map(|i| ((i as f32 * 0.618).sin() * 12.0) - if i % 7 == 0 { 1e30 } else { 0.0 })
            .collect();
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let lse = max + x.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln();
        let got = log_softmax(&x);
        for (g, &v) in got.iter().zip(&x) {
            let want = v as f64 - lse;
            assert!(
                (*g as f64 - want).abs() <= 2e-6 * 24.0 + want.abs() * 1e-7,
                "{g} {want}"
            );
        }
        let total: f64 = got.iter().map(|&v| (v as f64).exp()).sum();
        assert!((total - 1.0).abs() < 1e-5, "{total}");
        let dead = [f32::NEG_INFINITY; 3];
        assert_eq!(log_softmax(&dead), dead);
        let inf = [1.0, f32::INFINITY];
        assert_eq!(log_softmax(&inf), inf);
        assert!(log_softmax(&[]).is_empty());
    }

    /// The branchy `exp` this file had before the branch-free one: the oracle for its bits.
    fn exp_branchy(x: f32) -> f32 {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
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
        y * f32::from_bits(((n as i32 + 127) as u32) << 23)
    }

    fn assert_exp_bits(x: f32) {
        let (got, want) = (exp(x), exp_branchy(x));
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "exp({x:e}) [{:#010x}]: {got:e} vs {want:e}",
            x.to_bits()
        );
    }

    #[test]
    fn branch_free_exp_has_the_same_bits_as_the_branchy_one() {
        // A strided sweep of every bit pattern (both signs, every exponent, NaNs included)...
        let mut bits = 0u64;
        while bits <= u32::MAX as u64 {
            assert_exp_bits(f32::from_bits(bits as u32));
            bits += 997;
        }
        // ...every value near the ends of the range and around zero...
        for edge in [88.376_26f32, -87.336_55, 88.72, -87.34, -103.0, 0.0, -0.0] {
            let b = edge.to_bits() as i64;
            for d in -20_000i64..=20_000 {
                let b = b + d;
                if (0..=u32::MAX as i64).contains(&b) {
                    assert_exp_bits(f32::from_bits(b as u32));
                }
            }
        }
        // ...and dense steps over the whole finite range of the polynomial.
        let mut x = -90.0f32;
        while x < 90.0 {
            assert_exp_bits(x);
            x += 0.000_731;
        }
        for x in [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
        ] {
            assert_exp_bits(x);
        }
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
    }

    /// `softmax` keeps the bits of the one-loop softmax with the branchy `exp`; the lanes
    /// change the sum's order, not what a softmax is.
    #[test]
    fn softmaxes_match_the_old_bits_and_f64() {
        for n in [1usize, 2, 7, 8, 9, 31, 64, 257] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.7)
                .collect();
            let old = {
                let mut x = x.clone();
                let max = x
                    .iter()
                    .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
                let mut sum = 0f32;
                for v in x.iter_mut() {
                    *v = exp_branchy(*v - max);
                    sum += *v;
                }
                let inv = 1.0 / sum;
                x.iter().map(|v| v * inv).collect::<Vec<f32>>()
            };
            let want: Vec<f64> = {
                let m = x.iter().fold(f64::MIN, |m, &v| m.max(v as f64));
                let e: Vec<f64> = x.iter().map(|&v| (v as f64 - m).exp()).collect();
                let z: f64 = e.iter().sum();
                e.iter().map(|v| v / z).collect()
            };
            let (mut plain, mut lanes) = (x.clone(), x.clone());
            softmax(&mut plain);
            softmax_lanes(&mut lanes);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&plain), bits(&old), "n {n}");
            for (g, w) in lanes.iter().zip(&want) {
                assert!((*g as f64 - w).abs() < 1e-6, "n {n}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn gelu_is_close_to_the_exact_one() {
        // Reference: erf from its Taylor series / continued fraction in f64 is overkill here;
        // erfc in f64 by the same A&S-free route: numerical integration of e^(-t²) (Simpson,
        // 20k steps) is exact to ~1e-12 on [0, 6].
        fn erf64(z: f64) -> f64 {
            let (a, n) = (z.abs(), 20_000);
            let h = a / n as f64;
            let f = |t: f64| (-t * t).exp();
            let mut sum = f(0.0) + f(a);
            for i in 1..n {
                sum += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
            }
            (sum * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()).copysign(z)
        }
        let mut xs: Vec<f32> = (-1000..=1000).map(|i| i as f32 * 0.01).collect();
        xs.extend([-30.0, -12.0, 12.0, 30.0, 1e-8, -1e-8, 0.0]);
        let mut got = xs.clone();
        gelu_erf(&mut got);
        for (&x, &g) in xs.iter().zip(&got) {
            let want = 0.5 * x as f64 * (1.0 + erf64(x as f64 / std::f64::consts::SQRT_2));
            let err = (g as f64 - want).abs();
            assert!(
                err <= 3e-7 * (x.abs() as f64).max(1.0),
                "gelu({x}) = {g}, want {want}"
            );
        }
        let mut special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        gelu_erf(&mut special);
        assert!(special[0].is_nan());
        assert_eq!(special[1], f32::INFINITY);
    }

    #[test]
    fn gelu_tanh_tanh_and_relu_against_f64() {
        let mut xs: Vec<f32> = (-1000..=1000).map(|i| i as f32 * 0.01).collect();
        xs.extend([-30.0, -12.0, 12.0, 30.0, 1e-8, -1e-8, 0.0, 1e20, -1e20]);
        let (mut g, mut t, mut r) = (xs.clone(), xs.clone(), xs.clone());
        gelu_tanh(&mut g);
        tanh(&mut t);
        relu(&mut r);
        for (i, &x) in xs.iter().enumerate() {
            let x64 = x as f64;
            let u = (2.0 / std::f64::consts::PI).sqrt() * (x64 + 0.044715 * x64.powi(3));
            let want = 0.5 * x64 * (1.0 + u.tanh());
            let err = (g[i] as f64 - want).abs();
            assert!(
                err <= 3e-7 * x64.abs().max(1.0),
                "gelu_tanh({x}) = {}, want {want}",
                g[i]
            );
            assert!(
                (t[i] as f64 - x64.tanh()).abs() <= 2e-7,
                "tanh({x}) = {}",
                t[i]
            );
            assert_eq!(r[i], x.max(0.0));
        }
        let mut special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        tanh(&mut special);
        assert!(special[0].is_nan());
        assert_eq!(&special[1..], &[1.0, -1.0]);
    }

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
