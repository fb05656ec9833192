//! The encoders on the GPU backend in headless Chromium's WebGPU (SwiftShader; webdriver.json
//! passes `--enable-unsafe-webgpu`), in a dedicated worker as in Lantern's worker: every encoder
//! op against its scalar oracle, tiny models of every family and the real all-MiniLM-L6-v2
//! against the CPU backend in the same page; tiny Whispers against transformers' goldens and the
//! CPU backend. The same checks run natively from `tests/gpu.rs`.
//!
//! MiniLM's files come from `lantern mirror` serving the fixture folder; its URL is passed at
//! compile time as `LANTERN_TEST_MIRROR`:
//! `(cd crates/lantern-models && LANTERN_TEST_MIRROR=$url cargo test --target
//! wasm32-unknown-unknown --features gpu --test web_gpu)`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::option_env_unwrap)]

mod common;

use common::encoders::{self, EncTol};
use common::ops::{self, Tol};
use common::whisper::{self, WhisperTol};
use lantern_models::ops::gpu::{Gpu, lantern_gpu};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

pub fn log(line: &str) {
    web_sys::console::log_1(&line.into());
}

fn mirror() -> &'static str {
    option_env!("LANTERN_TEST_MIRROR")
        .expect("LANTERN_TEST_MIRROR is not set: run the browser tests through scripts/test.sh")
}

/// A fixture file from the mirror, whole.
async fn fetch(repo: &str, path: &str) -> Vec<u8> {
    let url = format!("{}/{repo}/resolve/main/{path}", mirror());
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let resp: web_sys::Response = JsFuture::from(scope.fetch_with_str(&url))
        .await
        .unwrap()
        .unchecked_into();
    assert_eq!(resp.status(), 200, "{url}");
    let body = JsFuture::from(resp.array_buffer().unwrap()).await.unwrap();
    js_sys::Uint8Array::new(&body).to_vec()
}

/// The device at each precision it supports (SwiftShader has no f16), with its tolerances.
async fn precisions() -> Vec<(lantern_gpu::Gpu, Tol, EncTol)> {
    let device = lantern_gpu::Gpu::new(lantern_gpu::GpuOptions {
        precision: Some(lantern_gpu::Precision::F32),
        ..lantern_gpu::GpuOptions::default()
    })
    .await
    .expect("no WebGPU adapter (is --enable-unsafe-webgpu in webdriver.json?)");
    let mut v = vec![(device.clone(), Tol::GPU_F32, EncTol::F32)];
    if device.report().shader_f16 {
        let f16 = device.with_precision(lantern_gpu::Precision::F16).unwrap();
        v.push((f16, Tol::GPU_F16, EncTol::F16));
    }
    v
}

#[wasm_bindgen_test]
async fn encoder_ops_match_their_oracles() {
    for (device, tol, _) in precisions().await {
        let gpu = Gpu::new(device);
        ops::linear(&gpu, &tol).await;
        ops::layer_norm(&gpu, &tol).await;
        ops::activations(&gpu, &tol).await;
        ops::attend(&gpu, &tol).await;
        ops::conv1d(&gpu, &tol).await;
        ops::fork_cache(&gpu, &tol).await;
        ops::gather_and_table(&gpu).await;
        ops::shape_errors(&gpu).await;
        assert_eq!(gpu.device().check(), Ok(()));
    }
}

#[wasm_bindgen_test]
async fn encoders_match_the_cpu_backend() {
    let repo = common::minilm::REPO;
    let config = fetch(repo, "config.json").await;
    let file = fetch(repo, "model.safetensors").await;
    for (device, _, tol) in precisions().await {
        encoders::tiny_models(|| Gpu::new(device.clone()), &tol).await;
        encoders::minilm(Gpu::new(device.clone()), &config, &file, &tol).await;
    }
}

#[wasm_bindgen_test]
async fn whisper_matches_transformers_and_the_cpu() {
    for (device, _, _) in precisions().await {
        let tol = match device.precision() {
            lantern_gpu::Precision::F32 => WhisperTol::F32,
            lantern_gpu::Precision::F16 => WhisperTol::F16,
        };
        whisper::on_backend(|| Gpu::new(device.clone()), &tol).await;
        assert_eq!(device.check(), Ok(()));
    }
}
