//! The native cache, in huggingface_hub's layout, so Python and Lantern share one cache.
//!
//! ```text
//! {HF_HUB_CACHE}/models--ORG--NAME/
//!     blobs/{etag}                  verified content; etag = sha256 (LFS) or git blob id
//!     blobs/{etag}.incomplete       a download in progress (resumed from its length)
//!     refs/{revision}               the commit a branch or tag pointed to, no newline
//!     snapshots/{commit}/{path}     relative symlink to ../../blobs/{etag}
//! {HF_HUB_CACHE}/.locks/models--ORG--NAME/{etag}.lock
//! ```
//! The lock is an advisory `flock`, the same one Python's `filelock` takes, so a Lantern and a
//! huggingface_hub process downloading the same file at once wait for each other.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lantern_core::{ModelRef, RepoFile, RepoId, RepoPath, RepoRef, RepoType, is_commit_hash};

use crate::cancel::CancelToken;
use crate::client::race_cancel;
use crate::error::{HubError, Result};
use crate::transport::sleep;

/// A file in the cache: its path under `snapshots/{commit}/`.
pub type CachedFile = PathBuf;

/// How often a waiting process checks whether the lock holder is done.
const LOCK_POLL: Duration = Duration::from_millis(100);

/// The huggingface_hub cache folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HfCache {
    root: PathBuf,
}

/// The platform's cache type, as [`HubClient::download`](crate::HubClient::download) takes it.
pub type Cache = HfCache;

/// What was found for a revision with no network: its commit and the files asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedSnapshot {
    pub commit: String,
    /// `snapshots/{commit}`.
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
}

impl HfCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        HfCache { root: root.into() }
    }

    /// The cache huggingface_hub would use: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
    /// `XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
    pub fn from_env() -> Self {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let root = var("HF_HUB_CACHE")
            .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
            .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
            .or_else(|| var("XDG_CACHE_HOME").map(|c| c.join("huggingface").join("hub")))
            .or_else(|| var("HOME").map(|h| h.join(".cache").join("huggingface").join("hub")))
            .unwrap_or_else(|| PathBuf::from(".cache/huggingface/hub"));
        HfCache::new(root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `models--ORG--NAME`.
    pub fn repo_dir(&self, repo_type: RepoType, id: &RepoId) -> PathBuf {
        self.root.join(id.cache_folder(repo_type))
    }

    fn blob_path(&self, model: &ModelRef, file: &RepoFile) -> PathBuf {
        self.repo_dir(model.repo_type, &model.repo)
            .join("blobs")
            .join(file.hash.to_hex())
    }

    fn snapshot_path(
        &self,
        repo_type: RepoType,
        id: &RepoId,
        commit: &str,
        path: &RepoPath,
    ) -> PathBuf {
        let mut p = self.repo_dir(repo_type, id).join("snapshots").join(commit);
        for c in path.components() {
            p.push(c);
        }
        p
    }

    /// The commit a revision points to according to the cache (`refs/{revision}`), or the
    /// revision itself when it is a commit.
    pub fn cached_commit(&self, repo: &RepoRef) -> Option<String> {
        if repo.revision.is_commit() {
            return Some(repo.revision.to_string());
        }
        let mut p = self.repo_dir(repo.repo_type, &repo.id).join("refs");
        for c in repo.revision.as_str().split('/') {
            p.push(c);
        }
        let commit = fs::read_to_string(p).ok()?;
        let commit = commit.trim();
        is_commit_hash(commit).then(|| commit.to_owned())
    }

    /// Finds a revision's files without any network (`HF_HUB_OFFLINE` behaviour). With no
    /// paths, every file of the cached snapshot.
    pub fn cached_snapshot(&self, repo: &RepoRef, paths: &[&str]) -> Result<CachedSnapshot> {
        let not_cached = || HubError::NotCached {
            repo: repo.id.to_string(),
            revision: repo.revision.to_string(),
        };
        let commit = self.cached_commit(repo).ok_or_else(not_cached)?;
        let dir = self
            .repo_dir(repo.repo_type, &repo.id)
            .join("snapshots")
            .join(&commit);
        if !dir.is_dir() {
            return Err(not_cached());
        }
        let mut files = Vec::new();
        if paths.is_empty() {
            collect_files(&dir, &mut files).map_err(|e| HubError::io(&dir, e))?;
            files.sort();
        } else {
            for p in paths {
                let path = RepoPath::new(p)?;
                let f = self.snapshot_path(repo.repo_type, &repo.id, &commit, &path);
                // `is_file` follows the symlink: a dangling link (blob deleted) is not cached.
                if !f.is_file() {
                    return Err(HubError::NotCached {
                        repo: repo.id.to_string(),
                        revision: format!("{}:{}", repo.revision, path),
                    });
                }
                files.push(f);
            }
        }
        Ok(CachedSnapshot { commit, dir, files })
    }

    /// A verified blob already present for this file (linked into the snapshot if needed).
    pub(crate) async fn lookup(
        &self,
        model: &ModelRef,
        file: &RepoFile,
    ) -> Result<Option<CachedFile>> {
        let blob = self.blob_path(model, file);
        match fs::metadata(&blob) {
            Ok(m) if m.is_file() && m.len() == file.size => {
                Ok(Some(self.link_snapshot(model, file)?))
            }
            _ => Ok(None),
        }
    }

    /// Native disks report "full" on write, which becomes [`HubError::QuotaExceeded`]; there is
    /// no portable free-space query worth a dependency.
    pub(crate) async fn reserve(&self, _bytes: u64) -> Result<()> {
        Ok(())
    }

    /// Takes the per-blob lock (waiting for another process that holds it) and opens the
    /// `.incomplete` file, or reports that the blob appeared while we waited.
    pub(crate) async fn begin(
        &self,
        model: &ModelRef,
        file: &RepoFile,
        cancel: &CancelToken,
    ) -> Result<Begin> {
        let blob = self.blob_path(model, file);
        let blobs_dir = blob.parent().map(Path::to_path_buf).unwrap_or_default();
        fs::create_dir_all(&blobs_dir).map_err(|e| HubError::io(&blobs_dir, e))?;
        let lock_dir = self
            .root
            .join(".locks")
            .join(model.repo.cache_folder(model.repo_type));
        fs::create_dir_all(&lock_dir).map_err(|e| HubError::io(&lock_dir, e))?;
        let lock_path = lock_dir.join(format!("{}.lock", file.hash.to_hex()));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| HubError::io(&lock_path, e))?;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) => {
                    race_cancel(cancel, sleep(LOCK_POLL)).await?;
                }
                Err(fs::TryLockError::Error(e)) => return Err(HubError::io(&lock_path, e)),
            }
        }
        if let Some(found) = self.lookup(model, file).await? {
            return Ok(Begin::Cached(found));
        }
        let incomplete = blobs_dir.join(format!("{}.incomplete", file.hash.to_hex()));
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&incomplete)
            .map_err(|e| HubError::io(&incomplete, e))?;
        let len = out
            .metadata()
            .map_err(|e| HubError::io(&incomplete, e))?
            .len();
        Ok(Begin::Partial(Partial {
            out,
            incomplete,
            blob,
            len,
            _lock: lock,
            cache: self.clone(),
        }))
    }

    /// Points `snapshots/{commit}/{path}` at the blob with a relative symlink, as
    /// huggingface_hub does; replaced atomically if it exists.
    fn link_snapshot(&self, model: &ModelRef, file: &RepoFile) -> Result<CachedFile> {
        let link = self.snapshot_path(model.repo_type, &model.repo, &model.commit, &file.path);
        let parent = link.parent().map(Path::to_path_buf).unwrap_or_default();
        fs::create_dir_all(&parent).map_err(|e| HubError::io(&parent, e))?;
        // snapshots/{commit}/a/b.json -> ../../../blobs/{etag}: one `..` per directory level.
        let depth = 2 + file.path.components().count() - 1;
        let mut target = PathBuf::new();
        for _ in 0..depth {
            target.push("..");
        }
        target.push("blobs");
        target.push(file.hash.to_hex());
        if fs::read_link(&link).is_ok_and(|t| t == target) {
            return Ok(link);
        }
        let tmp = parent.join(format!(
            ".{}.{}.tmp",
            file.path.file_name(),
            std::process::id()
        ));
        let _ = fs::remove_file(&tmp);
        symlink(&target, &tmp).map_err(|e| HubError::io(&tmp, e))?;
        fs::rename(&tmp, &link).map_err(|e| HubError::io(&link, e))?;
        Ok(link)
    }

    /// Writes `refs/{revision}` = commit, so the revision resolves offline later.
    pub(crate) fn record_revision(&self, model: &ModelRef) -> Result<()> {
        if model.revision == model.commit || is_commit_hash(&model.revision) {
            return Ok(());
        }
        let revision = lantern_core::Revision::new(&model.revision)?;
        let mut path = self.repo_dir(model.repo_type, &model.repo).join("refs");
        for c in revision.as_str().split('/') {
            path.push(c);
        }
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        fs::create_dir_all(&parent).map_err(|e| HubError::io(&parent, e))?;
        if fs::read_to_string(&path).is_ok_and(|c| c.trim() == model.commit) {
            return Ok(());
        }
        let tmp = parent.join(format!(".ref.{}.tmp", std::process::id()));
        fs::write(&tmp, &model.commit).map_err(|e| HubError::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| HubError::io(&path, e))
    }
}

/// The outcome of [`HfCache::begin`].
#[derive(Debug)]
pub(crate) enum Begin {
    Cached(CachedFile),
    Partial(Partial),
}

/// A `.incomplete` blob being written, with the blob's lock held until it is dropped.
#[derive(Debug)]
pub(crate) struct Partial {
    out: File,
    incomplete: PathBuf,
    blob: PathBuf,
    len: u64,
    _lock: File,
    cache: HfCache,
}

impl Partial {
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Feeds the bytes already on disk to `f`, in order.
    pub(crate) async fn replay(&mut self, mut f: impl FnMut(&[u8])) -> Result<()> {
        let mut reader =
            File::open(&self.incomplete).map_err(|e| HubError::io(&self.incomplete, e))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut left = self.len;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = reader
                .read(&mut buf[..want])
                .map_err(|e| HubError::io(&self.incomplete, e))?;
            if n == 0 {
                return Err(HubError::storage(
                    self.incomplete.display().to_string(),
                    "partial file shrank while being read",
                ));
            }
            f(&buf[..n]);
            left -= n as u64;
        }
        Ok(())
    }

    pub(crate) async fn append(&mut self, data: &[u8]) -> Result<()> {
        self.out
            .write_all(data)
            .map_err(|e| HubError::io(&self.incomplete, e))?;
        self.len += data.len() as u64;
        Ok(())
    }

    pub(crate) async fn reset(&mut self) -> Result<()> {
        self.out
            .set_len(0)
            .map_err(|e| HubError::io(&self.incomplete, e))?;
        self.len = 0;
        Ok(())
    }

    /// Publishes the verified blob (rename, atomic) and links it into the snapshot.
    pub(crate) async fn finish(self, model: &ModelRef, file: &RepoFile) -> Result<CachedFile> {
        self.out
            .sync_all()
            .map_err(|e| HubError::io(&self.incomplete, e))?;
        fs::rename(&self.incomplete, &self.blob).map_err(|e| HubError::io(&self.blob, e))?;
        self.cache.link_snapshot(model, file)
    }

    pub(crate) async fn discard(self) -> Result<()> {
        match fs::remove_file(&self.incomplete) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(HubError::io(&self.incomplete, e)),
        }
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}
