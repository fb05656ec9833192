//! The resampler's pass band, stop band and streaming, and the mono mixdown. Natively and in
//! headless Chromium (`cd crates/lantern-audio && cargo test --target wasm32-unknown-unknown
//! --test resample`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::sine;
use lantern_audio::{
    AudioError, MAX_CHANNELS, Resampler, check_format, output_len, resample, to_mono,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Output samples skipped at each end: the filter meets the silence before and after the
/// signal there (half the filter spans 51 samples of the lower rate: 102 output samples when
/// upsampling from 8 kHz).
const EDGE: usize = 128;

/// The largest difference between `out` (at 16 kHz) and a sine of `freq` Hz, amplitude `amp`,
/// away from the ends.
fn max_error(out: &[f32], freq: f64, amp: f64) -> f64 {
    let want = sine(freq, amp, 16_000, out.len() as f64 / 16_000.0);
    out[EDGE..out.len() - EDGE]
        .iter()
        .zip(&want[EDGE..])
        .map(|(&a, &b)| f64::from(a - b).abs())
        .fold(0.0, f64::max)
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn a_tone_keeps_its_frequency_and_amplitude() {
    // 44.1 and 48 kHz: exact polyphase; 8 kHz: upsampling; 96 kHz: 1 phase; 44 057 Hz: an odd
    // rate, interpolated phases; 16 kHz: passed through.
    for from in [
        44_100, 48_000, 8_000, 96_000, 22_050, 11_025, 44_057, 16_000,
    ] {
        let input = sine(1000.0, 0.5, from, 1.0);
        let out = resample(&input, from, 16_000).unwrap();
        assert_eq!(out.len(), 16_000, "{from} Hz");
        let error = max_error(&out, 1000.0, 0.5);
        println!("1 kHz at {from} Hz -> 16 kHz: max |error| {error:.1e}");
        assert!(error <= 1e-3, "{from} Hz: {error}");
    }
    // The top of the pass band (0.9 × 8 kHz = 7.2 kHz) is still flat.
    let out = resample(&sine(7000.0, 0.5, 48_000, 1.0), 48_000, 16_000).unwrap();
    let error = max_error(&out, 7000.0, 0.5);
    println!("7 kHz at 48 kHz -> 16 kHz: max |error| {error:.1e}");
    assert!(error <= 1e-3, "{error}");
}

#[test]
fn what_would_alias_is_removed() {
    // 11 kHz cannot exist at 16 kHz: unfiltered it would fold to 5 kHz.
    for (freq, from) in [
        (11_000.0, 48_000),
        (8_500.0, 48_000),
        (12_000.0, 44_100),
        (30_000.0, 96_000),
    ] {
        let input = sine(freq, 0.5, from, 1.0);
        let out = resample(&input, from, 16_000).unwrap();
        let db = 20.0 * (rms(&out[EDGE..out.len() - EDGE]) / rms(&input)).log10();
        println!("{freq} Hz at {from} Hz -> 16 kHz: {db:.1} dB");
        assert!(db < -60.0, "{freq} Hz at {from} Hz: {db} dB");
    }
}

#[test]
fn streaming_equals_one_shot_and_holds_little() {
    let input = common::chirp();
    let input = &input[..5 * 16_000];
    for (from, to) in [
        (16_000, 48_000),
        (16_000, 44_100),
        (16_000, 8_000),
        (16_000, 16_000),
    ] {
        let whole = resample(input, from, to).unwrap();
        assert_eq!(whole.len(), output_len(input.len(), from, to));
        let mut resampler = Resampler::new(from, to).unwrap();
        let mut out = Vec::new();
        let mut rest = input;
        let mut seed = 12345u32;
        while !rest.is_empty() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let n = ((seed >> 16) as usize % 3000).min(rest.len());
            resampler.process(&rest[..n], &mut out).unwrap();
            assert!(
                resampler.held() <= 3000 + 400,
                "{from} -> {to}: {}",
                resampler.held()
            );
            rest = &rest[n..];
        }
        resampler.finish(&mut out);
        assert_eq!(out, whole, "{from} -> {to}");
    }
    assert!(resample(&[], 44_100, 16_000).unwrap().is_empty());
    assert_eq!(resample(&[0.25], 44_100, 16_000).unwrap().len(), 1);
}

#[test]
fn constants_and_silence_survive() {
    let out = resample(&vec![0.0; 10_000], 44_100, 16_000).unwrap();
    assert!(out.iter().all(|&v| v == 0.0));
    // Each phase sums to 1: a constant stays that constant.
    let out = resample(&vec![0.5; 44_100], 44_100, 16_000).unwrap();
    for &v in &out[EDGE..out.len() - EDGE] {
        assert!((v - 0.5).abs() < 1e-6, "{v}");
    }
}

#[test]
fn mixdown_is_the_mean_of_the_channels() {
    let six: Vec<f32> = (0..600).map(|i| (i % 6) as f32).collect();
    assert_eq!(to_mono(&six, 6).unwrap(), vec![2.5; 100]);
    assert_eq!(to_mono(&[1.0, 2.0], 1).unwrap(), vec![1.0, 2.0]);
    assert_eq!(
        to_mono(&six[..7], 6),
        Err(AudioError::Interleaving {
            len: 7,
            channels: 6
        })
    );
    assert!(to_mono(&six, 0).is_err());
}

#[test]
fn formats_outside_the_limits_are_refused() {
    for rate in [8_000, 16_000, 44_100, 96_000, 384_000] {
        check_format(rate, 1).unwrap();
    }
    check_format(48_000, MAX_CHANNELS).unwrap();
    check_format(48_000, 6).unwrap();
    assert_eq!(
        check_format(48_000, 9),
        Err(AudioError::TooManyChannels {
            channels: 9,
            max: 8
        })
    );
    for rate in [0, 3_999, 384_001, u32::MAX] {
        assert!(matches!(
            check_format(rate, 1),
            Err(AudioError::SampleRate { rate: r, .. }) if r == rate
        ));
        assert!(Resampler::new(rate, 16_000).is_err());
        assert!(Resampler::new(16_000, rate).is_err());
    }
    let mut resampler = Resampler::new(48_000, 16_000).unwrap();
    let mut out = Vec::new();
    resampler.process(&[0.0; 100], &mut out).unwrap();
    assert_eq!(
        resampler.process(&[0.0, f32::NAN], &mut out),
        Err(AudioError::NonFiniteSample { index: 101 })
    );
}
