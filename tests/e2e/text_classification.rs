//! The text-classification demo, built by `lantern build` and served by `lantern serve`, in
//! headless Chromium against the mirror with the tiny random BERT classifier: the labels the
//! page shows equal `lantern run text-classification`'s, with threads and without, on the CPU
//! and on WebGPU (SwiftShader).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lantern_e2e::*;
use lantern_mirror::testing::TEXT_CLASSIFICATION_BERT_REPO;

const DEMO: &str = "tests/demos/text-classification.toml";
const TEXT: &str = "The service was slow and the food was cold.";

/// `(label, score)` best first, as the CLI gives them for `text`.
fn native_labels(endpoint: &str, text: &str) -> Vec<(String, f64)> {
    let v = lantern_json(
        &[
            "run",
            "text-classification",
            "--model",
            TEXT_CLASSIFICATION_BERT_REPO,
            "--input",
            text,
        ],
        endpoint,
    );
    v["results"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["label"].as_str().unwrap().to_owned(),
                l["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Types `text`, presses Classify, and reads the labels the page shows, best first.
async fn page_labels(b: &Browser, text: &str) -> Vec<(String, f64)> {
    b.type_into("text", text).await;
    b.click("run").await;
    let list = b.wait_for("labels", LOAD_TIMEOUT, |_| true).await;
    let mut out = Vec::new();
    for li in list.find_all(fantoccini::Locator::Css("li")).await.unwrap() {
        let label = li.attr("data-label").await.unwrap().unwrap();
        let score = li.attr("data-score").await.unwrap().unwrap();
        assert_eq!(score.split('.').nth(1).map(str::len), Some(4), "{score}");
        out.push((label, score.parse().unwrap()));
    }
    out
}

/// Same labels in the same order, scores equal to the 4 decimals shown (one unit of rounding)
/// plus the backends' tolerance against each other.
fn assert_same(page: &[(String, f64)], native: &[(String, f64)], tolerance: f64) {
    assert_eq!(page.len(), native.len(), "{page:?} vs {native:?}");
    for ((pl, ps), (nl, ns)) in page.iter().zip(native) {
        assert_eq!(pl, nl, "{page:?} vs {native:?}");
        assert!(
            (ps - ns).abs() <= 5e-5 + tolerance,
            "{pl}: page {ps}, CLI {ns}"
        );
    }
}

/// The `backend` hook: exactly `want`, or for `"cpu threads>1"` the threaded build's pool
/// (its size is the machine's core count).
fn backend_is(shown: &str, want: &str) -> bool {
    match want {
        "cpu threads>1" => shown.starts_with("cpu threads=") && shown != "cpu threads=1",
        _ => shown == want,
    }
}

async fn run_case(isolation: bool, query: &str, backend: &str, tolerance: f64) {
    let mirror = start_fixture_mirror();
    let space = build_space(DEMO, &mirror.url());
    let native = native_labels(&mirror.url(), TEXT);
    let server = Server::start(space.path(), isolation).await;
    let b = Browser::start().await;
    b.open(&format!("{}{query}", server.url)).await;
    // Nothing can be classified before the model is there.
    assert!(!b.is_enabled("run").await && !b.is_enabled("text").await);
    b.click("load").await;
    b.wait_ready().await;
    assert_eq!(
        b.attr("progress", "aria-valuenow").await.as_deref(),
        Some("100")
    );
    let shown = b.text("backend").await;
    assert!(backend_is(&shown, backend), "{shown}, expected {backend}");
    let page = page_labels(&b, TEXT).await;
    assert_same(&page, &native, tolerance);
    let shown = b.text("backend").await;
    assert!(backend_is(&shown, backend), "no fallback: {shown}");
    let name: String = backend
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    b.screenshot(&format!("text-classification-{name}.png"))
        .await;
}

/// wasm (simd128, packed matmul) and native (gemm) sum in different orders: 1e-5.
#[tokio::test(flavor = "multi_thread")]
async fn labels_equal_the_cli_with_threads() {
    run_case(true, "", "cpu threads>1", 1e-5).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn labels_equal_the_cli_without_threads() {
    run_case(false, "", "cpu threads=1", 1e-5).await;
}

/// The GPU sums in another order than the CPU: 1e-4, the bound both are held to against
/// transformers.
#[tokio::test(flavor = "multi_thread")]
async fn labels_equal_the_cli_on_webgpu() {
    run_case(true, "?backend=webgpu", "webgpu threads=1", 1e-4).await;
}
