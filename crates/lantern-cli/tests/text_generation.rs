//! `lantern run text-generation` as a user runs it: a separate process, the GGUF fetched from
//! the mirror through HF_ENDPOINT, DESIGN.md's JSON contract, greedy ids equal to llama.cpp's
//! (the goldens of lantern-pipelines) on the raw prompt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use lantern_mirror::testing::{GGUF_FILE, GGUF_REPO, start_fixture_mirror};

const GOLDEN: &str = include_str!("../../lantern-pipelines/tests/data/llama_cpp_generation.json");

fn lantern(endpoint: &str, cache: &Path) -> Command {
    let mut cmd = common::lantern(endpoint, cache);
    cmd.args([
        "run",
        "text-generation",
        "--model",
        GGUF_REPO,
        "--file",
        GGUF_FILE,
    ]);
    cmd
}

#[test]
fn generates_through_the_hub_and_prints_the_json_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    let raw = &golden["prompts"][0];
    assert_eq!(raw["name"], "raw");
    let out = lantern(&mirror.url(), tmp.path())
        .args([
            "--raw",
            "--prompt",
            raw["text"].as_str().unwrap(),
            "--max-tokens",
            "16",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "text",
        "tokens",
        "prompt_tokens",
        "generated_tokens",
        "prefill_tok_s",
        "decode_tok_s",
        "backend",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["backend"], "cpu");
    assert_eq!(
        v["prompt_tokens"],
        raw["prompt_ids"].as_array().unwrap().len()
    );
    assert_eq!(v["generated_tokens"], 16);
    assert_eq!(
        v["tokens"].as_array().unwrap()[..],
        raw["generated_ids"].as_array().unwrap()[..16]
    );
    assert!(v["decode_tok_s"].as_f64().unwrap() > 0.0);

    // Chat mode streams plain text; the model was cached by the first run, so offline works.
    let out = lantern(&mirror.url(), tmp.path())
        .env("HF_HUB_OFFLINE", "1")
        .args([
            "--prompt",
            "What is the capital of France?",
            "--max-tokens",
            "8",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());

    // A prompt that cannot fit is a clear error, not a panic.
    let out = lantern(&mirror.url(), tmp.path())
        .env("HF_HUB_OFFLINE", "1")
        .args(["--raw", "--prompt", "hi", "--max-tokens", "100000", "-q"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("context window"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
