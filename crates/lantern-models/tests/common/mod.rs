//! What the encoder tests share across backends and targets: op checks against plain scalar
//! oracles, and tiny random encoders of every family written as safetensors files.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod encoders;
pub mod minilm;
pub mod ops;
pub mod seq2seq;
pub mod tiny;
pub mod vision;
pub mod whisper;
pub mod whisper_real;

/// Deterministic pseudo-random values in [-1, 1).
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Runs a future to completion without an executor: for backends whose reads are ready at
/// once (the CPU). Panics if the future is not ready after many polls.
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..1000 {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("the future never became ready")
}

/// The largest `|a - b|`.
pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}
