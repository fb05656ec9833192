//! Native decoding: every PCM layout of WAV, FLAC, MP3 and OGG/Vorbis, and the bad input of
//! issue 13 (not audio, truncated, silence, empty, 8 and 96 kHz, 6 channels, over 2 GiB) as
//! typed errors or correct audio, never a panic.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/fuzz_targets.rs"]
mod fuzz_targets;

use std::f64::consts::PI;
use std::path::PathBuf;

use common::sine;
use lantern_audio::{
    AudioDecoder, AudioError, FeatureConfig, FeatureExtractor, MAX_FILE_BYTES, decode_bytes,
    decode_file, decode_file_mono,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A RIFF/WAVE file: `fmt ` with `format_tag` (and a WAVE_FORMAT_EXTENSIBLE tail when
/// `ext_subformat` is given), then `data` whose declared length is `declared` (or its own).
fn wav_with(
    format_tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    ext_subformat: Option<(u16, u32)>,
    data: &[u8],
    declared: Option<u32>,
) -> Vec<u8> {
    let block_align = channels * bits.div_ceil(8);
    let mut fmt = Vec::new();
    fmt.extend(format_tag.to_le_bytes());
    fmt.extend(channels.to_le_bytes());
    fmt.extend(rate.to_le_bytes());
    fmt.extend((rate * u32::from(block_align)).to_le_bytes());
    fmt.extend(block_align.to_le_bytes());
    fmt.extend(bits.to_le_bytes());
    if let Some((subformat, mask)) = ext_subformat {
        fmt.extend(22u16.to_le_bytes());
        fmt.extend(bits.to_le_bytes());
        fmt.extend(mask.to_le_bytes());
        fmt.extend(subformat.to_le_bytes());
        // The KSDATAFORMAT GUID's tail.
        fmt.extend([
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    }
    let mut out = Vec::new();
    out.extend(b"RIFF");
    out.extend((4 + 8 + fmt.len() as u32 + 8 + data.len() as u32).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend((fmt.len() as u32).to_le_bytes());
    out.extend(fmt);
    out.extend(b"data");
    out.extend(declared.unwrap_or(data.len() as u32).to_le_bytes());
    out.extend(data);
    out
}

fn wav16(channels: u16, rate: u32, samples: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = samples
        .iter()
        .flat_map(|&s| ((s * 32767.0).round() as i16).to_le_bytes())
        .collect();
    wav_with(1, channels, rate, 16, None, &data, None)
}

/// The amplitude of the `freq` component of `x` at `rate` (projection on sine and cosine,
/// so the phase and a codec's delay do not matter), and the share of energy left over.
fn tone_fit(x: &[f32], freq: f64, rate: u32) -> (f64, f64) {
    let (mut a, mut b) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let w = 2.0 * PI * freq * i as f64 / f64::from(rate);
        a += f64::from(v) * w.sin();
        b += f64::from(v) * w.cos();
    }
    let n = x.len() as f64;
    let (a, b) = (2.0 * a / n, 2.0 * b / n);
    let residual: f64 = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let w = 2.0 * PI * freq * i as f64 / f64::from(rate);
            (f64::from(v) - a * w.sin() - b * w.cos()).powi(2)
        })
        .sum::<f64>();
    let energy: f64 = x.iter().map(|&v| f64::from(v).powi(2)).sum();
    ((a * a + b * b).sqrt(), residual / energy)
}

#[test]
fn wav_pcm_layouts() {
    let x = sine(1000.0, 0.5, 16_000, 0.25);
    let int = |bits: u32| -> Vec<u8> {
        x.iter()
            .flat_map(|&s| {
                let scale = f64::from(1u32 << (bits - 1)) - 1.0;
                let v = (f64::from(s) * scale).round() as i32;
                match bits {
                    8 => vec![(v + 128) as u8],
                    16 => (v as i16).to_le_bytes().to_vec(),
                    24 => v.to_le_bytes()[..3].to_vec(),
                    _ => v.to_le_bytes().to_vec(),
                }
            })
            .collect()
    };
    let float: Vec<u8> = x.iter().flat_map(|s| s.to_le_bytes()).collect();
    let cases: Vec<(&str, Vec<u8>, f32)> = vec![
        (
            "8-bit",
            wav_with(1, 1, 16_000, 8, None, &int(8), None),
            1.0 / 64.0,
        ),
        (
            "16-bit",
            wav_with(1, 1, 16_000, 16, None, &int(16), None),
            1e-4,
        ),
        (
            "24-bit",
            wav_with(1, 1, 16_000, 24, None, &int(24), None),
            1e-6,
        ),
        (
            "32-bit",
            wav_with(1, 1, 16_000, 32, None, &int(32), None),
            1e-6,
        ),
        ("f32", wav_with(3, 1, 16_000, 32, None, &float, None), 0.0),
        (
            "16-bit extensible",
            wav_with(0xFFFE, 1, 16_000, 16, Some((1, 4)), &int(16), None),
            1e-4,
        ),
        (
            "f32 extensible",
            wav_with(0xFFFE, 1, 16_000, 32, Some((3, 4)), &float, None),
            0.0,
        ),
    ];
    for (name, bytes, tolerance) in cases {
        let audio = decode_bytes(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((audio.sample_rate, audio.channels), (16_000, 1), "{name}");
        assert_eq!(audio.samples.len(), x.len(), "{name}");
        let error = audio
            .samples
            .iter()
            .zip(&x)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(error <= tolerance, "{name}: {error}");
    }
}

#[test]
fn eight_and_ninety_six_khz_become_sixteen() {
    for rate in [8_000, 96_000] {
        let x = sine(1000.0, 0.5, rate, 1.0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("tone-{rate}.wav"));
        std::fs::write(&path, wav16(1, rate, &x)).unwrap();
        let decoder = AudioDecoder::open(&path).unwrap();
        assert_eq!(
            (decoder.sample_rate(), decoder.channels()),
            (Some(rate), Some(1))
        );
        let mono = decode_file_mono(&path, 16_000).unwrap();
        assert_eq!(mono.len(), 16_000);
        let want = sine(1000.0, 0.5, 16_000, 1.0);
        let error = mono[128..16_000 - 128]
            .iter()
            .zip(&want[128..])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(error < 1e-3, "{rate} Hz: {error}");
    }
}

#[test]
fn six_channels_mix_down_and_nine_are_refused() {
    // Channel c holds the constant c / 10: the mixdown is their mean, 0.25.
    let frames = 1600;
    let six: Vec<f32> = (0..frames * 6).map(|i| (i % 6) as f32 / 10.0).collect();
    let plain = wav16(6, 16_000, &six);
    let data: Vec<u8> = plain[44..].to_vec();
    let extensible = wav_with(0xFFFE, 6, 16_000, 16, Some((1, 0x3F)), &data, None);
    for bytes in [plain, extensible] {
        let audio = decode_bytes(bytes.clone()).unwrap();
        assert_eq!((audio.channels, audio.frames()), (6, frames));
        let mono = AudioDecoder::from_bytes(bytes)
            .unwrap()
            .decode_mono(16_000)
            .unwrap();
        assert_eq!(mono.len(), frames);
        assert!(
            mono.iter().all(|&v| (v - 0.25).abs() < 1e-4),
            "{:?}",
            &mono[..4]
        );
    }
    let nine: Vec<f32> = vec![0.1; 9 * 100];
    assert_eq!(
        decode_bytes(wav16(9, 16_000, &nine)).unwrap_err(),
        AudioError::TooManyChannels {
            channels: 9,
            max: 8
        }
    );
}

#[test]
fn absurd_sample_rates_are_refused() {
    for rate in [1, 3_000, 400_000, 4_000_000] {
        let err = decode_bytes(wav16(1, rate, &[0.1; 100])).unwrap_err();
        assert!(
            matches!(err, AudioError::SampleRate { rate: r, min: 4_000, max: 384_000 } if r == rate),
            "{rate}: {err:?}"
        );
    }
}

#[test]
fn silence_decodes_to_valid_features() {
    let audio = decode_bytes(wav16(1, 16_000, &[0.0; 32_000])).unwrap();
    assert!(audio.samples.iter().all(|&s| s == 0.0));
    let fx = FeatureExtractor::new(FeatureConfig::whisper(80)).unwrap();
    let features = fx.extract(&audio.samples).unwrap();
    assert!(features.iter().all(|v| v.is_finite()));
    let long = fx.long_form(&audio.samples).unwrap();
    assert!(long.window(0).unwrap().iter().all(|v| v.is_finite()));
}

#[test]
fn empty_audio_and_empty_files() {
    assert_eq!(
        decode_bytes(wav16(1, 16_000, &[])).unwrap_err(),
        AudioError::Empty
    );
    assert!(matches!(
        decode_bytes(Vec::new()),
        Err(AudioError::NotAudio(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.wav");
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(decode_file(&path), Err(AudioError::NotAudio(_))));
    assert!(matches!(
        decode_file(dir.path().join("missing.wav")),
        Err(AudioError::Io { .. })
    ));
}

#[test]
fn not_audio() {
    let mut noise = Vec::new();
    let mut seed = 7u32;
    for _ in 0..100_000 {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        noise.push((seed >> 24) as u8);
    }
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        (
            "text",
            b"Ever tried. Ever failed. No matter. Try again.\n".repeat(100),
        ),
        (
            "json",
            br#"{"feature_size": 80, "sampling_rate": 16000}"#.to_vec(),
        ),
        (
            "png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec(),
        ),
        ("zeros", vec![0; 10_000]),
        (
            "RIFF without WAVE",
            b"RIFF\x10\0\0\0AVI LIST\0\0\0\0".to_vec(),
        ),
        ("noise", noise),
    ];
    for (name, bytes) in inputs {
        let err = decode_bytes(bytes).unwrap_err();
        assert!(matches!(err, AudioError::NotAudio(_)), "{name}: {err:?}");
    }
}

#[test]
fn truncated_wav() {
    let whole = wav16(1, 16_000, &sine(440.0, 0.5, 16_000, 0.5));
    // Cut inside the samples: the header declares more than the file holds.
    let err = decode_bytes(whole[..whole.len() / 2].to_vec()).unwrap_err();
    assert!(matches!(err, AudioError::Truncated(_)), "{err:?}");
    // Cut inside the header.
    for cut in [4, 12, 20, 30, 40, 43] {
        let err = decode_bytes(whole[..cut].to_vec()).unwrap_err();
        println!("cut at {cut}: {err}");
        assert!(
            matches!(err, AudioError::Truncated(_)),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn files_over_two_gib_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.wav");
    // Sparse: no 2 GiB are written.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(MAX_FILE_BYTES + 1).unwrap();
    let err = decode_file(&path).unwrap_err();
    assert_eq!(
        err,
        AudioError::FileTooLarge {
            size: MAX_FILE_BYTES + 1,
            max: MAX_FILE_BYTES
        }
    );
    assert!(err.to_string().contains("2147483649 bytes"), "{err}");
    // Exactly the limit is read (and is not audio).
    file.set_len(MAX_FILE_BYTES).unwrap();
    assert!(!matches!(
        decode_file(&path),
        Err(AudioError::FileTooLarge { .. })
    ));
}

#[test]
fn flac_mp3_and_vorbis() {
    // FLAC is lossless: the 16-bit values libsndfile wrote (0.5 × 32767, rounded).
    let flac = decode_file(data("tone-22050.flac")).unwrap();
    assert_eq!(
        (flac.sample_rate, flac.channels, flac.frames()),
        (22_050, 1, 11_025)
    );
    let x = sine(1000.0, 0.5, 22_050, 0.5);
    for (a, b) in flac.samples.iter().zip(&x) {
        assert!((a - b).abs() <= 1.0 / 32768.0 + 1e-6, "{a} {b}");
    }
    for (name, rate, channels) in [
        ("tone-22050.flac", 22_050, 1),
        ("tone-44100-stereo.mp3", 44_100, 2),
        ("tone-48000.ogg", 48_000, 1),
    ] {
        let decoder = AudioDecoder::open(data(name)).unwrap();
        assert_eq!(decoder.sample_rate(), Some(rate), "{name}");
        let audio = decode_file(data(name)).unwrap();
        assert_eq!(
            (audio.sample_rate, audio.channels),
            (rate, channels),
            "{name}"
        );
        let mono = decode_file_mono(data(name), 16_000).unwrap();
        // Lossy codecs add an encoder delay and padding: about 0.5 s either way.
        assert!(
            (7_000..=10_000).contains(&mono.len()),
            "{name}: {}",
            mono.len()
        );
        let middle = &mono[2_000..6_000];
        let (amplitude, residual) = tone_fit(middle, 1000.0, 16_000);
        println!("{name}: 1 kHz amplitude {amplitude:.4}, residual energy {residual:.1e}");
        assert!(
            (amplitude - 0.5).abs() < 0.01,
            "{name}: amplitude {amplitude}"
        );
        assert!(residual < 1e-3, "{name}: residual {residual}");
    }
}

#[test]
fn unsupported_codecs() {
    // Opus in OGG: a real file in a codec Lantern's decoder is built without.
    let err = decode_file(data("tone-48000-opus.ogg")).unwrap_err();
    assert!(matches!(err, AudioError::UnsupportedCodec(_)), "{err:?}");
    // IMA ADPCM in WAV.
    let adpcm = wav_with(0x11, 1, 16_000, 4, None, &[0; 256], None);
    let err = decode_bytes(adpcm).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::UnsupportedCodec(_) | AudioError::Corrupt(_)
        ),
        "{err:?}"
    );
}

/// Every prefix and single-byte corruption of real files: whatever the result, no panic
/// reaches the caller.
#[test]
fn damaged_files_never_panic() {
    for name in [
        "tone-22050.flac",
        "tone-44100-stereo.mp3",
        "tone-48000.ogg",
        "tone-48000-opus.ogg",
    ] {
        let bytes = std::fs::read(data(name)).unwrap();
        for cut in (0..bytes.len()).step_by(53) {
            let _ = decode_bytes(bytes[..cut].to_vec());
        }
        for at in (0..bytes.len()).step_by(97) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x5A;
            let _ = decode_bytes(damaged.clone());
            let _ = AudioDecoder::from_bytes(damaged).and_then(|d| d.decode_mono(16_000));
        }
    }
    let wav = wav16(2, 44_100, &sine(440.0, 0.5, 44_100, 0.1));
    for cut in 0..200 {
        let _ = decode_bytes(wav[..cut].to_vec());
    }
    for at in 0..60 {
        for v in [0x00, 0xFF, 0x80] {
            let mut damaged = wav.clone();
            damaged[at] = v;
            let _ = decode_bytes(damaged);
        }
    }
}

/// The `audio_decode` fuzz target's body on every committed audio file, and its duration cap.
#[test]
fn audio_decode_fuzz_body() {
    for entry in std::fs::read_dir(data("")).unwrap() {
        let path = entry.unwrap().path();
        fuzz_targets::audio_decode(&std::fs::read(&path).unwrap());
    }
    fuzz_targets::audio_decode(b"");
    fuzz_targets::audio_decode(b"RIFF");
    let three_seconds = wav16(1, 16_000, &[0.1; 48_000]);
    let err = AudioDecoder::from_bytes(three_seconds)
        .unwrap()
        .max_duration_s(2)
        .decode()
        .unwrap_err();
    assert_eq!(err, AudioError::TooLong { max_seconds: 2 });
}
