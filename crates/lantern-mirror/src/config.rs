//! What a mirror serves, and the knobs tests turn.

use std::path::PathBuf;

use crate::FaultSpec;

/// Entries per page of the tree API when nothing else is configured; the Hub uses 1000 too.
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// Files at least this large are served as LFS files even when `.gitattributes` does not say so,
/// as the Hub refuses to store them in git (it asks for LFS above 10 MiB).
pub const DEFAULT_LFS_THRESHOLD: u64 = 10 * 1024 * 1024;

/// Configuration of a mirror.
///
/// `root` holds `ORG/NAME/<files>` for model repos, and `datasets/ORG/NAME/` and
/// `spaces/ORG/NAME/` for the other kinds.
#[derive(Debug, Clone)]
pub struct MirrorConfig {
    pub root: PathBuf,
    /// Entries per page of the tree API (at least 1).
    pub page_size: usize,
    /// Size from which a file is LFS regardless of `.gitattributes`.
    pub lfs_threshold: u64,
    /// Faults for requests that carry no `/_faults/{spec}` prefix.
    pub default_fault: Option<FaultSpec>,
}

impl MirrorConfig {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        MirrorConfig {
            root: root.into(),
            page_size: DEFAULT_PAGE_SIZE,
            lfs_threshold: DEFAULT_LFS_THRESHOLD,
            default_fault: None,
        }
    }
}
