//! Translation and summarization in headless Chromium, in a dedicated worker as Lantern runs
//! them: the tiny random Marian, T5, Flan-T5 and BART models are fetched from `lantern mirror`
//! (URL passed at compile time as `LANTERN_TEST_MIRROR` by scripts/test.sh) and held to
//! transformers' pipelines — ids and texts exactly — on the wasm CPU backend and, with the
//! `gpu` feature, on WebGPU (SwiftShader); bad input gives the same typed errors as natively.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::option_env_unwrap)]

#[path = "common/text2text.rs"]
mod text2text_checks;

use lantern_core::protocol::BackendChoice;
use lantern_pipelines::device::{self, Device};
use lantern_pipelines::source::MemorySource;
use text2text_checks::{Cases, FILES, MODELS, check_bad_input, check_model};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn mirror() -> &'static str {
    option_env!("LANTERN_TEST_MIRROR")
        .expect("LANTERN_TEST_MIRROR is not set: run the browser tests through scripts/test.sh")
}

/// A file of a fixture repository, through the mirror's resolve URL.
async fn fetch(model: &str, file: &str) -> Vec<u8> {
    let url = format!("{}/lantern-fixtures/{model}/resolve/main/{file}", mirror());
    let scope: web_sys::WorkerGlobalScope = js_sys::global().dyn_into().unwrap();
    let resp: web_sys::Response = JsFuture::from(scope.fetch_with_str(&url))
        .await
        .unwrap()
        .dyn_into()
        .unwrap();
    assert!(resp.ok(), "{url}: HTTP {}", resp.status());
    let buf = JsFuture::from(resp.array_buffer().unwrap()).await.unwrap();
    js_sys::Uint8Array::new(&buf).to_vec()
}

async fn files(model: &str) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for f in FILES {
        out.push((f, fetch(model, f).await));
    }
    out
}

fn source(files: &[(&str, Vec<u8>)]) -> MemorySource {
    files
        .iter()
        .fold(MemorySource::new(), |s, (p, b)| s.with(p, b.clone()))
}

#[wasm_bindgen_test]
async fn the_text2text_models_match_transformers_in_wasm() {
    for model in MODELS {
        let files = files(model).await;
        assert_eq!(
            check_model(model, &source(&files), Device::Cpu, Cases::All).await,
            "cpu"
        );
    }
}

/// On the browser's WebGPU (SwiftShader in headless Chromium), forced: the automatic choice
/// takes the CPU over a software adapter. Without the `gpu` feature the forced choice is
/// refused, and that is what this checks then.
#[wasm_bindgen_test]
async fn the_text2text_models_match_transformers_on_webgpu() {
    for model in MODELS {
        let files = files(model).await;
        match device::select(BackendChoice::Webgpu, None).await {
            Ok(selection) => {
                let backend =
                    check_model(model, &source(&files), selection.device, Cases::Few).await;
                assert_eq!(backend, "webgpu", "{model}");
            }
            Err(e) if cfg!(feature = "gpu") => panic!("no WebGPU with the gpu feature: {e}"),
            Err(_) => return,
        }
    }
}

#[wasm_bindgen_test]
async fn bad_input_is_a_typed_error_in_wasm() {
    check_bad_input(&files("tiny-t5").await, &files("tiny-marian-en-de").await).await;
}
