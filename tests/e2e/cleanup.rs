//! The harness ends every process a test starts — chromedriver with all of Chromium's processes,
//! `lantern serve`, `python3 -m http.server` — when the test ends, however it ends: here a test
//! that passes and one that times out (a panic, as a failed assertion is). The interrupted cases
//! need a test process to interrupt: `scripts/check-cleanup.sh` runs `held_until_interrupted`,
//! then stops it with Ctrl-C (SIGINT to its process group) and with SIGKILL, and checks the same.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use lantern_e2e::*;

/// What a test started: process groups and the browser's profile folder.
#[derive(Debug)]
struct Started {
    groups: Vec<u32>,
    profile: String,
}

/// A page with the one hook `Browser::open` waits for.
fn page() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>cleanup</title><button data-testid=\"load\">Load</button>",
    )
    .unwrap();
    dir
}

/// Starts a `lantern serve`, a `python3 -m http.server` and a browser on `dir`, opens both pages,
/// and reports what it started.
async fn start_all(dir: &Path) -> (Server, PlainServer, Browser, Started) {
    let server = Server::start(dir, true).await;
    let plain = PlainServer::start(dir).await;
    let b = Browser::start().await;
    b.open(&server.url).await;
    b.open(&plain.url).await;
    let chromium = processes_with_arg(&format!("--user-data-dir={}", b.profile().display()));
    assert!(
        chromium.len() >= 3,
        "a browser is running: the test checks something ({chromium:?})"
    );
    let started = Started {
        groups: vec![
            server.process.group(),
            plain.process.group(),
            b.driver.group(),
        ],
        profile: b.profile().display().to_string(),
    };
    (server, plain, b, started)
}

/// Waits (a little: SIGKILL is immediate, reaping is not) until nothing `started` remains.
fn assert_all_gone(started: &Started) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<(u32, Vec<u32>)> = started
            .groups
            .iter()
            .map(|&g| (g, group_members(g)))
            .filter(|(_, members)| !members.is_empty())
            .collect();
        let browser = processes_with_arg(&format!("--user-data-dir={}", started.profile));
        if left.is_empty() && browser.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes left running: groups {left:?}, browser {browser:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_that_passes_leaves_no_process() {
    let dir = page();
    let started = {
        let (_server, _plain, b, started) = start_all(dir.path()).await;
        assert_eq!(b.text("load").await, "Load");
        started
    };
    assert_all_gone(&started);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_that_times_out_leaves_no_process() {
    let dir = page();
    let path = dir.path().to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The test body runs as a task, so its panic can be observed and what it left checked.
    let body = tokio::spawn(async move {
        let (_server, _plain, b, started) = start_all(&path).await;
        tx.send(started).unwrap();
        b.wait_for("never-shown", Duration::from_secs(1), |_| true)
            .await;
    });
    let outcome = body.await;
    let started = rx.await.expect("the body started its processes");
    let panic = outcome.expect_err("the body timed out");
    assert!(panic.is_panic(), "{panic:?}");
    assert_all_gone(&started);
}

/// Run by scripts/check-cleanup.sh only (ignored otherwise): starts everything, writes what it
/// started to `$LANTERN_E2E_HELD` as `KEY VALUE` lines, then waits to be interrupted.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "scripts/check-cleanup.sh runs it and interrupts it"]
async fn held_until_interrupted() {
    let report = std::env::var("LANTERN_E2E_HELD").expect("LANTERN_E2E_HELD names the report");
    let dir = page();
    let (_server, _plain, _b, started) = start_all(dir.path()).await;
    let mut text = format!(
        "test_pid {}\nprofile {}\n",
        std::process::id(),
        started.profile
    );
    for g in &started.groups {
        text.push_str(&format!("group {g}\n"));
    }
    // Written whole, then renamed: the script never reads half a report.
    let tmp = format!("{report}.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &report).unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    panic!("not interrupted within 10 minutes");
}
