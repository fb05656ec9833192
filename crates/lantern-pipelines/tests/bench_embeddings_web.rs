//! The browser half of the embedding benchmark (scripts/bench-embeddings.sh runs it in release
//! with `--nocapture` and reads the `BENCH {...}` line): the same texts as the native
//! `examples/embeddings_bench.rs`, in headless Chromium, one thread. Not part of the test suite.
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::option_env_unwrap,
    dead_code
)]

#[path = "../examples/common/bench_corpus.rs"]
mod bench_corpus;
#[path = "web_embeddings.rs"]
mod web;

use lantern_pipelines::embeddings::{Embedder, Quantization};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const RUNS: usize = 5;

fn rate(e: &Embedder, texts: &[String]) -> f64 {
    e.embed(texts).unwrap();
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let t = web_time::Instant::now();
        e.embed(texts).unwrap();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    texts.len() as f64 / times[RUNS / 2]
}

#[wasm_bindgen_test]
async fn bench() {
    for (name, q) in [
        ("lantern-wasm", Quantization::None),
        ("lantern-wasm-q8", Quantization::Q8_0),
    ] {
        let t = web_time::Instant::now();
        let e = web::load(q).await;
        let load_s = t.elapsed().as_secs_f64();
        let short = rate(&e, &bench_corpus::short_sentences());
        let long = rate(&e, &bench_corpus::long_texts());
        // Linear memory never shrinks: its size is the wasm heap's high-water mark so far.
        let heap_mib = core::arch::wasm32::memory_size(0) as f64 * 65536.0 / (1 << 20) as f64;
        console_log!(
            "BENCH {{\"engine\":\"{name}\",\"threads\":\"1\",\"load_s\":{load_s},\"short_sentences_per_s\":{short},\"long_sentences_per_s\":{long},\"wasm_memory_mib\":{heap_mib},\"simd128\":{}}}",
            candle_core::utils::with_simd128()
        );
    }
}
