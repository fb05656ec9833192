//! `lantern run feature-extraction` as a user runs it: a separate process, the model fetched
//! from the mirror through HF_ENDPOINT, JSON out (DESIGN.md's contract), compared with the
//! reference goldens of lantern-pipelines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{lantern, ok_stdout as stdout};
use lantern_mirror::testing::{EMBEDDING_REPO, start_fixture_mirror};

const GOLDEN: &str =
    include_str!("../../lantern-pipelines/tests/data/all-MiniLM-L6-v2.golden.json");

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

fn vectors(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn embeds_through_the_hub_and_prints_json() {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    let sentences = golden["sentences"].as_array().unwrap();
    // Ordinary, CJK, emoji and the empty string (indices of the golden sentence set).
    let picks = [0usize, 17, 16, 19];
    let texts: Vec<&str> = picks
        .iter()
        .map(|&i| sentences[i]["text"].as_str().unwrap())
        .collect();

    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let run = |extra: &[&str]| {
        let mut cmd = lantern(&mirror.url(), tmp.path());
        cmd.args([
            "run",
            "feature-extraction",
            "-q",
            "--model",
            EMBEDDING_REPO,
            "--json",
        ])
        .args(extra)
        .arg("--input")
        .args(&texts);
        cmd
    };
    let out: serde_json::Value =
        serde_json::from_str(&stdout(&run(&[]).output().unwrap())).unwrap();
    assert_eq!(out["dim"], 384);
    let got = vectors(&out["embeddings"]);
    assert_eq!(got.len(), texts.len());
    for ((v, &i), text) in got.iter().zip(&picks).zip(&texts) {
        let want: Vec<f64> = sentences[i]["mean"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let c = cosine(v, &want);
        assert!(c >= 0.99999, "{text:?}: cosine {c}");
    }

    // Everything is cached now: offline works, and Q8_0 stays within its tolerance.
    let out = run(&["--quantize", "q8_0"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let q8: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for (a, b) in vectors(&q8["embeddings"]).iter().zip(&got) {
        assert!(cosine(a, b) >= 0.995);
    }
}

#[test]
fn a_missing_repo_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let out = lantern(&mirror.url(), tmp.path())
        .args([
            "run",
            "feature-extraction",
            "-q",
            "--model",
            "lantern-fixtures/no-such-model",
            "--input",
            "hi",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-model") && !err.contains("panicked"),
        "{err}"
    );
}
