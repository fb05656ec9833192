//! `lantern run translation` and `lantern run summarization` as a user runs them: a separate
//! process, the tiny random Marian, T5 and BART models fetched from the mirror through
//! HF_ENDPOINT, `--json` in DESIGN.md's shape with transformers' pipeline ids and texts
//! (goldens by scripts/reference/text2text.py); options passed on; what cannot run refused by
//! name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fails, lantern, ok_stdout};
use lantern_mirror::testing::start_fixture_mirror;

const GOLDEN: &str = include_str!("../../lantern-pipelines/tests/data/text2text.golden.json");

fn case(model: &str, name: &str) -> serde_json::Value {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    golden["models"][model]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
        .clone()
}

#[test]
fn translates_and_summarizes_as_transformers_and_prints_json() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let run = |task: &str, model: &str, text: &str, args: &[&str]| {
        let out = lantern(&mirror.url(), tmp.path())
            .args(["run", task, "-q", "--model"])
            .arg(format!("lantern-fixtures/{model}"))
            .arg("--input")
            .arg(text)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&ok_stdout(&out)).unwrap()
    };
    let check = |v: &serde_json::Value, want: &serde_json::Value| {
        assert_eq!(v["text"], want["text_out"], "{v}");
        assert_eq!(v["tokens"], want["output_ids"], "{v}");
        let n = want["output_ids"].as_array().unwrap().len() as u64;
        assert_eq!(v["generated_tokens"].as_u64(), Some(n - 1), "{v}");
        assert_eq!(
            v["input_tokens"].as_u64(),
            Some(want["input_ids"].as_array().unwrap().len() as u64),
            "{v}"
        );
        assert_eq!(v["backend"], "cpu");
        assert!(v["elapsed_s"].as_f64().unwrap() >= 0.0, "{v}");
    };

    // Marian with the model's own settings (beam search, 4 beams).
    let want = case("tiny-marian-en-de", "defaults");
    let v = run(
        "translation",
        "tiny-marian-en-de",
        want["text"].as_str().unwrap(),
        &[],
    );
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "backend",
            "elapsed_s",
            "generated_tokens",
            "input_tokens",
            "text",
            "tokens"
        ],
        "{v}"
    );
    check(&v, &want);
    // Greedy, with a length limit.
    let want = case("tiny-marian-en-de", "greedy_1");
    let v = run(
        "translation",
        "tiny-marian-en-de",
        want["text"].as_str().unwrap(),
        &["--num-beams", "1", "--max-tokens", "24"],
    );
    check(&v, &want);
    // BART summarization: the model's defaults, then beams with no repeated trigram.
    let want = case("tiny-bart-cnn", "defaults");
    let v = run(
        "summarization",
        "tiny-bart-cnn",
        want["text"].as_str().unwrap(),
        &[],
    );
    check(&v, &want);
    let want = case("tiny-bart-cnn", "early_stopping_never");
    let v = run(
        "summarization",
        "tiny-bart-cnn",
        want["text"].as_str().unwrap(),
        &[
            "--num-beams",
            "4",
            "--early-stopping",
            "never",
            "--max-tokens",
            "24",
        ],
    );
    check(&v, &want);
    // T5: the task's prefix from task_specific_params; the options of the others.
    let want = case("tiny-t5", "translation_greedy");
    let v = run(
        "translation",
        "tiny-t5",
        want["text"].as_str().unwrap(),
        &[
            "--num-beams",
            "1",
            "--max-tokens",
            "24",
            "--task-params",
            "translation_en_to_de",
        ],
    );
    check(&v, &want);
    let want = case("tiny-t5", "repetition_penalty_beam");
    let v = run(
        "summarization",
        "tiny-t5",
        want["text"].as_str().unwrap(),
        &[
            "--num-beams",
            "4",
            "--repetition-penalty",
            "1.3",
            "--max-tokens",
            "24",
        ],
    );
    check(&v, &want);
    let want = case("tiny-t5", "length_penalty_0.5");
    let v = run(
        "summarization",
        "tiny-t5",
        want["text"].as_str().unwrap(),
        &[
            "--num-beams",
            "4",
            "--length-penalty",
            "0.5",
            "--max-tokens",
            "24",
        ],
    );
    check(&v, &want);

    // Without --json: the text, and a cut input's warning on stderr.
    let want = case("tiny-marian-en-de", "truncated");
    let out = lantern(&mirror.url(), tmp.path())
        .args([
            "run",
            "translation",
            "--model",
            "lantern-fixtures/tiny-marian-en-de",
        ])
        .args(["--num-beams", "1", "--max-tokens", "16", "--input"])
        .arg(want["text"].as_str().unwrap())
        .output()
        .unwrap();
    assert_eq!(
        ok_stdout(&out),
        format!("{}\n", want["text_out"].as_str().unwrap())
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("cut"),
        "{stderr}"
    );
}

#[test]
fn what_cannot_be_translated_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let run = |task: &str, model: &str, args: &[&str]| {
        lantern(&mirror.url(), tmp.path())
            .args(["run", task, "-q", "--model", model])
            .args(args)
            .output()
            .unwrap()
    };
    let marian = "lantern-fixtures/tiny-marian-en-de";
    let err = fails(&run("translation", marian, &["--input", ""]));
    assert!(err.contains("empty"), "{err}");
    let err = fails(&run(
        "translation",
        marian,
        &["--input", "Hello", "--num-beams", "1000"],
    ));
    assert!(err.contains("num_beams"), "{err}");
    let err = fails(&run(
        "translation",
        marian,
        &["--input", "Hello", "--task-params", "translation_en_to_fr"],
    ));
    assert!(err.contains("translation_en_to_fr"), "{err}");
    // A classifier has no tokenizer-and-decoder pair to translate with.
    let err = fails(&run(
        "summarization",
        "lantern-fixtures/tiny-bert-sst2",
        &["--input", "Hello"],
    ));
    assert!(err.contains("tiny-bert-sst2"), "{err}");
}
