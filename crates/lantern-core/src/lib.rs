//! Shared types of Lantern: repositories, revisions, pinned files, download progress.
//!
//! No IO lives here, so every crate (the small UI wasm included) can depend on it.
//!
//! ```
//! use lantern_core::{RepoRef, RepoType};
//!
//! let r: RepoRef = "HuggingFaceTB/SmolLM2-135M-Instruct@main".parse()?;
//! assert_eq!(r.repo_type, RepoType::Model);
//! assert_eq!(r.id.cache_folder(r.repo_type), "models--HuggingFaceTB--SmolLM2-135M-Instruct");
//! # Ok::<(), lantern_core::CoreError>(())
//! ```

mod demo;
mod file;
pub mod metrics;
mod progress;
pub mod protocol;
mod repo;

pub use demo::{ChatDefaults, DemoConfig, Task, Text2TextDefaults};
pub use file::{ContentHash, ModelRef, RepoFile, RepoPath};
pub use progress::Progress;
pub use protocol::{ChatMessage, Role, SamplingParams};
pub use repo::{RepoId, RepoRef, RepoType, Revision, is_commit_hash};

/// Invalid input to one of the types of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    #[error("invalid repository id {id:?}: {reason}")]
    InvalidRepoId { id: String, reason: &'static str },
    #[error("invalid repository type {0:?} (expected model, dataset or space)")]
    InvalidRepoType(String),
    #[error("invalid revision {revision:?}: {reason}")]
    InvalidRevision {
        revision: String,
        reason: &'static str,
    },
    #[error("invalid file path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error(
        "invalid content hash {0:?} (expected 64 hex digits for sha256 or 40 for a git blob id)"
    )]
    InvalidHash(String),
    #[error("unknown task {0:?}: this version of Lantern runs {tasks}", tasks = Task::names())]
    UnknownTask(String),
    #[error("demo.json is not valid: {0}")]
    InvalidDemo(String),
}
