//! What the native (lavapipe) and the browser (SwiftShader) kernel tests share: the real weights
//! they run on, the CPU references (f64, candle for dequantization, quantization and GELU), the
//! tolerances, and the checks themselves. Only reading the fixture files differs (a file natively,
//! `Range` requests to `lantern mirror` in the browser).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod checks;
pub mod fixture;
pub mod reference;

/// Tolerances, one per kind of arithmetic. Matrix products are compared per output against
/// `sum |w_i x_i|` (the size of the terms summed, which bounds what rounding can do to a dot
/// product); element-wise and row-wise kernels against the largest reference value.
pub mod tol {
    /// f32 dot products of up to 1536 terms, summed in another order than the f64 reference:
    /// typically √n·2⁻²⁴ ≈ 2.4e-6 of `sum |w x|` (n·2⁻²⁴ ≈ 1e-4 in the worst case, never seen).
    /// Measured at most 4.6e-7 on lavapipe and SwiftShader.
    pub const MATMUL_F32: f64 = 5e-6;
    /// f16 products: weight, activation and the four-term sums each rounded to 11 bits
    /// (2⁻¹¹ ≈ 4.9e-4 each). Measured at most 6.4e-4 on lavapipe (SwiftShader has no f16).
    pub const MATMUL_F16: f64 = 2e-3;
    /// Dequantization on the GPU against candle's: the same f32 operations, at most one
    /// fused-multiply-add rounding apart. Measured 0 (bit-identical) on both.
    pub const DEQUANT: f64 = 1e-6;
    /// Row reductions in f32 (norms, softmax) against f64. WGSL only promises `exp` within
    /// 3 + 2|x| ULP (about 2.6e-6 relative for the arguments of a softmax over logits), which a
    /// real GPU's fast `exp` may use up. Measured at most 1.5e-7.
    pub const ROW_F32: f64 = 5e-6;
    /// Element-wise f32 functions (exp in SiLU, tanh, the A&S erf with error 1.5e-7) against
    /// f64; the same `exp` allowance. Measured at most 1e-7.
    pub const ELEMENTWISE: f64 = 5e-6;
    /// RoPE: one rotation in f32 with the same f32 cos/sin. Measured at most 6.4e-8.
    pub const ROPE: f64 = 1e-6;
    /// Attention: f32 dot products of 32-64 terms, an online softmax over up to 335 positions,
    /// and a weighted sum of values, against f64; the `exp` allowance. Measured at most 4.7e-7.
    pub const ATTENTION: f64 = 1e-5;
}

/// Prints one measured error beside its tolerance (shown by `--nocapture`, and by the browser
/// runner's console capture), then checks it.
pub fn measured(what: &str, err: f64, tol: f64) {
    let line = format!("measured {what}: max error {err:.3e} (tolerance {tol:.0e})");
    crate::log(&line);
    assert!(err <= tol, "{line}");
}
