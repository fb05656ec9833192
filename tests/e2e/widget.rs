//! `<lantern-demo>` on a host page of another site (`localhost` embedding `127.0.0.1`): the
//! widget completes a generation, is sized by its attributes, and the host page's hostile
//! styles and its scripts neither break it nor are broken by it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lantern_e2e::*;
use serde_json::json;

const QUESTION: &str = "What is the capital of France?";

/// A host page that does what real pages do to foreign markup: global resets, `!important`
/// rules on iframes and every element, its own globals and error handler. The widget script is
/// loaded as a classic script from the Space (that needs no CORS), twice (pages do that).
fn host_page(space: &str, isolated: bool) -> String {
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Host</title>
<style>
  * {{ box-sizing: content-box; font-family: serif !important; }}
  iframe {{ display: none !important; }}
  div {{ width: 10px !important; }}
  p.host {{ color: rgb(1, 2, 3); }}
</style>
<script>
  window.hostErrors = [];
  window.addEventListener("error", (e) => hostErrors.push(String(e.message)));
  var init = "host"; function start() {{ return "host"; }}
  window.keysBefore = null;
  window.keysBefore = Object.keys(window);
  // Measured in the page, when the widget has run: WebDriver's own scripts add globals later.
  customElements.whenDefined("lantern-demo").then(() => {{
    window.newGlobals = Object.keys(window).filter((k) => !keysBefore.includes(k));
  }});
</script>
</head><body data-isolated="{isolated}">
<p class="host" id="host-text">A host page</p>
<button id="count" onclick="this.textContent = String(Number(this.textContent) + 1)">0</button>
<lantern-demo id="demo" src="{space}" width="900" height="720" label="Chat demo"></lantern-demo>
<script src="{space}widget.js" defer></script>
<script src="{space}widget.js" defer></script>
</body></html>
"#
    )
}

/// A folder `lantern serve` can serve as the host site; with `isolated`, a README whose
/// custom_headers make it cross-origin isolated.
fn host_site(space: &str, isolated: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), host_page(space, isolated)).unwrap();
    if isolated {
        std::fs::write(
            dir.path().join("README.md"),
            "---\nsdk: static\ncustom_headers:\n  cross-origin-embedder-policy: require-corp\n  \
             cross-origin-opener-policy: same-origin\n---\n",
        )
        .unwrap();
    }
    dir
}

/// The same port on another site: `localhost` and `127.0.0.1` are different sites to the
/// browser (different storage partitions, separate renderer), and both are secure contexts.
fn on_localhost(url: &str) -> String {
    url.replace("127.0.0.1", "localhost")
}

async fn wait_defined(b: &Browser) {
    let deadline = std::time::Instant::now() + STEP_TIMEOUT;
    while b.run("return !!customElements.get('lantern-demo')").await != json!(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "<lantern-demo> was never defined"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_page_on_another_site_embeds_the_demo_and_generates() {
    let mirror = start_fixture_mirror();
    let space_dir = build_space("tests/demos/chat.toml", &mirror.url());
    let space = Server::start(space_dir.path(), true).await;
    let host_dir = host_site(&space.url, false);
    let host = Server::start(host_dir.path(), false).await;

    let b = Browser::start().await;
    b.client.goto(&on_localhost(&host.url)).await.unwrap();
    wait_defined(&b).await;

    // The host page is as it was: its styles, its globals, no stylesheet added to it.
    let host_state = b
        .run(
            "const p = document.getElementById('host-text');\
             const d = document.getElementById('demo').getBoundingClientRect();\
             return {color: getComputedStyle(p).color,\
                     sheets: document.styleSheets.length,\
                     newGlobals,\
                     init, start: start(), width: d.width, height: d.height};",
        )
        .await;
    assert_eq!(host_state["color"], "rgb(1, 2, 3)");
    assert_eq!(
        host_state["sheets"], 1,
        "the widget added a stylesheet to the host"
    );
    assert_eq!(
        host_state["newGlobals"],
        json!([]),
        "the widget leaked globals"
    );
    assert_eq!(host_state["init"], "host");
    assert_eq!(host_state["start"], "host");
    // Sized by its attributes, whatever the host's `*` rules say.
    assert_eq!(host_state["width"].as_f64(), Some(900.0), "{host_state}");
    assert_eq!(host_state["height"].as_f64(), Some(720.0), "{host_state}");

    // Inside: the demo, on the Space's origin, one thread (the host is not isolated).
    b.enter_widget("#demo").await;
    b.wait_for("load", STEP_TIMEOUT, |_| true).await;
    let inside = b
        .run("return {origin: location.origin, isolated: self.crossOriginIsolated, w: innerWidth, h: innerHeight};")
        .await;
    assert_eq!(
        inside["origin"].as_str(),
        Some(space.url.trim_end_matches('/'))
    );
    assert_eq!(inside["isolated"], false);
    let (w, h) = (inside["w"].as_f64().unwrap(), inside["h"].as_f64().unwrap());
    assert!(
        (890.0..=900.0).contains(&w) && (710.0..=720.0).contains(&h),
        "{inside}"
    );
    b.click("load").await;
    b.wait_ready().await;
    assert_eq!(b.text("backend").await, "cpu threads=1");
    b.type_into("prompt", QUESTION).await;
    b.click("send").await;
    b.wait_for("output", STEP_TIMEOUT, |p| !p.text.is_empty())
        .await;

    // The host page still answers its own clicks while the demo generates.
    b.client.enter_parent_frame().await.unwrap();
    b.client
        .find(fantoccini::Locator::Id("count"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        b.run("return document.getElementById('count').textContent")
            .await,
        "1"
    );

    b.enter_widget("#demo").await;
    b.wait_for("stats", LOAD_TIMEOUT, |_| true).await;
    let answer = b.text("output").await;
    assert!(answer.to_lowercase().contains("paris"), "{answer:?}");
    b.screenshot("widget.png").await;

    b.client.enter_parent_frame().await.unwrap();
    assert_eq!(b.run("return hostErrors").await, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn on_an_isolated_host_the_widget_is_isolated_too() {
    // No model load: whether the frame may use threads is decided by the headers alone.
    let mirror = start_fixture_mirror();
    let space_dir = build_space("tests/demos/chat.toml", &mirror.url());
    let space = Server::start(space_dir.path(), true).await;
    let host_dir = host_site(&space.url, true);
    let host = Server::start(host_dir.path(), true).await;

    let b = Browser::start().await;
    b.client.goto(&on_localhost(&host.url)).await.unwrap();
    wait_defined(&b).await;
    assert_eq!(b.run("return self.crossOriginIsolated").await, true);
    b.enter_widget("#demo").await;
    b.wait_for("load", STEP_TIMEOUT, |_| true).await;
    assert_eq!(b.run("return self.crossOriginIsolated").await, true);
}
