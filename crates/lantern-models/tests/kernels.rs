//! Lantern's quantized matmul kernels: the kernels of this build (simd128 in wasm, AVX2 on
//! x86-64 CPUs that have it, else the portable ones) must equal the portable oracle to the bit,
//! the repacked weights must dequantize to candle's values exactly, and the product must be
//! close to the f32 product of the dequantized weights. Runs natively and, through
//! wasm-bindgen-test in headless Chromium, in the wasm build.
//!
//! Real weights too: natively, every matrix of the fixture models (the shipped Q4_1 file and the
//! Q4_0, Q8_0 and Q4_K_M requantizations, which between them hold every kind); in wasm, where
//! a test cannot read files, a committed sample of their rows (`tests/data/real-weights.bin`,
//! checked natively to be byte for byte what the fixture files hold).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;

use candle_core::quantized::{QStorage, QTensor};
use candle_core::{Device, Tensor};
use lantern_models::gguf::{GgmlDType, dtype_from_id};
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
    // An owned copy: candle wants the blocks aligned (a fresh allocation is; a slice of the
    // sample or of a file need not be).
    let storage = QStorage::from_data(Cow::Owned(bytes.to_vec()), &Device::Cpu, dtype).unwrap();
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

/// The f32 matmul of the wasm build's BERT layers (`packed_f32`, simd128 in wasm) equals its
/// portable kernel to the bit: every tile shape (rows past a multiple of 4, a last panel of
/// 1-7 columns) and BERT's real shapes, with values of mixed sign and magnitude.
#[test]
fn packed_f32_matches_the_portable_kernel() {
    use lantern_models::ops::cpu::packed_f32::PackedF32;
    let shapes = [
        (1, 1, 1),
        (3, 7, 5),
        (4, 8, 8),
        (7, 33, 15),
        (9, 64, 17),
        (13, 384, 384),
        (6, 1536, 384),
        (5, 384, 1536),
    ];
    for (i, (m, k, n)) in shapes.into_iter().enumerate() {
        let seed = 100 + 3 * i as u64;
        let scale = |v: Vec<f32>, by: f32| v.into_iter().map(|x| x * by).collect::<Vec<_>>();
        let x = scale(values(m * k, seed), 3.0);
        let w = scale(values(n * k, seed + 1), 0.05);
        let b = values(n, seed + 2);
        let p = PackedF32::new(&w, n, k).unwrap();
        let (fast, oracle) = (
            p.matmul_bias(&x, &b).unwrap(),
            p.matmul_bias_portable(&x, &b).unwrap(),
        );
        let same = fast
            .iter()
            .zip(&oracle)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same,
            "{m}x{k}x{n}: the build's kernel differs from the portable one"
        );
    }
}

/// The f16 row dot product of this build (F16C natively, simd128 in wasm) equals its portable
/// twin to the bit, and both equal the 8-lane sum of the widened row (`math::dot`'s order,
/// written out here), at lengths around the 8-wide chunks, with finite f16 values of every
/// magnitude (subnormals included).
#[test]
fn f16_rows_dot_as_the_widened_row() {
    use half::f16;
    use lantern_models::ops::cpu::half_dot::{dot_f16, portable};
    let lanes = |w: &[f16], x: &[f32]| {
        let n = w.len();
        let mut acc = [0f32; 8];
        for c in 0..n / 8 {
            for l in 0..8 {
                acc[l] += w[c * 8 + l].to_f32() * x[c * 8 + l];
            }
        }
        let mut tail = 0f32;
        for i in n / 8 * 8..n {
            tail += w[i].to_f32() * x[i];
        }
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
    };
    for (i, n) in [0, 1, 7, 8, 9, 17, 64, 383, 384, 1536]
        .into_iter()
        .enumerate()
    {
        let bits = values(n, 200 + i as u64);
        let w: Vec<f16> = bits
            .iter()
            .map(|v| f16::from_bits(((v + 1.0) * 32767.5) as u16))
            .map(|v| if v.is_finite() { v } else { f16::MAX })
            .collect();
        let x: Vec<f32> = values(n, 300 + i as u64).iter().map(|v| v * 4.0).collect();
        let want = lanes(&w, &x);
        for (what, got) in [("build", dot_f16(&w, &x)), ("portable", portable(&w, &x))] {
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "{what}, {n} values: {got} vs {want}"
            );
        }
    }
}

/// The committed sample of real rows: records of `[u32 name length][name][u32 GGML type]
/// [u32 rows][u32 cols][u32 file name length][file name][bytes]`, all little-endian, in the
/// file's layout.
const SAMPLE: &[u8] = include_bytes!("data/real-weights.bin");

/// One record of [`SAMPLE`].
struct SampleRows<'a> {
    name: &'a str,
    file: &'a str,
    dtype: GgmlDType,
    rows: usize,
    cols: usize,
    bytes: &'a [u8],
}

fn sample() -> Vec<SampleRows<'static>> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, rest) = b.split_at(n);
        *b = rest;
        head
    }
    fn u32_at(b: &mut &[u8]) -> usize {
        u32::from_le_bytes(take(b, 4).try_into().unwrap()) as usize
    }
    let mut b = SAMPLE;
    let mut out = Vec::new();
    while !b.is_empty() {
        let n = u32_at(&mut b);
        let name = std::str::from_utf8(take(&mut b, n)).unwrap();
        let dtype = dtype_from_id(u32_at(&mut b) as u32).unwrap();
        let (rows, cols) = (u32_at(&mut b), u32_at(&mut b));
        let n = u32_at(&mut b);
        let file = std::str::from_utf8(take(&mut b, n)).unwrap();
        let len = rows * cols / dtype.block_size() * dtype.type_size();
        out.push(SampleRows {
            name,
            file,
            dtype,
            rows,
            cols,
            bytes: take(&mut b, len),
        });
    }
    out
}

/// Real rows of every kind (2 groups and a row after them): the kernels equal the oracle, for
/// one token (decode) and for more than a token tile (prefill).
#[test]
fn real_weight_sample_matches_the_oracle() {
    let sample = sample();
    for kind in Kind::ALL {
        assert!(
            sample.iter().any(|s| s.dtype == kind.dtype()),
            "the sample has no {kind:?} rows"
        );
    }
    for s in &sample {
        assert!(
            s.rows > GROUP && !s.rows.is_multiple_of(GROUP),
            "{} ({}): {} rows, not whole groups and a row after them",
            s.name,
            s.file,
            s.rows
        );
        // 13 tokens: a full tile, a tile of 4 and a single token.
        for tokens in [1, kernels::TOKEN_TILE + 5] {
            let x = values(tokens * s.cols, s.rows as u64);
            check_bytes(s.dtype, s.rows, s.cols, s.bytes, &x, tokens);
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod fixtures {
    use std::path::PathBuf;

    use lantern_models::gguf::{GgufFile, dtype_id};

    use super::*;

    /// The fixture models that hold the kinds (made by scripts/fixtures.sh).
    const FILES: [&str; 4] = [
        "SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf",
        "SmolLM2-135M-Instruct-requantized-GGUF/SmolLM2-135M-Instruct.Q4_0.gguf",
        "SmolLM2-135M-Instruct-requantized-GGUF/SmolLM2-135M-Instruct.Q8_0.gguf",
        "SmolLM2-135M-Instruct-requantized-GGUF/SmolLM2-135M-Instruct.Q4_K_M.gguf",
    ];
    /// Rows per sample record: two 4-row groups and one row in the file's layout.
    const SAMPLE_ROWS: usize = 2 * GROUP + 1;

    fn read(file: &str) -> Vec<u8> {
        let dir = match std::env::var_os("LANTERN_FIXTURES") {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/mirror"),
        };
        let p = dir.join("lantern-fixtures").join(file);
        std::fs::read(&p)
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/fixtures.sh)", p.display()))
    }

    /// Every matrix of every fixture model with a kernel here: the kernels equal the oracle on
    /// all of it (one token; the first layer also with a full token tile and a partial one).
    #[test]
    fn every_fixture_matrix_matches_the_oracle() {
        let mut seen = Vec::new();
        for file in FILES {
            let bytes = read(file);
            let gguf = GgufFile::parse(&bytes).unwrap();
            for t in &gguf.tensors {
                let Some(kind) = Kind::of(t.dtype) else {
                    continue;
                };
                let (rows, cols) = t.matrix_shape();
                if t.dims.len() != 2 {
                    continue;
                }
                seen.push(kind);
                let w = &bytes[t.start..t.start + t.len];
                let token_counts: &[usize] = if t.name.starts_with("blk.0.") {
                    &[1, kernels::TOKEN_TILE + 3]
                } else {
                    &[1]
                };
                for &tokens in token_counts {
                    let x = values(tokens * cols, rows as u64);
                    check_bytes(t.dtype, rows, cols, w, &x, tokens);
                }
            }
        }
        for kind in Kind::ALL {
            assert!(seen.contains(&kind), "no fixture matrix of kind {kind:?}");
        }
    }

    /// The committed sample is what the fixtures hold: for each file, the first matrix of each
    /// kind, its first rows. `LANTERN_WRITE_WEIGHT_SAMPLE=1` rewrites it from the fixtures.
    #[test]
    fn real_weight_sample_is_from_the_fixtures() {
        let mut want = Vec::new();
        for file in FILES {
            let bytes = read(file);
            let gguf = GgufFile::parse(&bytes).unwrap();
            let mut kinds = Vec::new();
            for t in &gguf.tensors {
                let Some(kind) = Kind::of(t.dtype) else {
                    continue;
                };
                if t.dims.len() != 2 || kinds.contains(&kind) {
                    continue;
                }
                kinds.push(kind);
                let (_, cols) = t.matrix_shape();
                let len = SAMPLE_ROWS * cols / kind.block_elems() * kind.block_bytes();
                let put =
                    |v: &mut Vec<u8>, n: usize| v.extend_from_slice(&(n as u32).to_le_bytes());
                put(&mut want, t.name.len());
                want.extend_from_slice(t.name.as_bytes());
                put(&mut want, dtype_id(t.dtype) as usize);
                put(&mut want, SAMPLE_ROWS);
                put(&mut want, cols);
                put(&mut want, file.len());
                want.extend_from_slice(file.as_bytes());
                want.extend_from_slice(&bytes[t.start..t.start + len]);
            }
        }
        if std::env::var_os("LANTERN_WRITE_WEIGHT_SAMPLE").is_some() {
            let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/real-weights.bin");
            std::fs::write(p, &want).unwrap();
        }
        assert!(
            want == SAMPLE,
            "tests/data/real-weights.bin differs from the fixtures: \
             rerun this test with LANTERN_WRITE_WEIGHT_SAMPLE=1"
        );
        for s in sample() {
            assert!(FILES.contains(&s.file), "{} from {}", s.name, s.file);
        }
    }
}
