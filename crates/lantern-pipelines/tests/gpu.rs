//! The encoder tasks on the GPU backend natively (Mesa's lavapipe in CI): text classification
//! held to transformers' goldens with the same tolerance as on the CPU, and sentence
//! embeddings equal to the CPU's; translation and summarization generating transformers' ids
//! exactly. The page's choice is forced to WebGPU, as a software adapter is never picked
//! automatically.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/classification.rs"]
#[allow(dead_code)] // the bad-input half runs on the CPU (tests/text_classification.rs)
mod classification;

#[path = "common/text2text.rs"]
#[allow(dead_code)] // the bad-input half runs on the CPU (tests/text2text.rs)
mod text2text_checks;

use std::path::PathBuf;

use classification::{MODELS, check_model};
use futures_util::FutureExt;
use lantern_core::protocol::BackendChoice;
use lantern_pipelines::device::{self, Device};
use lantern_pipelines::embeddings::{self, EmbedderOptions};
use lantern_pipelines::source::DirSource;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/fixtures/mirror/lantern-fixtures")
        .join(name)
}

/// Natively a GPU readback blocks, so nothing here waits for an event loop.
fn ready<T>(f: impl Future<Output = T>) -> T {
    f.now_or_never()
        .expect("nothing here waits for an event loop")
}

fn gpu() -> Device {
    let selection = ready(device::select(BackendChoice::Webgpu, None)).unwrap();
    assert_eq!(selection.name(), "webgpu", "{}", selection.detail);
    selection.device
}

/// Every golden case of the tiny Marian, T5, Flan-T5 and BART models on the GPU: the same ids
/// and texts as transformers (f32 arithmetic, as on the CPU).
#[test]
fn the_text2text_models_match_transformers_on_the_gpu() {
    for model in text2text_checks::MODELS {
        let source = DirSource::new(&fixture(model)).unwrap();
        assert_eq!(
            ready(text2text_checks::check_model(
                model,
                &source,
                gpu(),
                text2text_checks::Cases::All
            )),
            "webgpu",
            "{model}"
        );
    }
}

#[test]
fn the_classifiers_match_transformers_on_the_gpu() {
    for model in MODELS {
        let source = DirSource::new(&fixture(model)).unwrap();
        assert_eq!(ready(check_model(model, &source, gpu())), "webgpu");
    }
}

/// Embeddings on the GPU against the CPU's, per component: the CPU is held to an independent
/// float64 reference within 2e-6 (tests/embeddings.rs), the GPU sums in another order.
const GPU_VS_CPU: f32 = 1e-4;

#[test]
fn sentence_embeddings_on_the_gpu_equal_the_cpu() {
    let source = DirSource::new(&fixture("all-MiniLM-L6-v2")).unwrap();
    let options = EmbedderOptions::default();
    let cpu = ready(embeddings::load(&source, Device::Cpu, &options))
        .unwrap()
        .pipeline;
    let gpu = ready(embeddings::load(&source, gpu(), &options)).unwrap();
    assert_eq!(gpu.fallback, None);
    let gpu = gpu.pipeline;
    assert_eq!(gpu.backend_name(), "webgpu");
    let texts = [
        "A man is eating food.",
        "",
        "Ein Mann isst Essen. 男は食べ物を食べている。 🍔",
        &"a long text that is cut at the model's limit ".repeat(40),
    ];
    let a = cpu.embed(&texts).unwrap();
    let b = ready(gpu.embed_async(&texts)).unwrap();
    let mut worst = 0f32;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.len(), y.len());
        for (p, q) in x.iter().zip(y) {
            worst = worst.max((p - q).abs());
        }
    }
    assert!(worst <= GPU_VS_CPU, "largest difference {worst}");
    eprintln!("embeddings, GPU vs CPU: largest component difference {worst:.2e}");
}
