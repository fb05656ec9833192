//! The synthetic signals of scripts/reference/whisper_features.py (same formulas, same order of
//! f64 operations, rounded to f32) and the golden file it writes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::f64::consts::PI;

use serde::Deserialize;

pub const GOLDEN_JSON: &[u8] = include_bytes!("../data/whisper_features.golden.json");
pub const GOLDEN_BIN: &[u8] = include_bytes!("../data/whisper_features.golden.bin");

/// 2.5 s of 440 Hz + 1 kHz at 16 kHz, amplitude 0.25 each.
pub fn tone() -> Vec<f32> {
    (0..40_000)
        .map(|i| {
            let i = f64::from(i);
            (0.25 * (2.0 * PI * 440.0 * i / 16000.0).sin()
                + 0.25 * (2.0 * PI * 1000.0 * i / 16000.0).sin()) as f32
        })
        .collect()
}

/// 35 s at 16 kHz: a linear chirp from 100 Hz to 7.9 kHz at amplitude 0.3, amplitude-modulated.
pub fn chirp() -> Vec<f32> {
    (0..35 * 16_000)
        .map(|i| {
            let t = f64::from(i) / 16000.0;
            let phase = 2.0 * PI * (100.0 * t + 7800.0 * t * t / 70.0);
            (0.3 * phase.sin() * (0.6 + 0.4 * (2.0 * PI * 0.7 * t).sin())) as f32
        })
        .collect()
}

/// A sine of `freq` Hz and amplitude `amp`, `seconds` long at `rate`.
pub fn sine(freq: f64, amp: f64, rate: u32, seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)).round() as usize;
    (0..n)
        .map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct Golden {
    pub beckett_pcm_sha256: String,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub signal: String,
    pub kind: String,
    pub n_mels: usize,
    pub n_frames: usize,
    pub frames: Vec<usize>,
    pub offset: usize,
    pub max_log10: f32,
    #[serde(default)]
    pub start_sample: usize,
    #[serde(default)]
    pub seek: usize,
    #[serde(default)]
    pub content_frames: usize,
}

impl Case {
    /// The golden values of kept frame `k`: `n_mels` values.
    pub fn frame(&self, k: usize) -> Vec<f32> {
        let start = (self.offset + k * self.n_mels) * 4;
        GOLDEN_BIN[start..start + self.n_mels * 4]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }
}

pub fn golden() -> Golden {
    serde_json::from_slice(GOLDEN_JSON).unwrap()
}
