//! Hostile `config.json` and safetensors files for every family: each is a typed error, never a
//! panic or an allocation the file does not back.

use lantern_models::ModelError;
use lantern_models::encoder::{Config, EncoderOptions, Head, load_encoder};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use serde_json::{Value, json};

use crate::common::tiny::{FAMILIES, Family, Tiny};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn config_err(v: &Value) -> ModelError {
    Config::from_json(&serde_json::to_vec(v).unwrap()).unwrap_err()
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
    for f in FAMILIES {
        let t = Tiny::new(f, false, true, "gelu");
        let distil = f == Family::DistilBert;
        let (hidden, heads, layers, inter, act) = if distil {
            ("dim", "n_heads", "n_layers", "hidden_dim", "activation")
        } else {
            (
                "hidden_size",
                "num_attention_heads",
                "num_hidden_layers",
                "intermediate_size",
                "hidden_act",
            )
        };
        let cases: Vec<(Value, &str)> = vec![
            (with(&t.config, hidden, Value::Null), hidden),
            (with(&t.config, hidden, json!(0)), hidden),
            (with(&t.config, hidden, json!(1u64 << 20)), hidden),
            (with(&t.config, hidden, json!("384")), "config.json"),
            (with(&t.config, hidden, json!(-1)), "config.json"),
            (with(&t.config, hidden, json!(32.5)), "config.json"),
            (with(&t.config, heads, json!(5)), heads),
            (with(&t.config, layers, json!(100_000)), layers),
            (with(&t.config, inter, Value::Null), inter),
            (with(&t.config, "vocab_size", json!(0)), "vocab_size"),
            (
                with(&t.config, "vocab_size", json!(1u64 << 30)),
                "vocab_size",
            ),
            (
                with(&t.config, "max_position_embeddings", Value::Null),
                "max_position_embeddings",
            ),
            (with(&t.config, act, json!("swish")), act),
            (with(&t.config, act, json!(7)), "config.json"),
            (with(&t.config, "pad_token_id", json!(40)), "pad_token_id"),
            (
                with(&t.config, "id2label", json!({"0": "a", "2": "b"})),
                "id2label",
            ),
            (with(&t.config, "id2label", json!({"x": "a"})), "id2label"),
            (
                with(&t.config, "id2label", json!({"0": "a", "00": "b"})),
                "id2label",
            ),
            (with(&t.config, "id2label", json!({})), "id2label"),
            (
                with(
                    &t.config,
                    "id2label",
                    json!({"99999999999999999999999": "a"}),
                ),
                "id2label",
            ),
            (
                with(&t.config, "id2label", json!(["a", "b"])),
                "config.json",
            ),
            (
                with(
                    &with(&t.config, "id2label", Value::Null),
                    "num_labels",
                    json!(0),
                ),
                "num_labels",
            ),
            (
                with(&t.config, "position_embedding_type", json!("relative_key")),
                "position_embedding_type",
            ),
            (with(&t.config, "is_decoder", json!(true)), "is_decoder"),
        ];
        let mut cases = cases;
        if distil {
            cases.push((
                with(&t.config, "sinusoidal_pos_embds", json!(true)),
                "sinusoidal_pos_embds",
            ));
        } else {
            for eps in [json!(-1.0), json!(0.0), json!(1e300), json!("1e-12")] {
                let name = if eps.is_string() {
                    "config.json"
                } else {
                    "layer_norm_eps"
                };
                cases.push((with(&t.config, "layer_norm_eps", eps), name));
            }
            cases.push((
                with(&t.config, "type_vocab_size", json!(0)),
                "type_vocab_size",
            ));
        }
        if matches!(f, Family::Roberta | Family::XlmRoberta) {
            // Positions start at pad + 1 = 2: two positions leave none for a token.
            cases.push((
                with(&t.config, "max_position_embeddings", json!(2)),
                "max_position_embeddings",
            ));
        }
        for (json, name) in cases {
            let e = config_err(&json);
            assert_eq!(field(&e), name, "{f:?}: {e}");
        }
        for other in ["gpt2", "t5", "", "BERT"] {
            assert!(matches!(
                config_err(&with(&t.config, "model_type", json!(other))),
                ModelError::UnsupportedArchitecture(_)
            ));
        }
    }
    // Beyond usize (wasm32's is 32 bits), or beyond u64: a parse error either way.
    for big in ["1e30", "18446744073709551616"] {
        let text = format!("{{\"model_type\": \"bert\", \"hidden_size\": {big}}}");
        assert!(Config::from_json(text.as_bytes()).is_err());
    }
    for text in ["[1,2", "null", "\"bert\"", "", "{\"model_type\": 5}"] {
        assert_eq!(
            field(&Config::from_json(text.as_bytes()).unwrap_err()),
            "config.json"
        );
    }
    // Deep nesting (in an unknown field, which serde skips) is no stack overflow.
    let deep = format!("{{\"a\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        Config::from_json(deep.as_bytes()),
        Err(ModelError::InvalidConfig { .. })
    ));
}

fn load(cfg_json: &[u8], file: &[u8]) -> Result<(), ModelError> {
    let cfg = Config::from_json(cfg_json)?;
    let options = EncoderOptions {
        head: Head::SequenceClassification,
        ..EncoderOptions::default()
    };
    load_encoder(&cfg, file, options).map(|_| ())
}

/// A file with `edit` applied to its tensors (name, dtype, shape, bytes).
fn edited(t: &Tiny, edit: impl Fn(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>)) -> Vec<u8> {
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = t
        .tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.clone(),
                Dtype::F32,
                s.clone(),
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

#[test]
fn truncated_files_are_typed_errors() {
    for f in FAMILIES {
        let t = Tiny::new(f, true, true, "gelu");
        let (cfg, file) = (t.config_json(), t.safetensors(Dtype::F32));
        assert!(load(&cfg, &file).is_ok());
        let header = 8 + u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
        // Every cut in the header, then every 61st byte of the data.
        let cuts = (0..header + 16).chain((header..file.len()).step_by(61));
        for cut in cuts {
            match load(&cfg, &file[..cut]) {
                Err(ModelError::Safetensors(_)) => {}
                other => panic!("{f:?} cut at {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn hostile_headers_are_typed_errors() {
    let t = Tiny::new(Family::Bert, false, true, "gelu");
    let cfg = t.config_json();
    let header = |json: &str, data: usize| {
        let mut f = (json.len() as u64).to_le_bytes().to_vec();
        f.extend_from_slice(json.as_bytes());
        f.extend(std::iter::repeat_n(0u8, data));
        f
    };
    let bad: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 8],
        u64::MAX.to_le_bytes().to_vec(),
        header("{", 0),
        header("[]", 0),
        header("\u{0}\u{1}", 0),
        header(
            r#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 32]}}"#,
            16,
        ),
        header(
            r#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [8, 0]}}"#,
            16,
        ),
        header(
            r#"{"a": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 16]}}"#,
            16,
        ),
        header(
            r#"{"a": {"dtype": "Q9", "shape": [4], "data_offsets": [0, 16]}}"#,
            16,
        ),
    ];
    for (i, file) in bad.iter().enumerate() {
        assert!(
            matches!(load(&cfg, file), Err(ModelError::Safetensors(_))),
            "case {i}: {:?}",
            load(&cfg, file)
        );
    }
    // A valid file without the model's tensors.
    let empty = header("{}", 0);
    assert!(matches!(
        load(&cfg, &empty),
        Err(ModelError::MissingTensor(_))
    ));
}

#[test]
fn wrong_tensors_are_named() {
    for f in FAMILIES {
        let t = Tiny::new(f, f == Family::Roberta, true, "gelu");
        let cfg = t.config_json();
        let word = format!("{}embeddings.word_embeddings.weight", t.body);
        let norm = t
            .tensors
            .iter()
            .find(|(n, _, _)| n.ends_with("LayerNorm.bias") || n.ends_with("layer_norm.bias"))
            .unwrap()
            .0
            .clone();
        // A missing norm, a missing head.
        let file = edited(&t, |ts| ts.retain(|(n, _, _, _)| *n != norm));
        assert_eq!(
            load(&cfg, &file).unwrap_err(),
            ModelError::MissingTensor(norm.clone()),
            "{f:?}"
        );
        let file = edited(&t, |ts| {
            ts.retain(|(n, _, _, _)| !n.starts_with("classifier"))
        });
        assert!(
            matches!(load(&cfg, &file).unwrap_err(), ModelError::MissingTensor(_)),
            "{f:?}"
        );
        // A table one row short; a classifier of another label count.
        let file = edited(&t, |ts| {
            let e = ts.iter_mut().find(|(n, _, _, _)| *n == word).unwrap();
            e.2[0] -= 1;
            e.3.truncate(e.2[0] * e.2[1] * 4);
        });
        assert!(
            matches!(load(&cfg, &file).unwrap_err(), ModelError::TensorShape { name, .. } if name == word)
        );
        let mut c = t.config.clone();
        c["id2label"] = json!({"0": "a", "1": "b"});
        let e = load(&serde_json::to_vec(&c).unwrap(), &t.safetensors(Dtype::F32)).unwrap_err();
        assert!(matches!(e, ModelError::TensorShape { .. }), "{f:?}: {e}");
        // Integer weights.
        let file = edited(&t, |ts| {
            let e = ts.iter_mut().find(|(n, _, _, _)| *n == word).unwrap();
            e.1 = Dtype::I32;
        });
        assert!(matches!(
            load(&cfg, &file).unwrap_err(),
            ModelError::InvalidWeight { .. }
        ));
        // A config far larger than its file is refused by shape, before any allocation.
        let mut c = t.config.clone();
        c["vocab_size"] = json!(1 << 22);
        let e = load(&serde_json::to_vec(&c).unwrap(), &t.safetensors(Dtype::F32)).unwrap_err();
        assert!(matches!(e, ModelError::TensorShape { .. }), "{f:?}: {e}");
    }
}
