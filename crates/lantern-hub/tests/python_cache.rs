//! One cache for Python and Lantern: a cache filled by the real `huggingface_hub` package is
//! used by our client with the mirror stopped, and ours is used by `huggingface_hub` offline.
//!
//! The Python is `LANTERN_HF_HUB_PYTHON`, else the virtualenv `scripts/python-env.sh` makes.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use lantern_hub::{CancelToken, HfCache, HubClient, NetworkMode, RepoRef};
use lantern_mirror::testing::{EMBEDDING_REPO, fixture_dir, start_fixture_mirror};

const FILES: [&str; 3] = ["config.json", "1_Pooling/config.json", "model.safetensors"];

fn python() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = match std::env::var_os("LANTERN_HF_HUB_PYTHON") {
        Some(p) => workspace.join(p),
        None => workspace.join("target/fixtures/venv/bin/python"),
    };
    assert!(
        python.exists(),
        "{} is missing: run scripts/python-env.sh (or set LANTERN_HF_HUB_PYTHON)",
        python.display()
    );
    python
}

/// Runs Python code with the given cache and endpoint; returns its stdout.
fn run_python(code: &str, cache: &Path, endpoint: Option<&str>) -> String {
    let mut cmd = Command::new(python());
    cmd.arg("-c")
        .arg(code)
        .env("HF_HUB_CACHE", cache)
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env_remove("HF_TOKEN");
    match endpoint {
        Some(e) => cmd.env("HF_ENDPOINT", e).env_remove("HF_HUB_OFFLINE"),
        None => cmd
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_ENDPOINT", "http://127.0.0.1:9"),
    };
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn repo() -> RepoRef {
    EMBEDDING_REPO.parse().unwrap()
}

#[tokio::test]
async fn a_cache_filled_by_huggingface_hub_is_reused_without_network() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let mirror = start_fixture_mirror();
        let code = format!(
            "from huggingface_hub import hf_hub_download\n\
             for f in {FILES:?}:\n    print(hf_hub_download({EMBEDDING_REPO:?}, f))"
        );
        run_python(&code, tmp.path(), Some(&mirror.url()));
    }
    // The mirror is stopped; nothing listens on port 9 either.
    let cache = HfCache::new(tmp.path());
    let client = HubClient::builder()
        .endpoint("http://127.0.0.1:9")
        .retry(lantern_hub::RetryPolicy::none())
        .build()
        .unwrap();
    for mode in [NetworkMode::Online, NetworkMode::Offline] {
        let snap = client
            .snapshot(
                &repo(),
                &FILES,
                &cache,
                mode,
                &mut |_| {},
                &CancelToken::new(),
            )
            .await
            .unwrap();
        for (path, name) in snap.files.iter().zip(FILES) {
            let original = fixture_dir().join(EMBEDDING_REPO).join(name);
            assert_eq!(
                std::fs::read(path).unwrap(),
                std::fs::read(original).unwrap()
            );
        }
    }
}

#[tokio::test]
async fn huggingface_hub_reuses_our_cache_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = HfCache::new(tmp.path());
    {
        let mirror = start_fixture_mirror();
        let client = HubClient::builder().endpoint(mirror.url()).build().unwrap();
        client
            .snapshot(
                &repo(),
                &FILES,
                &cache,
                NetworkMode::Online,
                &mut |_| {},
                &CancelToken::new(),
            )
            .await
            .unwrap();
    }
    // Offline, huggingface_hub resolves `main` through our refs/ and snapshots/, and its own
    // cache scanner finds the layout valid.
    let code = format!(
        "import hashlib\n\
         from huggingface_hub import hf_hub_download, scan_cache_dir\n\
         for f in {FILES:?}:\n    p = hf_hub_download({EMBEDDING_REPO:?}, f)\n    print(f, hashlib.sha256(open(p, 'rb').read()).hexdigest())\n\
         info = scan_cache_dir()\n\
         assert not info.warnings, info.warnings\n\
         (r,) = info.repos\n\
         print('repo', r.repo_id, r.repo_type, r.nb_files, sum(len(x.files) for x in r.revisions))"
    );
    let out = run_python(&code, tmp.path(), None);
    for name in FILES {
        let original = std::fs::read(fixture_dir().join(EMBEDDING_REPO).join(name)).unwrap();
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&original));
        assert!(out.contains(&format!("{name} {digest}")), "{name}: {out}");
    }
    assert!(
        out.contains(&format!("repo {EMBEDDING_REPO} model 3 3")),
        "{out}"
    );
}
