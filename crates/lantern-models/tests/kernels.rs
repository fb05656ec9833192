//! Lantern's quantized matmul kernels: the kernels of this build (simd128 in wasm, AVX2 on
//! x86-64 CPUs that have it, else the portable ones) must equal the portable oracle to the bit,
//! the repacked weights must dequantize to candle's values exactly, and the product must be
//! close to the f32 product of the dequantized weights. Runs natively and, through
//! wasm-bindgen-test in headless Chromium, in the wasm build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;

use candle_core::quantized::{QStorage, QTensor};
use candle_core::{Device, Tensor};
use lantern_models::gguf::GgmlDType;
use lantern_models::ops::cpu::kernels::{self, GROUP, Kind, QActs, portable};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Deterministic pseudo-random values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Weights quantized by candle from random values: the repacked layout dequantizes to
/// candle's values, the kernels of this build equal the oracle to the bit, and the product is
/// close to the f32 product.
fn check(dtype: GgmlDType, rows: usize, cols: usize, tokens: usize) {
    let w = values(rows * cols, 1 + rows as u64);
    let t = Tensor::from_vec(w, (rows, cols), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, dtype).unwrap();
    let bytes = q.data().unwrap().to_vec();
    let x = values(tokens * cols, 7);
    let (fast, deq) = check_bytes(dtype, rows, cols, &bytes, &x, tokens);
    // Close to the f32 product (the activations are quantized to 8 bits).
    for (i, got) in fast.iter().enumerate() {
        let (g, tk) = (i / tokens, i % tokens);
        for (l, &got) in got.iter().enumerate() {
            let r = g * GROUP + l;
            let exact: f32 = (0..cols)
                .map(|k| deq[r * cols + k] * x[tk * cols + k])
                .sum();
            assert!(
                (got - exact).abs() < 0.02 * (cols as f32).sqrt(),
                "{dtype:?} r{r} t{tk}: {got} vs {exact}"
            );
        }
    }
}

/// Checks `bytes` (a matrix in the file's layout) and returns the kernel's products and
/// candle's dequantized weights.
fn check_bytes(
    dtype: GgmlDType,
    rows: usize,
    cols: usize,
    bytes: &[u8],
    x: &[f32],
    tokens: usize,
) -> (Vec<[f32; GROUP]>, Vec<f32>) {
    let kind = Kind::of(dtype).unwrap();
    let storage = QStorage::from_data(Cow::Borrowed(bytes), &Device::Cpu, dtype).unwrap();
    let deq = QTensor::new(storage, (rows, cols))
        .unwrap()
        .dequantize(&Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let mut bytes = bytes.to_vec();
    kernels::repack(kind, rows, cols, &mut bytes);
    // Dequantizing the repacked layout gives ggml's values (rows in and after the groups).
    let mut row = vec![0f32; cols];
    for r in [0, rows / 2, rows - 1] {
        kernels::dequantize_row(kind, &bytes, rows, cols, r, &mut row);
        for (k, (a, b)) in row.iter().zip(&deq[r * cols..(r + 1) * cols]).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{dtype:?} row {r} col {k}: {a} vs {b}"
            );
        }
    }
    let acts = QActs::quantize(x, tokens, cols);
    let groups = rows / GROUP;
    let gbytes = kernels::group_bytes(kind, cols);
    let mut fast = vec![[0f32; GROUP]; groups * tokens];
    kernels::groups(kind, &bytes[..groups * gbytes], &acts, &mut fast);
    let mut oracle = vec![[0f32; GROUP]; groups * tokens];
    for (g, o) in bytes[..groups * gbytes]
        .chunks_exact(gbytes)
        .zip(oracle.chunks_exact_mut(tokens))
    {
        portable::group(kind, g, &acts, o);
    }
    for (a, b) in fast.iter().zip(&oracle) {
        for l in 0..GROUP {
            assert_eq!(
                a[l].to_bits(),
                b[l].to_bits(),
                "{dtype:?}: kernel {a:?} vs oracle {b:?}"
            );
        }
    }
    // The rows after the last full group (file layout) give what the same rows give grouped.
    if !rows.is_multiple_of(GROUP) {
        let row_bytes = cols / kind.block_elems() * kind.block_bytes();
        let mut col = vec![0f32; tokens];
        let r = rows - 1;
        kernels::row(
            kind,
            &bytes[r * row_bytes..(r + 1) * row_bytes],
            &acts,
            &mut col,
        );
        for (t, got) in col.iter().enumerate() {
            let w = &deq[r * cols..(r + 1) * cols];
            let xt = &x[t * cols..(t + 1) * cols];
            let exact: f32 = w.iter().zip(xt).map(|(w, x)| w * x).sum();
            // 8-bit activations: each is off by at most half a step of its block's scale.
            let bound: f32 = w.iter().map(|w| w.abs()).sum::<f32>() / 254.0 + 1e-4;
            assert!(
                (got - exact).abs() <= bound,
                "{dtype:?} tail row: {got} vs {exact}"
            );
        }
    }
    (fast, deq)
}

/// Arbitrary bytes as quants (every bit pattern a file may hold: Q8_0's -128, Q6_K's negative
/// scales, Q4_K's high scale bits), with finite scales, at the extremes of the activations.
fn check_arbitrary(dtype: GgmlDType, rows: usize, cols: usize) {
    let kind = Kind::of(dtype).unwrap();
    let n = rows * cols / kind.block_elems() * kind.block_bytes();
    let mut s = 0x2545_F491_4F6C_DD1Du64 ^ n as u64;
    let mut bytes: Vec<u8> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect();
    // f16 fields: finite values of either sign (exponent below the all-ones pattern).
    let at = match kind {
        Kind::Q6K => vec![208],
        _ if kind.fields() == 2 => vec![0, 2],
        _ => vec![0],
    };
    for blk in bytes.chunks_exact_mut(kind.block_bytes()) {
        for &f in &at {
            blk[f + 1] &= 0xBB;
        }
    }
    // Activations at full scale: some blocks quantize to exactly ±127.
    let mut x = values(3 * cols, 11);
    for (i, v) in x.iter_mut().enumerate() {
        if i % 7 == 0 {
            *v = if i % 2 == 0 { 1.0 } else { -1.0 };
        }
    }
    check_bytes(dtype, rows, cols, &bytes, &x, 3);
}

#[test]
fn q4_0_matches_the_oracle() {
    check(GgmlDType::Q4_0, 64, 576, 3);
    check(GgmlDType::Q4_0, 10, 1536, 11);
    check_arbitrary(GgmlDType::Q4_0, 13, 576);
}

#[test]
fn q4_1_matches_the_oracle() {
    check(GgmlDType::Q4_1, 64, 576, 3);
    check(GgmlDType::Q4_1, 10, 1536, 11);
    check_arbitrary(GgmlDType::Q4_1, 13, 576);
}

#[test]
fn q5_0_matches_the_oracle() {
    check(GgmlDType::Q5_0, 64, 576, 3);
    check(GgmlDType::Q5_0, 10, 1536, 11);
    check_arbitrary(GgmlDType::Q5_0, 13, 576);
}

#[test]
fn q8_0_matches_the_oracle() {
    check(GgmlDType::Q8_0, 64, 576, 3);
    check(GgmlDType::Q8_0, 10, 1536, 11);
    check_arbitrary(GgmlDType::Q8_0, 13, 576);
}

#[test]
fn q4_k_matches_the_oracle() {
    check(GgmlDType::Q4K, 64, 512, 3);
    check(GgmlDType::Q4K, 10, 1536, 11);
    check_arbitrary(GgmlDType::Q4K, 13, 512);
}

#[test]
fn q6_k_matches_the_oracle() {
    check(GgmlDType::Q6K, 64, 512, 3);
    check(GgmlDType::Q6K, 10, 1536, 11);
    check_arbitrary(GgmlDType::Q6K, 13, 512);
}
