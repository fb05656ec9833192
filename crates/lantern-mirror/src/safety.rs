//! Keeping every request inside the mirror root.
//!
//! URL segments are percent-decoded one by one, repo ids and file paths are validated by
//! `lantern_core`'s types (no `..`, no absolute paths, no backslashes, no control characters),
//! every folder and file on the way down from the root must be a real folder or file and never a
//! symlink, and the canonical result must still lie under the canonical root.

use std::fs;
use std::path::{Path, PathBuf};

use lantern_core::{RepoId, RepoPath, RepoType};

/// Percent-decodes one URL path segment. `None` when the result is not UTF-8.
pub(crate) fn decode_segment(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Whether `path` exists, is of the wanted kind, and is not a symlink.
fn is_real(path: &Path, want_dir: bool) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| {
        let t = m.file_type();
        !t.is_symlink() && if want_dir { t.is_dir() } else { t.is_file() }
    })
}

fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let canonical = fs::canonicalize(path).ok()?;
    canonical.starts_with(root).then_some(canonical)
}

/// The folder of a repo under the canonical `root`, or `None` when there is no such repo.
pub(crate) fn repo_dir(root: &Path, repo_type: RepoType, id: &RepoId) -> Option<PathBuf> {
    // Legacy repos without an owner would collide with owner folders; the mirror has none.
    let owner = id.owner()?;
    let mut dir = root.to_path_buf();
    let kind = match repo_type {
        RepoType::Model => None,
        RepoType::Dataset => Some("datasets"),
        RepoType::Space => Some("spaces"),
    };
    for part in kind.into_iter().chain([owner, id.name()]) {
        dir.push(part);
        if !is_real(&dir, true) {
            return None;
        }
    }
    inside(root, &dir)
}

/// The file `path` inside `repo_dir`, or `None` when it is missing, not a regular file, reached
/// through a symlink, or (after canonicalization) outside `root`.
pub(crate) fn file_in_repo(root: &Path, repo_dir: &Path, path: &RepoPath) -> Option<PathBuf> {
    let mut full = repo_dir.to_path_buf();
    let parts: Vec<&str> = path.components().collect();
    for (i, part) in parts.iter().enumerate() {
        full.push(part);
        if !is_real(&full, i + 1 < parts.len()) {
            return None;
        }
    }
    inside(root, &full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_segments() {
        assert_eq!(
            decode_segment("refs%2Fpr%2F1").as_deref(),
            Some("refs/pr/1")
        );
        assert_eq!(decode_segment("%2e%2e").as_deref(), Some(".."));
        assert_eq!(decode_segment("a%00").as_deref(), Some("a\0"));
        assert_eq!(decode_segment("%ff"), None);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let repo = root.join("o/r");
        fs::create_dir_all(repo.join("d")).unwrap();
        fs::write(repo.join("d/f.txt"), b"x").unwrap();
        fs::write(root.join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink(root.join("secret"), repo.join("link")).unwrap();
        std::os::unix::fs::symlink(repo.join("d"), repo.join("dlink")).unwrap();
        std::os::unix::fs::symlink(&repo, root.join("o/alias")).unwrap();

        let id = |s: &str| s.parse::<RepoId>().unwrap();
        let p = |s: &str| RepoPath::new(s).unwrap();
        let dir = repo_dir(&root, RepoType::Model, &id("o/r")).unwrap();
        assert!(file_in_repo(&root, &dir, &p("d/f.txt")).is_some());
        assert!(file_in_repo(&root, &dir, &p("d")).is_none());
        assert!(file_in_repo(&root, &dir, &p("link")).is_none());
        assert!(file_in_repo(&root, &dir, &p("dlink/f.txt")).is_none());
        assert!(repo_dir(&root, RepoType::Model, &id("o/alias")).is_none());
        assert!(repo_dir(&root, RepoType::Dataset, &id("o/r")).is_none());
        assert!(repo_dir(&root, RepoType::Model, &id("bare")).is_none());
    }
}
