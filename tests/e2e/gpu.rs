//! The chat demo on WebGPU: SwiftShader (Chromium's software WebGPU adapter) in headless
//! Chromium, forced with `?backend=webgpu` (the automatic choice takes the CPU over a software
//! adapter); a device loss in the middle of an answer (`?gpu_fail_after=N`) falls back to the CPU
//! and the answer completes; without WebGPU the page runs on the CPU.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lantern_e2e::*;

const DEMO: &str = "tests/demos/chat.toml";
const SYSTEM: &str = "You are a helpful assistant.";
const QUESTION: &str = "What is the capital of France?";

/// Answers are cut at this many tokens ("The capital of France"): SwiftShader takes seconds per
/// decode step, and four tokens are enough to compare the backends and to lose the device in
/// the middle of an answer.
const MAX_TOKENS: &str = "4";

/// The chat demo with answers cut at [`MAX_TOKENS`], built into a Space.
fn build_short_space(endpoint: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(workspace().join(DEMO)).unwrap();
    assert!(manifest.contains("max_tokens = 256"), "{manifest}");
    let manifest = manifest.replace("max_tokens = 256", &format!("max_tokens = {MAX_TOKENS}"));
    let path = dir.path().join("chat.toml");
    std::fs::write(&path, manifest).unwrap();
    build_space_with(&path, endpoint, &[])
}

/// What `lantern run text-generation` answers natively (CPU) for the same messages.
fn native_answer(endpoint: &str, max_tokens: &str) -> String {
    let v = lantern_json(
        &[
            "run",
            "text-generation",
            "--model",
            GGUF_REPO,
            "--file",
            GGUF_FILE,
            "--system",
            SYSTEM,
            "--prompt",
            QUESTION,
            "--max-tokens",
            max_tokens,
        ],
        endpoint,
    );
    v["text"].as_str().unwrap().to_owned()
}

/// How long an answer may take: SwiftShader needs seconds per decode step on 2 busy cores
/// (about 130 s for this answer at a load average of 10).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// Asks the question and waits for the complete answer: `(text, backend of the stats)`.
async fn ask(b: &Browser) -> (String, String) {
    b.type_into("prompt", QUESTION).await;
    b.click("send").await;
    let stats = b.wait_for("stats", ANSWER_TIMEOUT, |_| true).await;
    let backend = stats.attr("data-backend").await.unwrap().unwrap();
    (b.text("output").await, backend)
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_on_webgpu_answers_and_falls_back_to_the_cpu_when_the_device_is_lost() {
    let t0 = Instant::now();
    let mirror = start_fixture_mirror();
    let space = build_short_space(&mirror.url());
    // Cross-origin isolated, as a Space is: the loader must still pick the single-threaded
    // build, the only one with the WebGPU backend.
    let server = Server::start(space.path(), true).await;
    let expected = native_answer(&mirror.url(), MAX_TOKENS);
    let b = Browser::start().await;

    b.open(&format!("{}?backend=webgpu", server.url)).await;
    b.click("load").await;
    b.wait_ready().await;
    assert_eq!(b.text("backend").await, "webgpu threads=1");
    let t_load = t0.elapsed();
    let (text, backend) = ask(&b).await;
    assert_eq!(backend, "webgpu");
    assert_eq!(
        text, expected,
        "the greedy answer on WebGPU differs from the CPU's"
    );
    let decode = b.attr("stats", "data-decode-tok-s").await.unwrap();
    let t_answer = t0.elapsed();
    b.screenshot("chat-webgpu.png").await;

    // The device is lost after the prefill and one decode step: the worker says so, reloads the model on the CPU from the cache, runs the
    // conversation so far again there, and the answer completes — the same answer, since both
    // backends choose the same tokens here.
    b.open(&format!("{}?backend=webgpu&gpu_fail_after=2", server.url))
        .await;
    b.click("load").await;
    b.wait_ready().await;
    assert_eq!(b.text("backend").await, "webgpu threads=1");
    let (text, backend) = ask(&b).await;
    assert_eq!(backend, "cpu", "the answer was completed on the CPU");
    assert_eq!(b.text("backend").await, "cpu threads=1");
    let notice = b.text("gpu-fallback").await;
    assert!(notice.contains("gpu_device_lost"), "{notice}");
    assert!(
        b.client
            .find(fantoccini::Locator::Css("[data-testid=error]"))
            .await
            .is_err(),
        "a fallback is not an error"
    );
    assert_eq!(text, expected, "the answer lost or repeated text");
    eprintln!(
        "webgpu e2e: load {:.0} s, first answer at {:.0} s (decode {decode} tok/s on SwiftShader), \
         with the fallback {:.0} s",
        t_load.as_secs_f64(),
        t_answer.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_without_webgpu_runs_on_the_cpu() {
    let mirror = start_fixture_mirror();
    let space = build_space(DEMO, &mirror.url());
    let server = Server::start(space.path(), true).await;
    let b = Browser::start_with_webgpu(false).await;

    // Forcing WebGPU where there is none: a GPU error whose action is the CPU, before any
    // download.
    b.open(&format!("{}?backend=webgpu", server.url)).await;
    b.click("load").await;
    b.wait_for("error", STEP_TIMEOUT, |_| true).await;
    assert_eq!(
        b.attr("error", "data-code").await.as_deref(),
        Some("GpuFailed")
    );
    assert_eq!(b.text("error-action").await, "Use the CPU");
    assert_eq!(b.status().await, "idle");

    // The automatic choice: the CPU, with the threads of the isolated page.
    b.open(&server.url).await;
    b.click("load").await;
    b.wait_ready().await;
    let shown = b.text("backend").await;
    assert!(shown.starts_with("cpu threads="), "{shown}");
    assert_ne!(shown, "cpu threads=1", "the threaded build runs");
    let (text, backend) = ask(&b).await;
    assert_eq!(backend, "cpu");
    assert_eq!(text, native_answer(&mirror.url(), "256"));
    let decode = b.attr("stats", "data-decode-tok-s").await.unwrap();
    eprintln!("cpu e2e ({shown}): decode {decode} tok/s");
}
