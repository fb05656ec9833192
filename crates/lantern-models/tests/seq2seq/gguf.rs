//! The text-to-text models from GGUF files with transformers' tensor names, as candle's
//! quantized T5 (`candle-transformers`' `quantized_t5`) reads them: written here with candle's
//! GGUF writer from the tiny fixtures. An all-f32 file is the same model as the safetensors
//! file (transformers' goldens hold); one with Q8_0 matrices is close to it.

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use lantern_models::ModelBytes;
use lantern_models::ops::cpu::Cpu;
use lantern_models::seq2seq::load_seq2seq_gguf_on;
use safetensors::SafeTensors;

use crate::common::ready;
use crate::common::seq2seq::{TOL, Tiny, against_goldens, models};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The model as a GGUF file: 2-D weights whose rows are whole Q8_0 blocks in `matrices`' type
/// (the token table and the head included, as candle's files have them), everything else f32.
fn gguf(t: &Tiny, matrices: GgmlDType) -> Vec<u8> {
    let st = SafeTensors::deserialize(t.file).unwrap();
    let tensors: Vec<(String, QTensor)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            let shape = v.shape().to_vec();
            let values: Vec<f32> = v
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            let dtype = if shape.len() == 2 && shape[1] % 32 == 0 && !n.contains("embed_positions")
            {
                matrices
            } else {
                GgmlDType::F32
            };
            let x = Tensor::from_vec(values, shape, &Device::Cpu).unwrap();
            (n, QTensor::quantize(&x, dtype).unwrap())
        })
        .collect();
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, q)| (n.as_str(), q)).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut out, &[], &refs).unwrap();
    out.into_inner()
}

#[test]
fn an_f32_gguf_is_the_safetensors_model() {
    for t in models() {
        let file = gguf(&t, GgmlDType::F32);
        let model = load_seq2seq_gguf_on(Cpu, &t.cfg, ModelBytes::new(file)).unwrap();
        let (enc, logits) = ready(against_goldens(&*model, &t));
        crate::log(&format!(
            "measured {} from an f32 GGUF: encoder output {enc:.2e}, logits {logits:.2e}",
            t.name
        ));
        assert!(enc <= TOL && logits <= TOL, "{}", t.name);
    }
}

/// Q8_0 matrices (8-bit weights, and activations rounded to 8 bits for Lantern's integer
/// kernels, as llama.cpp does) against transformers' goldens of the f32 model: within 5 % of
/// the largest value of the encoder output and of the logits for Marian and BART (rows of 32 are
/// one block each here). The tiny T5s move by 10-30 % (their unscaled scores amplify the
/// rounding; candle's quantized T5 moves as much): they are held to candle below.
#[test]
fn a_q8_0_gguf_is_close_to_the_f32_model() {
    for t in models().into_iter().filter(|t| !t.name.contains("t5")) {
        let file = gguf(&t, GgmlDType::Q8_0);
        let model = load_seq2seq_gguf_on(Cpu, &t.cfg, ModelBytes::new(file)).unwrap();
        let (enc, logits) = ready(against_goldens(&*model, &t));
        let big = |v: &[f32]| v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let enc_scale = t
            .cases
            .iter()
            .map(|c| big(&c.encoder_hidden))
            .fold(0f32, f32::max);
        let logit_scale = t
            .cases
            .iter()
            .map(|c| big(&c.logits.concat()))
            .fold(0f32, f32::max);
        crate::log(&format!(
            "measured {} with Q8_0 matrices: encoder output {enc:.2e} (largest {enc_scale:.1}), \
             logits {logits:.2e} (largest {logit_scale:.1})",
            t.name
        ));
        assert!(
            enc <= 0.05 * enc_scale && logits <= 0.05 * logit_scale,
            "{}",
            t.name
        );
    }
}

/// candle's quantized T5 on the same Q8_0 files: the quantized path is the same arithmetic
/// (weights and activations rounded to 8 bits, in other orders), so Lantern is closer to
/// candle than candle is to the f32 model, and no further from the f32 model than twice
/// candle's distance. Measured (last positions' logits): against candle 0.12 (T5) and 0.19
/// (Flan-T5); from the f32 model candle 0.24 / 0.28, Lantern 0.33 / 0.41 (largest logit 3). candle scales the tied head's input by `sqrt(d_model)`
/// where transformers scales it by `d_model^-0.5`: its logits of the tied T5 are divided by
/// `d_model` here.
/// Natively only: candle-transformers is not built for wasm32 (Cargo.toml says why).
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_q8_0_t5_is_candles_quantized_t5() {
    use candle_transformers::models::quantized_t5 as candle_t5;
    for t in models().into_iter().filter(|t| t.name.contains("t5")) {
        let file = gguf(&t, GgmlDType::Q8_0);
        let cfg: candle_t5::Config = serde_json::from_slice(t.config_json).unwrap();
        let vb = candle_t5::VarBuilder::from_gguf_buffer(&file, &Device::Cpu).unwrap();
        let mut theirs = candle_t5::T5ForConditionalGeneration::load(vb, &cfg).unwrap();
        let ours = load_seq2seq_gguf_on(Cpu, &t.cfg, ModelBytes::new(file)).unwrap();
        let rescale = if t.cfg.tie_word_embeddings {
            1.0 / t.cfg.d_model as f32
        } else {
            1.0
        };
        let (mut enc_diff, mut logit_diff, mut vs_f32, mut ours_vs_f32) = (0f32, 0f32, 0f32, 0f32);
        for case in &t.cases {
            let ids = Tensor::new(case.input_ids.as_slice(), &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let enc = theirs.encode(&ids).unwrap();
            let enc_values: Vec<f32> = enc.flatten_all().unwrap().to_vec1().unwrap();
            let memory = ours.encode(&case.input_ids).unwrap();
            let our_enc = ours.encoder_output(&memory).unwrap();
            enc_diff = enc_diff.max(crate::common::max_diff(&our_enc, &enc_values));
            let dec = &case.decoder_input_ids;
            let dec_ids = Tensor::new(dec.as_slice(), &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            theirs.clear_kv_cache();
            let logits: Vec<f32> = theirs
                .decode(&dec_ids, &enc)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let logits: Vec<f32> = logits.iter().map(|x| x * rescale).collect();
            let mut state = ours.start(&memory).unwrap();
            let our_logits = ours.step(&mut state, dec).unwrap();
            logit_diff = logit_diff.max(crate::common::max_diff(&our_logits, &logits));
            let want = case.logits.last().unwrap();
            vs_f32 = vs_f32.max(crate::common::max_diff(&logits, want));
            ours_vs_f32 = ours_vs_f32.max(crate::common::max_diff(&our_logits, want));
        }
        crate::log(&format!(
            "measured {} with Q8_0 matrices against candle: encoder output {enc_diff:.2e}, \
             logits {logit_diff:.2e} (against the f32 model's logits: candle {vs_f32:.2e}, \
             Lantern {ours_vs_f32:.2e})",
            t.name
        ));
        assert!(
            enc_diff < vs_f32 && logit_diff < vs_f32 && ours_vs_f32 <= 2.0 * vs_f32,
            "{}",
            t.name
        );
    }
}
