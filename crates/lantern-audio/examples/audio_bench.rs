//! Times the front end in a release build:
//! `cargo run -p lantern-audio --release --example audio_bench`.
//!
//! - one 30 s window of features (`extract`), the FFT plan and filter bank made once before;
//! - the long form over 10 minutes of audio: the pass for the global maximum, then one window;
//! - resampling 10 minutes of 48 kHz and 44.1 kHz audio to 16 kHz;
//! - decoding beckett.flac to 16 kHz mono.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use lantern_audio::{FeatureConfig, FeatureExtractor, resample};

fn signal(rate: u32, seconds: u32) -> Vec<f32> {
    let mut seed = 1u32;
    (0..rate * seconds)
        .map(|i| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let t = f64::from(i) / f64::from(rate);
            let noise = f64::from(seed >> 8) / f64::from(1u32 << 24) - 0.5;
            (0.3 * (2.0 * std::f64::consts::PI * 440.0 * t).sin() + 0.05 * noise) as f32
        })
        .collect()
}

/// Median of `runs` timings of `f`, in milliseconds.
fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[runs / 2]
}

fn main() {
    let start = Instant::now();
    let fx = FeatureExtractor::new(FeatureConfig::whisper(80)).unwrap();
    println!(
        "extractor (FFT plan, filter bank): {:.2} ms",
        start.elapsed().as_secs_f64() * 1e3
    );

    let thirty = signal(16_000, 30);
    let ms = time(21, || {
        black_box(fx.extract(black_box(&thirty)).unwrap());
    });
    println!(
        "features, one 30 s window (3000 frames × 80 mels): {ms:.1} ms ({:.0}x real time)",
        30e3 / ms
    );
    let fx128 = FeatureExtractor::new(FeatureConfig::whisper(128)).unwrap();
    let ms = time(11, || {
        black_box(fx128.extract(black_box(&thirty)).unwrap());
    });
    println!("features, one 30 s window, 128 mels: {ms:.1} ms");

    let ten_minutes = signal(16_000, 600);
    let ms = time(3, || {
        black_box(fx.long_form(black_box(&ten_minutes)).unwrap().max_log10());
    });
    println!("long form, 10 min: global-maximum pass {ms:.0} ms");
    let long = fx.long_form(&ten_minutes).unwrap();
    let mut window = vec![0.0; 80 * 3000];
    let ms = time(11, || {
        black_box(long.window_into(black_box(30_000), &mut window).unwrap());
    });
    println!("long form, one window: {ms:.1} ms");

    for from in [48_000, 44_100] {
        let input = signal(from, 600);
        let ms = time(3, || {
            black_box(resample(black_box(&input), from, 16_000).unwrap());
        });
        println!(
            "resample 10 min {from} Hz -> 16 kHz: {ms:.0} ms ({:.0}x real time)",
            600e3 / ms
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
    {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/beckett.flac");
        let ms = time(11, || {
            black_box(lantern_audio::decode_file_mono(path, 16_000).unwrap());
        });
        println!("decode beckett.flac (10 s) to 16 kHz mono: {ms:.1} ms");
    }
}
