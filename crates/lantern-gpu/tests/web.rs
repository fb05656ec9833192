//! The kernels against CPU references on real weights, in headless Chromium's WebGPU
//! (SwiftShader; webdriver.json passes `--enable-unsafe-webgpu`), in a dedicated worker as in
//! Lantern's worker. The same checks run natively from `tests/kernels.rs`.
//!
//! The weights come from `lantern mirror` serving the fixture folder (started by
//! `scripts/test.sh`, which passes its URL at compile time as `LANTERN_TEST_MIRROR`), read with
//! `Range` requests: the GGUF header, then only the tensors the checks use (about 11 MB of the
//! 100 MB file), the way the worker will read a model. Embedding the tensors in the test binary
//! instead would need a build step tied to the fixture files and a 10+ MB wasm module.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::option_env_unwrap)]

mod common;

use std::sync::OnceLock;

use common::checks::{self, Ctx};
use common::fixture::Source;
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

/// Fixture files through the mirror's resolve URLs.
struct Mirror;

impl Source for Mirror {
    async fn read(&self, file: &str, start: u64, len: u64) -> Vec<u8> {
        // "org/name/path" -> "{mirror}/org/name/resolve/main/path".
        let mut parts = file.splitn(3, '/');
        let (org, name, path) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let url = format!("{}/{org}/{name}/resolve/main/{path}", mirror());
        let init = web_sys::RequestInit::new();
        let headers = web_sys::Headers::new().unwrap();
        headers
            .set("Range", &format!("bytes={start}-{}", start + len - 1))
            .unwrap();
        init.set_headers(&headers);
        let request = web_sys::Request::new_with_str_and_init(&url, &init).unwrap();
        let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let resp: web_sys::Response = JsFuture::from(scope.fetch_with_request(&request))
            .await
            .unwrap()
            .unchecked_into();
        assert!(
            resp.status() == 206 || resp.status() == 200,
            "{url}: HTTP {}",
            resp.status()
        );
        let body = JsFuture::from(resp.array_buffer().unwrap()).await.unwrap();
        let bytes = js_sys::Uint8Array::new(&body).to_vec();
        if resp.status() == 200 {
            // A server that ignores Range: cut the slice out of the whole file.
            let end = (start + len).min(bytes.len() as u64);
            return bytes[start.min(end) as usize..end as usize].to_vec();
        }
        bytes
    }
}

async fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Ctx> = OnceLock::new();
    if let Some(c) = CTX.get() {
        return c;
    }
    let c = Ctx::new(&Mirror).await;
    // Tests run one after another in one worker: nobody else can have set it meanwhile.
    let _ = CTX.set(c);
    CTX.get().unwrap()
}

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test]
            async fn $name() {
                checks::$name(ctx().await).await;
            }
        )*
    };
}

checks!(
    probe_reports_the_adapter,
    matmul_every_type,
    embedding_every_type,
    split_weights_match_whole,
    rms_norm_real,
    layer_norm_real,
    bert_dense_and_gelu,
    elementwise_real,
    rope_both_styles,
    attention_gqa_with_cache,
    attention_bert,
    unfold1d_real,
    window2d_ops,
    kv_cache_fork,
    softmax_real_logits,
    argmax_and_sampling,
    pool_and_pipelines_are_reused,
    errors_are_typed,
);
