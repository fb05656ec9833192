//! Every weight type on real weights: the requantized fixtures (Q4_0, Q8_0, Q4_K_M, made by
//! `scripts/fixtures-requantized.sh`; with SmolLM2's 576-wide rows Q4_K_M is Q5_0, Q8_0, Q4_K
//! and Q6_K tensors) against candle-transformers' `quantized_llama` on the same file, and the
//! other types candle knows (F16, BF16, Q5_1, Q2_K, Q3_K, Q5_K) converted from the shipped
//! file, against candle too.
//!
//! For the fixtures, tolerances as in `candle_reference.rs`: the two implementations quantize activations
//! differently (8-bit blocks with f32 scales here; candle's Q8_0/Q8_1/Q8_K with f16 scales, or
//! f32 activations for F16/BF16 weights), and 8-bit activation noise accumulates over 30
//! layers: logits differ by up to ~1.6 (measured), each side about as far from the f32 model.
//! So: Lantern's logits on average no farther from the file's f32 dequantization than
//! candle's (within 1.25x), max |Δ| between the two under 2.5, and the same argmax wherever
//! candle's top-2 margin is not a near tie (< 0.5).

use std::borrow::Cow;

use candle_core::quantized::{QMatMul, QStorage, QTensor};
use candle_core::{Device, Module, Tensor};
use lantern_models::gguf::{GgmlDType, GgufFile, requantize};
use lantern_models::ops::Backend;
use lantern_models::ops::cpu::Cpu;
use lantern_models::{GgufWeights, Logits, ModelBytes, load_causal_lm};

use crate::candle_reference::{Candle, argmax, margin, max_diff, mean_diff};
use crate::fixtures::{CHAT_PROMPT, SMOLLM_Q4_1, model_bytes, requantized_bytes};

/// Lantern and candle on one file, and Lantern on the file's weights dequantized to f32 (the
/// reference both quantized runs are measured against): the prompt, then `steps` greedy steps
/// of the f32 model (so all three see the same tokens).
fn compare_with_candle(name: &str, bytes: Vec<u8>, steps: usize) {
    let file = GgufFile::parse(&bytes).unwrap();
    let mut types: Vec<String> = file
        .tensors
        .iter()
        .map(|t| format!("{:?}", t.dtype))
        .collect();
    types.sort();
    types.dedup();
    let f32_file = requantize(&bytes, &[], |_| Some(GgmlDType::F32)).unwrap();
    let mut reference = load_causal_lm(ModelBytes::new(f32_file)).unwrap();
    let mut theirs = Candle::new(&bytes);
    let mut ours = load_causal_lm(ModelBytes::new(bytes)).unwrap();
    let mut exact = reference.forward(CHAT_PROMPT, 0, Logits::Last).unwrap();
    let mut mine = ours.forward(CHAT_PROMPT, 0, Logits::Last).unwrap();
    let mut cand = theirs.forward(CHAT_PROMPT, 0);
    let (mut worst, mut mine_total, mut cand_total) = (0f32, 0f32, 0f32);
    for step in 0..=steps {
        let between = max_diff(&mine, &cand);
        let (mine_err, cand_err) = (mean_diff(&mine, &exact), mean_diff(&cand, &exact));
        worst = worst.max(between);
        mine_total += mine_err;
        cand_total += cand_err;
        eprintln!(
            "{name} step {step}: lantern-candle max |Δlogit| {between:.3}; mean |Δ| to f32: lantern {mine_err:.3}, candle {cand_err:.3}; candle margin {:.2}",
            margin(&cand)
        );
        assert!(between < 2.5, "{name} step {step}: max |Δlogit| {between}");
        if margin(&cand) >= 0.5 {
            assert_eq!(argmax(&mine), argmax(&cand), "{name} step {step}: argmax");
        }
        if step == steps {
            break;
        }
        let t = argmax(&exact);
        let pos = CHAT_PROMPT.len() + step;
        exact = reference.forward(&[t], pos, Logits::Last).unwrap();
        mine = ours.forward(&[t], pos, Logits::Last).unwrap();
        cand = theirs.forward(&[t], pos);
    }
    eprintln!(
        "{name} ({}): worst max |Δlogit| {worst:.3}; mean |Δ| to f32 over all steps: lantern {mine_total:.3}, candle {cand_total:.3}",
        types.join(", ")
    );
    assert!(
        mine_total <= cand_total * 1.25,
        "{name}: lantern {mine_total} vs candle {cand_total} from f32"
    );
}

#[test]
fn q4_0_matches_candle() {
    compare_with_candle("Q4_0", requantized_bytes("Q4_0"), 6);
}

#[test]
fn q8_0_matches_candle() {
    compare_with_candle("Q8_0", requantized_bytes("Q8_0"), 6);
}

#[test]
fn q4_k_m_matches_candle() {
    compare_with_candle("Q4_K_M", requantized_bytes("Q4_K_M"), 6);
}

/// The types without a kernel of Lantern's own load and run through candle's dot products
/// (F16/BF16: widened to f32). Every matrix whose rows split into the type's blocks is
/// converted (for the k-quants, only the 1536-wide `ffn_down`), everything else is f32.
///
/// - One real matrix (`blk.0.ffn_down`) against candle's `QMatMul`: the same dot products,
///   so the same values (measured: identical; asserted to 1e-5 of the largest output).
/// - The whole model against candle-transformers: float weights keep the activations
///   continuous, so the logits agree closely (measured 5e-5, asserted 2e-2); with quantized
///   weights, 8-bit activations turn tiny upstream differences (norms, attention) into
///   different rounding, so the logits differ by up to ~1.3 (measured) and are checked as the
///   fixtures are: max |Δ| under 2.5, same argmax unless candle's margin is a near tie.
#[test]
fn every_other_type_matches_candle() {
    let q4_1 = model_bytes(SMOLLM_Q4_1);
    for ty in [
        GgmlDType::F16,
        GgmlDType::BF16,
        GgmlDType::Q5_1,
        GgmlDType::Q2K,
        GgmlDType::Q3K,
        GgmlDType::Q5K,
    ] {
        let bytes = requantize(&q4_1, &[], |t| {
            Some(
                if t.dims.len() == 2 && t.dims[0].is_multiple_of(ty.block_size()) {
                    ty
                } else {
                    GgmlDType::F32
                },
            )
        })
        .unwrap();
        matrix_matches_candle(&bytes, "blk.0.ffn_down.weight", ty);
        let mut theirs = Candle::new(&bytes);
        let mut ours = load_causal_lm(ModelBytes::new(bytes)).unwrap();
        let mut mine = ours.forward(CHAT_PROMPT, 0, Logits::Last).unwrap();
        let mut cand = theirs.forward(CHAT_PROMPT, 0);
        let float = matches!(ty, GgmlDType::F16 | GgmlDType::BF16);
        for step in 0..3 {
            let d = max_diff(&mine, &cand);
            eprintln!("{ty:?} step {step}: max |Δlogit| {d:.5}");
            assert!(
                d < if float { 2e-2 } else { 2.5 },
                "{ty:?} step {step}: max |Δlogit| {d}"
            );
            if float || margin(&cand) >= 0.5 {
                assert_eq!(argmax(&mine), argmax(&cand), "{ty:?} step {step}");
            }
            let t = argmax(&cand);
            mine = ours
                .forward(&[t], CHAT_PROMPT.len() + step, Logits::Last)
                .unwrap();
            cand = theirs.forward(&[t], CHAT_PROMPT.len() + step);
        }
    }
}

/// One matrix of `bytes` times 3 tokens, Lantern's CPU backend against candle's `QMatMul`.
fn matrix_matches_candle(bytes: &[u8], name: &str, ty: GgmlDType) {
    let file = GgufFile::parse(bytes).unwrap();
    let t = file.tensor(name).unwrap().clone();
    assert_eq!(t.dtype, ty);
    let (rows, cols) = t.matrix_shape();
    let x: Vec<f32> = (0..3 * cols)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let weights = GgufWeights::load(&Cpu, ModelBytes::new(bytes.to_vec())).unwrap();
    let m = weights.matrix(&Cpu, name, rows, cols).unwrap();
    let ours = Cpu
        .read(
            &Cpu.matmul(&Cpu.tensor(x.clone(), 3, cols).unwrap(), &m)
                .unwrap(),
        )
        .unwrap();
    let raw = bytes[t.start..t.start + t.len].to_vec();
    let q = QTensor::new(
        QStorage::from_data(Cow::Owned(raw), &Device::Cpu, ty).unwrap(),
        (rows, cols),
    )
    .unwrap();
    let theirs = QMatMul::from_qtensor(q)
        .unwrap()
        .forward(&Tensor::from_vec(x, (3, cols), &Device::Cpu).unwrap())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = max_diff(&ours, &theirs);
    eprintln!("{ty:?} {name}: max |Δ| {d:e} (outputs up to {scale:.1})");
    assert!(d <= 1e-5 * scale, "{ty:?} {name}: max |Δ| {d}");
}
