//! The page–worker protocol at the browser's boundary: binary payloads cross as transferred
//! `ArrayBuffer`s (not JSON numbers), and a `demo.json` with a task this runtime does not know
//! gets an error panel that names the task.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lantern_e2e::*;

const DEMO: &str = "tests/demos/embeddings.toml";

/// Starts the Space's worker from the page, posts a `Ping` whose payload is a 1 MiB
/// `ArrayBuffer` in the transfer list, and reports what happened to the buffer and what came
/// back (FNV-1a computed here, in JavaScript, as `wire::fnv1a` does in Rust).
const PING: &str = r#"
const done = arguments[arguments.length - 1];
const bytes = new Uint8Array(1 << 20);
// Read before the transfer: afterwards the page's view is empty.
const sent = bytes.length;
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
let h = 0x811c9dc5;
for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
const worker = new Worker("./worker/worker.js?backend=cpu", { type: "module" });
const timer = setTimeout(() => done({ error: "no pong in 60 s" }), 60000);
worker.onmessage = (e) => {
  const text = typeof e.data === "string" ? e.data : e.data.message;
  const event = JSON.parse(text);
  if (event.type === "pong" || event.type === "error") {
    clearTimeout(timer);
    worker.terminate();
    done({ event, sent, checksum: h, detached: buffer.byteLength === 0 });
  }
};
const buffer = bytes.buffer;
const message = JSON.stringify({ type: "ping", id: 7, payload: { attachment: 0 } });
worker.postMessage({ message, buffers: [buffer] }, [buffer]);
"#;

#[tokio::test(flavor = "multi_thread")]
async fn binary_payloads_are_transferred_not_copied_into_json() {
    let mirror = start_fixture_mirror();
    let space = build_space(DEMO, &mirror.url());
    let server = Server::start(space.path(), true).await;
    let b = Browser::start().await;
    b.open(&server.url).await;
    let r = b.run_async(PING).await;
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(r["event"]["type"], "pong", "{r}");
    assert_eq!(r["event"]["id"], 7, "{r}");
    assert_eq!(r["event"]["bytes"], r["sent"], "{r}");
    assert_eq!(r["event"]["checksum"], r["checksum"], "{r}");
    // Transferred: the page's buffer was moved to the worker, not copied.
    assert_eq!(r["detached"], true, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_task_in_demo_json_is_named_in_the_error_panel() {
    let mirror = start_fixture_mirror();
    let space = build_space(DEMO, &mirror.url());
    let path = space.path().join("demo.json");
    let mut demo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    demo["task"] = "image-to-3d".into();
    std::fs::write(&path, serde_json::to_string(&demo).unwrap()).unwrap();
    let server = Server::start(space.path(), true).await;
    let b = Browser::start().await;
    b.client.goto(&server.url).await.unwrap();
    let panel = b
        .wait_for("error", STEP_TIMEOUT, |p| p.text.contains("image-to-3d"))
        .await;
    let text = panel.text().await.unwrap();
    assert!(text.contains("unknown task"), "{text}");
    // No demo UI was mounted for it: no Load button.
    assert!(
        b.client
            .find(fantoccini::Locator::Css("[data-testid=\"load\"]"))
            .await
            .is_err()
    );
}
