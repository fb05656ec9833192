//! The encoders on the GPU backend in headless Chromium's WebGPU (SwiftShader; webdriver.json
//! passes `--enable-unsafe-webgpu`), in a dedicated worker as in Lantern's worker: every encoder
//! op against its scalar oracle, tiny models of every family against the CPU backend in the
//! same page; tiny Whispers against transformers' goldens and the CPU backend. The same checks
//! (and the real all-MiniLM-L6-v2) run natively from `tests/gpu.rs`. The vision families
//! (tiny ResNet, ViT, YOLOS, DETR) against transformers' goldens and the CPU backend
//! (`common::vision`): the conv nets' window ops as WGSL kernels, no readback in between.
//!
//! `(cd crates/lantern-models && cargo test --target wasm32-unknown-unknown --features gpu
//! --test web_gpu)`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::encoders::{self, EncTol};
use common::ops::{self, Tol};
use common::vision::{self, VisionTol};
use common::whisper::{self, WhisperTol};
use lantern_models::ops::gpu::{Gpu, lantern_gpu};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

pub fn log(line: &str) {
    web_sys::console::log_1(&line.into());
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

/// The biased attention ops and `scale` / `mul_assign` on the wasm CPU backend (simd128 build)
/// against their f64 oracles (the GPU's checks below also compare it with the GPU).
#[wasm_bindgen_test]
async fn cpu_biased_attention_matches_its_oracle() {
    let cpu = lantern_models::ops::cpu::Cpu;
    ops::attend_biased(&cpu, &Tol::CPU).await;
    ops::attention_biased(&cpu, &Tol::CPU).await;
    ops::scale_and_mul(&cpu).await;
}

#[wasm_bindgen_test]
async fn encoder_ops_match_their_oracles() {
    for (device, tol, _) in precisions().await {
        let gpu = Gpu::new(device);
        ops::linear(&gpu, &tol).await;
        ops::layer_norm(&gpu, &tol).await;
        ops::activations(&gpu, &tol).await;
        ops::attend(&gpu, &tol).await;
        ops::attend_biased(&gpu, &tol).await;
        ops::attention_biased(&gpu, &tol).await;
        ops::scale_and_mul(&gpu).await;
        ops::conv1d(&gpu, &tol).await;
        ops::fork_cache(&gpu, &tol).await;
        ops::gather_and_table(&gpu).await;
        ops::shape_errors(&gpu).await;
        assert_eq!(gpu.device().check(), Ok(()));
    }
}

/// The real MiniLM is held to the CPU on SwiftShader by the end-to-end test
/// (`tests/e2e/embeddings.rs`, `similarity_on_webgpu_equals_the_cpu`, through the worker) and
/// on lavapipe by `tests/gpu.rs`; running it here too cost two minutes of CI for no new
/// kernel.
#[wasm_bindgen_test]
async fn encoders_match_the_cpu_backend() {
    for (device, _, tol) in precisions().await {
        encoders::tiny_models(|| Gpu::new(device.clone()), &tol).await;
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

/// The tiny Marian, T5, Flan-T5 and BART (`common::seq2seq`), f32 only.
#[wasm_bindgen_test]
async fn seq2seq_models_match_transformers_and_the_cpu() {
    let (device, _, _) = precisions().await.swap_remove(0);
    let measured =
        common::seq2seq::on_backend(|| Gpu::new(device.clone()), common::seq2seq::TOL).await;
    assert_eq!(measured.len(), 4);
    assert_eq!(device.check(), Ok(()));
}

#[wasm_bindgen_test]
async fn vision_models_match_the_cpu_and_transformers() {
    let (device, _, _) = precisions().await.swap_remove(0);
    let measured = vision::tiny_models(|| Gpu::new(device.clone()), &VisionTol::GPU_F32).await;
    log(&format!("max |GPU - CPU| per family: {measured:?}"));
    assert_eq!(measured.len(), 4);
    assert_eq!(device.check(), Ok(()));
}
