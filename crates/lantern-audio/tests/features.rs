//! Log-mel features against Hugging Face's `WhisperFeatureExtractor` (goldens made by
//! scripts/reference-whisper-features.sh), and the extractor's configuration checks.
//!
//! Runs natively and in headless Chromium (`cd crates/lantern-audio && cargo test --target
//! wasm32-unknown-unknown --test features`); in the browser without the beckett.wav cases,
//! whose samples come from the native FLAC decoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/fuzz_targets.rs"]
mod fuzz_targets;

use common::{Case, chirp, golden, tone};
use lantern_audio::{AudioError, FeatureConfig, FeatureExtractor};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// The largest difference allowed from transformers' values (issue 13). Measured: about 2e-6
/// (f64 arithmetic as transformers; the differences are the FFT's rounding).
const TOLERANCE: f32 = 1e-4;

#[cfg(not(target_arch = "wasm32"))]
fn beckett() -> Option<Vec<f32>> {
    use sha2::{Digest, Sha256};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/beckett.flac");
    let audio = lantern_audio::decode_file(path).unwrap();
    assert_eq!((audio.sample_rate, audio.channels), (16_000, 1));
    // The FLAC holds beckett.wav's samples: the same PCM bytes, so the golden applies.
    let pcm: Vec<u8> = audio
        .samples
        .iter()
        .flat_map(|&s| ((s * 32768.0) as i16).to_le_bytes())
        .collect();
    assert_eq!(
        hex(&Sha256::digest(&pcm)),
        golden().beckett_pcm_sha256,
        "beckett.flac does not hold beckett.wav's samples"
    );
    Some(audio.samples)
}

#[cfg(target_arch = "wasm32")]
fn beckett() -> Option<Vec<f32>> {
    None
}

#[cfg(not(target_arch = "wasm32"))]
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Our window for a golden case, and our log10 maximum.
fn compute(case: &Case, signal: &[f32]) -> (Vec<f32>, f32) {
    let fx = FeatureExtractor::new(FeatureConfig::whisper(case.n_mels)).unwrap();
    assert_eq!((fx.n_mels(), fx.n_frames()), (case.n_mels, case.n_frames));
    match case.kind.as_str() {
        "extract" | "features_at" => {
            let features = if case.kind == "extract" {
                fx.extract(signal).unwrap()
            } else {
                fx.features_at(signal, case.start_sample).unwrap()
            };
            let max = features.iter().fold(f32::MIN, |a, &b| a.max(b)) * 4.0 - 4.0;
            (features, max)
        }
        "long_form" => {
            let long = fx.long_form(signal).unwrap();
            assert_eq!(long.content_frames(), case.content_frames, "{}", case.name);
            (long.window(case.seek).unwrap(), long.max_log10())
        }
        other => panic!("unknown case kind {other}"),
    }
}

#[test]
fn features_match_transformers() {
    let golden = golden();
    let (tone, chirp, beckett) = (tone(), chirp(), beckett());
    let mut checked = 0;
    for case in &golden.cases {
        let signal = match case.signal.as_str() {
            "tone" => &tone,
            "chirp" => &chirp,
            "beckett" => match &beckett {
                Some(samples) => samples,
                None => continue,
            },
            other => panic!("unknown signal {other}"),
        };
        let (ours, max) = compute(case, signal);
        let mut worst = 0.0f32;
        for (k, &frame) in case.frames.iter().enumerate() {
            for (m, want) in case.frame(k).into_iter().enumerate() {
                let got = ours[m * case.n_frames + frame];
                let diff = (got - want).abs();
                assert!(
                    diff <= TOLERANCE,
                    "{}: frame {frame}, mel {m}: {got} vs transformers' {want}",
                    case.name
                );
                worst = worst.max(diff);
            }
        }
        let max_diff = (max - case.max_log10).abs();
        assert!(
            max_diff <= TOLERANCE,
            "{}: log10 max {max} vs {}",
            case.name,
            case.max_log10
        );
        println!(
            "{}: {} frames × {} mels, max |diff| {worst:.2e}, log10 max {max} (diff {max_diff:.1e})",
            case.name,
            case.frames.len(),
            case.n_mels
        );
        checked += 1;
    }
    let skipped = golden
        .cases
        .iter()
        .filter(|c| c.signal == "beckett")
        .count();
    let expected = golden.cases.len() - if beckett.is_some() { 0 } else { skipped };
    assert!(golden.cases.len() >= 7);
    assert_eq!(checked, expected);
}

#[test]
fn silence_gives_finite_features() {
    let fx = FeatureExtractor::new(FeatureConfig::whisper(80)).unwrap();
    for samples in [vec![], vec![0.0; 16_000], vec![0.0; 1_000_000]] {
        let features = fx.extract(&samples).unwrap();
        // log10(1e-10) everywhere, which is also the maximum: (-10 + 4) / 4.
        assert!(
            features.iter().all(|&v| v == -1.5),
            "{} samples",
            samples.len()
        );
        let long = fx.long_form(&samples).unwrap();
        let window = long.window(0).unwrap();
        assert!(window.iter().all(|v| v.is_finite()));
    }
    // A lone sample and a lone hop: the reflection at both ends folds over a tiny signal.
    for n in [1, 2, 3, 159, 160, 161, 401] {
        let samples = vec![0.5; n];
        assert!(fx.extract(&samples).unwrap().iter().all(|v| v.is_finite()));
        let long = fx.long_form(&samples).unwrap();
        assert_eq!(long.content_frames(), n / 160);
        assert!(long.window(0).unwrap().iter().all(|v| v.is_finite()));
    }
}

#[test]
fn features_at_is_the_window_at_that_sample() {
    let fx = FeatureExtractor::new(FeatureConfig::whisper(80)).unwrap();
    let chirp = chirp();
    let at = fx.features_at(&chirp, 160 * 1234).unwrap();
    assert_eq!(at, fx.extract(&chirp[160 * 1234..]).unwrap());
    // Past the end: a window of padding.
    let past = fx.features_at(&chirp, chirp.len() + 5).unwrap();
    assert!(past.iter().all(|&v| v == -1.5));
}

#[test]
fn long_form_windows_are_zero_past_the_content() {
    let fx = FeatureExtractor::new(FeatureConfig::whisper(80)).unwrap();
    let chirp = chirp();
    let long = fx.long_form(&chirp).unwrap();
    assert_eq!(long.content_frames(), 3500);
    let mut window = vec![0.0; 80 * 3000];
    assert_eq!(long.window_into(2000, &mut window).unwrap(), 1500);
    for m in 0..80 {
        let row = &window[m * 3000..(m + 1) * 3000];
        assert!(row[..1500].iter().all(|&v| v != 0.0));
        assert!(row[1500..].iter().all(|&v| v == 0.0));
    }
    assert_eq!(long.window_into(3500, &mut window).unwrap(), 0);
    assert_eq!(long.window_into(usize::MAX / 2, &mut window).unwrap(), 0);
    // The first window equals a window of the whole-file features' first frames: the same
    // frames whether they come from one window or another.
    let a = long.window(0).unwrap();
    let b = long.window(1000).unwrap();
    for m in 0..80 {
        assert_eq!(
            a[m * 3000 + 1000..m * 3000 + 3000],
            b[m * 3000..m * 3000 + 2000]
        );
    }
}

#[test]
fn bad_samples_and_buffers_are_errors() {
    let fx = FeatureExtractor::new(FeatureConfig::whisper(80)).unwrap();
    let mut samples = tone();
    samples[1234] = f32::NAN;
    assert_eq!(
        fx.extract(&samples),
        Err(AudioError::NonFiniteSample { index: 1234 })
    );
    assert!(matches!(
        fx.long_form(&samples),
        Err(AudioError::NonFiniteSample { index: 1234 })
    ));
    samples[1234] = f32::INFINITY;
    assert!(fx.extract(&samples).is_err());
    // A NaN past the first window is outside what extract reads.
    let mut long = chirp();
    long[500_000] = f32::NAN;
    assert!(fx.extract(&long).is_ok());
    let mut small = vec![0.0; 10];
    assert_eq!(
        fx.extract_into(&tone(), &mut small),
        Err(AudioError::OutputBuffer {
            len: 10,
            expected: 240_000
        })
    );
    // Loud input stays finite.
    let loud = vec![f32::MAX; 1000];
    assert!(fx.extract(&loud).unwrap().iter().all(|v| v.is_finite()));
}

/// `openai/whisper-tiny.en`'s preprocessor_config.json, without its `mel_filters` table.
const WHISPER_TINY_CONFIG: &str = r#"{
  "chunk_length": 30,
  "feature_extractor_type": "WhisperFeatureExtractor",
  "feature_size": 80,
  "hop_length": 160,
  "n_fft": 400,
  "n_samples": 480000,
  "nb_max_frames": 3000,
  "padding_side": "right",
  "padding_value": 0.0,
  "processor_class": "WhisperProcessor",
  "return_attention_mask": false,
  "sampling_rate": 16000
}"#;

#[test]
fn config_from_json() {
    let fx = FeatureExtractor::from_config_json(WHISPER_TINY_CONFIG.as_bytes()).unwrap();
    assert_eq!(fx.config(), &FeatureConfig::whisper(80));
    assert_eq!(
        (fx.n_samples(), fx.n_frames(), fx.hop_length()),
        (480_000, 3000, 160)
    );
    let large_v3 = WHISPER_TINY_CONFIG.replace("\"feature_size\": 80", "\"feature_size\": 128");
    let fx = FeatureExtractor::from_config_json(large_v3.as_bytes()).unwrap();
    assert_eq!(fx.n_mels(), 128);
    // An old config's mel_filters table is ignored, as transformers recomputes it.
    let with_table = WHISPER_TINY_CONFIG.replace("{", r#"{"mel_filters": [[0.0, 1.0], [2.0]],"#);
    assert!(FeatureExtractor::from_config_json(with_table.as_bytes()).is_ok());
}

#[test]
fn bad_configs_are_typed_errors() {
    let with = |field: &str, value: &str| {
        let mut v: serde_json::Value = serde_json::from_str(WHISPER_TINY_CONFIG).unwrap();
        let object = v.as_object_mut().unwrap();
        if value.is_empty() {
            object.remove(field);
        } else {
            object.insert(field.to_owned(), serde_json::from_str(value).unwrap());
        }
        FeatureExtractor::from_config_json(v.to_string().as_bytes())
    };
    let value_error = |r: Result<FeatureExtractor, AudioError>| match r {
        Err(AudioError::ConfigValue { field, .. }) => field,
        other => panic!("expected a ConfigValue error, got {other:?}"),
    };
    let parse_error = |r: Result<FeatureExtractor, AudioError>| match r {
        Err(AudioError::ConfigParse(message)) => message,
        other => panic!("expected a ConfigParse error, got {other:?}"),
    };

    for field in [
        "feature_size",
        "sampling_rate",
        "hop_length",
        "chunk_length",
        "n_fft",
    ] {
        assert!(parse_error(with(field, "")).contains(field), "{field}");
        assert!(!parse_error(with(field, "\"80\"")).is_empty());
        assert!(!parse_error(with(field, "-1")).is_empty());
        assert!(!parse_error(with(field, "1e30")).is_empty());
    }
    assert!(!parse_error(FeatureExtractor::from_config_json(b"not json")).is_empty());
    assert!(!parse_error(FeatureExtractor::from_config_json(b"[]")).is_empty());

    assert_eq!(value_error(with("feature_size", "0")), "feature_size");
    assert_eq!(value_error(with("feature_size", "100000")), "feature_size");
    assert_eq!(value_error(with("sampling_rate", "0")), "sampling_rate");
    assert_eq!(
        value_error(with("sampling_rate", "4000000000")),
        "sampling_rate"
    );
    assert_eq!(value_error(with("n_fft", "1")), "n_fft");
    assert_eq!(value_error(with("n_fft", "1000000000")), "n_fft");
    assert_eq!(value_error(with("hop_length", "0")), "hop_length");
    assert_eq!(value_error(with("hop_length", "401")), "hop_length");
    assert_eq!(value_error(with("chunk_length", "0")), "chunk_length");
    assert_eq!(
        value_error(with("chunk_length", "100000000")),
        "chunk_length"
    );
    // Within each bound, but the window would hold 512 × 11.5 M values.
    let huge = r#"{"feature_size": 512, "sampling_rate": 384000, "hop_length": 4,
                   "chunk_length": 120, "n_fft": 16}"#;
    assert_eq!(
        value_error(FeatureExtractor::from_config_json(huge.as_bytes())),
        "chunk_length"
    );
    assert_eq!(value_error(with("dither", "1.0")), "dither");
    assert!(with("dither", "0.0").is_ok());
    assert!(matches!(
        with("feature_extractor_type", "\"ASTFeatureExtractor\""),
        Err(AudioError::UnsupportedExtractor(name)) if name == "ASTFeatureExtractor"
    ));
}

/// The `mel` fuzz target's body on inputs that reach each of its paths.
#[test]
fn mel_fuzz_body() {
    fuzz_targets::mel(b"");
    fuzz_targets::mel(b"\x00");
    fuzz_targets::mel(&[&[0u8][..], WHISPER_TINY_CONFIG.as_bytes()].concat());
    fuzz_targets::mel(b"\x00{\"feature_size\": 1e999}");
    fuzz_targets::mel(b"\x01short");
    let samples: Vec<u8> = common::sine(440.0, 0.5, 8_000, 0.1)
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    // 80 mels at 16 kHz, hop 160, 1 s chunks, n_fft 400; then odd sizes and rates.
    for head in [
        [80u8, 2, 160, 0, 1, 144, 1, 0],
        [1, 0, 1, 0, 2, 16, 0, 64],
        [129, 1, 0x57, 0x02, 1, 0x4b, 0x04, 255],
        [0, 3, 0, 0, 0, 0, 0, 0],
    ] {
        fuzz_targets::mel(&[&[1u8][..], &head, &samples].concat());
        let mut nan = samples.clone();
        nan[40..44].copy_from_slice(&f32::NAN.to_le_bytes());
        fuzz_targets::mel(&[&[1u8][..], &head, &nan].concat());
    }
    // What the fuzzer found (fuzz/regressions/mel/, FUZZING.md), natively and in the browser.
    fuzz_targets::mel(include_bytes!(
        "../../../fuzz/regressions/mel/slow-hop3-chunk2s.bin"
    ));
}
