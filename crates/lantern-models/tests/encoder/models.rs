//! Tiny random models of every family on the CPU backend against the f64 reference forward
//! pass (`common::tiny`): hidden states and classification logits, with and without the
//! `*For*` prefix, f32 / f16 / bf16 files, every activation; batches; input errors.

use lantern_models::ModelError;
use lantern_models::encoder::{
    Config, Encoder, EncoderOptions, Head, Input, Quantization, load_encoder,
};
use safetensors::Dtype;

use crate::common::tiny::{FAMILIES, Family, HIDDEN, LABELS, Tiny};
use crate::common::{max_diff, ready};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// f32 arithmetic over two layers against f64: the hidden states are O(1).
const TOL: f64 = 2e-5;

fn load(t: &Tiny, dtype: Dtype, options: EncoderOptions) -> Box<dyn Encoder> {
    let cfg = Config::from_json(&t.config_json()).unwrap();
    load_encoder(&cfg, &t.safetensors(dtype), options).unwrap()
}

fn classifier() -> EncoderOptions {
    EncoderOptions {
        head: Head::SequenceClassification,
        ..EncoderOptions::default()
    }
}

/// Inputs of several lengths; for RoBERTa one with its padding id inside the text (it gets the
/// padding position, and the tokens after it count on from where they were).
fn inputs(f: Family) -> Vec<Vec<u32>> {
    let pad = f.pad();
    vec![
        vec![2, 5, 7, 9, 3],
        vec![2, 11, 3],
        vec![2, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 3],
        vec![2, 8, pad, 9, 3],
        vec![2, 3],
        vec![4],
    ]
}

fn diff64(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w).abs())
        .fold(0.0, f64::max)
}

fn check_family(t: &Tiny, dtype: Dtype) {
    let enc = load(t, dtype, classifier());
    let reference = t.rounded(dtype);
    let ids = inputs(t.family);
    let types: Vec<Vec<u32>> = ids
        .iter()
        .map(|i| (0..i.len()).map(|j| u32::from(j >= i.len() / 2)).collect())
        .collect();
    let pairs = t.family == Family::Bert;
    let batch: Vec<Input> = ids
        .iter()
        .zip(&types)
        .map(|(i, ty)| Input {
            ids: i,
            type_ids: pairs.then_some(ty.as_slice()),
        })
        .collect();
    let hidden = enc.hidden_states(&batch).unwrap();
    let logits = enc.classify(&batch).unwrap();
    let (mut worst_h, mut worst_l) = (0f64, 0f64);
    for (k, input) in batch.iter().enumerate() {
        let (h, l) = reference.reference(input.ids, input.type_ids);
        assert_eq!(hidden[k].len(), input.ids.len() * HIDDEN);
        worst_h = worst_h.max(diff64(&hidden[k], &h));
        worst_l = worst_l.max(diff64(&logits[k], &l.unwrap()));
    }
    crate::log(&format!(
        "{:?} {dtype:?} (prefix {:?}): hidden max diff {worst_h:.2e}, logits {worst_l:.2e}",
        t.family, t.body
    ));
    assert!(worst_h < TOL && worst_l < TOL, "{:?}", t.family);
    // The awaited forms give the same.
    assert_eq!(ready(enc.hidden_states_async(&batch)).unwrap(), hidden);
    assert_eq!(ready(enc.classify_async(&batch)).unwrap(), logits);
}

#[test]
fn every_family_matches_the_reference() {
    for (i, f) in FAMILIES.into_iter().enumerate() {
        // Bare and prefixed checkpoints alternate.
        check_family(&Tiny::new(f, i % 2 == 1, true, "gelu"), Dtype::F32);
        check_family(&Tiny::new(f, i % 2 == 0, true, "gelu"), Dtype::F32);
    }
}

#[test]
fn f16_and_bf16_files_and_other_activations() {
    check_family(&Tiny::new(Family::Roberta, true, true, "gelu"), Dtype::F16);
    check_family(&Tiny::new(Family::Bert, false, true, "gelu"), Dtype::BF16);
    check_family(
        &Tiny::new(Family::DistilBert, true, true, "relu"),
        Dtype::F32,
    );
    check_family(&Tiny::new(Family::Bert, true, true, "gelu_new"), Dtype::F32);
    check_family(
        &Tiny::new(Family::XlmRoberta, false, true, "gelu_pytorch_tanh"),
        Dtype::F32,
    );
}

#[test]
fn an_input_in_a_batch_gets_what_it_gets_alone() {
    for f in FAMILIES {
        let enc = load(&Tiny::new(f, false, true, "gelu"), Dtype::F32, classifier());
        let ids = inputs(f);
        let batch: Vec<Input> = ids.iter().map(|i| i.as_slice().into()).collect();
        let hidden = enc.hidden_states(&batch).unwrap();
        let logits = enc.classify(&batch).unwrap();
        for (k, input) in batch.iter().enumerate() {
            let alone = enc.hidden_states(&[*input]).unwrap();
            assert!(max_diff(&alone[0], &hidden[k]) <= 1e-6, "{f:?} #{k}");
            let alone = enc.classify(&[*input]).unwrap();
            assert!(max_diff(&alone[0], &logits[k]) <= 1e-6, "{f:?} #{k}");
        }
    }
}

#[test]
fn config_labels_and_limits() {
    let t = Tiny::new(Family::Roberta, true, true, "gelu");
    let cfg = Config::from_json(&t.config_json()).unwrap();
    assert_eq!(cfg.labels, ["neg", "neutral", "pos"]);
    assert_eq!(cfg.num_labels(), LABELS);
    assert_eq!(cfg.max_tokens(), Family::Roberta.max_tokens());
    let mut c = t.config.clone();
    c.as_object_mut().unwrap().remove("id2label");
    let cfg = Config::from_json(&serde_json::to_vec(&c).unwrap()).unwrap();
    assert_eq!(cfg.labels, ["LABEL_0", "LABEL_1"]);
}

#[test]
fn q8_0_weights_stay_close() {
    for f in FAMILIES {
        let t = Tiny::new(f, true, true, "gelu");
        let q8 = load(
            &t,
            Dtype::F32,
            EncoderOptions {
                quantization: Quantization::Q8_0,
                head: Head::SequenceClassification,
            },
        );
        let ids = inputs(f);
        let batch: Vec<Input> = ids.iter().map(|i| i.as_slice().into()).collect();
        let hidden = q8.hidden_states(&batch).unwrap();
        let mut worst = 0f64;
        for (k, input) in batch.iter().enumerate() {
            worst = worst.max(diff64(&hidden[k], &t.reference(input.ids, None).0));
        }
        crate::log(&format!("{f:?} Q8_0: hidden max diff {worst:.2e}"));
        assert!(worst < 0.1, "{f:?}: {worst}");
    }
}

fn invalid_input(e: ModelError) -> bool {
    matches!(e, ModelError::InvalidInput { .. })
}

#[test]
fn bad_input_is_a_typed_error() {
    let bert = load(
        &Tiny::new(Family::Bert, false, true, "gelu"),
        Dtype::F32,
        classifier(),
    );
    let ids: &[u32] = &[2, 5, 3];
    let with_types = |t: &'static [u32]| Input {
        ids,
        type_ids: Some(t),
    };
    assert!(invalid_input(
        bert.hidden_states(&[with_types(&[0, 2, 0])]).unwrap_err()
    ));
    assert!(invalid_input(
        bert.hidden_states(&[with_types(&[0, 1])]).unwrap_err()
    ));
    assert!(matches!(
        bert.hidden_states(&[[2, 40, 3].as_slice().into()])
            .unwrap_err(),
        ModelError::TokenOutOfRange { id: 40, .. }
    ));
    let long = vec![5u32; 25];
    assert!(matches!(
        bert.hidden_states(&[long.as_slice().into()]).unwrap_err(),
        ModelError::ContextOverflow {
            requested: 25,
            max: 24
        }
    ));
    // Empty inputs: empty states, alone or among others; no first token to classify.
    let empty: &[u32] = &[];
    assert_eq!(
        bert.hidden_states(&[empty.into()]).unwrap(),
        vec![Vec::<f32>::new()]
    );
    let mixed = bert.hidden_states(&[empty.into(), ids.into()]).unwrap();
    assert!(mixed[0].is_empty() && mixed[1].len() == 3 * HIDDEN);
    assert!(bert.hidden_states(&[]).unwrap().is_empty());
    assert!(invalid_input(bert.classify(&[empty.into()]).unwrap_err()));

    let roberta = load(
        &Tiny::new(Family::Roberta, true, false, "gelu"),
        Dtype::F32,
        EncoderOptions::default(),
    );
    let long = vec![5u32; 23];
    assert!(matches!(
        roberta
            .hidden_states(&[long.as_slice().into()])
            .unwrap_err(),
        ModelError::ContextOverflow {
            requested: 23,
            max: 22
        }
    ));
    assert!(roberta.hidden_states(&[long[..22].into()]).is_ok());
    // A type id RoBERTa's single-row table does not have; classify without a head.
    assert!(invalid_input(
        roberta
            .hidden_states(&[with_types(&[0, 1, 0])])
            .unwrap_err()
    ));
    assert!(invalid_input(roberta.classify(&[ids.into()]).unwrap_err()));
    assert_eq!(roberta.head(), Head::None);

    let distil = load(
        &Tiny::new(Family::DistilBert, false, false, "gelu"),
        Dtype::F32,
        EncoderOptions::default(),
    );
    assert!(invalid_input(
        distil.hidden_states(&[with_types(&[0, 0, 0])]).unwrap_err()
    ));
}
