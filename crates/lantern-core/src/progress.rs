//! Download progress, in bytes, per file and overall.

use serde::{Deserialize, Serialize};

/// One progress report. Byte counts are against the pinned sizes, so a resumed or cached file
/// counts its already-present bytes as done, and 100 % means every byte is verified or being
/// verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The file being worked on.
    pub file: String,
    pub file_done: u64,
    pub file_total: u64,
    /// Bytes done over all files of the request.
    pub done: u64,
    pub total: u64,
    /// Bytes of `done` that came from the cache or a resumed partial file, not the network.
    pub reused: u64,
}

impl Progress {
    /// Percent done overall, 0–100; 100 for an empty request.
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            (self.done as f64 * 100.0 / self.total as f64).min(100.0)
        }
    }
}
