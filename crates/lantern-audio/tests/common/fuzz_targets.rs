//! The bodies of the fuzz targets `audio_decode` and `mel` (fuzz/fuzz_targets/), shared with
//! the tests that replay them on fixed inputs. Whatever the bytes, the result is a value or a
//! typed error: a panic is a crash.
#![allow(dead_code)]

use lantern_audio::{FeatureConfig, FeatureExtractor, Resampler};

/// Arbitrary bytes as an audio file: decoded as it is, and to mono at 16 kHz.
#[cfg(not(target_arch = "wasm32"))]
pub fn audio_decode(data: &[u8]) {
    use lantern_audio::AudioDecoder;
    // One minute: a few KB of FLAC can describe hours of constant samples.
    if let Ok(decoder) = AudioDecoder::from_bytes(data.to_vec()) {
        let _ = decoder.max_duration_s(60).decode();
    }
    if let Ok(decoder) = AudioDecoder::from_bytes(data.to_vec()) {
        let _ = decoder.max_duration_s(60).decode_mono(16_000);
    }
}

/// Arbitrary bytes as a feature-extractor configuration and samples. The first byte chooses:
/// even, the rest is `preprocessor_config.json`; odd, the next 8 bytes are the configuration's
/// numbers and the rest little-endian `f32` samples (NaN and infinity included), run through
/// `extract`, `features_at`, `long_form` and a resampler.
pub fn mel(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(fx) = FeatureExtractor::from_config_json(rest) {
            // Parsing is what this mode explores; the arithmetic is mode 1's.
            let _ = fx.n_frames();
        }
        return;
    }
    if rest.len() < 8 {
        return;
    }
    let (head, body) = rest.split_at(8);
    // Small windows only, so that each input runs in milliseconds: the limits that stop a
    // hostile configuration are checked by the JSON mode and the tests.
    let sampling_rate = [4_000, 8_000, 16_000, 3_999, 400_000][usize::from(head[1]) % 5];
    let chunk_length = usize::from(head[4] % 3);
    // At most ~500 frames a window (a hop of 0 stays, for its error): a hop of 3 in a 2 s chunk
    // made 10,666 frames of a 943-point FFT, five windows of them per input — a Whisper-sized
    // workload (bounded, and allowed), but 9 s per input under AddressSanitizer (the campaign
    // of FUZZING.md caught it as a slow unit).
    let hop = usize::from(u16::from_le_bytes([head[2], head[3]])) % 600;
    let hop = if hop == 0 {
        0
    } else {
        hop.max(sampling_rate as usize * chunk_length / 500)
    };
    let config = FeatureConfig {
        feature_size: usize::from(head[0]) % 130,
        sampling_rate,
        hop_length: hop,
        chunk_length,
        n_fft: usize::from(u16::from_le_bytes([head[5], head[6]])) % 1100,
        padding_value: f32::from(head[7]) / 64.0,
        dither: 0.0,
        feature_extractor_type: None,
    };
    let samples: Vec<f32> = body
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Ok(fx) = FeatureExtractor::new(config.clone()) {
        if let Ok(features) = fx.extract(&samples) {
            assert_eq!(features.len(), fx.n_mels() * fx.n_frames());
            assert!(features.iter().all(|v| v.is_finite()));
        }
        let _ = fx.features_at(&samples, usize::from(head[0]) * 7);
        if let Ok(long) = fx.long_form(&samples) {
            for seek in [0, long.content_frames() / 2, long.content_frames()] {
                if let Ok(window) = long.window(seek) {
                    assert!(window.iter().all(|v| v.is_finite()));
                }
            }
        }
    }
    if let Ok(mut resampler) = Resampler::new(config.sampling_rate, 16_000) {
        let mut out = Vec::new();
        for chunk in samples.chunks(usize::from(head[2]).max(1)) {
            if resampler.process(chunk, &mut out).is_err() {
                return;
            }
        }
        resampler.finish(&mut out);
        assert_eq!(
            out.len(),
            lantern_audio::output_len(samples.len(), config.sampling_rate, 16_000)
        );
    }
}
