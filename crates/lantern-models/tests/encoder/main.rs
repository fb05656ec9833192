//! The encoders on the CPU backend, without fixture files, natively and (through
//! wasm-bindgen-test) in headless Chromium: every encoder op against its scalar oracle, tiny
//! random models of each family against an f64 forward pass written from transformers'
//! modeling files, and hostile `config.json` / safetensors files, which must give typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;
mod hostile;
mod models;
mod ops;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

pub fn log(line: &str) {
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{line}");
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{line}");
}
