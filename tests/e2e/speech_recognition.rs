//! The speech-recognition demo, built by `lantern build` and served by `lantern serve`, in
//! headless Chromium against the mirror with Whisper tiny.en: an audio file picked in the page
//! is decoded by the browser, sent to the worker as a transferred buffer, and transcribed to
//! the text and segment times `lantern run automatic-speech-recognition` gives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lantern_e2e::*;
use lantern_mirror::testing::{SPEECH_BECKETT_FILE, SPEECH_SAMPLES_REPO, WHISPER_TINY_EN_REPO};

const DEMO: &str = "tests/demos/speech-recognition.toml";

async fn run_case(isolation: bool, backend: &str) {
    let mirror = start_fixture_mirror();
    let space = build_space(DEMO, &mirror.url());
    // WebDriver uploads only from a canonical path.
    let audio = fixture_dir()
        .join(SPEECH_SAMPLES_REPO)
        .join(SPEECH_BECKETT_FILE)
        .canonicalize()
        .unwrap();
    let audio_arg = audio.to_str().unwrap();
    let native = lantern_json(
        &[
            "run",
            "automatic-speech-recognition",
            "--model",
            WHISPER_TINY_EN_REPO,
            "--audio",
            audio_arg,
            "--timestamps",
        ],
        &mirror.url(),
    );
    let server = Server::start(space.path(), isolation).await;
    let b = Browser::start().await;
    b.open(&server.url).await;
    // Nothing can be picked or run before the model is there.
    assert!(!b.is_enabled("run").await && !b.is_enabled("audio-input").await);
    b.click("load").await;
    b.wait_ready().await;
    let shown = b.text("backend").await;
    assert!(shown.starts_with(backend), "{shown}, expected {backend}");
    // A file input takes a path typed into it (WebDriver's file upload).
    b.find("audio-input")
        .await
        .send_keys(audio_arg)
        .await
        .unwrap();
    let status = b
        .wait_for("audio-status", STEP_TIMEOUT, |p| {
            p.text.ends_with(" s") || p.text.contains("cannot")
        })
        .await;
    let status = status.text().await.unwrap();
    assert!(status.ends_with("10.0 s"), "{status}");
    b.click("run").await;
    let transcript = b
        .wait_for("transcript", LOAD_TIMEOUT, |p| !p.text.is_empty())
        .await;
    let text = transcript.text().await.unwrap();
    assert_eq!(text.trim(), native["text"].as_str().unwrap().trim());
    let chunks = b.find("chunks").await;
    let items = chunks
        .find_all(fantoccini::Locator::Css("li"))
        .await
        .unwrap();
    let want = native["chunks"].as_array().unwrap();
    assert_eq!(items.len(), want.len(), "{native}");
    for (li, w) in items.iter().zip(want) {
        let start: f64 = li
            .attr("data-start")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        let end: f64 = li.attr("data-end").await.unwrap().unwrap().parse().unwrap();
        assert!(
            (start - w["timestamp"][0].as_f64().unwrap()).abs() < 0.006,
            "{start} {w}"
        );
        assert!(
            (end - w["timestamp"][1].as_f64().unwrap()).abs() < 0.006,
            "{end} {w}"
        );
    }
    let rtf: f64 = b.attr("stats", "data-rtf").await.unwrap().parse().unwrap();
    assert!(rtf > 0.0, "{rtf}");
    eprintln!("speech in the page ({backend}): real-time factor {rtf:.3}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_picked_file_is_transcribed_as_the_cli_does_with_threads() {
    run_case(true, "cpu threads=").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_picked_file_is_transcribed_as_the_cli_does_without_threads() {
    run_case(false, "cpu threads=1").await;
}
