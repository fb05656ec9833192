//! Text classification natively on the CPU: the tiny random classifiers (BERT, DistilBERT,
//! RoBERTa with pairs, XLM-R multi-label) against transformers' goldens, and bad input.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/classification.rs"]
mod classification;

use std::path::PathBuf;

use classification::{FILES, MODELS, check_bad_input, check_model};
use futures_util::FutureExt;
use lantern_pipelines::device::Device;
use lantern_pipelines::source::DirSource;

fn model_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/fixtures/mirror/lantern-fixtures")
        .join(name)
}

/// Runs a future that needs no event loop (files from a folder, the CPU backend).
fn ready<T>(f: impl Future<Output = T>) -> T {
    f.now_or_never()
        .expect("nothing here waits for an event loop")
}

#[test]
fn the_classifiers_match_transformers() {
    for model in MODELS {
        let source = DirSource::new(&model_dir(model)).unwrap();
        assert_eq!(ready(check_model(model, &source, Device::Cpu)), "cpu");
    }
}

#[test]
fn bad_repositories_and_input_are_typed_errors() {
    let dir = model_dir("tiny-bert-sst2");
    let files: Vec<(&str, Vec<u8>)> = FILES
        .iter()
        .map(|f| (*f, std::fs::read(dir.join(f)).unwrap()))
        .collect();
    ready(check_bad_input(&files));
}

/// A repository with `vocab.txt` instead of `tokenizer.json` (older BERT checkpoints): the
/// tokenizer made from it gives the ids the fixture's `tokenizer.json` gives, for every golden
/// input (pairs, accents, CJK, truncation).
#[test]
fn a_bert_vocab_txt_tokenizes_as_tokenizer_json_does() {
    use lantern_core::protocol::TextInput;
    use lantern_pipelines::source::MemorySource;
    use lantern_pipelines::text_classification;

    let dir = model_dir("tiny-bert-sst2");
    let tokenizer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tokenizer.json")).unwrap()).unwrap();
    let vocab = tokenizer["model"]["vocab"].as_object().unwrap();
    let mut lines = vec![String::new(); vocab.len()];
    for (token, id) in vocab {
        lines[id.as_u64().unwrap() as usize] = token.clone();
    }
    let mut source = MemorySource::new().with("vocab.txt", lines.join("\n"));
    for f in ["config.json", "model.safetensors", "tokenizer_config.json"] {
        source = source.with(f, std::fs::read(dir.join(f)).unwrap());
    }
    let choice = ready(lantern_pipelines::tasks::files_for(
        lantern_core::Task::TextClassification,
        &source,
        lantern_pipelines::tasks::Wanted::Choose,
    ))
    .unwrap();
    assert!(choice.files.contains(&"vocab.txt".to_owned()), "{choice:?}");
    let from_vocab = ready(text_classification::load(&source, Device::Cpu))
        .unwrap()
        .pipeline;
    let golden: serde_json::Value = serde_json::from_str(classification::GOLDEN).unwrap();
    for case in golden["models"]["tiny-bert-sst2"]["cases"]
        .as_array()
        .unwrap()
    {
        let input = TextInput {
            text: case["text"].as_str().unwrap().to_owned(),
            text_pair: case["text_pair"].as_str().map(str::to_owned),
        };
        let (ids, types) = from_vocab.tokenize(&input).unwrap();
        let want: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(ids, want, "{input:?}");
        let want_types: Vec<u32> = case["token_type_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(types, want_types, "{input:?}");
    }
}
