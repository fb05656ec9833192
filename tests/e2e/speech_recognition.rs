//! The speech-recognition demo, built by `lantern build` and served by `lantern serve`, in
//! headless Chromium against the mirror with Whisper tiny.en:
//! - an audio file picked in the page is decoded by the browser, sent to the worker as a
//!   transferred buffer, and transcribed to the text, segment times and subtitle files that
//!   `lantern run automatic-speech-recognition` gives (CPU with and without threads, and
//!   WebGPU); a segment's time seeks the player;
//! - a long file streams its segments and progress, can be cancelled between decoder steps,
//!   and transcribed again to `lantern run`'s long-form text;
//! - the microphone (Chromium's fake device playing `beckett.wav`) gives a live transcript
//!   while recording and the whole recording's transcript when it stops;
//! - bad input (not audio, empty, 8 kHz, 6 channels at 96 kHz, a refused microphone) says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use fantoccini::Locator;
use lantern_core::protocol::Transcript;
use lantern_e2e::*;
use lantern_mirror::testing::{
    SPEECH_BECKETT_FILE, SPEECH_SAMPLES_REPO, SPEECH_TWO_CITIES_FILE, WHISPER_TINY_EN_REPO,
};

const DEMO: &str = "tests/demos/speech-recognition.toml";

/// A fixture recording's canonical path (WebDriver uploads only from one).
fn sample(name: &str) -> PathBuf {
    fixture_dir()
        .join(SPEECH_SAMPLES_REPO)
        .join(name)
        .canonicalize()
        .unwrap()
}

/// `lantern run automatic-speech-recognition --json` on `audio`.
fn native(audio: &Path, mirror: &str, timestamps: bool) -> serde_json::Value {
    let mut args = vec![
        "run",
        "automatic-speech-recognition",
        "--model",
        WHISPER_TINY_EN_REPO,
        "--audio",
        audio.to_str().unwrap(),
    ];
    if timestamps {
        args.push("--timestamps");
    }
    lantern_json(&args, mirror)
}

/// Picks `audio` in the page's file input and waits until the page has decoded it (or said
/// why not); returns the status line.
async fn pick(b: &Browser, audio: &Path) -> String {
    b.find("audio-input")
        .await
        .send_keys(audio.to_str().unwrap())
        .await
        .unwrap();
    let name = audio.file_name().unwrap().to_str().unwrap().to_owned();
    // "decoding NAME…" first, then "NAME: 10.0 s" or "NAME: why not".
    let status = b
        .wait_for("audio-status", STEP_TIMEOUT, |p| {
            p.text.starts_with(&format!("{name}:"))
        })
        .await;
    status.text().await.unwrap()
}

/// The text behind a download link (a `blob:` URL the page made).
async fn download(b: &Browser, testid: &str) -> String {
    let v = b
        .run_async(&format!(
            "const done = arguments[arguments.length - 1];\
             fetch(document.querySelector('[data-testid=\"{testid}\"]').href)\
               .then(r => r.text()).then(done, e => done('failed: ' + e));"
        ))
        .await;
    v.as_str().unwrap().to_owned()
}

/// `[data-start]` of the transcript's segments.
async fn starts(b: &Browser, testid: &str) -> Vec<f64> {
    let list = b.find(testid).await;
    let mut out = Vec::new();
    for li in list.find_all(Locator::Css("li")).await.unwrap() {
        out.push(
            li.attr("data-start")
                .await
                .unwrap()
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    out
}

async fn run_case(isolation: bool, query: &str, backend: &str) {
    // SwiftShader needs minutes for one window (see the WebGPU case).
    let timeout = if query.contains("webgpu") {
        std::time::Duration::from_secs(900)
    } else {
        LOAD_TIMEOUT
    };
    let mirror = start_fixture_mirror();
    let space = build_space(DEMO, &mirror.url());
    let audio = sample(SPEECH_BECKETT_FILE);
    let native = native(&audio, &mirror.url(), true);
    let server = Server::start(space.path(), isolation).await;
    let b = Browser::start().await;
    b.open(&format!("{}{query}", server.url)).await;
    // Nothing can be picked, recorded or run before the model is there.
    assert!(!b.is_enabled("run").await && !b.is_enabled("audio-input").await);
    assert!(!b.is_enabled("record").await);
    b.click("load").await;
    b.wait_ready().await;
    let shown = b.text("backend").await;
    assert!(shown.starts_with(backend), "{shown}, expected {backend}");
    let status = pick(&b, &audio).await;
    assert!(status.ends_with("10.0 s"), "{status}");
    b.click("run").await;
    let transcript = b
        .wait_for("transcript", timeout, |p| !p.text.is_empty())
        .await;
    let text = transcript.text().await.unwrap();
    assert_eq!(text.trim(), native["text"].as_str().unwrap().trim());
    let want = native["chunks"].as_array().unwrap();
    let shown = starts(&b, "chunks").await;
    assert_eq!(shown.len(), want.len(), "{native}");
    for (s, w) in shown.iter().zip(want) {
        assert!(
            (s - w["timestamp"][0].as_f64().unwrap()).abs() < 0.006,
            "{s} {w}"
        );
    }
    // The subtitle files are the ones made from `lantern run`'s transcript.
    let reference: Transcript = serde_json::from_value(native.clone()).unwrap();
    assert_eq!(download(&b, "download-srt").await, reference.to_srt());
    assert_eq!(download(&b, "download-vtt").await, reference.to_vtt());
    assert_eq!(download(&b, "download-txt").await, reference.to_txt());
    // A segment's time seeks the player there.
    let seek_to = *shown.last().unwrap();
    let buttons = b
        .find("chunks")
        .await
        .find_all(Locator::Css("li button.time"))
        .await
        .unwrap();
    buttons.last().unwrap().click().await.unwrap();
    let at = b
        .run("return document.querySelector('[data-testid=player]').currentTime;")
        .await
        .as_f64()
        .unwrap();
    assert!(
        (at - seek_to).abs() < 1.0,
        "player at {at}, segment at {seek_to}"
    );
    let rtf: f64 = b.attr("stats", "data-rtf").await.unwrap().parse().unwrap();
    assert!(rtf > 0.0, "{rtf}");
    eprintln!("speech in the page ({backend}): real-time factor {rtf:.3}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_picked_file_is_transcribed_as_the_cli_does_with_threads() {
    run_case(true, "", "cpu threads=").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_picked_file_is_transcribed_as_the_cli_does_without_threads() {
    run_case(false, "", "cpu threads=1").await;
}

/// Whisper on WebGPU (SwiftShader in headless Chromium; f32 arithmetic, as the CPU): the same
/// greedy tokens, so the same text and times as the CLI on the CPU. Opt-in: SwiftShader takes
/// minutes for one 30 s window on these 2 cores (297 s measured, ARCHITECTURE.md "Speech
/// recognition"); `cargo test -p lantern-e2e --test speech_recognition -- --ignored`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "minutes on SwiftShader; run with --ignored"]
async fn a_picked_file_is_transcribed_as_the_cli_does_on_webgpu() {
    run_case(false, "?backend=webgpu", "webgpu").await;
}

/// A long file streams segments and can be cancelled; then it is transcribed whole, window by
/// window, to `lantern run`'s text. The microphone: a live transcript while recording, the
/// whole recording's when it stops.
#[tokio::test(flavor = "multi_thread")]
async fn long_audio_streams_and_cancels_and_the_microphone_transcribes_live() {
    let mirror = start_fixture_mirror();
    let space = build_space(DEMO, &mirror.url());
    let long = sample(SPEECH_TWO_CITIES_FILE);
    // With timestamps: the page's default.
    let native = native(&long, &mirror.url(), true);
    let server = Server::start(space.path(), true).await;
    let fake_mic = [
        "--use-fake-ui-for-media-stream".to_owned(),
        "--use-fake-device-for-media-stream".to_owned(),
        format!(
            "--use-file-for-fake-audio-capture={}",
            sample(SPEECH_BECKETT_FILE).display()
        ),
    ];
    let b = Browser::start_with(false, &fake_mic).await;
    b.open(&server.url).await;
    b.click("load").await;
    b.wait_ready().await;

    // Streaming, then Cancel between decoder steps: the segments so far stay.
    let status = pick(&b, &long).await;
    assert!(status.ends_with(" s"), "{status}");
    b.click("run").await;
    b.wait_for("partial-chunks", LOAD_TIMEOUT, |_| true).await;
    let first = b
        .wait_for("partial-chunks", LOAD_TIMEOUT, |p| !p.text.is_empty())
        .await;
    let streamed = first.text().await.unwrap();
    b.click("cancel").await;
    let stopped = b.wait_for("cancelled", STEP_TIMEOUT, |_| true).await;
    eprintln!(
        "cancelled: {} (streamed first: {streamed:?})",
        stopped.text().await.unwrap()
    );
    assert!(b.is_enabled("run").await);
    assert!(
        b.client
            .find(Locator::Css("[data-testid=transcript]"))
            .await
            .is_err(),
        "a cancelled run shows no transcript"
    );
    // Whole: the same long-form text as `lantern run`.
    b.find("run").await.click().await.unwrap();
    let t = b
        .wait_for("transcript", LOAD_TIMEOUT, |p| !p.text.is_empty())
        .await;
    assert_eq!(
        t.text().await.unwrap().trim(),
        native["text"].as_str().unwrap().trim()
    );

    // The microphone: Chromium's fake device plays beckett.wav in a loop.
    b.click("record").await;
    let live = b
        .wait_for("live", LOAD_TIMEOUT, |p| !p.text.is_empty())
        .await;
    let live = live.text().await.unwrap();
    b.wait_for("recording", STEP_TIMEOUT, |p| {
        p.text
            .trim_start_matches("recording… ")
            .trim_end_matches(" s")
            .parse::<f64>()
            .is_ok_and(|s| s >= 11.0)
    })
    .await;
    b.click("record").await;
    let whole = b
        .wait_for("transcript", LOAD_TIMEOUT, |p| !p.text.is_empty())
        .await
        .text()
        .await
        .unwrap();
    eprintln!("microphone: live {live:?}, whole {whole:?}");
    let words = |s: &str| s.to_lowercase();
    assert!(
        words(&whole).contains("fail") && words(&whole).contains("try"),
        "{whole}"
    );
    assert!(
        ["fail", "try", "tried", "matter", "better"]
            .iter()
            .any(|w| words(&live).contains(w)),
        "{live}"
    );
    assert!(b.find("player").await.attr("src").await.unwrap().is_some());
}

/// 16-bit PCM WAV bytes.
fn wav(samples: &[i16], rate: u32, channels: u16) -> Vec<u8> {
    let data = (samples.len() * 2) as u32;
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&channels.to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    w.extend_from_slice(&(channels * 2).to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        w.extend_from_slice(&s.to_le_bytes());
    }
    w
}

/// The samples of a 16-bit mono WAV file.
fn read_pcm16(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap();
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        if &bytes[at..at + 4] == b"data" {
            return bytes[at + 8..at + 8 + len]
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
        }
        at += 8 + len + (len & 1);
    }
    panic!("no data chunk in {}", path.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_audio_and_a_refused_microphone_are_said_plainly() {
    let mirror = start_fixture_mirror();
    let space = build_space(DEMO, &mirror.url());
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().canonicalize().unwrap();
    let beckett = read_pcm16(&sample(SPEECH_BECKETT_FILE));
    let not_audio = dir.join("notes.wav");
    std::fs::write(&not_audio, b"these are not the samples you are looking for").unwrap();
    let empty = dir.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let narrow = dir.join("8k.wav");
    let every_other: Vec<i16> = beckett.iter().step_by(2).copied().collect();
    std::fs::write(&narrow, wav(&every_other, 8000, 1)).unwrap();
    let wide = dir.join("96k-6ch.wav");
    let six: Vec<i16> = beckett
        .iter()
        .flat_map(|&s| std::iter::repeat_n(s, 6 * 6))
        .collect();
    std::fs::write(&wide, wav(&six, 96_000, 6)).unwrap();

    let server = Server::start(space.path(), false).await;
    let refused = [
        "--use-fake-device-for-media-stream".to_owned(),
        "--deny-permission-prompts".to_owned(),
    ];
    let b = Browser::start_with(false, &refused).await;
    b.open(&server.url).await;
    b.click("load").await;
    b.wait_ready().await;

    b.click("record").await;
    let error = b.wait_for("mic-error", STEP_TIMEOUT, |_| true).await;
    let error = error.text().await.unwrap();
    assert!(error.contains("refused"), "{error}");
    assert!(b.is_enabled("record").await);

    for bad in [&not_audio, &empty] {
        let status = pick(&b, bad).await;
        assert!(
            status.contains("cannot decode") || status.contains("no audio"),
            "{status}"
        );
        assert!(!b.is_enabled("run").await, "nothing to run after {status}");
    }
    for odd in [&narrow, &wide] {
        let status = pick(&b, odd).await;
        assert!(status.ends_with("10.0 s"), "{status}");
        b.click("run").await;
        let t = b
            .wait_for("transcript", LOAD_TIMEOUT, |p| !p.text.is_empty())
            .await
            .text()
            .await
            .unwrap();
        assert!(t.to_lowercase().contains("fail"), "{}: {t}", odd.display());
    }
}
