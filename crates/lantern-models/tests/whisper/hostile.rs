//! Hostile `config.json`, safetensors files and inputs: each is a typed error, never a panic or
//! an allocation the file does not back.

use lantern_models::ModelError;
use lantern_models::ops::cpu::Cpu;
use lantern_models::whisper::{Config, Whisper, load_whisper};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use serde_json::{Value, json};

use crate::common::whisper::{Tiny, models};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn config(t: &Tiny) -> Value {
    serde_json::from_slice(&t.config_json).unwrap()
}

fn with(config: &Value, key: &str, value: Value) -> Value {
    let mut c = config.clone();
    if value.is_null() {
        c.as_object_mut().unwrap().remove(key);
    } else {
        c[key] = value;
    }
    c
}

fn config_err(v: &Value) -> ModelError {
    Config::from_json(&serde_json::to_vec(v).unwrap()).unwrap_err()
}

/// The config field an error names (`InvalidConfig` or `LimitExceeded`).
fn field(e: &ModelError) -> &'static str {
    match e {
        ModelError::InvalidConfig { name, .. } => name,
        ModelError::LimitExceeded { what, .. } => what,
        other => panic!("not a config error: {other:?}"),
    }
}

#[test]
fn bad_configs_name_their_field() {
    let t = &models()[0];
    let c = config(t);
    let mut cases: Vec<(Value, &str)> = vec![
        (with(&c, "d_model", Value::Null), "d_model"),
        (with(&c, "d_model", json!(0)), "d_model"),
        (with(&c, "d_model", json!(1u64 << 24)), "d_model"),
        (with(&c, "d_model", json!("64")), "config.json"),
        (with(&c, "d_model", json!(-64)), "config.json"),
        (
            with(&c, "encoder_attention_heads", json!(5)),
            "encoder_attention_heads",
        ),
        (
            with(&c, "decoder_attention_heads", json!(0)),
            "decoder_attention_heads",
        ),
        (with(&c, "encoder_layers", json!(100_000)), "encoder_layers"),
        (with(&c, "decoder_layers", Value::Null), "decoder_layers"),
        (
            with(&c, "encoder_ffn_dim", json!(1u64 << 31)),
            "encoder_ffn_dim",
        ),
        (with(&c, "num_mel_bins", json!(0)), "num_mel_bins"),
        (with(&c, "vocab_size", json!(1u64 << 30)), "vocab_size"),
        (
            with(&c, "max_source_positions", json!(1u64 << 20)),
            "max_source_positions",
        ),
        (
            with(&c, "max_target_positions", Value::Null),
            "max_target_positions",
        ),
        // Each size within its bound, their product (the second convolution's windows) not.
        (
            with(
                &with(&c, "max_source_positions", json!(8000)),
                "d_model",
                json!(8000),
            ),
            "max_source_positions x 3 d_model",
        ),
        (
            with(&c, "activation_function", json!("swish")),
            "activation_function",
        ),
        (with(&c, "activation_function", json!(1)), "config.json"),
        (with(&c, "scale_embedding", json!(true)), "scale_embedding"),
        (with(&c, "eos_token_id", json!(96)), "eos_token_id"),
        (with(&c, "eos_token_id", Value::Null), "eos_token_id"),
        (
            with(&c, "decoder_start_token_id", json!(1000)),
            "decoder_start_token_id",
        ),
        (with(&c, "pad_token_id", json!(96)), "pad_token_id"),
    ];
    for text in ["[1,2", "null", "\"whisper\"", "", "{\"model_type\": 5}"] {
        cases.push((Value::String(text.into()), "config.json"));
    }
    for (json, name) in cases {
        let e = match &json {
            Value::String(text) => Config::from_json(text.as_bytes()).unwrap_err(),
            v => config_err(v),
        };
        assert_eq!(field(&e), name, "{json}: {e}");
    }
    for other in ["bert", "", "Whisper", "wav2vec2"] {
        assert!(matches!(
            config_err(&with(&c, "model_type", json!(other))),
            ModelError::UnsupportedArchitecture(_)
        ));
    }
    // Beyond usize (wasm32's is 32 bits) or u64: a parse error either way.
    for big in ["1e30", "18446744073709551616", "4294967296"] {
        let text = format!("{{\"model_type\": \"whisper\", \"eos_token_id\": {big}}}");
        assert!(Config::from_json(text.as_bytes()).is_err());
    }
    // Deep nesting (in an unknown field, which serde skips) is no stack overflow.
    let deep = format!("{{\"a\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        Config::from_json(deep.as_bytes()),
        Err(ModelError::InvalidConfig { .. })
    ));
    // The suppress lists are the pipeline's, kept as written (these are transformers'
    // defaults, outside this tiny vocabulary).
    assert_eq!(t.cfg.begin_suppress_tokens, Some(vec![220, 50256]));
}

/// A file with `edit` applied to its tensors (name, dtype, shape, bytes).
fn edited(t: &Tiny, edit: impl Fn(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>)) -> Vec<u8> {
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = t
        .file_tensors()
        .into_iter()
        .map(|(n, s, v)| {
            (
                n,
                Dtype::F32,
                s,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    edit(&mut tensors);
    let views = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()));
    safetensors::serialize(views, None).unwrap()
}

fn load_err(t: &Tiny, file: &[u8]) -> ModelError {
    match load_whisper(&t.cfg, file) {
        Ok(_) => panic!("the file loaded"),
        Err(e) => e,
    }
}

#[test]
fn truncated_files_are_typed_errors() {
    let t = &models()[0];
    let file = t.safetensors();
    let header = 8 + u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    // Every cut in the header and its length, and a spread of cuts through the data.
    let cuts = (0..header + 8).chain((header + 8..file.len()).step_by(997));
    for cut in cuts {
        let e = load_err(t, &file[..cut]);
        assert!(
            matches!(e, ModelError::Safetensors(_)),
            "cut at {cut} of {}: {e:?}",
            file.len()
        );
    }
    assert!(matches!(
        load_err(t, b"not a safetensors file at all"),
        ModelError::Safetensors(_)
    ));
}

#[test]
fn missing_and_misshapen_tensors_are_named() {
    let t = &models()[0];
    for name in [
        "model.encoder.conv1.weight",
        "model.encoder.conv2.bias",
        "model.encoder.layers.1.fc2.weight",
        "model.encoder.layer_norm.bias",
        "model.decoder.embed_tokens.weight",
        "model.decoder.embed_positions.weight",
        "model.decoder.layers.0.encoder_attn.k_proj.weight",
        "model.decoder.layers.1.self_attn.v_proj.bias",
        "model.decoder.layer_norm.weight",
    ] {
        let file = edited(t, |ts| ts.retain(|(n, ..)| n != name));
        assert_eq!(
            load_err(t, &file),
            ModelError::MissingTensor(name.to_owned()),
            "{name}"
        );
        let file = edited(t, |ts| {
            for (n, _, s, b) in ts.iter_mut() {
                if n == name {
                    // Another shape: half the last axis.
                    let last = s.len() - 1;
                    s[last] /= 2;
                    b.truncate(s.iter().product::<usize>() * 4);
                }
            }
        });
        assert!(
            matches!(load_err(t, &file), ModelError::TensorShape { name: ref n, .. } if n == name),
            "{name}"
        );
    }
    // A type that is not a float.
    let file = edited(t, |ts| {
        for (n, d, _, _) in ts.iter_mut() {
            if n == "model.encoder.layers.0.fc1.weight" {
                *d = Dtype::I32;
            }
        }
    });
    assert!(matches!(
        load_err(t, &file),
        ModelError::InvalidWeight { .. }
    ));
    // A config larger than the file: the first tensor that does not fit is named, nothing
    // is allocated for the config's sizes.
    let mut big: Value = config(t);
    big["vocab_size"] = json!(1 << 19);
    big["d_model"] = json!(4096);
    big["encoder_attention_heads"] = json!(64);
    big["decoder_attention_heads"] = json!(64);
    let cfg = Config::from_json(&serde_json::to_vec(&big).unwrap()).unwrap();
    assert!(matches!(
        load_whisper(&cfg, &t.safetensors()).err(),
        Some(ModelError::TensorShape { .. })
    ));
}

#[test]
fn bad_inputs_are_typed_errors() {
    let t = &models()[0];
    let m = Whisper::load(Cpu, &t.cfg, &t.safetensors()).unwrap();
    let (mels, frames) = (t.cfg.num_mel_bins, t.cfg.n_frames());
    let mel = t.mel();
    let input = |e: ModelError| matches!(e, ModelError::InvalidInput { .. });
    assert!(
        input(m.encode(&mel, frames - 2).unwrap_err()),
        "too few frames"
    );
    assert!(input(
        m.encode(&mel[..mels * (frames - 2)], frames - 2)
            .unwrap_err()
    ));
    assert!(
        input(m.encode(&mel[1..], frames).unwrap_err()),
        "too few values"
    );
    assert!(input(m.encode(&[], 0).unwrap_err()), "no audio");
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut m2 = mel.clone();
        m2[17] = bad;
        assert!(input(m.encode(&m2, frames).unwrap_err()), "{bad}");
    }
    // A memory of a model with another number of decoder layers.
    let mut other = config(t);
    other["decoder_layers"] = json!(1);
    let cfg1 = Config::from_json(&serde_json::to_vec(&other).unwrap()).unwrap();
    let file1 = edited(t, |ts| {
        ts.retain(|(n, ..)| !n.starts_with("model.decoder.layers.1."))
    });
    let m1 = Whisper::load(Cpu, &cfg1, &file1).unwrap();
    let memory1 = m1.encode(&mel, frames).unwrap();
    assert!(input(m.start(&memory1).unwrap_err()));
    let mut s1 = m1.start(&memory1).unwrap();
    assert!(input(m.step(&mut s1, &[1]).unwrap_err()));
}
