//! `lantern serve` at the socket: what a browser (or an attacker) sends is raw bytes, so these
//! tests write raw HTTP/1.1 requests over TCP and read the raw answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A secret next to the Space: no request may ever return it.
const SECRET: &str = "lantern-serve-test-secret-4f1d9a";

/// `lantern serve DIR` on a free port; killed on drop.
struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .arg("serve")
        .arg(dir)
        .args(["--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim()
        .trim_end_matches('/')
        .to_owned();
    Served { child, addr }
}

/// What came back for one request: the status (0 when the server closed without answering),
/// the header block (lower-cased), and the raw bytes.
struct Answer {
    status: u16,
    head: String,
    raw: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::trim))
    }
}

fn send(addr: &str, request: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // The server may answer and close before reading an oversized request to its end.
    let _ = s.write_all(request);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer { status, head, raw }
}

fn get(addr: &str, target: &str, headers: &str) -> Answer {
    send(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n")
            .as_bytes(),
    )
}

/// A Space as `lantern build` lays it out, with a secret beside it and a symlink pointing at it.
fn space(root: &Path) -> std::path::PathBuf {
    let dir = root.join("space");
    std::fs::create_dir_all(dir.join("worker/st")).unwrap();
    std::fs::write(root.join("secret.txt"), SECRET).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    std::fs::write(
        dir.join("README.md"),
        "---\nsdk: static\napp_file: index.html\ncustom_headers:\n  \
         cross-origin-embedder-policy: require-corp\n  cross-origin-opener-policy: same-origin\n  \
         cross-origin-resource-policy: cross-origin\n---\n",
    )
    .unwrap();
    // Compressible, like real wasm and JS.
    let code = "(module)".repeat(4000);
    std::fs::write(dir.join("worker/st/lantern_worker_bg.wasm"), &code).unwrap();
    std::fs::write(dir.join("lantern-app-0123456789abcdef.js"), &code).unwrap();
    std::fs::write(dir.join("demo.json"), "{}").unwrap();
    std::fs::write(dir.join("model.gguf"), vec![7u8; 100_000]).unwrap();
    std::os::unix::fs::symlink(root.join("secret.txt"), dir.join("link-out")).unwrap();
    std::os::unix::fs::symlink(root, dir.join("dir-out")).unwrap();
    dir
}

#[test]
fn no_request_reaches_outside_the_space() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = space(tmp.path());
    let s = serve(&dir, &[]);
    let cases: &[(&str, &[u16])] = &[
        ("/../secret.txt", &[400]),
        ("/%2e%2e/secret.txt", &[400]),
        ("/%2E%2E%2Fsecret.txt", &[400]),
        ("/worker/..%2f..%2fsecret.txt", &[400]),
        ("/..%5csecret.txt", &[400]),
        ("/./index.html", &[400]),
        ("/link-out", &[404]),
        ("/dir-out/secret.txt", &[404]),
        ("//secret.txt", &[404]),
        ("/%00", &[400]),
        ("/%ff%fe", &[400]),
        ("secret.txt", &[400]),
        ("*", &[400]),
        // Absolute-form (what a proxy is sent): the path is still checked.
        ("http://127.0.0.1/../secret.txt", &[400]),
        ("http://127.0.0.1/%2e%2e/secret.txt", &[400]),
    ];
    for (target, want) in cases {
        let a = get(&s.addr, target, "");
        assert!(
            want.contains(&a.status),
            "GET {target}: {} (wanted {want:?})\n{}",
            a.status,
            a.head
        );
        assert!(
            !String::from_utf8_lossy(&a.raw).contains(SECRET),
            "GET {target} leaked the secret"
        );
    }
    assert_eq!(get(&s.addr, "/", "").status, 200, "the server survived");
}

#[test]
fn oversized_and_malformed_requests_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = space(tmp.path());
    let s = serve(&dir, &[]);
    let h = "Host: x\r\nConnection: close\r\n";
    let long_name = format!("GET /{} HTTP/1.1\r\n{h}\r\n", "a".repeat(3000));
    let huge_uri = format!("GET /{} HTTP/1.1\r\n{h}\r\n", "a".repeat(100_000));
    let huge_header = format!(
        "GET / HTTP/1.1\r\n{h}X-Big: {}\r\n\r\n",
        "a".repeat(600_000)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\n{h}{}\r\n",
        (0..200)
            .map(|i| format!("X-{i}: a\r\n"))
            .collect::<String>()
    );
    let cases: Vec<(&str, Vec<u8>, &[u16])> = vec![
        ("a 3000-byte file name", long_name.into_bytes(), &[414]),
        ("a 100 kB request line", huge_uri.into_bytes(), &[414]),
        ("a 600 kB header", huge_header.into_bytes(), &[431]),
        ("200 headers", many_headers.into_bytes(), &[431]),
        (
            "a body on GET",
            format!("GET / HTTP/1.1\r\n{h}Content-Length: 99999999999\r\n\r\nx").into_bytes(),
            &[413],
        ),
        (
            "a POST",
            format!("POST /index.html HTTP/1.1\r\n{h}Content-Length: 0\r\n\r\n").into_bytes(),
            &[405],
        ),
        ("garbage", b"GARBAGE\r\n\r\n".to_vec(), &[400]),
        (
            "an unknown HTTP version",
            format!("GET / HTTP/9.9\r\n{h}\r\n").into_bytes(),
            &[400, 505],
        ),
        (
            "a bad Content-Length",
            format!("GET / HTTP/1.1\r\n{h}Content-Length: abc\r\n\r\n").into_bytes(),
            &[400],
        ),
        (
            "a header name with a space",
            format!("GET / HTTP/1.1\r\n{h}Bad Header: x\r\n\r\n").into_bytes(),
            &[400],
        ),
        (
            "a TLS hello on the plain port",
            [&[0x16u8, 0x03, 0x01, 0x02, 0x00, 0x01][..], &[0u8; 64]].concat(),
            &[400],
        ),
    ];
    for (what, request, want) in cases {
        let a = send(&s.addr, &request);
        assert!(
            want.contains(&a.status),
            "{what}: {} (wanted {want:?})\n{}",
            a.status,
            a.head
        );
    }
    assert_eq!(get(&s.addr, "/", "").status, 200, "the server survived");
}

#[test]
fn mime_types_compression_caching_and_the_space_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = space(tmp.path());
    let s = serve(&dir, &[]);

    let wasm = get(
        &s.addr,
        "/worker/st/lantern_worker_bg.wasm",
        "Accept-Encoding: gzip\r\n",
    );
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.header("content-encoding"), Some("gzip"));
    assert!(
        wasm.raw.len() < 8_000,
        "gzip did not shrink it: {}",
        wasm.raw.len()
    );
    assert_eq!(wasm.header("cache-control"), Some("no-cache"));

    let js = get(&s.addr, "/lantern-app-0123456789abcdef.js", "");
    assert_eq!(js.header("content-type"), Some("text/javascript"));
    assert_eq!(
        js.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    let index = get(&s.addr, "/", "");
    assert_eq!(index.header("content-type"), Some("text/html"));
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    // The README's custom_headers, as huggingface.co applies them.
    assert_eq!(
        index.header("cross-origin-opener-policy"),
        Some("same-origin")
    );
    assert_eq!(
        index.header("cross-origin-embedder-policy"),
        Some("require-corp")
    );
    assert_eq!(
        index.header("cross-origin-resource-policy"),
        Some("cross-origin")
    );
    assert_eq!(
        get(&s.addr, "/demo.json", "").header("content-type"),
        Some("application/json")
    );

    // Weights are sent as they are (no gzip), and Range works for a resume.
    let model = get(&s.addr, "/model.gguf", "Accept-Encoding: gzip\r\n");
    assert_eq!(model.header("content-encoding"), None);
    let part = get(&s.addr, "/model.gguf", "Range: bytes=99990-\r\n");
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some("bytes 99990-99999/100000")
    );

    // --no-isolation: what a plain static host sends.
    let plain = serve(&dir, &["--no-isolation"]);
    let index = get(&plain.addr, "/", "");
    assert_eq!(index.status, 200);
    assert_eq!(index.header("cross-origin-opener-policy"), None);
    assert_eq!(index.header("cross-origin-embedder-policy"), None);
}

#[test]
fn a_folder_that_is_not_a_space_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .arg("serve")
        .arg(tmp.path())
        .args(["--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no index.html") && err.contains("lantern build"),
        "{err}"
    );

    // A README that asks for headers a Space may not set.
    std::fs::write(tmp.path().join("index.html"), "x").unwrap();
    std::fs::write(
        tmp.path().join("README.md"),
        "---\nsdk: static\ncustom_headers:\n  x-frame-options: deny\n---\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .arg("serve")
        .arg(tmp.path())
        .args(["--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("x-frame-options"), "{err}");
}
