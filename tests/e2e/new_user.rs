//! A new author's first demo, done the way README.md ("Make your own demo") says:
//! `lantern new` → edit `demo.toml` → `lantern build` → `lantern serve`, for a model no other
//! browser test uses (the requantized SmolLM2 fixtures; `lantern new` picks the Q4_K_M file).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use lantern_e2e::*;

const REPO: &str = "lantern-fixtures/SmolLM2-135M-Instruct-requantized-GGUF";

/// The README's steps, as run here (the mirror stands in for the Hub). If the README changes,
/// this test fails until both agree.
const README_STEPS: &[&str] = &[
    "lantern new my-demo --model lantern-fixtures/SmolLM2-135M-Instruct-requantized-GGUF",
    "lantern build my-demo/demo.toml --out my-demo/space",
    "lantern serve my-demo/space",
];

fn lantern(work: &std::path::Path, endpoint: &str, cache: &std::path::Path) -> Command {
    let mut cmd = Command::new(lantern_bin());
    cmd.current_dir(work)
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HUB_CACHE", cache)
        .env("LANTERN_RUNTIME", runtime_dir())
        .env_remove("HF_TOKEN");
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn new_then_build_then_serve_as_the_readme_says() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    for step in README_STEPS {
        assert!(readme.contains(step), "README.md no longer says `{step}`");
    }
    assert!(
        fixture_dir().join(REPO).is_dir(),
        "{REPO} is missing: run scripts/fixtures-requantized.sh"
    );
    let mirror = start_fixture_mirror();
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let run = |line: &str| {
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let out = lantern(work.path(), &mirror.url(), cache.path())
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "`{line}` failed:\n{stderr}");
        stderr
    };

    // 1. lantern new: the task from the files (these repos have no card), the default GGUF.
    let report = run(README_STEPS[0]);
    assert!(
        report.contains("* SmolLM2-135M-Instruct.Q4_K_M.gguf"),
        "{report}"
    );
    let manifest_path = work.path().join("my-demo/demo.toml");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    assert!(
        manifest.contains("files = [\"SmolLM2-135M-Instruct.Q4_K_M.gguf\"]"),
        "{manifest}"
    );

    // 2. The author edits the manifest: a title, greedy answers, shorter ones.
    let edited = manifest
        .replace(
            "title = \"SmolLM2-135M-Instruct-requantized chat\"",
            "title = \"My first demo\"",
        )
        .replace("temperature = 0.7", "temperature = 0.0")
        .replace("max_tokens = 256", "max_tokens = 48");
    assert_ne!(
        edited, manifest,
        "the scaffold changed: update this test's edits"
    );
    std::fs::write(&manifest_path, edited).unwrap();

    // 3. lantern build, then 4. lantern serve (a foreground process the author stops with ^C).
    run(README_STEPS[1]);
    let space = work.path().join("my-demo/space");
    assert!(space.join("widget.js").is_file() && space.join("README.md").is_file());
    let server = Server::start(&space, true).await;

    let b = Browser::start().await;
    b.open(&server.url).await;
    assert!(b.text("load").await.contains("MB"));
    b.click("load").await;
    b.wait_ready().await;
    let backend = b.text("backend").await;
    assert!(backend.starts_with("cpu threads="), "{backend}");
    b.type_into("prompt", "What is the capital of France?")
        .await;
    b.click("send").await;
    b.wait_for("stats", LOAD_TIMEOUT, |_| true).await;
    let answer = b.text("output").await;
    assert!(!answer.trim().is_empty());
    let title = b.run("return document.body.innerText").await;
    assert!(title.as_str().unwrap().contains("My first demo"), "{title}");
    b.screenshot("new-user.png").await;
}
