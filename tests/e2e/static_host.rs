//! Built Spaces with their model bundled (`lantern build --bundle-model`), served from the output
//! folder alone by `python3 -m http.server`: no cross-origin isolation (one thread), no Range
//! support, no compression, and no other server (the mirror is gone before the page opens).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lantern_e2e::*;

const SYSTEM: &str = "You are a helpful assistant.";
const QUESTION: &str = "What is the capital of France?";

/// Writes the first `bytes` of the Space's model file into the page's OPFS as the partial
/// download the worker would have left (`lantern/partial/{hash}`, ARCHITECTURE.md, "Browser
/// cache"), so the next Load resumes with a `Range` request — which this server ignores.
const SEED_PARTIAL: &str = r#"
const done = arguments[arguments.length - 1];
(async () => {
  const demo = await (await fetch("./demo.json")).json();
  const file = demo.model.files[0];
  const url = `${demo.endpoint}/${demo.model.repo}/resolve/${demo.model.commit}/${file.path}`;
  const reader = (await fetch(url)).body.getReader();
  const chunks = [];
  let have = 0;
  while (have < 8 << 20) {
    const { done: end, value } = await reader.read();
    if (end) break;
    chunks.push(value);
    have += value.length;
  }
  await reader.cancel();
  const root = await navigator.storage.getDirectory();
  const lantern = await root.getDirectoryHandle("lantern", { create: true });
  const partial = await lantern.getDirectoryHandle("partial", { create: true });
  const handle = await partial.getFileHandle(file.hash, { create: true });
  const w = await handle.createWritable();
  await w.write(new Blob(chunks).slice(0, 8 << 20));
  await w.close();
  return (await handle.getFile()).size;
})().then(done, (e) => done(String(e)));
"#;

#[tokio::test(flavor = "multi_thread")]
async fn chat_bundled_on_python_http_server_runs_one_thread_and_copes_without_range() {
    let mirror = start_fixture_mirror();
    let space = build_space_with(
        &workspace().join("tests/demos/chat.toml"),
        &mirror.url(),
        &["--bundle-model"],
    );
    let expected = lantern_json(
        &[
            "run",
            "text-generation",
            "--model",
            GGUF_REPO,
            "--file",
            GGUF_FILE,
            "--system",
            SYSTEM,
            "--prompt",
            QUESTION,
            "--max-tokens",
            "256",
        ],
        &mirror.url(),
    )["text"]
        .as_str()
        .unwrap()
        .to_owned();
    // From here on, the output folder is all there is.
    drop(mirror);

    let server = PlainServer::start(space.path()).await;
    let b = Browser::start().await;
    b.open(&server.url).await;
    let seeded = b.run_async(SEED_PARTIAL).await;
    assert_eq!(seeded, serde_json::json!(8 << 20), "seeding OPFS: {seeded}");

    b.click("load").await;
    b.wait_ready().await;
    assert_eq!(b.text("backend").await, "cpu threads=1");
    b.type_into("prompt", QUESTION).await;
    b.click("send").await;
    b.wait_for("stats", LOAD_TIMEOUT, |_| true).await;
    assert_eq!(
        b.text("output").await,
        expected,
        "greedy answer differs from the CLI"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn embeddings_bundled_on_python_http_server() {
    let mirror = start_fixture_mirror();
    let space = build_space_with(
        &workspace().join("tests/demos/embeddings.toml"),
        &mirror.url(),
        &["--bundle-model"],
    );
    drop(mirror);

    let server = PlainServer::start(space.path()).await;
    let b = Browser::start().await;
    b.open(&server.url).await;
    b.click("load").await;
    b.wait_ready().await;
    assert_eq!(b.text("backend").await, "cpu threads=1");
    b.click("run").await;
    b.wait_for("similarity", LOAD_TIMEOUT, |_| true).await;
    let cell = |i: usize, j: usize| {
        let b = &b;
        async move {
            b.client
                .find(fantoccini::Locator::Css(&format!(
                    "[data-testid=similarity] td[data-i=\"{i}\"][data-j=\"{j}\"]"
                )))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .parse::<f64>()
                .unwrap()
        }
    };
    // "A man is eating food." is closer to "…eating a piece of bread." than to "…carrying a
    // baby."; every sentence is itself.
    assert!((cell(0, 0).await - 1.0).abs() < 1e-3);
    let (bread, baby) = (cell(0, 1).await, cell(0, 2).await);
    assert!(
        bread > baby + 0.2,
        "eating~bread {bread}, eating~baby {baby}"
    );
}
