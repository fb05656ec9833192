//! `lantern run automatic-speech-recognition` as a user runs it: a separate process, Whisper
//! tiny.en fetched from the mirror through HF_ENDPOINT, `--json` in DESIGN.md's shape with
//! CTranslate2's text (goldens by scripts/reference-whisper.sh); files that are not audio and
//! requests the model cannot serve refused by name, before anything is downloaded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fails, lantern, ok_stdout};
use lantern_mirror::testing::{
    SPEECH_BECKETT_FILE, SPEECH_SAMPLES_REPO, WHISPER_TINY_EN_REPO, fixture_dir,
    start_fixture_mirror,
};

const GOLDEN: &str = include_str!("../../lantern-pipelines/tests/data/whisper-tiny.en.golden.json");

#[test]
fn transcribes_a_file_and_prints_json() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    let audio = fixture_dir()
        .join(SPEECH_SAMPLES_REPO)
        .join(SPEECH_BECKETT_FILE);
    let run = |args: &[&str]| {
        let out = lantern(&mirror.url(), tmp.path())
            .args(["run", "automatic-speech-recognition", "-q", "--model"])
            .arg(WHISPER_TINY_EN_REPO)
            .arg("--audio")
            .arg(&audio)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&ok_stdout(&out)).unwrap()
    };
    let v = run(&[]);
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "audio_s",
            "backend",
            "chunks",
            "elapsed_s",
            "language",
            "text"
        ],
        "{v}"
    );
    assert_eq!(v["text"], golden["ctranslate2"]["greedy"]["text"], "{v}");
    assert_eq!(v["chunks"], serde_json::json!([]));
    assert_eq!(v["language"], "en");
    assert_eq!(v["backend"], "cpu");
    assert!((v["audio_s"].as_f64().unwrap() - 9.963).abs() < 0.01, "{v}");
    // With timestamps: transformers' chunks, CTranslate2's segment times.
    let v = run(&["--timestamps"]);
    let segments = golden["ctranslate2"]["greedy_timestamps"]["segments"]
        .as_array()
        .unwrap();
    let chunks = v["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), segments.len(), "{v}");
    for (c, s) in chunks.iter().zip(segments) {
        assert_eq!(c["text"], s["text"]);
        assert_eq!(c["timestamp"][0].as_f64(), s["start"].as_f64());
        assert_eq!(c["timestamp"][1].as_f64(), s["end"].as_f64());
    }
    // Beam search.
    let v = run(&["--num-beams", "4"]);
    assert_eq!(v["text"], golden["ctranslate2"]["beam4"]["text"], "{v}");
    // Subtitles: CTranslate2's segments as SubRip cues (`--format srt` implies timestamps).
    let out = lantern(&mirror.url(), tmp.path())
        .args(["run", "automatic-speech-recognition", "-q", "--model"])
        .arg(WHISPER_TINY_EN_REPO)
        .arg("--audio")
        .arg(&audio)
        .args(["--format", "srt"])
        .output()
        .unwrap();
    let want: String = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let clock = |t: f64| {
                let ms = (t * 1000.0).round() as u64;
                format!("00:00:{:02},{:03}", ms / 1000, ms % 1000)
            };
            format!(
                "{}\n{} --> {}\n{}\n\n",
                i + 1,
                clock(s["start"].as_f64().unwrap()),
                clock(s["end"].as_f64().unwrap()),
                s["text"].as_str().unwrap().trim()
            )
        })
        .collect();
    assert_eq!(ok_stdout(&out), want);
}

#[test]
fn what_cannot_be_transcribed_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let audio = fixture_dir()
        .join(SPEECH_SAMPLES_REPO)
        .join(SPEECH_BECKETT_FILE);
    let not_audio = tmp.path().join("notes.wav");
    std::fs::write(&not_audio, "these are not samples").unwrap();
    let run = |audio: &std::path::Path, args: &[&str]| {
        lantern(&mirror.url(), tmp.path())
            .args(["run", "automatic-speech-recognition", "-q", "--model"])
            .arg(WHISPER_TINY_EN_REPO)
            .arg("--audio")
            .arg(audio)
            .args(args)
            .output()
            .unwrap()
    };
    let err = fails(&run(&not_audio, &[]));
    assert!(err.contains("not an audio file"), "{err}");
    let err = fails(&run(&tmp.path().join("missing.wav"), &[]));
    assert!(err.contains("missing.wav"), "{err}");
    let err = fails(&run(&audio, &["--language", "german"]));
    assert!(err.contains("English-only"), "{err}");
    let err = fails(&run(&audio, &["--task", "translate"]));
    assert!(err.contains("English-only"), "{err}");
    // A text model is not a speech model.
    let out = lantern(&mirror.url(), tmp.path())
        .args(["run", "automatic-speech-recognition", "-q", "--model"])
        .arg("lantern-fixtures/tiny-bert-sst2")
        .arg("--audio")
        .arg(&audio)
        .output()
        .unwrap();
    let err = fails(&out);
    assert!(err.contains("Whisper"), "{err}");
}
