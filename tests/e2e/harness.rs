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

/// A process a test starts (`lantern serve`, `python3 -m http.server`, chromedriver), run under
/// `scripts/guard.sh` in a process group of its own. Dropping it ends the whole group — the
/// process and everything it started, such as chromedriver's Chromium with its renderer, GPU and
/// utility processes — whether the test passed, failed an assertion, panicked or timed out. If the
/// test process itself dies (Ctrl-C, CI's time limit, SIGKILL), the kernel closes the guardian's
/// stdin and the guardian ends the group: no Drop has to run for that.
pub struct Guarded {
    guardian: std::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    name: String,
}

impl Guarded {
    /// Starts `program args...` with its stdout read line by line (stderr discarded).
    pub fn spawn(program: impl AsRef<std::ffi::OsStr>, args: &[&std::ffi::OsStr]) -> Guarded {
        use std::os::unix::process::CommandExt;
        let program = program.as_ref();
        let mut cmd = std::process::Command::new(workspace().join("scripts/guard.sh"));
        cmd.arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // The group is made here too (guard.sh would make it otherwise): its id is our pid.
            .process_group(0);
        let mut guardian = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.to_string_lossy()));
        let stdout = guardian.stdout.take().unwrap();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        // Reads every line, so a full pipe never blocks the process; ends when the group is gone.
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Nobody listens any more; keep draining.
                    continue;
                }
            }
        });
        Guarded {
            guardian,
            lines,
            name: program.to_string_lossy().into_owned(),
        }
    }

    /// The process group's id: every process this one started, unless it left the group.
    pub fn group(&self) -> u32 {
        self.guardian.id()
    }

    /// The next line the process printed, within `timeout`.
    pub async fn next_line(&mut self, timeout: Duration) -> String {
        tokio::time::timeout(timeout, self.lines.recv())
            .await
            .unwrap_or_else(|_| panic!("{} printed nothing in {timeout:?}", self.name))
            .unwrap_or_else(|| panic!("{} exited without printing a line", self.name))
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        // End of file on the guardian's stdin: it kills the group, itself last.
        drop(self.guardian.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.guardian.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The guardian did not do it (it cannot fail to, short of being stopped): do it here.
        let _ = std::process::Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.group())])
            .status();
        let _ = self.guardian.wait();
    }
}

/// The ids of the processes in process group `pgid` that are still alive (zombies excluded).
pub fn group_members(pgid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|p| p.pgid == pgid && p.state != 'Z')
        .map(|p| p.pid)
        .collect()
}

/// The live processes whose command line contains `needle`, as `(pid, command line)`.
pub fn processes_with_arg(needle: &str) -> Vec<(u32, String)> {
    processes()
        .into_iter()
        .filter(|p| p.state != 'Z' && p.cmdline.contains(needle))
        .map(|p| (p.pid, p.cmdline))
        .collect()
}

struct ProcInfo {
    pid: u32,
    pgid: u32,
    state: char,
    cmdline: String,
}

fn processes() -> Vec<ProcInfo> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(pgid)) = (
            fields.first().and_then(|s| s.chars().next()),
            fields.get(2).and_then(|s| s.parse().ok()),
        ) else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        out.push(ProcInfo {
            pid,
            pgid,
            state,
            cmdline,
        });
    }
    out
}

/// `lantern serve DIR` on a free loopback port; ended, with anything it started, when dropped.
pub struct Server {
    pub process: Guarded,
    pub url: String,
}

impl Server {
    pub async fn start(dir: &Path, isolation: bool) -> Server {
        let bin = lantern_bin();
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "serve".as_ref(),
            dir.as_os_str(),
            "--addr".as_ref(),
            "127.0.0.1:0".as_ref(),
        ];
        if !isolation {
            args.push("--no-isolation".as_ref());
        }
        let mut process = Guarded::spawn(&bin, &args);
        let line = process.next_line(Duration::from_secs(30)).await;
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("lantern serve printed no URL: {line:?}"))
            .to_owned();
        Server { process, url }
    }
}

/// `python3 -m http.server` over a folder: a plain static host (no COOP/COEP, no Range, no
/// compression, no caching headers); ended when dropped.
pub struct PlainServer {
    pub process: Guarded,
    pub url: String,
}

impl PlainServer {
    pub async fn start(dir: &Path) -> PlainServer {
        let args: Vec<&std::ffi::OsStr> = vec![
            // Unbuffered, so the "Serving HTTP on ..." line arrives at once.
            "-u".as_ref(),
            "-m".as_ref(),
            "http.server".as_ref(),
            "0".as_ref(),
            "--bind".as_ref(),
            "127.0.0.1".as_ref(),
            "--directory".as_ref(),
            dir.as_os_str(),
        ];
        let mut process = Guarded::spawn("python3", &args);
        let line = process.next_line(Duration::from_secs(30)).await;
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let url = line
            .split(['(', ')'])
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        PlainServer { process, url }
    }
}

/// A headless Chromium driven through chromedriver, with a fresh profile (empty cache). Dropping
/// it closes the WebDriver session, then ends chromedriver's process group (every Chromium
/// process), then removes the profile.
pub struct Browser {
    pub client: Client,
    /// Declared before `profile`: the browser is gone before its profile folder is removed.
    pub driver: Guarded,
    driver_port: u16,
    session: Option<String>,
    profile: tempfile::TempDir,
}

impl Browser {
    /// A browser with WebGPU (SwiftShader, a software adapter, in headless Chromium).
    pub async fn start() -> Browser {
        Browser::start_with_webgpu(true).await
    }

    /// `webgpu: false` leaves out `--enable-unsafe-webgpu`: headless Chromium on Linux then has
    /// no WebGPU adapter, as most browsers without a usable GPU.
    pub async fn start_with_webgpu(webgpu: bool) -> Browser {
        Browser::start_with(webgpu, &[]).await
    }

    /// A browser with more command-line switches (a fake microphone, a refused permission).
    pub async fn start_with(webgpu: bool, extra: &[String]) -> Browser {
        let port = free_port();
        let driver_bin =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        assert!(
            Path::new(&driver_bin).exists(),
            "{driver_bin} is missing: chromedriver is not installed (scripts/setup.sh installs it)"
        );
        let port_arg = format!("--port={port}");
        let driver = Guarded::spawn(&driver_bin, &[port_arg.as_ref()]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::Builder::new()
            .prefix("lantern-e2e-chromium-")
            .tempdir()
            .unwrap();
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
        args.extend(extra.iter().cloned());
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
        let session = client.session_id().await.ok().flatten();
        Browser {
            client,
            driver,
            driver_port: port,
            session,
            profile,
        }
    }

    /// The browser's profile folder: every Chromium process of this browser names it.
    pub fn profile(&self) -> &Path {
        self.profile.path()
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

impl Drop for Browser {
    fn drop(&mut self) {
        // Close the session the polite way (Chromium quits, flushing nothing we need), over a
        // plain socket: a Drop cannot await, and fantoccini's own close needs the runtime, which
        // may be unwinding. Then the driver's Guarded ends whatever is left.
        if let Some(session) = &self.session {
            delete_session(self.driver_port, session);
        }
    }
}

/// `DELETE /session/{id}` to chromedriver, bounded by short timeouts; errors are ignored (the
/// process group is killed next in any case).
fn delete_session(port: u16, session: &str) {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // Read the answer up to its end by its Content-Length: chromedriver keeps the connection
    // open despite `Connection: close`, so reading to end of stream would wait out the read
    // timeout (10 s in every test).
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
        if response_complete(&answer) {
            break;
        }
    }
}

/// Whether `bytes` hold a whole HTTP/1.1 response: its headers and `Content-Length` bytes of
/// body (a response without the header ends with its headers).
fn response_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let headers = String::from_utf8_lossy(&bytes[..end]);
    let length = headers
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    bytes.len() >= end + 4 + length
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
