//! The evaluation metrics against the packages users compare with, on the same outputs:
//! jiwer (WER), sacrebleu (chrF), rouge-score (ROUGE-L), scikit-learn (accuracy, macro-F1, the
//! confusion matrix) and scipy (Spearman), whose values `scripts/reference-metrics.sh` wrote
//! into `tests/data/metrics.golden.json` (versions inside). Equal within 1e-6 (issue 16; chrF on
//! its 0-100 scale).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lantern_core::metrics::{
    ChrfStats, Classification, WordErrors, exact_match, rouge_l, spearman, word_errors,
};
use serde_json::Value;

const TOLERANCE: f64 = 1e-6;

fn golden() -> Value {
    serde_json::from_str(include_str!("data/metrics.golden.json")).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= TOLERANCE,
        "{what}: Lantern {got}, reference {want}"
    );
}

fn pairs(g: &Value) -> Vec<(String, String)> {
    g["text"]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["reference"].as_str().unwrap().to_owned(),
                p["hypothesis"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn word_error_rate_equals_jiwer() {
    let g = golden();
    let mut total = WordErrors::default();
    for (i, (r, h)) in pairs(&g).iter().enumerate() {
        let row = word_errors(r, h);
        close(
            &format!("row {i} {r:?} / {h:?}"),
            row.rate(),
            f(&g["text"]["wer_rows"][i]),
        );
        total += row;
    }
    close("corpus", total.rate(), f(&g["text"]["wer_corpus"]));
}

#[test]
fn chrf_equals_sacrebleu() {
    let g = golden();
    let mut total = ChrfStats::default();
    for (i, (r, h)) in pairs(&g).iter().enumerate() {
        let row = ChrfStats::of(h, r);
        close(
            &format!("row {i} {r:?} / {h:?}"),
            row.score(),
            f(&g["text"]["chrf_rows"][i]),
        );
        total += row;
    }
    close("corpus", total.score(), f(&g["text"]["chrf_corpus"]));
}

#[test]
fn rouge_l_equals_rouge_score() {
    let g = golden();
    let rows = pairs(&g);
    let mut sum = 0.0;
    for (i, (r, h)) in rows.iter().enumerate() {
        let got = rouge_l(r, h);
        let want = &g["text"]["rouge_l_rows"][i];
        let what = format!("row {i} {r:?} / {h:?}");
        close(&what, got.precision, f(&want["precision"]));
        close(&what, got.recall, f(&want["recall"]));
        close(&what, got.fmeasure, f(&want["fmeasure"]));
        sum += got.fmeasure;
    }
    close(
        "corpus",
        sum / rows.len() as f64,
        f(&g["text"]["rouge_l_corpus"]),
    );
}

#[test]
fn exact_match_equals_scikit_learn_accuracy_on_strings() {
    let g = golden();
    let rows = pairs(&g);
    let mut sum = 0.0;
    for (i, (r, h)) in rows.iter().enumerate() {
        let got = exact_match(r, h);
        close(
            &format!("row {i}"),
            got,
            f(&g["text"]["exact_match_rows"][i]),
        );
        sum += got;
    }
    close(
        "corpus",
        sum / rows.len() as f64,
        f(&g["text"]["exact_match_corpus"]),
    );
}

#[test]
fn classification_equals_scikit_learn() {
    let g = golden();
    let c = &g["classification"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let got = Classification::of(&strings(&c["truth"]), &strings(&c["predicted"])).unwrap();
    assert_eq!(got.labels, strings(&c["labels"]));
    let confusion: Vec<Vec<u64>> = serde_json::from_value(c["confusion"].clone()).unwrap();
    assert_eq!(got.confusion, confusion);
    close("accuracy", got.accuracy, f(&c["accuracy"]));
    close("macro-F1", got.macro_f1, f(&c["macro_f1"]));
    for (i, v) in got.f1.iter().enumerate() {
        close(&format!("F1 of {}", got.labels[i]), *v, f(&c["f1"][i]));
    }
}

#[test]
fn spearman_equals_scipy() {
    let g = golden();
    let s = &g["spearman"];
    let column = |v: &Value| -> Vec<f64> { v.as_array().unwrap().iter().map(f).collect() };
    let got = spearman(&column(&s["x"]), &column(&s["y"])).unwrap();
    close("spearman", got, f(&s["value"]));
}
