//! Whisper on the CPU backend, natively and (through wasm-bindgen-test) in headless Chromium,
//! without fixture files: tiny models against transformers' goldens (weights made from their
//! names on both sides, `scripts/reference/whisper_model.py`), and hostile `config.json`,
//! safetensors files and inputs, which must give typed errors. The real tiny.en is checked in
//! `tests/whisper_real.rs` (it needs the fixture files).
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
