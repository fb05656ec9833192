//! Hostile or unsupported `config.json` and safetensors files: each is a typed error naming
//! what is wrong, never a panic; the file's other float types load the same model.

use half::{bf16, f16};
use lantern_models::ModelError;
use lantern_models::ops::cpu::Cpu;
use lantern_models::seq2seq::{Config, Family, Seq2Seq, load_seq2seq};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde_json::{Value, json};

use crate::common::ready;
use crate::common::seq2seq::{TOL, Tiny, against_goldens, models};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn config(t: &Tiny) -> Value {
    serde_json::from_slice(t.config_json).unwrap()
}

/// `config` with `key` set to `value` (`Null`: removed).
fn with(config: &Value, key: &str, value: Value) -> Value {
    let mut c = config.clone();
    if value.is_null() {
        c.as_object_mut().unwrap().remove(key);
    } else {
        c[key] = value;
    }
    c
}

fn parse(v: &Value) -> Result<Config, ModelError> {
    Config::from_json(&serde_json::to_vec(v).unwrap())
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
    let all = models();
    let (marian, t5, bart) = (config(&all[0]), config(&all[1]), config(&all[3]));
    let cases: Vec<(Value, &str)> = vec![
        (with(&marian, "d_model", Value::Null), "d_model"),
        (with(&marian, "d_model", json!(0)), "d_model"),
        (with(&marian, "d_model", json!(1u64 << 24)), "d_model"),
        (with(&marian, "d_model", json!("32")), "d_model"),
        (with(&marian, "d_model", json!(-32)), "d_model"),
        (with(&marian, "vocab_size", json!(1u64 << 30)), "vocab_size"),
        (
            with(&marian, "encoder_attention_heads", json!(5)),
            "encoder_attention_heads",
        ),
        (
            with(&marian, "decoder_attention_heads", json!(4)),
            "decoder_attention_heads",
        ),
        (
            with(&marian, "encoder_layers", json!(100_000)),
            "encoder_layers",
        ),
        (
            with(&marian, "decoder_ffn_dim", Value::Null),
            "decoder_ffn_dim",
        ),
        (
            with(&marian, "max_position_embeddings", json!(0)),
            "max_position_embeddings",
        ),
        (
            with(&marian, "max_position_embeddings", json!(1u64 << 40)),
            "max_position_embeddings",
        ),
        (
            with(&marian, "activation_function", json!("mish")),
            "activation_function",
        ),
        (with(&marian, "eos_token_id", json!(395)), "eos_token_id"),
        (with(&marian, "pad_token_id", json!(-1)), "pad_token_id"),
        // Missing, and transformers' default (58100) is outside this vocabulary.
        (with(&marian, "pad_token_id", Value::Null), "pad_token_id"),
        (
            with(&marian, "decoder_start_token_id", json!(1000)),
            "decoder_start_token_id",
        ),
        (
            with(&marian, "decoder_vocab_size", json!(7)),
            "decoder_vocab_size",
        ),
        (
            with(&marian, "share_encoder_decoder_embeddings", json!(false)),
            "share_encoder_decoder_embeddings",
        ),
        (
            with(&marian, "scale_embedding", json!("yes")),
            "scale_embedding",
        ),
        (with(&marian, "model_type", Value::Null), "model_type"),
        (
            with(&bart, "forced_eos_token_id", json!(600)),
            "forced_eos_token_id",
        ),
        (with(&bart, "eos_token_id", json!([])), "eos_token_id"),
        (with(&t5, "num_layers", Value::Null), "num_layers"),
        (
            with(&t5, "num_decoder_layers", json!(0)),
            "num_decoder_layers",
        ),
        (with(&t5, "d_kv", Value::Null), "d_kv"),
        (with(&t5, "d_ff", json!(0)), "d_ff"),
        (
            with(&t5, "feed_forward_proj", json!("gated-gelu-new")),
            "feed_forward_proj",
        ),
        (
            with(&t5, "feed_forward_proj", json!("relu-gated")),
            "feed_forward_proj",
        ),
        (
            with(&t5, "feed_forward_proj", json!("softmax")),
            "feed_forward_proj",
        ),
        (
            with(&t5, "relative_attention_num_buckets", json!(2)),
            "relative_attention_num_buckets",
        ),
        (
            with(&t5, "relative_attention_num_buckets", json!(1u64 << 20)),
            "relative_attention_num_buckets",
        ),
        (
            with(&t5, "layer_norm_epsilon", json!(-1.0)),
            "layer_norm_epsilon",
        ),
        (
            with(&t5, "tie_word_embeddings", json!(1)),
            "tie_word_embeddings",
        ),
    ];
    for (c, name) in cases {
        let e = parse(&c).expect_err(name);
        assert_eq!(field(&e), name, "{e}");
    }
    for bytes in [&b""[..], b"[]", b"{", b"null", b"{\"model_type\": 5}"] {
        assert!(matches!(
            Config::from_json(bytes),
            Err(ModelError::InvalidConfig { .. })
        ));
    }
}

/// mBART (pre-norm, final norms: another arithmetic under BART's names) and other families
/// are refused by name.
#[test]
fn other_architectures_are_refused() {
    let bart = config(&models()[3]);
    for other in ["mbart", "pegasus", "whisper", "bert", "mt5"] {
        let e = parse(&with(&bart, "model_type", json!(other))).unwrap_err();
        assert_eq!(e, ModelError::UnsupportedArchitecture(other.into()));
    }
}

/// What transformers' classes default to when a file leaves a field out, and what the file
/// says when it has it.
#[test]
fn defaults_are_transformers() {
    let all = models();
    let (marian, t5, flan, bart) = (&all[0].cfg, &all[1].cfg, &all[2].cfg, &all[3].cfg);
    assert_eq!(
        (marian.pad_token_id, marian.decoder_start_token_id),
        (394, Some(394))
    );
    assert!(marian.scale_embedding && marian.tie_word_embeddings);
    assert_eq!(marian.max_position_embeddings, Some(64));
    assert_eq!((t5.decoder_start_token_id, t5.eos_token_id), (Some(0), 1));
    assert_eq!(t5.max_position_embeddings, None);
    assert_eq!((t5.head_dim, t5.heads, t5.layer_norm_eps), (16, 2, 1e-6));
    assert!(flan.gated_ffn && !flan.tie_word_embeddings);
    assert_eq!(
        (bart.forced_bos_token_id, bart.forced_eos_token_id),
        (Some(0), Some(2))
    );
    assert_eq!(bart.family, Family::Bart);
    // Left out: the class's.
    let c = config(&all[3]);
    let mut bare = with(&c, "forced_eos_token_id", Value::Null);
    bare = with(&bare, "decoder_start_token_id", Value::Null);
    let d = parse(&bare).unwrap();
    assert_eq!(d.forced_eos_token_id, Some(2));
    // No decoder start token: the pipeline decides.
    assert_eq!(d.decoder_start_token_id, None);
    // Written as null: none.
    let mut explicit = c.clone();
    explicit["forced_eos_token_id"] = Value::Null;
    assert_eq!(parse(&explicit).unwrap().forced_eos_token_id, None);
    // A list of eos ids gives the first.
    assert_eq!(
        parse(&with(&c, "eos_token_id", json!([2, 3])))
            .unwrap()
            .eos_token_id,
        2
    );
    let t = config(&all[1]);
    let d = parse(&with(
        &with(&t, "num_decoder_layers", Value::Null),
        "feed_forward_proj",
        Value::Null,
    ))
    .unwrap();
    assert_eq!((d.decoder_layers, d.gated_ffn), (2, false));
    let d = parse(&with(&t, "feed_forward_proj", json!("gated-silu"))).unwrap();
    assert!(d.gated_ffn);
}

/// Every tensor of a model's file: (name, dtype, shape, bytes).
type Tensors = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;

fn tensors(file: &[u8]) -> Tensors {
    let st = SafeTensors::deserialize(file).unwrap();
    let mut v: Tensors = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn serialize(t: &Tensors) -> Vec<u8> {
    let views = t
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()));
    safetensors::serialize(views, None).unwrap()
}

fn edited(t: &Tiny, edit: impl Fn(&mut Tensors)) -> Vec<u8> {
    let mut v = tensors(t.file);
    edit(&mut v);
    serialize(&v)
}

/// The error loading `file` gives (the model's Debug form is its weights: not printed).
fn load_err(t: &Tiny, file: &[u8], what: &str) -> ModelError {
    match Seq2Seq::load(Cpu, &t.cfg, file) {
        Ok(_) => panic!("{}: {what}: loaded", t.name),
        Err(e) => e,
    }
}

#[test]
fn missing_and_misshapen_tensors_are_named() {
    for t in models() {
        let names: Vec<String> = tensors(t.file).into_iter().map(|x| x.0).collect();
        // Every tensor but the optional ones is needed.
        for name in &names {
            if name == "final_logits_bias" {
                continue;
            }
            let file = edited(&t, |v| v.retain(|x| &x.0 != name));
            match load_err(&t, &file, &format!("without {name}")) {
                ModelError::MissingTensor(n) => assert_eq!(&n, name, "{}", t.name),
                other => panic!("{}: {name}: {other:?}", t.name),
            }
            let file = edited(&t, |v| {
                let x = v.iter_mut().find(|x| &x.0 == name).unwrap();
                let n = x.3.len() / 4;
                x.2 = if x.2.len() == 1 { vec![1, n] } else { vec![n] };
            });
            match load_err(&t, &file, &format!("{name} misshapen")) {
                ModelError::TensorShape { name: n, .. } => assert_eq!(&n, name, "{}", t.name),
                other => panic!("{}: {name}: {other:?}", t.name),
            }
        }
        // Integers are not weights.
        let file = edited(&t, |v| {
            for x in v.iter_mut() {
                x.1 = Dtype::I32;
            }
        });
        assert!(matches!(
            load_err(&t, &file, "i32"),
            ModelError::InvalidWeight { .. }
        ));
        for bad in [
            &b""[..],
            b"\x08\0\0\0\0\0\0\0{}",
            &t.file[..t.file.len() / 2],
        ] {
            assert!(matches!(
                load_err(&t, bad, "a broken file"),
                ModelError::Safetensors(_)
            ));
        }
    }
}

/// The file in f16 and bf16 is the same model, within their rounding; without `model.`
/// (the bare `MarianModel` / `BartModel` names) too; without `final_logits_bias` (which
/// transformers makes at load when a file has none) the logits move by the bias only.
#[test]
fn other_files_of_the_same_model() {
    for t in models() {
        for (dtype, tol) in [(Dtype::F16, 0.05), (Dtype::BF16, 0.5)] {
            let file = edited(&t, |v| {
                for x in v.iter_mut() {
                    let f: Vec<f32> =
                        x.3.chunks_exact(4)
                            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                            .collect();
                    x.1 = dtype;
                    x.3 = match dtype {
                        Dtype::F16 => f
                            .iter()
                            .flat_map(|&y| f16::from_f32(y).to_le_bytes())
                            .collect(),
                        _ => f
                            .iter()
                            .flat_map(|&y| bf16::from_f32(y).to_le_bytes())
                            .collect(),
                    };
                }
            });
            let m = load_seq2seq(&t.cfg, &file).unwrap();
            let (enc, logits) = ready(against_goldens(&*m, &t));
            crate::log(&format!(
                "{} in {dtype:?}: {enc:.2e} / {logits:.2e}",
                t.name
            ));
            assert!(enc <= tol && logits <= tol, "{} {dtype:?}", t.name);
        }
        if t.cfg.family != Family::T5 {
            let bare = edited(&t, |v| {
                for x in v.iter_mut() {
                    if let Some(rest) = x.0.strip_prefix("model.") {
                        x.0 = rest.to_owned();
                    }
                }
            });
            let m = load_seq2seq(&t.cfg, &bare).unwrap();
            let (enc, logits) = ready(against_goldens(&*m, &t));
            assert!(enc <= TOL && logits <= TOL, "{}", t.name);
        }
    }
}
