//! Whisper from GGUF files with transformers' tensor names, as candle's quantized Whisper reads
//! them: written here with candle's GGUF writer from the tiny golden model. An all-f32 file is
//! the same model as the safetensors file (transformers' goldens hold); one with Q8_0 linear
//! layers is checked against candle-transformers' `whisper::quantized_model` on the same bytes.

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
#[cfg(not(target_arch = "wasm32"))]
use candle_transformers::models::whisper::{self as candle_whisper, quantized_model};
use lantern_models::ops::cpu::Cpu;
#[cfg(not(target_arch = "wasm32"))]
use lantern_models::whisper::Config;
use lantern_models::whisper::{Whisper, load_whisper_gguf_on};
use lantern_models::{ModelBytes, ModelError};

#[cfg(not(target_arch = "wasm32"))]
use crate::common::max_diff;
use crate::common::ready;
use crate::common::whisper::{Tiny, WhisperTol, against_goldens, models};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The tiny model as a GGUF file: 2-D weights whose rows are whole Q8_0 blocks in `matrices`'
/// type, everything else f32; `keep` picks the tensors.
fn gguf(t: &Tiny, matrices: GgmlDType, keep: impl Fn(&str) -> bool) -> Vec<u8> {
    let tensors: Vec<(String, QTensor)> = t
        .file_tensors()
        .into_iter()
        .filter(|(n, _, _)| keep(n))
        .map(|(n, shape, v)| {
            let dtype = if shape.len() == 2 && shape[1] % 32 == 0 && !n.contains("embed_positions")
            {
                matrices
            } else {
                GgmlDType::F32
            };
            let x = Tensor::from_vec(v, shape, &Device::Cpu).unwrap();
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
    let t = &models()[0];
    let file = gguf(t, GgmlDType::F32, |_| true);
    let model = load_whisper_gguf_on(Cpu, &t.cfg, ModelBytes::new(file)).unwrap();
    let (enc, logits) = ready(against_goldens(&*model, t));
    let tol = WhisperTol::F32;
    crate::log(&format!(
        "measured {} from an f32 GGUF: encoder output {enc:.2e}, logits {logits:.2e}",
        t.name
    ));
    assert!(enc <= tol.encoder && logits <= tol.logits);
}

/// Q8_0 linear layers (8-bit weights, and activations rounded to 8 bits for Lantern's integer
/// kernels, as llama.cpp does) against transformers' goldens of the f32 model: within 2 % of
/// the largest value for the encoder output and 3 % of the largest logit.
#[test]
fn a_q8_0_gguf_is_close_to_the_f32_model() {
    let t = &models()[0];
    let file = gguf(t, GgmlDType::Q8_0, |_| true);
    let model = load_whisper_gguf_on(Cpu, &t.cfg, ModelBytes::new(file)).unwrap();
    let (enc, logits) = ready(against_goldens(&*model, t));
    let big = |v: &[f32]| v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let (enc_scale, logit_scale) = (big(&t.encoder_output), big(&t.a.1.concat()));
    crate::log(&format!(
        "measured {} with Q8_0 linear layers: encoder output {enc:.2e} (largest {enc_scale:.1}), \
         logits {logits:.2e} (largest {logit_scale:.1})",
        t.name
    ));
    assert!(enc <= 0.02 * enc_scale && logits <= 0.03 * logit_scale);
}

/// candle's quantized Whisper on the same file, with f16 linear layers (candle multiplies them
/// in f32 as Lantern does, so what is compared is reading the file and the arithmetic, not two
/// roundings of activations). Two differences are candle's and bound the tolerance: it applies
/// GELU's tanh approximation after the convolutions (transformers and OpenAI use the exact GELU;
/// the model here uses the tanh form in its feed-forward layers, as candle does everywhere),
/// and it always uses the sinusoidal encoder positions (the file here has none, so Lantern uses
/// them too).
/// Natively only: candle-transformers is not built for wasm32 (Cargo.toml says why).
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn an_f16_gguf_matches_candle() {
    // candle's Whisper has feed-forward layers of 4 d_model (its config has no field for
    // them): the golden model with wider ones (values by the same rules).
    let mut t = models().remove(0);
    let mut config: serde_json::Value = serde_json::from_slice(&t.config_json).unwrap();
    let ffn = 4 * t.cfg.d_model;
    config["activation_function"] = "gelu_new".into();
    config["encoder_ffn_dim"] = ffn.into();
    config["decoder_ffn_dim"] = ffn.into();
    for (name, shape, _) in &mut t.tensors {
        if name.contains(".fc1.") {
            shape[0] = ffn;
        } else if name.ends_with(".fc2.weight") {
            shape[1] = ffn;
        }
    }
    let t = &t;
    let cfg = Config::from_json(&serde_json::to_vec(&config).unwrap()).unwrap();
    let file = gguf(t, GgmlDType::F16, |n| {
        n != "model.encoder.embed_positions.weight"
    });
    let ours = Whisper::load_gguf(Cpu, &cfg, ModelBytes::new(file.clone())).unwrap();

    let ccfg: candle_whisper::Config = serde_json::from_value(config).unwrap();
    let vb = quantized_model::VarBuilder::from_gguf_buffer(&file, &Device::Cpu).unwrap();
    let mut theirs = quantized_model::Whisper::load(&vb, ccfg).unwrap();

    let mel = t.mel();
    let frames = cfg.n_frames();
    let memory = ours.encode(&mel, frames).unwrap();
    let enc = ours.encoder_output(&memory).unwrap();
    let features = Tensor::from_vec(mel, (1, cfg.num_mel_bins, frames), &Device::Cpu).unwrap();
    let their_enc = theirs.encoder.forward(&features, true).unwrap();
    let their_enc_values: Vec<f32> = their_enc.flatten_all().unwrap().to_vec1().unwrap();
    let enc_diff = max_diff(&enc, &their_enc_values);

    // candle runs the whole sequence at every step; its last row is ours.
    let ids = &t.a.0;
    let mut state = ours.start(&memory).unwrap();
    let mut worst = 0f32;
    for i in 0..ids.len() {
        let got = ours.step(&mut state, &ids[i..=i]).unwrap();
        let tokens = Tensor::new(&ids[..=i], &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let hidden = theirs.decoder.forward(&tokens, &their_enc, true).unwrap();
        let logits = theirs.decoder.final_linear(&hidden).unwrap();
        let want: Vec<f32> = logits.get(0).unwrap().get(i).unwrap().to_vec1().unwrap();
        worst = worst.max(max_diff(&got, &want));
    }
    crate::log(&format!(
        "measured an f16 GGUF against candle's quantized Whisper: encoder output {enc_diff:.2e}, \
         logits {worst:.2e}"
    ));
    assert!(enc_diff < 5e-4 && worst < 5e-4, "{enc_diff} {worst}");
}

/// A GGUF file cut short, without a tensor, or with one of another shape: typed errors.
#[test]
fn bad_gguf_files_are_typed_errors() {
    let t = &models()[0];
    let file = gguf(t, GgmlDType::Q8_0, |_| true);
    for cut in (0..file.len()).step_by(4999).chain([file.len() - 1]) {
        let Err(e) = Whisper::load_gguf(Cpu, &t.cfg, ModelBytes::new(file[..cut].to_vec())) else {
            panic!("a file cut at {cut} loaded");
        };
        assert!(
            matches!(
                e,
                ModelError::Truncated { .. } | ModelError::BadMagic(_) | ModelError::Malformed(_)
            ),
            "cut at {cut}: {e:?}"
        );
    }
    let name = "model.decoder.layers.1.fc1.weight";
    let missing = gguf(t, GgmlDType::Q8_0, |n| n != name);
    assert_eq!(
        Whisper::load_gguf(Cpu, &t.cfg, ModelBytes::new(missing)).err(),
        Some(ModelError::MissingTensor(name.into()))
    );
    let mut wide = t.clone();
    for (n, shape, _) in &mut wide.tensors {
        if n == name {
            shape[0] *= 2;
        }
    }
    let e = Whisper::load_gguf(
        Cpu,
        &t.cfg,
        ModelBytes::new(gguf(&wide, GgmlDType::Q8_0, |_| true)),
    )
    .err();
    assert!(matches!(e, Some(ModelError::TensorShape { .. })), "{e:?}");
}
