//! The text-classification checks, written once and run natively (`tests/text_classification.rs`,
//! CPU; `tests/gpu.rs`, lavapipe) and in headless Chromium (`tests/web_text_classification.rs`,
//! CPU and SwiftShader): the tiny random classifiers of `tests/fixtures/text-classification/`
//! against the goldens transformers' pipeline gave for them
//! (`scripts/reference/text_classification.py`).

use lantern_core::protocol::{ErrorCode, TextInput};
use lantern_pipelines::PipelineError;
use lantern_pipelines::device::Device;
use lantern_pipelines::source::{FileSource, MemorySource};
use lantern_pipelines::text_classification::{self, ClassificationError};

pub const GOLDEN: &str = include_str!("../data/text_classification.golden.json");
/// The bound on every score and logit, against transformers in f32.
pub const TOLERANCE: f32 = 1e-4;
/// The fixture repositories (folders of the fixture mirror).
pub const MODELS: [&str; 4] = [
    "tiny-bert-sst2",
    "tiny-distilbert-sst2",
    "tiny-roberta-nli",
    "tiny-xlm-roberta-emotions",
];
/// Every file of a fixture repository the pipeline may read.
pub const FILES: [&str; 4] = [
    "config.json",
    "tokenizer.json",
    "model.safetensors",
    "tokenizer_config.json",
];

fn golden(model: &str) -> serde_json::Value {
    let all: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    all["models"][model].clone()
}

fn input(case: &serde_json::Value) -> TextInput {
    TextInput {
        text: case["text"].as_str().unwrap().to_owned(),
        text_pair: case["text_pair"].as_str().map(str::to_owned),
    }
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// Loads `model` from `source` on `device` and holds every golden case to the tolerance:
/// token ids exactly, logits and scores within [`TOLERANCE`], labels in the same order, and
/// the `top_k = 2` shape. Returns the backend the model ran on.
pub async fn check_model<S: FileSource>(model: &str, source: &S, device: Device) -> String {
    let g = golden(model);
    let classifier = text_classification::load(source, device)
        .await
        .unwrap()
        .pipeline;
    let labels: Vec<&str> = g["id2label"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(classifier.labels(), labels.as_slice(), "{model}");
    let cases = g["cases"].as_array().unwrap();
    let inputs: Vec<TextInput> = cases.iter().map(input).collect();
    for (case, input) in cases.iter().zip(&inputs) {
        let (got_ids, got_types) = classifier.tokenize(input).unwrap();
        assert_eq!(got_ids, ids(&case["ids"]), "{model}: ids of {input:?}");
        if case.get("token_type_ids").is_some() {
            assert_eq!(
                got_types,
                ids(&case["token_type_ids"]),
                "{model}: types of {input:?}"
            );
        }
    }
    // All cases in one call: batched and padded, yet each equals transformers' unbatched run.
    let (logits, truncated) = classifier.logits_async(&inputs).await.unwrap();
    let result = classifier.classify_async(&inputs, None).await.unwrap();
    let mut worst = 0f32;
    for (i, case) in cases.iter().enumerate() {
        for (got, want) in logits[i].iter().zip(case["logits"].as_array().unwrap()) {
            let d = (got - want.as_f64().unwrap() as f32).abs();
            worst = worst.max(d);
            assert!(d <= TOLERANCE, "{model} case {i}: logit {got} vs {want}");
        }
        let want = case["scores"].as_array().unwrap();
        assert_eq!(result.results[i].len(), want.len(), "{model} case {i}");
        for (got, want) in result.results[i].iter().zip(want) {
            assert_eq!(
                got.label,
                want["label"].as_str().unwrap(),
                "{model} case {i}"
            );
            let d = (got.score - want["score"].as_f64().unwrap() as f32).abs();
            assert!(d <= TOLERANCE, "{model} case {i}: {got:?} vs {want}");
        }
    }
    // The inputs longer than the model's maximum were cut, and said so.
    let long: Vec<usize> = cases
        .iter()
        .enumerate()
        .filter(|(_, c)| c["ids"].as_array().unwrap().len() == classifier.max_length())
        .map(|(i, _)| i)
        .collect();
    assert!(
        !long.is_empty(),
        "{model}: the goldens hold an input that is cut"
    );
    for i in &long {
        assert!(
            truncated.contains(i),
            "{model}: input {i} was cut without a warning"
        );
    }
    assert_eq!(result.warnings.len(), truncated.len());
    // top_k = 2: the best two, best first.
    let top = &g["top_k_2"];
    let case = &cases[top["case"].as_u64().unwrap() as usize];
    let two = classifier
        .classify_async(&[input(case)], Some(2))
        .await
        .unwrap();
    let want = top["result"].as_array().unwrap();
    assert_eq!(two.results[0].len(), 2);
    for (got, want) in two.results[0].iter().zip(want) {
        assert_eq!(got.label, want["label"].as_str().unwrap());
        assert!((got.score - want["score"].as_f64().unwrap() as f32).abs() <= TOLERANCE);
    }
    eprintln!(
        "{model} on {}: {} cases, largest logit difference {worst:.2e}",
        classifier.backend_name(),
        cases.len()
    );
    classifier.backend_name()
}

/// The BERT fixture's files with one of them replaced (or removed, with `None`).
pub fn with(files: &[(&str, Vec<u8>)], path: &str, bytes: Option<Vec<u8>>) -> MemorySource {
    let mut source = MemorySource::new();
    for (p, b) in files {
        if *p != path {
            source = source.with(p, b.clone());
        }
    }
    match bytes {
        Some(b) => source.with(path, b),
        None => source,
    }
}

fn edit_config(files: &[(&str, Vec<u8>)], edit: impl Fn(&mut serde_json::Value)) -> MemorySource {
    let config = &files.iter().find(|(p, _)| *p == "config.json").unwrap().1;
    let mut v: serde_json::Value = serde_json::from_slice(config).unwrap();
    edit(&mut v);
    with(files, "config.json", Some(serde_json::to_vec(&v).unwrap()))
}

async fn load_err(source: &MemorySource) -> PipelineError {
    text_classification::load(source, Device::Cpu)
        .await
        .expect_err("a bad repository must not load")
}

/// Bad repositories and bad input, each a typed error that names the problem; `files` are the
/// BERT fixture's.
pub async fn check_bad_input(files: &[(&str, Vec<u8>)]) {
    // No id2label: a base model, not a classifier.
    let e = load_err(&edit_config(files, |c| {
        c.as_object_mut().unwrap().remove("id2label");
    }))
    .await;
    assert!(
        matches!(
            e,
            PipelineError::Classification(ClassificationError::NoLabels)
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("id2label"), "{e}");
    assert_eq!(e.error_code(), ErrorCode::UnsupportedModel);

    // An architecture Lantern does not run.
    let e = load_err(&edit_config(files, |c| c["model_type"] = "gpt2".into())).await;
    assert!(e.to_string().contains("gpt2"), "{e}");
    assert_eq!(e.error_code(), ErrorCode::UnsupportedModel);

    // More labels than the classifier has outputs: the head's shape says so.
    let e = load_err(&edit_config(files, |c| {
        c["id2label"]["2"] = "EXTRA".into();
        c["label2id"]["EXTRA"] = 2.into();
    }))
    .await;
    assert!(e.to_string().contains("classifier.weight"), "{e}");
    assert_eq!(e.error_code(), ErrorCode::UnsupportedModel);

    // Shapes the weights do not have.
    let e = load_err(&edit_config(files, |c| c["hidden_size"] = 48.into())).await;
    assert_eq!(e.error_code(), ErrorCode::UnsupportedModel, "{e}");

    // Missing and truncated weights.
    let e = load_err(&with(files, "model.safetensors", None)).await;
    assert!(e.to_string().contains("model.safetensors"), "{e}");
    let weights = &files
        .iter()
        .find(|(p, _)| *p == "model.safetensors")
        .unwrap()
        .1;
    for cut in [0, 7, 100, weights.len() / 2, weights.len() - 1] {
        let e = load_err(&with(
            files,
            "model.safetensors",
            Some(weights[..cut].to_vec()),
        ))
        .await;
        assert_eq!(
            e.error_code(),
            ErrorCode::UnsupportedModel,
            "cut {cut}: {e}"
        );
    }

    // A tokenizer.json that is not one.
    let e = load_err(&with(
        files,
        "tokenizer.json",
        Some(b"{\"version\":".to_vec()),
    ))
    .await;
    assert!(e.to_string().contains("tokenizer"), "{e}");

    // Nothing to classify.
    let source = with(files, "", None);
    let classifier = text_classification::load(&source, Device::Cpu)
        .await
        .unwrap()
        .pipeline;
    let e = classifier.classify_async(&[], None).await.unwrap_err();
    assert_eq!(e, ClassificationError::EmptyInput);
    assert_eq!(PipelineError::from(e).error_code(), ErrorCode::InvalidInput);
    // An empty text is an input (only the special tokens), as in transformers.
    let r = classifier
        .classify_async(&[TextInput::new("")], None)
        .await
        .unwrap();
    assert_eq!(r.results[0].len(), 2);
}
