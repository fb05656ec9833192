//! The image demos, built by `lantern build` and served by `lantern serve`, in headless
//! Chromium against the mirror: a photo uploaded through the `image-input` file picker; the
//! labels (EfficientNet-Lite0; a tiny ResNet on WebGPU) and boxes (the tiny DETR) the page
//! shows equal `lantern run`'s, with threads and without, and on WebGPU (SwiftShader, forced with `?backend=webgpu`: the
//! automatic choice takes the CPU over a software adapter). The page's pixels are the browser's
//! decoding of the PNG, which is lossless, so they equal the CLI's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use lantern_e2e::*;

/// The real EfficientNet-Lite0 (its demo), and a tiny random ResNet for the WebGPU case:
/// SwiftShader ran the real one past the load timeout on CI's 2 cores, while its GPU arithmetic
/// is checked on real weights natively (lavapipe, lantern-models' `tests/gpu.rs`).
const CLASSIFIER: (&str, &str) = (
    "tests/demos/image-classification.toml",
    "lantern-fixtures/efficientnet-lite0",
);
const TINY_CLASSIFIER: (&str, &str) = (
    "tests/demos/image-classification-tiny.toml",
    "lantern-fixtures/tiny-resnet-classification",
);
const DETECTOR: &str = "lantern-fixtures/tiny-detr-resnet";

/// A sample photo's canonical path (WebDriver uploads only from one).
fn sample(name: &str) -> PathBuf {
    fixture_dir()
        .join("lantern-fixtures/vision-samples")
        .join(name)
        .canonicalize()
        .unwrap()
}

/// How a case runs the page: cross-origin isolated or not, and the backend it asks for.
#[derive(Clone, Copy)]
struct Setup {
    isolation: bool,
    webgpu: bool,
}

/// The `backend` hook: exactly `want`, or for `"cpu threads>1"` the threaded build's pool.
fn backend_is(shown: &str, want: &str) -> bool {
    match want {
        "cpu threads>1" => shown.starts_with("cpu threads=") && shown != "cpu threads=1",
        _ => shown == want,
    }
}

/// Opens the demo, loads the model, picks the photo and waits until the page has decoded it.
async fn open(
    demo: &str,
    mirror: &str,
    setup: Setup,
    photo: &Path,
) -> (tempfile::TempDir, Server, Browser) {
    let space = build_space(demo, mirror);
    let server = Server::start(space.path(), setup.isolation).await;
    let b = Browser::start().await;
    if setup.webgpu {
        b.open(&format!("{}?backend=webgpu", server.url)).await;
    } else {
        b.open(&server.url).await;
    }
    assert!(!b.is_enabled("run").await && !b.is_enabled("image-input").await);
    b.click("load").await;
    b.wait_ready().await;
    b.find("image-input")
        .await
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    let name = photo.file_name().unwrap().to_str().unwrap().to_owned();
    b.wait_for("image-status", STEP_TIMEOUT, |p| {
        p.text.starts_with(&format!("{name}: ")) && p.text.contains('×')
    })
    .await;
    (space, server, b)
}

async fn classification((demo, model): (&str, &str), setup: Setup, backend: &str) {
    let mirror = start_fixture_mirror();
    let photo = sample("chelsea.png");
    let native = lantern_json(
        &[
            "run",
            "image-classification",
            "--model",
            model,
            "--image",
            photo.to_str().unwrap(),
        ],
        &mirror.url(),
    );
    let (_space, _server, b) = open(demo, &mirror.url(), setup, &photo).await;
    b.click("run").await;
    let list = b.wait_for("labels", LOAD_TIMEOUT, |_| true).await;
    let items = list.find_all(fantoccini::Locator::Css("li")).await.unwrap();
    let want = native["labels"].as_array().unwrap();
    assert_eq!(items.len(), want.len());
    for (li, w) in items.iter().zip(want) {
        let label = li.attr("data-label").await.unwrap().unwrap();
        let score: f64 = li
            .attr("data-score")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(label, w["label"].as_str().unwrap());
        // Four decimals shown, and wasm or WebGPU against native arithmetic.
        assert!((score - w["score"].as_f64().unwrap()).abs() <= 5e-5 + 1e-4);
    }
    let shown = b.text("backend").await;
    assert!(backend_is(&shown, backend), "{shown}, expected {backend}");
}

async fn detection(setup: Setup, backend: &str) {
    let mirror = start_fixture_mirror();
    let photo = sample("coffee.png");
    let native = lantern_json(
        &[
            "run",
            "object-detection",
            "--model",
            DETECTOR,
            "--image",
            photo.to_str().unwrap(),
            "--threshold",
            "0",
        ],
        &mirror.url(),
    );
    let (_space, _server, b) = open(
        "tests/demos/object-detection.toml",
        &mirror.url(),
        setup,
        &photo,
    )
    .await;
    // Every detection: the slider to 0 (the page filters what it was given).
    b.find("threshold")
        .await
        .send_keys(&"\u{E012}".repeat(100))
        .await
        .unwrap();
    b.click("run").await;
    let list = b.wait_for("detections", LOAD_TIMEOUT, |_| true).await;
    let items = list.find_all(fantoccini::Locator::Css("li")).await.unwrap();
    let want = native["detections"].as_array().unwrap();
    assert_eq!(items.len(), want.len());
    for (li, w) in items.iter().zip(want) {
        let label = li.attr("data-label").await.unwrap().unwrap();
        let score: f64 = li
            .attr("data-score")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        let bbox: Vec<i64> = li
            .attr("data-box")
            .await
            .unwrap()
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(label, w["label"].as_str().unwrap());
        assert!((score - w["score"].as_f64().unwrap()).abs() <= 5e-5 + 1e-4);
        for (got, corner) in bbox.iter().zip(["xmin", "ymin", "xmax", "ymax"]) {
            let want = w["box"][corner].as_i64().unwrap();
            assert!((got - want).abs() <= 1, "{corner}: {bbox:?} vs {w}");
        }
    }
    let shown = b.text("backend").await;
    assert!(backend_is(&shown, backend), "{shown}, expected {backend}");
}

const THREADS: Setup = Setup {
    isolation: true,
    webgpu: false,
};
const NO_THREADS: Setup = Setup {
    isolation: false,
    webgpu: false,
};
/// Cross-origin isolated, as a Space is: the loader must still pick the single-threaded build,
/// the only one with the WebGPU backend.
const WEBGPU: Setup = Setup {
    isolation: true,
    webgpu: true,
};

#[tokio::test(flavor = "multi_thread")]
async fn classification_equals_the_cli_with_threads() {
    classification(CLASSIFIER, THREADS, "cpu threads>1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn classification_equals_the_cli_without_threads() {
    classification(CLASSIFIER, NO_THREADS, "cpu threads=1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn classification_on_webgpu_equals_the_cli() {
    classification(TINY_CLASSIFIER, WEBGPU, "webgpu threads=1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn detection_equals_the_cli_with_threads() {
    detection(THREADS, "cpu threads>1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn detection_equals_the_cli_without_threads() {
    detection(NO_THREADS, "cpu threads=1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn detection_on_webgpu_equals_the_cli() {
    detection(WEBGPU, "webgpu threads=1").await;
}
