//! `lantern fetch` as a user runs it: separate processes, the environment variables of
//! huggingface_hub, the mirror on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{lantern, ok_stdout as ok};
use lantern_mirror::testing::{
    EMBEDDING_REPO, GGUF_FILE, GGUF_REPO, fixture_dir, start_fixture_mirror,
};

#[test]
fn fetch_prints_the_snapshot_and_works_offline_afterwards() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let out = lantern(&mirror.url(), tmp.path())
        .args([
            "fetch",
            "-q",
            EMBEDDING_REPO,
            "config.json",
            "tokenizer.json",
        ])
        .output()
        .unwrap();
    let snapshot = ok(&out).trim().to_owned();
    let commit = mirror.commit_of(EMBEDDING_REPO).unwrap();
    assert!(
        snapshot.ends_with(&format!("snapshots/{commit}")),
        "{snapshot}"
    );
    for f in ["config.json", "tokenizer.json"] {
        assert_eq!(
            std::fs::read(Path::new(&snapshot).join(f)).unwrap(),
            std::fs::read(fixture_dir().join(EMBEDDING_REPO).join(f)).unwrap()
        );
    }
    drop(mirror);

    // HF_HUB_OFFLINE=1: no network at all, the cached revision answers.
    let out = lantern("http://127.0.0.1:9", tmp.path())
        .env("HF_HUB_OFFLINE", "1")
        .args(["fetch", "-q", "--json", EMBEDDING_REPO, "config.json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(json["commit"], commit.as_str());
    assert_eq!(json["files"].as_array().unwrap().len(), 1);
}

#[test]
fn two_processes_fetching_one_file_make_one_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    // Slowed down so that the two processes overlap.
    let slow = format!("{}/_faults/id=two-procs,delay_ms=1", mirror.url());
    let children: Vec<_> = (0..2)
        .map(|_| {
            lantern(&slow, tmp.path())
                .args(["fetch", "-q", GGUF_REPO, GGUF_FILE])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        ok(&child.wait_with_output().unwrap());
    }
    let blobs = tmp
        .path()
        .join("models--lantern-fixtures--SmolLM2-135M-Instruct-GGUF/blobs");
    let names: Vec<_> = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let size = std::fs::metadata(fixture_dir().join(GGUF_REPO).join(GGUF_FILE))
        .unwrap()
        .len();
    let sent: u64 = mirror
        .log("two-procs")
        .iter()
        .filter(|e| e.path.contains("/_lfs/"))
        .map(|e| e.bytes_sent)
        .sum();
    assert_eq!(sent, size, "the file must cross the network once");
}

#[test]
fn errors_are_clear_and_exit_nonzero() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let out = lantern(&mirror.url(), tmp.path())
        .args(["fetch", "-q", "lantern-fixtures/no-such-model"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("repository lantern-fixtures/no-such-model not found"),
        "{err}"
    );

    let out = lantern(&mirror.url(), tmp.path())
        .args(["fetch", "-q", "../../etc"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid repository id"));
}
