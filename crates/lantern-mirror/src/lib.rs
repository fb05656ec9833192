//! A local server that speaks the Hugging Face Hub's HTTP protocol over a folder of model files,
//! so Hub clients (ours, and Python's `huggingface_hub`) download from it as from huggingface.co;
//! with fault injection for testing download clients.
//!
//! ```
//! use lantern_mirror::{Mirror, MirrorConfig};
//!
//! let root = tempfile::tempdir()?;
//! std::fs::create_dir_all(root.path().join("acme/tiny"))?;
//! std::fs::write(root.path().join("acme/tiny/config.json"), b"{}")?;
//!
//! let mirror = Mirror::start(MirrorConfig::new(root.path()), "127.0.0.1:0".parse()?)?;
//! // With HF_ENDPOINT=mirror.url(), `hf_hub_download("acme/tiny", "config.json")` works.
//! let commit = mirror.commit_of("acme/tiny").unwrap_or_default();
//! assert_eq!(commit.len(), 40);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is served
//! `ROOT/ORG/NAME/` are model repos, `ROOT/datasets/ORG/NAME/` and `ROOT/spaces/ORG/NAME/` the
//! other kinds. Each repo has one branch, `main`, at a synthetic commit that is a hash of its
//! content. Routes (each also under a `/_faults/{spec}` prefix, see [`FaultSpec`]):
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/{models,datasets,spaces}/ORG/NAME[/revision/REV]` | repo info JSON (`sha`, `siblings`; `?blobs=true` adds sizes and hashes) |
//! | `GET /api/{kind}/ORG/NAME/tree/REV[/PATH][?recursive=true][&cursor=..]` | tree entries with git oids, sizes and LFS sha256; pages linked by `Link: <..>; rel="next"` |
//! | `GET,HEAD /[datasets/,spaces/]ORG/NAME/resolve/REV/PATH` | git files: the bytes, `ETag` = git blob id; LFS files: 302 to `_lfs` with `X-Linked-Etag` / `X-Linked-Size` |
//! | `GET,HEAD /_lfs/{kind}/ORG/NAME/SHA256` | LFS content, `ETag` = sha256, plus `X-Repo-Commit` (huggingface_hub follows same-host redirects and reads it there) |
//! | `GET /_log/ID` | the request log of a fault id ([`LogEntry`] list) |
//!
//! Content supports `Range` (206, 416) and `If-None-Match` (304); every response carries CORS
//! headers. Errors carry the Hub's `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`,
//! `EntryNotFound`). No request can reach a file outside the root or behind a symlink.
//!
//! [`testing`] starts mirrors over the real model files the tests use.

mod body;
mod config;
mod faults;
mod gitattributes;
mod handle;
mod log;
mod range;
mod repo_index;
mod routes;
mod safety;
pub mod testing;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use config::{DEFAULT_LFS_THRESHOLD, DEFAULT_PAGE_SIZE, MirrorConfig};
pub use faults::{FaultScope, FaultSpec};
pub use handle::{Mirror, MirrorHandle, serve};
pub use log::{FaultKind, LogEntry};

/// Why a mirror cannot be set up or stopped serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    #[error("mirror root {0} is not a folder")]
    Root(PathBuf),
    #[error("invalid fault spec {spec:?}: {reason}")]
    InvalidFaultSpec { spec: String, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("mirror server: {0}")]
    Io(#[from] std::io::Error),
}
