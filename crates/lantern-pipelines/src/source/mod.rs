//! Where a task's files come from. A task module asks for files by their path in the
//! repository; the host decides where they are: a snapshot folder of the huggingface_hub cache
//! (`lantern run`, [`DirSource`]), verified files in OPFS (the browser worker), or the Hub
//! itself (`lantern build` reading `modules.json` to decide what to pin).

#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
mod dir;

use lantern_core::RepoFile;
use lantern_core::protocol::ErrorCode;

/// A repository's files, as a task sees them.
pub trait FileSource {
    /// The paths this source can read, with their sizes (a task decides from them which
    /// optional files to read; it never asks for one that is not listed).
    fn paths(&self) -> Vec<(String, u64)>;

    /// The bytes of `path`.
    fn read(&self, path: &str) -> impl Future<Output = Result<Vec<u8>, SourceError>>;

    /// Whether `path` is listed.
    fn has(&self, path: &str) -> bool {
        self.paths().iter().any(|(p, _)| p == path)
    }
}

#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
pub use dir::DirSource;

/// Reads `path` if the source lists it.
pub async fn read_optional<S: FileSource>(
    source: &S,
    path: &str,
) -> Result<Option<Vec<u8>>, SourceError> {
    if source.has(path) {
        source.read(path).await.map(Some)
    } else {
        Ok(None)
    }
}

/// Reads `path`, which the task cannot run without.
pub async fn read_required<S: FileSource>(source: &S, path: &str) -> Result<Vec<u8>, SourceError> {
    if source.has(path) {
        source.read(path).await
    } else {
        Err(SourceError::missing(path))
    }
}

/// A file that could not be read; `code` is what the page shows (a hash mismatch, a full
/// quota, a network failure are the host's to tell).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {path}: {message}")]
pub struct SourceError {
    pub path: String,
    pub code: ErrorCode,
    pub message: String,
}

impl SourceError {
    /// The repository (or the demo's pinned file list) does not have `path`.
    pub fn missing(path: &str) -> Self {
        SourceError {
            path: path.to_owned(),
            code: ErrorCode::UnsupportedModel,
            message: "the model's repository has no such file".to_owned(),
        }
    }
}

/// The paths of a repository listing, for [`FileSource::paths`].
pub fn listing_paths(files: &[RepoFile]) -> Vec<(String, u64)> {
    files
        .iter()
        .map(|f| (f.path.as_str().to_owned(), f.size))
        .collect()
}

/// Files held in memory (tests, and hosts that already have the bytes).
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    files: Vec<(String, Vec<u8>)>,
}

impl MemorySource {
    pub fn new() -> Self {
        MemorySource::default()
    }

    pub fn with(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.files.retain(|(p, _)| p != path);
        self.files.push((path.to_owned(), bytes.into()));
        self
    }
}

impl FileSource for MemorySource {
    fn paths(&self) -> Vec<(String, u64)> {
        self.files
            .iter()
            .map(|(p, b)| (p.clone(), b.len() as u64))
            .collect()
    }

    fn read(&self, path: &str) -> impl Future<Output = Result<Vec<u8>, SourceError>> {
        let found = self
            .files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| SourceError::missing(path));
        std::future::ready(found)
    }
}
