//! The Hub client and the OPFS cache in headless Chromium, against `lantern mirror` serving the
//! real fixture files (started by `scripts/test.sh`, which passes its URL at compile time as
//! `LANTERN_TEST_MIRROR`). Runs in a dedicated worker, where Lantern downloads.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::option_env_unwrap)]

use lantern_hub::{CancelToken, HubClient, HubError, ModelRef, OpfsCache, RepoRef, RetryPolicy};
use sha2::{Digest, Sha256};
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const MINILM: &str = "lantern-fixtures/all-MiniLM-L6-v2";

fn mirror() -> &'static str {
    option_env!("LANTERN_TEST_MIRROR")
        .expect("LANTERN_TEST_MIRROR is not set: run the browser tests through scripts/test.sh")
}

/// An id no earlier run against the same mirror used (the mirror keeps fault state per id).
fn unique(tag: &str) -> String {
    format!("{tag}-{}", (js_sys::Math::random() * 1e12) as u64)
}

fn client(endpoint: &str, retry: RetryPolicy) -> HubClient {
    HubClient::builder()
        .endpoint(endpoint)
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(50),
            ..retry
        })
        .build()
        .unwrap()
}

async fn fresh_cache(tag: &str) -> OpfsCache {
    let cache = OpfsCache::new(unique(tag));
    cache.clear().await.unwrap();
    cache
}

async fn pin(file: &str) -> ModelRef {
    let repo: RepoRef = MINILM.parse().unwrap();
    client(mirror(), RetryPolicy::default())
        .pin(&repo, &[file])
        .await
        .unwrap()
}

/// The mirror's request log for a fault id: `[{method, path, range, status, bytes_sent}]`.
async fn mirror_log(id: &str) -> Vec<serde_json::Value> {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let url = format!("{}/_log/{id}", mirror());
    let resp: web_sys::Response = JsFuture::from(scope.fetch_with_str(&url))
        .await
        .unwrap()
        .unchecked_into();
    let text = JsFuture::from(resp.text().unwrap()).await.unwrap();
    serde_json::from_str(&text.as_string().unwrap()).unwrap()
}

async fn read_sha256(cache: &OpfsCache, model: &ModelRef) -> String {
    let file = cache.get(&model.files[0].hash).await.unwrap().unwrap();
    let mut bytes = Vec::new();
    file.read_into(&mut bytes).await.unwrap();
    assert_eq!(bytes.len() as u64, model.files[0].size);
    hex::encode(Sha256::digest(&bytes))
}

#[wasm_bindgen_test]
async fn downloads_and_verifies_an_lfs_file() {
    let model = pin("model.safetensors").await;
    assert_eq!(model.files[0].hash.algorithm(), "sha256");
    let cache = fresh_cache("lfs").await;
    let mut last = None;
    let files = client(mirror(), RetryPolicy::default())
        .download(
            &model,
            &cache,
            &mut |p| last = Some(p.clone()),
            &CancelToken::new(),
        )
        .await
        .unwrap();
    let last = last.unwrap();
    assert_eq!(
        (last.done, last.total),
        (model.total_size(), model.total_size())
    );
    assert_eq!(files[0].size, model.files[0].size);
    assert_eq!(
        read_sha256(&cache, &model).await,
        model.files[0].hash.to_hex()
    );

    // A second download is served from the cache: every byte counted as reused.
    let mut reused = 0;
    client(mirror(), RetryPolicy::default())
        .download(
            &model,
            &cache,
            &mut |p| reused = p.reused,
            &CancelToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(reused, model.files[0].size);
    cache.clear().await.unwrap();
}

#[wasm_bindgen_test]
async fn flipped_byte_is_a_hash_mismatch_and_nothing_is_cached() {
    let model = pin("tokenizer.json").await;
    assert_eq!(model.files[0].hash.algorithm(), "git-sha1");
    let cache = fresh_cache("flip").await;
    let id = unique("flip");
    let faulty = format!("{}/_faults/id={id},flip=1000", mirror());
    let err = client(&faulty, RetryPolicy::default())
        .download(&model, &cache, &mut |_| {}, &CancelToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::HashMismatch { .. }), "{err:?}");
    assert!(cache.get(&model.files[0].hash).await.unwrap().is_none());
    assert_eq!(cache.partial_len(&model.files[0].hash).await.unwrap(), 0);
    cache.clear().await.unwrap();
}

#[wasm_bindgen_test]
async fn dropped_connection_resumes_with_a_range_request() {
    let model = pin("tokenizer.json").await;
    let cache = fresh_cache("drop").await;
    let id = unique("drop");
    let faulty = format!("{}/_faults/id={id},drop_after=100000,times=1", mirror());
    client(&faulty, RetryPolicy::default())
        .download(&model, &cache, &mut |_| {}, &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(read_sha256(&cache, &model).await.len(), 64);
    let log = mirror_log(&id).await;
    let gets: Vec<_> = log.iter().filter(|e| e["method"] == "GET").collect();
    assert_eq!(gets.len(), 2, "{log:?}");
    assert_eq!(gets[0]["bytes_sent"], 100000);
    assert_eq!(gets[1]["range"], "bytes=100000-");
    cache.clear().await.unwrap();
}

#[wasm_bindgen_test]
async fn partial_download_resumes_after_a_reload() {
    let model = pin("tokenizer.json").await;
    let cache = fresh_cache("reload").await;
    let id = unique("reload");
    // First "page": the connection drops and this client does not retry.
    let faulty = format!("{}/_faults/id={id},drop_after=200000,times=1", mirror());
    let err = client(&faulty, RetryPolicy::none())
        .download(&model, &cache, &mut |_| {}, &CancelToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::Network { .. }), "{err:?}");
    assert_eq!(
        cache.partial_len(&model.files[0].hash).await.unwrap(),
        200000
    );
    assert!(cache.get(&model.files[0].hash).await.unwrap().is_none());

    // Second "page": a new client continues from the stored prefix.
    let mut first = None;
    client(&faulty, RetryPolicy::none())
        .download(
            &model,
            &cache,
            &mut |p| {
                first.get_or_insert(p.clone());
            },
            &CancelToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(first.unwrap().reused, 200000);
    let log = mirror_log(&id).await;
    let ranges: Vec<_> = log.iter().map(|e| e["range"].clone()).collect();
    assert_eq!(
        ranges,
        [serde_json::Value::Null, "bytes=200000-".into()],
        "{log:?}"
    );
    assert!(cache.get(&model.files[0].hash).await.unwrap().is_some());
    cache.clear().await.unwrap();
}

#[wasm_bindgen_test]
async fn missing_things_are_typed_errors() {
    let c = client(mirror(), RetryPolicy::none());
    let err = c
        .pin(&"lantern-fixtures/no-such-repo".parse().unwrap(), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::RepoNotFound { .. }), "{err:?}");
    let err = c
        .pin(&format!("{MINILM}@no-such-branch").parse().unwrap(), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::RevisionNotFound { .. }), "{err:?}");
    let err = c
        .pin(&MINILM.parse().unwrap(), &["no-such-file.bin"])
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::EntryNotFound { .. }), "{err:?}");
}

#[wasm_bindgen_test]
async fn a_download_larger_than_the_quota_is_refused_up_front() {
    let mut model = pin("config.json").await;
    model.files[0].size = 1 << 50;
    let cache = fresh_cache("quota").await;
    let err = client(mirror(), RetryPolicy::none())
        .download(&model, &cache, &mut |_| {}, &CancelToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::QuotaExceeded { .. }), "{err:?}");
    cache.clear().await.unwrap();
}
