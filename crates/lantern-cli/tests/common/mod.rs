//! Helpers for the CLI tests: the binary with a clean Hub environment, small synthetic
//! repositories in a temporary mirror, and a stand-in runtime.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `lantern` with `HF_ENDPOINT` and a private cache, and no token or offline flag inherited.
pub fn lantern(endpoint: &str, cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lantern"));
    cmd.env("HF_ENDPOINT", endpoint)
        .env("HF_HUB_CACHE", cache)
        .env("HF_HOME", cache.join("hf-home"))
        .env_remove("HF_TOKEN")
        .env_remove("HF_TOKEN_PATH")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("LANTERN_RUNTIME");
    cmd
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts success and returns stderr (where the commands report).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "lantern failed:\n{}\n{}",
        stdout(out),
        stderr(out)
    );
    stderr(out)
}

/// Asserts success and returns stdout (where `fetch` and `run` print their result).
pub fn ok_stdout(out: &Output) -> String {
    ok(out);
    stdout(out)
}

/// Asserts failure and returns the error text.
pub fn fails(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "lantern succeeded but should not have:\n{}\n{}",
        stdout(out),
        stderr(out)
    );
    stderr(out)
}

/// Writes a repository `ORG/NAME` with the given files into a mirror root.
pub fn repo(root: &Path, id: &str, files: &[(&str, &[u8])]) {
    for (path, content) in files {
        let p = root.join(id).join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

/// A model card with the given front matter lines.
pub fn card(front_matter: &str) -> Vec<u8> {
    format!("---\n{front_matter}\n---\n\n# A model\n").into_bytes()
}

/// A stand-in for `target/web/app`: what `lantern build` copies, with a hashed asset so stale
/// files of an earlier build can be told apart.
pub fn runtime(root: &Path) -> PathBuf {
    let dir = root.join("runtime");
    std::fs::create_dir_all(dir.join("worker/st")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>demo</title>").unwrap();
    std::fs::write(dir.join("lantern-app-0123456789abcdef.js"), "// page").unwrap();
    std::fs::write(dir.join("worker/worker.js"), "// loader").unwrap();
    std::fs::write(dir.join("worker/st/lantern_worker_bg.wasm"), b"\0asm").unwrap();
    dir
}

/// Every file under `dir`, recursively.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out
}

/// A stand-in Hub that lists one repository holding one file of `size` bytes (without
/// having it): enough for `lantern build` to pin a model larger than any test should write.
/// Returns the endpoint URL; the server thread answers until the test process ends.
pub fn fake_hub(repo: &str, file: &str, size: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let commit = "c0ffee".repeat(7)[..40].to_owned();
    let revision = format!("/api/models/{repo}/revision/");
    let tree = format!("/api/models/{repo}/tree/{commit}");
    let listing = serde_json::json!([{
        "type": "file",
        "oid": "1".repeat(40),
        "size": size,
        "path": file,
        "lfs": {"oid": "2".repeat(64), "size": size, "pointerSize": 134},
    }])
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // Drain the headers.
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) <= 2 {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if path.starts_with(&revision) {
                ("200 OK", format!("{{\"sha\":\"{commit}\"}}"))
            } else if path.starts_with(&tree) {
                ("200 OK", listing.clone())
            } else {
                ("404 Not Found", "{\"error\":\"not found\"}".to_owned())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}
