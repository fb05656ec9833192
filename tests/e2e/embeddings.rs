//! The embeddings demo in headless Chromium: the similarity matrix equals what
//! `lantern run feature-extraction` computes natively, and search ranks the sentences.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lantern_e2e::*;

const DEMO: &str = "tests/demos/embeddings.toml";

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// Every cell of the page's similarity matrix equals the cosine of the CLI's vectors (four
/// decimals are shown; one unit of rounding in the last is allowed).
async fn check_matrix(b: &Browser, vectors: &[Vec<f64>]) {
    for i in 0..vectors.len() {
        for j in 0..vectors.len() {
            let cell = b
                .client
                .find(fantoccini::Locator::Css(&format!(
                    "[data-testid=similarity] td[data-i=\"{i}\"][data-j=\"{j}\"]"
                )))
                .await
                .unwrap();
            let shown: f64 = cell.text().await.unwrap().parse().unwrap();
            let expected = cosine(&vectors[i], &vectors[j]);
            assert!(
                (shown - expected).abs() <= 1.0e-4 + 5e-5,
                "({i},{j}): page {shown}, CLI {expected:.6}"
            );
        }
    }
}

/// The demo's sentences, and their vectors as `lantern run feature-extraction` gives them.
fn sentences_and_native_vectors(
    space: &std::path::Path,
    endpoint: &str,
) -> (Vec<String>, Vec<Vec<f64>>) {
    let demo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(space.join("demo.json")).unwrap()).unwrap();
    let sentences: Vec<String> = demo["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    let mut args = vec!["run", "feature-extraction", "--model", EMBEDDING_REPO];
    for s in &sentences {
        args.extend(["--input", s.as_str()]);
    }
    let native = lantern_json(&args, endpoint);
    let vectors = native["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    (sentences, vectors)
}

/// Forced onto WebGPU (SwiftShader in headless Chromium: the automatic choice keeps the CPU
/// over a software adapter), the encoder runs on the GPU and the matrix equals the CPU's.
#[tokio::test(flavor = "multi_thread")]
async fn similarity_on_webgpu_equals_the_cpu() {
    let mirror = start_fixture_mirror();
    let space = build_space(DEMO, &mirror.url());
    let (_, vectors) = sentences_and_native_vectors(space.path(), &mirror.url());
    let server = Server::start(space.path(), true).await;
    let b = Browser::start().await;
    b.open(&format!("{}?backend=webgpu", server.url)).await;
    b.click("load").await;
    b.wait_ready().await;
    assert_eq!(b.text("backend").await, "webgpu threads=1");
    b.click("run").await;
    b.wait_for("similarity", LOAD_TIMEOUT, |_| true).await;
    check_matrix(&b, &vectors).await;
    assert_eq!(b.text("backend").await, "webgpu threads=1", "no fallback");
}

#[tokio::test(flavor = "multi_thread")]
async fn similarity_matrix_matches_the_cli_and_search_ranks() {
    let mirror = start_fixture_mirror();
    let space = build_space(DEMO, &mirror.url());
    let (sentences, vectors) = sentences_and_native_vectors(space.path(), &mirror.url());
    assert!(sentences.len() >= 4);

    let server = Server::start(space.path(), true).await;
    let b = Browser::start().await;
    b.open(&server.url).await;
    assert!(!b.is_enabled("run").await && !b.is_enabled("sentences").await);
    b.click("load").await;
    b.wait_ready().await;
    b.click("run").await;
    b.wait_for("similarity", LOAD_TIMEOUT, |_| true).await;

    check_matrix(&b, &vectors).await;
    b.screenshot("embeddings.png").await;

    b.type_into("query", "Someone is having a meal.").await;
    b.click("search").await;
    let results = b.wait_for("results", STEP_TIMEOUT, |_| true).await;
    let first = results
        .find(fantoccini::Locator::Css("li"))
        .await
        .unwrap()
        .attr("data-index")
        .await
        .unwrap()
        .unwrap();
    let top = &sentences[first.parse::<usize>().unwrap()];
    assert!(top.contains("eating"), "top hit for a meal: {top:?}");
}
