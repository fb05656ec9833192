//! The text-to-text models (Marian, T5, Flan-T5, BART) on the CPU backend, natively and
//! (through wasm-bindgen-test) in headless Chromium: the tiny fixtures of tests/fixtures/text2text
//! against transformers' forward passes, and hostile `config.json`, safetensors files and inputs,
//! which must give typed errors. The GPU runs the same checks from `tests/gpu.rs` (lavapipe) and
//! `tests/web_gpu.rs` (SwiftShader).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;
mod gguf;
mod hostile;
mod models;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

pub fn log(line: &str) {
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{line}");
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{line}");
}
