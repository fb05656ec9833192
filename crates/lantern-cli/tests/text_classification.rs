//! `lantern run text-classification` as a user runs it: a separate process, the model fetched
//! from the mirror through HF_ENDPOINT, `--json` in DESIGN.md's shape, compared with
//! transformers' goldens; pairs and top-k; repositories that cannot classify refused by name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fails, lantern, ok_stdout, repo};
use lantern_mirror::testing::{
    TEXT_CLASSIFICATION_BERT_REPO, TEXT_CLASSIFICATION_ROBERTA_REPO, fixture_dir,
    start_fixture_mirror, start_mirror,
};

const GOLDEN: &str =
    include_str!("../../lantern-pipelines/tests/data/text_classification.golden.json");

fn case(model: &str, i: usize) -> serde_json::Value {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    golden["models"][model]["cases"][i].clone()
}

/// `(label, score)` lists of `--json` output.
fn results(stdout: &str) -> Vec<Vec<(String, f64)>> {
    let v: serde_json::Value = serde_json::from_str(stdout).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 1, "only results: {v}");
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["label"].as_str().unwrap().to_owned(),
                        l["score"].as_f64().unwrap(),
                    )
                })
                .collect()
        })
        .collect()
}

fn assert_scores(got: &[(String, f64)], want: &serde_json::Value) {
    let want = want.as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for ((label, score), w) in got.iter().zip(want) {
        assert_eq!(label, w["label"].as_str().unwrap());
        assert!(
            (score - w["score"].as_f64().unwrap()).abs() <= 1e-4,
            "{got:?} vs {w}"
        );
    }
}

#[test]
fn classifies_texts_and_pairs_and_prints_json() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let run = |model: &str, args: &[&str]| {
        let out = lantern(&mirror.url(), tmp.path())
            .args([
                "run",
                "text-classification",
                "-q",
                "--model",
                model,
                "--json",
            ])
            .args(args)
            .output()
            .unwrap();
        results(&ok_stdout(&out))
    };
    // Two single texts in one call: one list per input, every label, best first.
    let (a, b) = (case("tiny-bert-sst2", 0), case("tiny-bert-sst2", 1));
    let r = run(
        TEXT_CLASSIFICATION_BERT_REPO,
        &[
            "--input",
            a["text"].as_str().unwrap(),
            b["text"].as_str().unwrap(),
        ],
    );
    assert_eq!(r.len(), 2);
    assert_scores(&r[0], &a["scores"]);
    assert_scores(&r[1], &b["scores"]);

    // A pair (NLI: premise and hypothesis), and --top-k.
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    let pair = golden["models"]["tiny-roberta-nli"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c.get("text_pair").is_some())
        .unwrap()
        .clone();
    let r = run(
        TEXT_CLASSIFICATION_ROBERTA_REPO,
        &[
            "--input",
            pair["text"].as_str().unwrap(),
            "--pair",
            pair["text_pair"].as_str().unwrap(),
        ],
    );
    assert_scores(&r[0], &pair["scores"]);
    let r = run(
        TEXT_CLASSIFICATION_ROBERTA_REPO,
        &[
            "--input",
            pair["text"].as_str().unwrap(),
            "--pair",
            pair["text_pair"].as_str().unwrap(),
            "--top-k",
            "1",
        ],
    );
    assert_eq!(r[0].len(), 1);
    assert_eq!(r[0][0].0, pair["scores"][0]["label"].as_str().unwrap());

    // Without --json: a table per input.
    let out = lantern(&mirror.url(), tmp.path())
        .args([
            "run",
            "text-classification",
            "-q",
            "--model",
            TEXT_CLASSIFICATION_BERT_REPO,
        ])
        .args(["--input", "What a lovely day"])
        .output()
        .unwrap();
    let table = ok_stdout(&out);
    assert!(
        table.contains("POSITIVE") && table.contains("NEGATIVE"),
        "{table}"
    );
}

#[test]
fn repositories_that_cannot_classify_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let src = fixture_dir().join(TEXT_CLASSIFICATION_BERT_REPO);
    let read = |f: &str| std::fs::read(src.join(f)).unwrap();
    let mut config: serde_json::Value = serde_json::from_slice(&read("config.json")).unwrap();
    config.as_object_mut().unwrap().remove("id2label");
    let no_labels = serde_json::to_vec(&config).unwrap();
    let (weights, tokenizer) = (read("model.safetensors"), read("tokenizer.json"));
    repo(
        root.path(),
        "test/no-labels",
        &[
            ("config.json", &no_labels[..]),
            ("model.safetensors", &weights[..]),
            ("tokenizer.json", &tokenizer[..]),
        ],
    );
    repo(
        root.path(),
        "test/no-weights",
        &[
            ("config.json", &read("config.json")[..]),
            ("tokenizer.json", &tokenizer[..]),
        ],
    );
    let mirror = start_mirror(root.path());
    let run = |model: &str| {
        lantern(&mirror.url(), tmp.path())
            .args([
                "run",
                "text-classification",
                "-q",
                "--model",
                model,
                "--input",
                "hi",
            ])
            .output()
            .unwrap()
    };
    let err = fails(&run("test/no-labels"));
    assert!(err.contains("id2label"), "{err}");
    let err = fails(&run("test/no-weights"));
    assert!(err.contains("model.safetensors"), "{err}");
}
