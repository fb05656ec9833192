//! A repo folder as the Hub would describe it: every file with its git blob id, LFS files with
//! their sha256 and pointer, the folders, and a commit id that changes when any of it changes.
//!
//! Hashing real model files takes a while, so results are memoized process-wide: file hashes by
//! (path, size, mtime), whole indexes by the same fingerprint of every file. Several mirrors in
//! one test process therefore hash each file once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::SystemTime;

use lantern_core::RepoPath;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::gitattributes::LfsPatterns;

/// Folders deeper than this are not listed; no real repo comes close.
const MAX_DEPTH: usize = 64;
/// A `.gitattributes` larger than this is ignored rather than read into memory.
const MAX_GITATTRIBUTES: u64 = 1 << 20;

/// What the Hub's tree API says about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexedFile {
    pub(crate) size: u64,
    /// Git blob id of what git stores for the file: its content, or its LFS pointer.
    pub(crate) oid: String,
    pub(crate) lfs: Option<LfsInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LfsInfo {
    pub(crate) sha256: String,
    pub(crate) pointer_size: u64,
}

#[derive(Debug)]
pub(crate) struct RepoIndex {
    pub(crate) commit: String,
    pub(crate) files: BTreeMap<String, IndexedFile>,
    /// Folder path to a stable id (the Hub's tree oid; ours is a hash of the folder's files).
    pub(crate) dirs: BTreeMap<String, String>,
    pub(crate) last_modified: SystemTime,
}

/// An entry of a tree listing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TreeEntry<'a> {
    File(&'a str, &'a IndexedFile),
    Dir(&'a str, &'a str),
}

impl TreeEntry<'_> {
    pub(crate) fn path(&self) -> &str {
        match self {
            TreeEntry::File(p, _) | TreeEntry::Dir(p, _) => p,
        }
    }
}

impl RepoIndex {
    /// The entries under folder `dir` (`""` for the root): direct children, or everything below
    /// when `recursive`. `None` when `dir` is not a folder of the repo.
    pub(crate) fn tree(&self, dir: &str, recursive: bool) -> Option<Vec<TreeEntry<'_>>> {
        if !dir.is_empty() && !self.dirs.contains_key(dir) {
            return None;
        }
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let wanted = |p: &str| {
            p.strip_prefix(prefix.as_str())
                .is_some_and(|rest| recursive || !rest.contains('/'))
        };
        let mut entries: Vec<TreeEntry<'_>> = self
            .files
            .iter()
            .filter(|(p, _)| wanted(p))
            .map(|(p, f)| TreeEntry::File(p, f))
            .chain(
                self.dirs
                    .iter()
                    .filter(|(p, _)| wanted(p))
                    .map(|(p, oid)| TreeEntry::Dir(p, oid)),
            )
            .collect();
        entries.sort_by(|a, b| a.path().cmp(b.path()));
        Some(entries)
    }

    /// The LFS file whose content has this sha256.
    pub(crate) fn lfs_file(&self, sha256: &str) -> Option<(&str, &IndexedFile)> {
        self.files
            .iter()
            .find(|(_, f)| f.lfs.as_ref().is_some_and(|l| l.sha256 == sha256))
            .map(|(p, f)| (p.as_str(), f))
    }
}

/// The text git stores in place of an LFS file (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
pub(crate) fn lfs_pointer(sha256: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n")
}

/// `git hash-object`: sha1 of `blob {len}\0` followed by the content.
pub(crate) fn git_blob_oid(content: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", content.len()).as_bytes());
    h.update(content);
    hex::encode(h.finalize())
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Walked {
    rel: String,
    abs: PathBuf,
    size: u64,
    mtime: SystemTime,
}

/// Regular files under `repo_dir`, sorted by path. Symlinks, `.git` folders, other special files
/// and names that are not valid repo paths are left out: none of them can be served.
fn walk(repo_dir: &Path) -> io::Result<Vec<Walked>> {
    let mut out = Vec::new();
    let mut stack = vec![(repo_dir.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, rel_dir, depth)) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let rel = if rel_dir.is_empty() {
                name.clone()
            } else {
                format!("{rel_dir}/{name}")
            };
            if RepoPath::new(&rel).is_err() {
                continue;
            }
            // DirEntry::file_type and ::metadata do not follow symlinks.
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                if name != ".git" && depth < MAX_DEPTH {
                    stack.push((entry.path(), rel, depth + 1));
                }
            } else if file_type.is_file() {
                let meta = entry.metadata()?;
                out.push(Walked {
                    rel,
                    abs: entry.path(),
                    size: meta.len(),
                    mtime: meta.modified()?,
                });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FileKey {
    path: PathBuf,
    size: u64,
    mtime: SystemTime,
}

#[derive(Debug, Clone, Copy, Default)]
struct FileHashes {
    blob: Option<[u8; 20]>,
    sha256: Option<[u8; 32]>,
}

static FILE_HASHES: LazyLock<Mutex<HashMap<FileKey, FileHashes>>> = LazyLock::new(Default::default);

type Slot = Arc<Mutex<Option<(Vec<Walked>, Arc<RepoIndex>)>>>;
static INDEXES: LazyLock<Mutex<HashMap<(PathBuf, u64), Slot>>> = LazyLock::new(Default::default);

/// Hashes one file, or takes its hashes from the cache. Only the hashes asked for are computed:
/// an LFS file needs its sha256, a git file its blob id.
fn file_hashes(file: &Walked, blob: bool, sha256: bool) -> io::Result<FileHashes> {
    let key = FileKey {
        path: file.abs.clone(),
        size: file.size,
        mtime: file.mtime,
    };
    let cached = FILE_HASHES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
        .copied()
        .unwrap_or_default();
    let need_blob = blob && cached.blob.is_none();
    let need_sha256 = sha256 && cached.sha256.is_none();
    if !need_blob && !need_sha256 {
        return Ok(cached);
    }

    let mut sha1 = need_blob.then(|| {
        let mut h = Sha1::new();
        h.update(format!("blob {}\0", file.size).as_bytes());
        h
    });
    let mut sha2 = need_sha256.then(Sha256::new);
    let mut reader = File::open(&file.abs)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if let Some(h) = sha1.as_mut() {
            h.update(chunk);
        }
        if let Some(h) = sha2.as_mut() {
            h.update(chunk);
        }
        total += n as u64;
    }
    if total != file.size {
        return Err(io::Error::other(format!(
            "{} changed while it was hashed",
            file.abs.display()
        )));
    }

    let mut cache = FILE_HASHES.lock().unwrap_or_else(PoisonError::into_inner);
    let entry = cache.entry(key).or_default();
    if let Some(h) = sha1 {
        entry.blob = Some(h.finalize().into());
    }
    if let Some(h) = sha2 {
        entry.sha256 = Some(h.finalize().into());
    }
    Ok(*entry)
}

/// The index of the repo in `repo_dir` (a canonical path), computed on first use and again
/// whenever a file was added, removed, or changed size or mtime. Blocking: hashes files.
pub(crate) fn load(repo_dir: &Path, lfs_threshold: u64) -> io::Result<Arc<RepoIndex>> {
    let slot = {
        let mut all = INDEXES.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            all.entry((repo_dir.to_path_buf(), lfs_threshold))
                .or_default(),
        )
    };
    // Held while hashing, so concurrent first requests for one repo wait for one computation.
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    let walked = walk(repo_dir)?;
    if let Some((fingerprint, index)) = slot.as_ref()
        && *fingerprint == walked
    {
        return Ok(Arc::clone(index));
    }
    let index = Arc::new(build(&walked, lfs_threshold)?);
    *slot = Some((walked, Arc::clone(&index)));
    Ok(index)
}

fn build(walked: &[Walked], lfs_threshold: u64) -> io::Result<RepoIndex> {
    let patterns = match walked.iter().find(|w| w.rel == ".gitattributes") {
        Some(w) if w.size <= MAX_GITATTRIBUTES => {
            LfsPatterns::parse(&String::from_utf8_lossy(&std::fs::read(&w.abs)?))
        }
        _ => LfsPatterns::default(),
    };

    let mut files = BTreeMap::new();
    for w in walked {
        let lfs = w.size >= lfs_threshold || patterns.is_lfs(&w.rel);
        let hashes = file_hashes(w, !lfs, lfs)?;
        let entry = match (lfs, hashes.sha256, hashes.blob) {
            (true, Some(sha256), _) => {
                let sha256 = hex::encode(sha256);
                let pointer = lfs_pointer(&sha256, w.size);
                IndexedFile {
                    size: w.size,
                    oid: git_blob_oid(pointer.as_bytes()),
                    lfs: Some(LfsInfo {
                        sha256,
                        pointer_size: pointer.len() as u64,
                    }),
                }
            }
            (false, _, Some(blob)) => IndexedFile {
                size: w.size,
                oid: hex::encode(blob),
                lfs: None,
            },
            _ => return Err(io::Error::other("hash missing after hashing")),
        };
        files.insert(w.rel.clone(), entry);
    }

    let mut dir_paths = BTreeSet::new();
    for path in files.keys() {
        let mut rest = path.as_str();
        while let Some((parent, _)) = rest.rsplit_once('/') {
            dir_paths.insert(parent.to_owned());
            rest = parent;
        }
    }
    let listing_hash = |kind: &str, prefix: &str| {
        let mut h = Sha1::new();
        h.update(kind.as_bytes());
        h.update(b"\0");
        for (path, f) in files.iter().filter(|(p, _)| p.starts_with(prefix)) {
            h.update(path.as_bytes());
            h.update(b"\0");
            h.update(f.oid.as_bytes());
            h.update(b"\n");
        }
        hex::encode(h.finalize())
    };
    let dirs = dir_paths
        .into_iter()
        .map(|d| {
            let oid = listing_hash("tree", &format!("{d}/"));
            (d, oid)
        })
        .collect();
    let commit = listing_hash("commit", "");
    let last_modified = walked
        .iter()
        .map(|w| w.mtime)
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Ok(RepoIndex {
        commit,
        files,
        dirs,
        last_modified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_oid_matches_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_oid(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(
            git_blob_oid(b""),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    #[test]
    fn indexes_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/HEAD"), b"ref").unwrap();
        std::fs::write(root.join(".gitattributes"), b"*.bin filter=lfs\n").unwrap();
        std::fs::write(root.join("a.json"), b"{}").unwrap();
        std::fs::write(root.join("sub/w.bin"), b"weights").unwrap();
        std::fs::write(root.join("sub/deeper/big.dat"), vec![7u8; 100]).unwrap();

        let index = load(&root, 64).unwrap();
        let paths: Vec<_> = index.files.keys().cloned().collect();
        assert_eq!(
            paths,
            [
                ".gitattributes",
                "a.json",
                "sub/deeper/big.dat",
                "sub/w.bin"
            ]
        );
        assert_eq!(index.files["a.json"].oid, git_blob_oid(b"{}"));
        assert!(index.files["a.json"].lfs.is_none());
        let lfs = index.files["sub/w.bin"].lfs.clone().unwrap();
        assert_eq!(lfs.sha256, hex::encode(Sha256::digest(b"weights")));
        assert!(
            index.files["sub/deeper/big.dat"].lfs.is_some(),
            "over the threshold"
        );
        assert_eq!(index.dirs.keys().collect::<Vec<_>>(), ["sub", "sub/deeper"]);
        assert!(lantern_core::is_commit_hash(&index.commit));

        let top: Vec<_> = index
            .tree("", false)
            .unwrap()
            .iter()
            .map(|e| e.path().to_owned())
            .collect();
        assert_eq!(top, [".gitattributes", "a.json", "sub"]);
        let all = index.tree("sub", true).unwrap();
        assert_eq!(all.len(), 3);
        assert!(index.tree("a.json", false).is_none());
        assert!(index.tree("nope", true).is_none());

        // Same content, same commit; changed content, new commit.
        assert_eq!(load(&root, 64).unwrap().commit, index.commit);
        std::fs::write(root.join("a.json"), b"{\"x\":1}").unwrap();
        assert_ne!(load(&root, 64).unwrap().commit, index.commit);
    }
}
