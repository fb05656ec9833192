//! The Hub client against `lantern mirror` on loopback, with the real fixture files.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use lantern_hub::{
    CancelToken, HfCache, HubClient, HubError, ModelRef, NetworkMode, RepoRef, RetryPolicy,
};
use lantern_mirror::testing::start_fixture_mirror;
use sha1::Digest as _;

const MINILM: &str = "lantern-fixtures/all-MiniLM-L6-v2";
const SMOL: &str = "lantern-fixtures/SmolLM2-135M-Instruct-GGUF";
const GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
    }
}

fn client(endpoint: &str) -> HubClient {
    HubClient::builder()
        .endpoint(endpoint)
        .retry(fast_retry())
        .build()
        .unwrap()
}

fn repo(s: &str) -> RepoRef {
    s.parse().unwrap()
}

fn sha256_file(path: &Path) -> String {
    let mut h = sha2::Sha256::new();
    let mut f = std::fs::File::open(path).unwrap();
    std::io::copy(&mut f, &mut h).unwrap();
    hex::encode(h.finalize())
}

fn git_blob_id(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(&bytes);
    hex::encode(h.finalize())
}

async fn download(
    client: &HubClient,
    model: &ModelRef,
    cache: &HfCache,
) -> Result<Vec<std::path::PathBuf>, HubError> {
    client
        .download(model, cache, &mut |_| {}, &CancelToken::new())
        .await
}

fn content_gets(log: &[lantern_mirror::LogEntry]) -> Vec<&lantern_mirror::LogEntry> {
    log.iter()
        .filter(|e| e.method == "GET" && !e.path.contains("/api/"))
        .collect()
}

#[tokio::test]
async fn full_download_is_verified_and_laid_out_like_huggingface_hub() {
    let mirror = start_fixture_mirror();
    let tmp = tempfile::tempdir().unwrap();
    let cache = HfCache::new(tmp.path());
    let c = client(&mirror.url());
    let model = c.pin(&repo(MINILM), &[]).await.unwrap();
    assert_eq!(model.commit.len(), 40);
    assert!(model.files.len() >= 10, "{:?}", model.files);

    let mut reports = Vec::new();
    let files = c
        .download(
            &model,
            &cache,
            &mut |p| reports.push(p.clone()),
            &CancelToken::new(),
        )
        .await
        .unwrap();
    let last = reports.last().unwrap();
    assert_eq!(
        (last.done, last.total),
        (model.total_size(), model.total_size())
    );
    assert!(
        reports.windows(2).all(|w| w[0].done <= w[1].done),
        "progress went backwards"
    );

    let source = lantern_mirror::testing::fixture_dir().join(MINILM);
    for (file, path) in model.files.iter().zip(&files) {
        let original = source.join(file.path.as_str());
        // Independent check: the bytes in the cache hash like the original file.
        let expected = match file.hash.algorithm() {
            "sha256" => sha256_file(&original),
            _ => git_blob_id(&original),
        };
        assert_eq!(file.hash.to_hex(), expected, "{}", file.path);
        assert_eq!(
            std::fs::read(path).unwrap(),
            std::fs::read(&original).unwrap()
        );
        // huggingface_hub layout: a relative symlink into blobs/, named by the hash.
        let target = std::fs::read_link(path).unwrap();
        let depth = file.path.components().count() + 1;
        assert!(
            target.starts_with("../".repeat(depth) + "blobs"),
            "{target:?}"
        );
        assert!(target.ends_with(file.hash.to_hex()));
    }
    assert_eq!(
        model.file("model.safetensors").unwrap().hash.algorithm(),
        "sha256",
        "LFS files are verified by sha256"
    );
    let repo_dir = tmp
        .path()
        .join("models--lantern-fixtures--all-MiniLM-L6-v2");
    assert_eq!(
        std::fs::read_to_string(repo_dir.join("refs/main")).unwrap(),
        model.commit
    );
    let leftovers: Vec<_> = std::fs::read_dir(repo_dir.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".incomplete"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn dropped_connection_resumes_with_exactly_the_missing_bytes() {
    let mirror = start_fixture_mirror();
    let tmp = tempfile::tempdir().unwrap();
    let cache = HfCache::new(tmp.path());
    let model = client(&mirror.url())
        .pin(&repo(MINILM), &["model.safetensors"])
        .await
        .unwrap();
    let faulty = format!(
        "{}/_faults/id=resume,drop_after=10000000,times=1",
        mirror.url()
    );
    let files = download(&client(&faulty), &model, &cache).await.unwrap();
    assert_eq!(sha256_file(&files[0]), model.files[0].hash.to_hex());

    let log = mirror.log("resume");
    let blob_gets: Vec<_> = content_gets(&log)
        .into_iter()
        .filter(|e| e.status != 302)
        .collect();
    assert_eq!(blob_gets.len(), 2, "{log:#?}");
    assert_eq!(blob_gets[0].range, None);
    assert_eq!(blob_gets[0].bytes_sent, 10_000_000);
    assert_eq!(blob_gets[1].range.as_deref(), Some("bytes=10000000-"));
    assert_eq!(blob_gets[1].status, 206);
    assert_eq!(blob_gets[1].bytes_sent, model.files[0].size - 10_000_000);
}

#[tokio::test]
async fn flipped_byte_is_a_hash_mismatch_and_nothing_is_cached() {
    let mirror = start_fixture_mirror();
    let tmp = tempfile::tempdir().unwrap();
    let cache = HfCache::new(tmp.path());
    let model = client(&mirror.url())
        .pin(&repo(MINILM), &["model.safetensors", "tokenizer.json"])
        .await
        .unwrap();
    for file in ["model.safetensors", "tokenizer.json"] {
        let mut one = model.clone();
        one.files.retain(|f| f.path.as_str() == file);
        let faulty = format!("{}/_faults/id=flip-{file},flip=123456", mirror.url());
        let err = download(&client(&faulty), &one, &cache).await.unwrap_err();
        assert!(
            matches!(err, HubError::HashMismatch { .. }),
            "{file}: {err:?}"
        );
    }
    let repo_dir = tmp
        .path()
        .join("models--lantern-fixtures--all-MiniLM-L6-v2");
    let blobs: Vec<_> = std::fs::read_dir(repo_dir.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(blobs.is_empty(), "nothing may stay in the cache: {blobs:?}");
    assert!(
        !repo_dir
            .join("snapshots")
            .join(&model.commit)
            .join("tokenizer.json")
            .exists()
    );
}

#[tokio::test]
async fn missing_repo_revision_and_file_are_typed_errors() {
    let mirror = start_fixture_mirror();
    let c = client(&mirror.url());
    let err = c
        .pin(&repo("lantern-fixtures/nope"), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::RepoNotFound { .. }), "{err:?}");
    let err = c
        .pin(&repo(&format!("{MINILM}@v9")), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::RevisionNotFound { .. }), "{err:?}");
    let err = c.pin(&repo(MINILM), &["nope.bin"]).await.unwrap_err();
    assert!(matches!(err, HubError::EntryNotFound { .. }), "{err:?}");

    // A pinned file that the server no longer has: the resolve answer is EntryNotFound too.
    let tmp = tempfile::tempdir().unwrap();
    let mut model = c.pin(&repo(MINILM), &["config.json"]).await.unwrap();
    model.files[0].path = "gone.json".parse().unwrap();
    let err = download(&c, &model, &HfCache::new(tmp.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::EntryNotFound { .. }), "{err:?}");
    let err = c
        .file_metadata(&repo(MINILM), &"gone.json".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::EntryNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried() {
    let mirror = start_fixture_mirror();
    let tmp = tempfile::tempdir().unwrap();
    let cache = HfCache::new(tmp.path());
    let model = client(&mirror.url())
        .pin(&repo(MINILM), &["tokenizer.json"])
        .await
        .unwrap();

    let faulty = format!("{}/_faults/id=e500,status=500,times=2", mirror.url());
    download(&client(&faulty), &model, &cache).await.unwrap();
    let statuses: Vec<u16> = content_gets(&mirror.log("e500"))
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [500, 500, 200]);

    let tmp = tempfile::tempdir().unwrap();
    let cache = HfCache::new(tmp.path());
    let faulty = format!(
        "{}/_faults/id=e429,status=429,retry_after=1,times=1",
        mirror.url()
    );
    let started = std::time::Instant::now();
    download(&client(&faulty), &model, &cache).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    let statuses: Vec<u16> = content_gets(&mirror.log("e429"))
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [429, 200]);

    // Metadata calls retry too.
    let faulty = format!(
        "{}/_faults/id=api503,status=503,times=1,on=api",
        mirror.url()
    );
    client(&faulty).pin(&repo(MINILM), &[]).await.unwrap();

    // And a persistent failure ends, typed, after the bounded number of retries.
    let faulty = format!("{}/_faults/id=always500,status=500", mirror.url());
    let err = download(
        &client(&faulty),
        &model,
        &HfCache::new(tmp.path().join("x")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, HubError::Http { status: 500, .. }), "{err:?}");
    assert_eq!(content_gets(&mirror.log("always500")).len(), 5);
}

#[tokio::test]
async fn concurrent_downloads_of_one_file_make_one_blob() {
    let mirror = start_fixture_mirror();
    let tmp = tempfile::tempdir().unwrap();
    let model = client(&mirror.url())
        .pin(&repo(SMOL), &[GGUF])
        .await
        .unwrap();
    // Slowed down so the two downloads overlap.
    let slow = format!("{}/_faults/id=concurrent,delay_ms=2", mirror.url());
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (c, m, cache) = (client(&slow), model.clone(), HfCache::new(tmp.path()));
            tokio::spawn(async move { download(&c, &m, &cache).await })
        })
        .collect();
    for t in tasks {
        let files = t.await.unwrap().unwrap();
        assert_eq!(
            std::fs::metadata(&files[0]).unwrap().len(),
            model.files[0].size
        );
    }
    let blob_dir = tmp
        .path()
        .join("models--lantern-fixtures--SmolLM2-135M-Instruct-GGUF/blobs");
    let blobs: Vec<_> = std::fs::read_dir(&blob_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert_eq!(
        sha256_file(&blob_dir.join(&blobs[0])),
        model.files[0].hash.to_hex()
    );
    // The second waited for the first and took its blob: the content was sent once.
    let sent: u64 = mirror.log("concurrent").iter().map(|e| e.bytes_sent).sum();
    assert_eq!(sent, model.files[0].size);
}

#[tokio::test]
async fn cancelled_download_keeps_its_prefix_and_resumes() {
    let mirror = start_fixture_mirror();
    let tmp = tempfile::tempdir().unwrap();
    let cache = HfCache::new(tmp.path());
    let model = client(&mirror.url())
        .pin(&repo(MINILM), &["model.safetensors"])
        .await
        .unwrap();
    let slow = format!("{}/_faults/id=cancel,delay_ms=5", mirror.url());
    let cancel = CancelToken::new();
    let trigger = cancel.clone();
    let err = client(&slow)
        .download(
            &model,
            &cache,
            &mut |p| {
                if p.file_done > 1_000_000 {
                    trigger.cancel();
                }
            },
            &cancel,
        )
        .await
        .unwrap_err();
    assert_eq!(err, HubError::Cancelled);
    let incomplete = tmp
        .path()
        .join("models--lantern-fixtures--all-MiniLM-L6-v2/blobs")
        .join(format!("{}.incomplete", model.files[0].hash));
    let kept = std::fs::metadata(&incomplete).unwrap().len();
    assert!(kept > 1_000_000, "{kept}");

    let id = "after-cancel";
    let files = download(
        &client(&format!("{}/_faults/id={id}", mirror.url())),
        &model,
        &cache,
    )
    .await
    .unwrap();
    assert_eq!(sha256_file(&files[0]), model.files[0].hash.to_hex());
    let ranges: Vec<_> = content_gets(&mirror.log(id))
        .iter()
        .filter(|e| e.status != 302)
        .map(|e| e.range.clone())
        .collect();
    assert_eq!(ranges, [Some(format!("bytes={kept}-"))]);
}

#[tokio::test]
async fn cached_revision_is_used_when_the_hub_is_unreachable() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = HfCache::new(tmp.path());
    let r = repo(MINILM);
    let online = {
        let mirror = start_fixture_mirror();
        client(&mirror.url())
            .snapshot(
                &r,
                &["config.json", "1_Pooling/config.json"],
                &cache,
                NetworkMode::Online,
                &mut |_| {},
                &CancelToken::new(),
            )
            .await
            .unwrap()
    };
    // The mirror is gone: its port now refuses connections.
    let dead = client("http://127.0.0.1:9");
    let offline = dead
        .snapshot(
            &r,
            &["config.json", "1_Pooling/config.json"],
            &cache,
            NetworkMode::Online,
            &mut |_| {},
            &CancelToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(offline, online);
    let offline = dead
        .snapshot(
            &r,
            &["config.json"],
            &cache,
            NetworkMode::Offline,
            &mut |_| {},
            &CancelToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(offline.commit, online.commit);
    // Not cached and unreachable: the network error, not a silent success.
    let err = dead
        .snapshot(
            &r,
            &["tokenizer.json"],
            &cache,
            NetworkMode::Online,
            &mut |_| {},
            &CancelToken::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, HubError::Network { .. }), "{err:?}");
}

#[tokio::test]
async fn tree_pagination_and_file_metadata_match_the_hub_protocol() {
    let mirror = start_fixture_mirror();
    let c = client(&mirror.url());
    let r = repo(MINILM);
    let commit = c.commit(&r).await.unwrap();
    let files = c.list_files(&r, &commit).await.unwrap();
    let mut config = lantern_mirror::MirrorConfig::new(lantern_mirror::testing::fixture_dir());
    config.page_size = 2;
    let small = lantern_mirror::testing::start_with(config);
    let paged = client(&small.url()).list_files(&r, &commit).await.unwrap();
    assert_eq!(paged, files);
    let meta = c
        .file_metadata(&r, &"model.safetensors".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(meta.commit.as_deref(), Some(commit.as_str()));
    let st = files
        .iter()
        .find(|f| f.path.as_str() == "model.safetensors")
        .unwrap();
    assert_eq!(meta.hash, Some(st.hash));
    assert_eq!(meta.size, Some(st.size));
    let cfg = c
        .file_metadata(&r, &"config.json".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(cfg.hash.unwrap().algorithm(), "git-sha1");
}
