//! The end-to-end harness: the `lantern` binary, Spaces it builds, `lantern serve`, the mirror
//! with the real model files, and a WebDriver session in a real headless Chromium.
//!
//! Needs `cargo build -p lantern-cli` and `scripts/build-web.sh` first (`scripts/test.sh`
//! does both); panics with that advice otherwise. Test helpers panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations
)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub use lantern_mirror::testing::{
    EMBEDDING_REPO, GGUF_FILE, GGUF_REPO, fixture_dir, start_fixture_mirror,
};

/// Long enough for a cold download and model load in a debug-free release worker on 2 cores.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(240);
pub const STEP_TIMEOUT: Duration = Duration::from_secs(120);

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// `target/debug/lantern`.
pub fn lantern_bin() -> PathBuf {
    let bin = target_dir().join("debug/lantern");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p lantern-cli` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// The prebuilt page and worker.
pub fn runtime_dir() -> PathBuf {
    let dir = std::env::var_os("LANTERN_RUNTIME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("web/app"));
    assert!(
        dir.join("worker/st/lantern_worker_bg.wasm").exists(),
        "the browser runtime is not built in {}: run scripts/build-web.sh",
        dir.display()
    );
    dir
}

/// Screenshots land here (the README shows one).
pub fn screenshot_dir() -> PathBuf {
    let dir = target_dir().join("e2e/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `lantern build DEMO --out <tmp> --endpoint ENDPOINT` and returns the Space's folder.
pub fn build_space(demo: &str, endpoint: &str) -> tempfile::TempDir {
    build_space_with(&workspace().join(demo), endpoint, &[])
}

/// `lantern build DEMO --out <tmp> --endpoint ENDPOINT EXTRA...` (e.g. `--bundle-model`).
pub fn build_space_with(demo: &Path, endpoint: &str, extra: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(lantern_bin())
        .arg("build")
        .arg(demo)
        .arg("--out")
        .arg(out.path())
        .args(["--endpoint", endpoint])
        .arg("--runtime")
        .arg(runtime_dir())
        .args(extra)
        .env("HF_HUB_CACHE", cache.path())
        .env_remove("HF_TOKEN")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "lantern build {} failed", demo.display());
    out
}

/// Runs `lantern ARGS --json` and parses its output.
pub fn lantern_json(args: &[&str], endpoint: &str) -> serde_json::Value {
    let cache = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(lantern_bin())
        .args(args)
        .arg("--json")
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HUB_CACHE", cache.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lantern {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `lantern serve DIR` on a free loopback port; killed when dropped.
pub struct Server {
    _child: Child,
    pub url: String,
}

impl Server {
    pub async fn start(dir: &Path, isolation: bool) -> Server {
        let mut cmd = Command::new(lantern_bin());
        cmd.arg("serve")
            .arg(dir)
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        if !isolation {
            cmd.arg("--no-isolation");
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("lantern serve did not start")
            .unwrap()
            .unwrap_or_default();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("lantern serve printed no URL")
            .to_owned();
        Server { _child: child, url }
    }
}

/// `python3 -m http.server` over a folder: a plain static host (no COOP/COEP, no Range, no
/// compression, no caching headers); killed when dropped.
pub struct PlainServer {
    _child: Child,
    pub url: String,
}

impl PlainServer {
    pub async fn start(dir: &Path) -> PlainServer {
        let mut child = Command::new("python3")
            // Unbuffered, so the "Serving HTTP on ..." line arrives at once.
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 is not installed");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("python3 -m http.server did not start")
            .unwrap()
            .unwrap_or_default();
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let url = line
            .split(['(', ')'])
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        // Keep reading its stdout so a full pipe never blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        PlainServer { _child: child, url }
    }
}

/// A headless Chromium driven through chromedriver, with a fresh profile (empty cache).
pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A browser with WebGPU (SwiftShader, a software adapter, in headless Chromium).
    pub async fn start() -> Browser {
        Browser::start_with_webgpu(true).await
    }

    /// `webgpu: false` leaves out `--enable-unsafe-webgpu`: headless Chromium on Linux then has
    /// no WebGPU adapter, as most browsers without a usable GPU.
    pub async fn start_with_webgpu(webgpu: bool) -> Browser {
        let port = free_port();
        let driver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is not installed (scripts/setup.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1100,1400",
        ]
        .map(String::from)
        .to_vec();
        if webgpu {
            args.push("--enable-unsafe-webgpu".into());
        }
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("cannot start a Chromium session");
        Browser {
            client,
            _driver: child,
            _profile: profile,
        }
    }

    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
        self.wait_for("load", STEP_TIMEOUT, |_| true).await;
    }

    pub async fn find(&self, testid: &str) -> Element {
        self.client
            .find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
            .await
            .unwrap_or_else(|e| panic!("no [data-testid={testid}]: {e}"))
    }

    pub async fn text(&self, testid: &str) -> String {
        self.find(testid).await.text().await.unwrap()
    }

    pub async fn attr(&self, testid: &str, name: &str) -> Option<String> {
        self.find(testid).await.attr(name).await.unwrap()
    }

    pub async fn click(&self, testid: &str) {
        self.find(testid).await.click().await.unwrap();
    }

    pub async fn is_enabled(&self, testid: &str) -> bool {
        self.find(testid).await.is_enabled().await.unwrap()
    }

    pub async fn type_into(&self, testid: &str, text: &str) {
        let el = self.find(testid).await;
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    /// Polls until the element exists and `ok(element)` holds; on timeout, panics with what the
    /// page shows in its error panel.
    pub async fn wait_for<F>(&self, testid: &str, timeout: Duration, ok: F) -> Element
    where
        F: Fn(&Probe) -> bool,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(el) = self
                .client
                .find(Locator::Css(&format!("[data-testid=\"{testid}\"]")))
                .await
            {
                let probe = Probe {
                    text: el.text().await.unwrap_or_default(),
                    element: el.clone(),
                };
                if ok(&probe) {
                    return el;
                }
            }
            if Instant::now() > deadline {
                let error = match self.client.find(Locator::Css("[data-testid=error]")).await {
                    Ok(e) => e.text().await.unwrap_or_default(),
                    Err(_) => "(no error panel)".into(),
                };
                panic!("timed out waiting for [data-testid={testid}]; page error: {error}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the `status` hook (`idle`, `loading`, `ready`).
    pub async fn status(&self) -> String {
        self.text("status").await
    }

    /// Waits for `status` to read `ready`.
    pub async fn wait_ready(&self) {
        self.wait_for("status", LOAD_TIMEOUT, |p| p.text == "ready")
            .await;
    }

    /// Switches into the frame of the `<lantern-demo>` matching `css` (through its shadow
    /// root); `self.client.enter_parent_frame()` switches back.
    pub async fn enter_widget(&self, css: &str) {
        let host = self.client.find(Locator::Css(css)).await.unwrap();
        let root = host.shadow_root().await.unwrap();
        let frame = root.find(Locator::Css("iframe")).await.unwrap();
        frame.enter_frame().await.unwrap();
    }

    /// Runs an async script (`arguments[arguments.length - 1]` is its callback) and returns what
    /// it passed back.
    pub async fn run_async(&self, script: &str) -> serde_json::Value {
        self.client.execute_async(script, vec![]).await.unwrap()
    }

    pub async fn run(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let path = screenshot_dir().join(name);
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Milliseconds the page's main thread takes to run a task queued now: how long a click
    /// handler would wait.
    pub async fn main_thread_latency_ms(&self) -> f64 {
        let v = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 const t0 = performance.now();\
                 setTimeout(() => done(performance.now() - t0), 0);",
                vec![],
            )
            .await
            .unwrap();
        v.as_f64().unwrap()
    }
}

/// What `wait_for` looks at.
pub struct Probe {
    pub text: String,
    pub element: Element,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
