//! The one error type of the Hub client.

use std::time::Duration;

use lantern_core::{ContentHash, CoreError};

pub type Result<T, E = HubError> = std::result::Result<T, E>;

/// Everything that can go wrong talking to the Hub or using the cache.
///
/// Variants are specific so a UI can act on them: a hash mismatch means "download again", a full
/// quota means "clear the cache", a gated repo means "accept the licence on the Hub".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    #[error("repository {repo} not found (or it is private and no valid token was given)")]
    RepoNotFound { repo: String },
    #[error("revision {revision:?} not found in {repo}")]
    RevisionNotFound { repo: String, revision: String },
    #[error("file {path:?} not found in {repo} at {revision}")]
    EntryNotFound {
        repo: String,
        revision: String,
        path: String,
    },
    #[error("not authorized to read {repo}: {message}")]
    Unauthorized { repo: String, message: String },
    #[error("{repo} is gated: accept its conditions on the Hub and use a token ({message})")]
    Gated { repo: String, message: String },
    #[error("rate limited by the Hub{}", retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    #[error("{path}: content hash mismatch: expected {expected:?}, got {actual}")]
    HashMismatch {
        path: String,
        expected: ContentHash,
        actual: String,
    },
    #[error("{path}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        path: String,
        expected: u64,
        actual: u64,
    },
    #[error("network error for {url}: {message}")]
    Network { url: String, message: String },
    #[error("HTTP {status} from {url}: {message}")]
    Http {
        status: u16,
        url: String,
        message: String,
    },
    #[error("unexpected response from {url}: {reason}")]
    InvalidResponse { url: String, reason: String },
    #[error("storage quota exceeded: {message}")]
    QuotaExceeded { message: String },
    #[error("cache storage error at {path}: {message}")]
    Storage { path: String, message: String },
    #[error("{repo}@{revision} is not in the cache and the client is offline")]
    NotCached { repo: String, revision: String },
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Invalid(#[from] CoreError),
}

impl HubError {
    /// A stable, machine-readable name for the error kind (used by UIs and JSON output).
    pub fn code(&self) -> &'static str {
        match self {
            HubError::RepoNotFound { .. } => "repo_not_found",
            HubError::RevisionNotFound { .. } => "revision_not_found",
            HubError::EntryNotFound { .. } => "entry_not_found",
            HubError::Unauthorized { .. } => "unauthorized",
            HubError::Gated { .. } => "gated",
            HubError::RateLimited { .. } => "rate_limited",
            HubError::HashMismatch { .. } => "hash_mismatch",
            HubError::SizeMismatch { .. } => "size_mismatch",
            HubError::Network { .. } => "network",
            HubError::Http { .. } => "http",
            HubError::InvalidResponse { .. } => "invalid_response",
            HubError::QuotaExceeded { .. } => "quota_exceeded",
            HubError::Storage { .. } => "storage",
            HubError::NotCached { .. } => "not_cached",
            HubError::Cancelled => "cancelled",
            HubError::Invalid(_) => "invalid_input",
        }
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            HubError::Network { .. } | HubError::RateLimited { .. } => true,
            HubError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn storage(path: impl Into<String>, message: impl ToString) -> Self {
        HubError::Storage {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl HubError {
    /// Maps an IO error of the cache, turning "disk full" into [`HubError::QuotaExceeded`].
    pub(crate) fn io(path: &std::path::Path, e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                HubError::QuotaExceeded {
                    message: format!("{}: {e}", path.display()),
                }
            }
            _ => HubError::storage(path.display().to_string(), e),
        }
    }
}
