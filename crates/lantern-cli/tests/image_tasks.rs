//! `lantern run image-classification` and `lantern run object-detection` as a user runs them:
//! a separate process, the model fetched from the mirror through HF_ENDPOINT, `--json` in the
//! shapes of transformers' pipelines, compared with the goldens; files that are not images
//! refused before anything is downloaded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{fails, lantern, ok_stdout};
use lantern_mirror::testing::{fixture_dir, start_fixture_mirror};

const GOLDEN: &str = include_str!("../../lantern-pipelines/tests/data/vision_models.golden.json");
const EFFICIENTNET_GOLDEN: &str =
    include_str!("../../lantern-pipelines/tests/data/efficientnet_lite0.golden.json");

fn sample(name: &str) -> PathBuf {
    fixture_dir()
        .join("lantern-fixtures/vision-samples")
        .join(name)
}

fn case(golden: &str, model: &str, image: &str) -> serde_json::Value {
    let g: serde_json::Value = serde_json::from_str(golden).unwrap();
    let cases = if model.is_empty() {
        g["cases"].clone()
    } else {
        g["models"][model]["cases"].clone()
    };
    cases
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["image"] == image)
        .unwrap()
        .clone()
}

fn run(mirror: &str, cache: &std::path::Path, task: &str, args: &[&str]) -> std::process::Output {
    lantern(mirror, cache)
        .args(["run", task, "-q"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn classifies_an_image_as_transformers_does() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let chelsea = sample("chelsea.png");
    let chelsea = chelsea.to_str().unwrap();
    let json = |model: &str, extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["--model", model, "--image", chelsea, "--json"];
        args.extend_from_slice(extra);
        let out = run(&mirror.url(), tmp.path(), "image-classification", &args);
        let v: serde_json::Value = serde_json::from_str(&ok_stdout(&out)).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1, "only labels: {v}");
        v
    };
    // EfficientNet-Lite0, real weights: FIXTURES.md's classes within 0.01, five by default.
    let v = json("lantern-fixtures/efficientnet-lite0", &[]);
    let want = case(EFFICIENTNET_GOLDEN, "", "chelsea.png");
    let labels = v["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 5, "{v}");
    for (got, w) in labels.iter().zip(want["top5"].as_array().unwrap()) {
        assert_eq!(got["label"], w["label"], "{v}");
        let (g, w) = (got["score"].as_f64().unwrap(), w["score"].as_f64().unwrap());
        assert!((g - w).abs() <= 0.01, "{g} vs {w}");
    }
    // The tiny ResNet: every label within 1e-4 of transformers' pipeline; --top-k.
    let want = case(GOLDEN, "tiny-resnet-classification", "chelsea.png");
    let v = json(
        "lantern-fixtures/tiny-resnet-classification",
        &["--top-k", "2"],
    );
    let labels = v["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 2);
    for (got, w) in labels.iter().zip(want["pipeline"].as_array().unwrap()) {
        assert_eq!(got["label"], w["label"], "{v}");
        let (g, w) = (got["score"].as_f64().unwrap(), w["score"].as_f64().unwrap());
        assert!((g - w).abs() <= 1e-4, "{g} vs {w}");
    }
    // Without --json: a table naming the labels.
    let out = run(
        &mirror.url(),
        tmp.path(),
        "image-classification",
        &[
            "--model",
            "lantern-fixtures/efficientnet-lite0",
            "--image",
            chelsea,
        ],
    );
    let table = ok_stdout(&out);
    assert!(
        table.contains("tiger cat") && table.contains("Egyptian cat"),
        "{table}"
    );
}

#[test]
fn detects_objects_as_transformers_does() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let coffee = sample("coffee.png");
    let out = run(
        &mirror.url(),
        tmp.path(),
        "object-detection",
        &[
            "--model",
            "lantern-fixtures/tiny-detr-resnet",
            "--image",
            coffee.to_str().unwrap(),
            "--threshold",
            "0",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&ok_stdout(&out)).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 1, "only detections: {v}");
    let got = v["detections"].as_array().unwrap();
    let want = case(GOLDEN, "tiny-detr-resnet", "coffee.png");
    let want = want["pipeline"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{v}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g["label"], w["label"], "{g} vs {w}");
        let (gs, ws) = (g["score"].as_f64().unwrap(), w["score"].as_f64().unwrap());
        assert!((gs - ws).abs() <= 1e-4, "{g} vs {w}");
        for corner in ["xmin", "ymin", "xmax", "ymax"] {
            let (a, b) = (
                g["box"][corner].as_i64().unwrap(),
                w["box"][corner].as_i64().unwrap(),
            );
            assert!((a - b).abs() <= 1, "{corner}: {g} vs {w}");
        }
    }
    let out = run(
        &mirror.url(),
        tmp.path(),
        "object-detection",
        &[
            "--model",
            "lantern-fixtures/tiny-detr-resnet",
            "--image",
            coffee.to_str().unwrap(),
            "--threshold",
            "0",
        ],
    );
    let table = ok_stdout(&out);
    assert!(
        table.contains(&format!("{} detections", want.len())),
        "{table}"
    );
}

#[test]
fn files_that_are_not_images_are_refused_before_downloading() {
    let tmp = tempfile::tempdir().unwrap();
    let not_image = tmp.path().join("notes.png");
    std::fs::write(&not_image, "hello").unwrap();
    let mut huge = std::fs::read(sample("chelsea.png")).unwrap();
    huge.truncate(33);
    huge[16..20].copy_from_slice(&20000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&20000u32.to_be_bytes());
    let gigapixel = tmp.path().join("huge.png");
    std::fs::write(&gigapixel, huge).unwrap();
    // No mirror at all: the image is checked first.
    for (task, file, expected) in [
        ("image-classification", &not_image, "not an image"),
        ("object-detection", &gigapixel, "over the limit"),
        (
            "image-classification",
            &tmp.path().join("missing.jpg"),
            "missing.jpg",
        ),
    ] {
        let out = run(
            "http://127.0.0.1:9",
            &tmp.path().join("cache"),
            task,
            &["--model", "org/any", "--image", file.to_str().unwrap()],
        );
        let err = fails(&out);
        assert!(err.contains(expected), "{task} {file:?}: {err}");
    }
}
