//! The browser cache: the Origin Private File System, keyed by content hash.
//!
//! ```text
//! OPFS/{root}/partial/{hash}   a download in progress, written through a sync access handle
//! OPFS/{root}/blobs/{hash}     verified content, moved here only after the hash checked out
//! ```
//! Why OPFS and not Cache Storage: a partial file can be appended to and survives a reload, so
//! a download resumes where it stopped; `FileSystemSyncAccessHandle` writes straight to the
//! file (no swap copy) and later reads straight into wasm memory, so weights are never held
//! twice; and the handle is an exclusive lock, so two tabs never write one file at once.
//! Sync access handles exist only in dedicated workers, which is where Lantern downloads.
//! Files are keyed by hash, not by repository, so every demo on an origin shares one copy.

use std::time::Duration;

use js_sys::{Function, Promise, Reflect};
use lantern_core::{ContentHash, ModelRef, RepoFile};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemReadWriteOptions, FileSystemRemoveOptions,
    FileSystemSyncAccessHandle, StorageManager, WorkerGlobalScope,
};

use crate::cancel::CancelToken;
use crate::client::race_cancel;
use crate::error::{HubError, Result};
use crate::transport::sleep;

/// How often a context waiting for another tab's download checks again.
const LOCK_POLL: Duration = Duration::from_millis(200);
/// Bytes written between flushes: what a crash or reload can cost at most.
const FLUSH_EVERY: u64 = 8 << 20;
/// Read size when re-hashing a partial file or reading a blob.
const READ_CHUNK: usize = 4 << 20;

/// The OPFS cache under one root folder (default `lantern`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpfsCache {
    root: String,
}

/// The platform's cache type, as [`HubClient::download`](crate::HubClient::download) takes it.
pub type Cache = OpfsCache;

impl Default for OpfsCache {
    fn default() -> Self {
        OpfsCache::new("lantern")
    }
}

/// A verified file in the cache.
#[derive(Debug, Clone)]
pub struct CachedFile {
    pub hash: ContentHash,
    pub size: u64,
    handle: FileSystemFileHandle,
}

impl CachedFile {
    /// The file as a `File` (a `Blob`), e.g. to hand to a `Response` or read in slices.
    pub async fn file(&self) -> Result<web_sys::File> {
        let f = await_js(self.handle.get_file(), &self.hash.to_hex()).await?;
        f.dyn_into()
            .map_err(|_| HubError::storage(self.hash.to_hex(), "getFile() did not give a File"))
    }

    /// Reads the whole file into `out` (resized to the file's size) through a sync access
    /// handle, chunk by chunk, with no intermediate JavaScript buffer. Worker only.
    pub async fn read_into(&self, out: &mut Vec<u8>) -> Result<()> {
        let name = self.hash.to_hex();
        let handle = open_sync(&self.handle, &name).await?;
        let guard = CloseOnDrop(handle);
        let size = usize::try_from(self.size)
            .map_err(|_| HubError::storage(&name, "file larger than this address space"))?;
        out.clear();
        out.resize(size, 0);
        let mut at = 0usize;
        while at < size {
            let end = (at + READ_CHUNK).min(size);
            let n = read_at(&guard.0, &mut out[at..end], at as f64, &name)?;
            if n == 0 {
                return Err(HubError::storage(
                    &name,
                    "file shorter than its recorded size",
                ));
            }
            at += n;
        }
        Ok(())
    }
}

impl OpfsCache {
    pub fn new(root: impl Into<String>) -> Self {
        OpfsCache { root: root.into() }
    }

    async fn dir(&self, sub: &str) -> Result<FileSystemDirectoryHandle> {
        let storage = storage_manager()?;
        let top: FileSystemDirectoryHandle = await_js(storage.get_directory(), "OPFS")
            .await?
            .unchecked_into();
        let opts = FileSystemGetDirectoryOptions::new();
        opts.set_create(true);
        let root: FileSystemDirectoryHandle = await_js(
            top.get_directory_handle_with_options(&self.root, &opts),
            &self.root,
        )
        .await?
        .unchecked_into();
        Ok(
            await_js(root.get_directory_handle_with_options(sub, &opts), sub)
                .await?
                .unchecked_into(),
        )
    }

    /// A verified file by hash, if present.
    pub async fn get(&self, hash: &ContentHash) -> Result<Option<CachedFile>> {
        let blobs = self.dir("blobs").await?;
        let name = hash.to_hex();
        let handle: FileSystemFileHandle = match JsFuture::from(blobs.get_file_handle(&name)).await
        {
            Ok(h) => h.unchecked_into(),
            Err(e) if js_name(&e).as_deref() == Some("NotFoundError") => return Ok(None),
            Err(e) => return Err(js_storage_error(&name, &e)),
        };
        let file: web_sys::File = await_js(handle.get_file(), &name).await?.unchecked_into();
        Ok(Some(CachedFile {
            hash: *hash,
            size: file.size() as u64,
            handle,
        }))
    }

    /// Bytes stored for a partial download of `hash` (0 if none).
    pub async fn partial_len(&self, hash: &ContentHash) -> Result<u64> {
        let partial = self.dir("partial").await?;
        let name = hash.to_hex();
        match JsFuture::from(partial.get_file_handle(&name)).await {
            Ok(h) => {
                let h: FileSystemFileHandle = h.unchecked_into();
                let file: web_sys::File = await_js(h.get_file(), &name).await?.unchecked_into();
                Ok(file.size() as u64)
            }
            Err(e) if js_name(&e).as_deref() == Some("NotFoundError") => Ok(0),
            Err(e) => Err(js_storage_error(&name, &e)),
        }
    }

    /// The verified files: `(hash hex, size)`.
    pub async fn entries(&self) -> Result<Vec<(String, u64)>> {
        let blobs = self.dir("blobs").await?;
        let iter = blobs.values();
        let mut out = Vec::new();
        loop {
            let next = iter.next().map_err(|e| js_storage_error("blobs", &e))?;
            let step = await_js(next, "blobs").await?;
            if Reflect::get(&step, &JsValue::from_str("done"))
                .ok()
                .and_then(|d| d.as_bool())
                .unwrap_or(true)
            {
                return Ok(out);
            }
            let value = Reflect::get(&step, &JsValue::from_str("value"))
                .map_err(|e| js_storage_error("blobs", &e))?;
            // Only files live in blobs/; anything else is skipped.
            if let Ok(handle) = value.dyn_into::<FileSystemFileHandle>() {
                let name = handle.name();
                let file: web_sys::File =
                    await_js(handle.get_file(), &name).await?.unchecked_into();
                out.push((name, file.size() as u64));
            }
        }
    }

    /// Removes one file (verified or partial) from the cache.
    pub async fn remove(&self, hash: &ContentHash) -> Result<()> {
        let name = hash.to_hex();
        for sub in ["blobs", "partial"] {
            let dir = self.dir(sub).await?;
            if let Err(e) = JsFuture::from(dir.remove_entry(&name)).await
                && js_name(&e).as_deref() != Some("NotFoundError")
            {
                return Err(js_storage_error(&name, &e));
            }
        }
        Ok(())
    }

    /// Deletes everything under the cache root.
    pub async fn clear(&self) -> Result<()> {
        let storage = storage_manager()?;
        let top: FileSystemDirectoryHandle = await_js(storage.get_directory(), "OPFS")
            .await?
            .unchecked_into();
        let opts = FileSystemRemoveOptions::new();
        opts.set_recursive(true);
        match JsFuture::from(top.remove_entry_with_options(&self.root, &opts)).await {
            Ok(_) => Ok(()),
            Err(e) if js_name(&e).as_deref() == Some("NotFoundError") => Ok(()),
            Err(e) => Err(js_storage_error(&self.root, &e)),
        }
    }

    /// `(usage, quota)` in bytes from `navigator.storage.estimate()`, for the whole origin.
    pub async fn estimate(&self) -> Result<(u64, u64)> {
        let storage = storage_manager()?;
        let promise = storage
            .estimate()
            .map_err(|e| js_storage_error("estimate", &e))?;
        let est: web_sys::StorageEstimate = await_js(promise, "estimate").await?.unchecked_into();
        Ok((
            est.get_usage().unwrap_or(0.0) as u64,
            est.get_quota().unwrap_or(f64::MAX) as u64,
        ))
    }

    pub(crate) async fn lookup(
        &self,
        _model: &ModelRef,
        file: &RepoFile,
    ) -> Result<Option<CachedFile>> {
        Ok(self.get(&file.hash).await?.filter(|f| f.size == file.size))
    }

    /// Refuses up front a download the origin's quota cannot hold, rather than failing after
    /// most of it has been fetched.
    pub(crate) async fn reserve(&self, bytes: u64) -> Result<()> {
        let (usage, quota) = self.estimate().await?;
        if quota.saturating_sub(usage) < bytes {
            return Err(HubError::QuotaExceeded {
                message: format!(
                    "{bytes} bytes needed, {} of {quota} bytes of storage are free",
                    quota.saturating_sub(usage)
                ),
            });
        }
        Ok(())
    }

    pub(crate) async fn begin(
        &self,
        model: &ModelRef,
        file: &RepoFile,
        cancel: &CancelToken,
    ) -> Result<Begin> {
        let partial_dir = self.dir("partial").await?;
        let name = file.hash.to_hex();
        let opts = FileSystemGetFileOptions::new();
        opts.set_create(true);
        let handle: FileSystemFileHandle = await_js(
            partial_dir.get_file_handle_with_options(&name, &opts),
            &name,
        )
        .await?
        .unchecked_into();
        // The sync access handle is exclusive: while another tab or worker downloads this file,
        // opening fails with NoModificationAllowedError, and we wait for it to finish.
        let access = loop {
            match JsFuture::from(handle.create_sync_access_handle()).await {
                Ok(a) => break a.unchecked_into::<FileSystemSyncAccessHandle>(),
                Err(e) if js_name(&e).as_deref() == Some("NoModificationAllowedError") => {
                    race_cancel(cancel, sleep(LOCK_POLL)).await?;
                    if let Some(found) = self.lookup(model, file).await? {
                        return Ok(Begin::Cached(found));
                    }
                }
                Err(e) => return Err(js_storage_error(&name, &e)),
            }
        };
        let access = CloseOnDrop(access);
        if let Some(found) = self.lookup(model, file).await? {
            return Ok(Begin::Cached(found));
        }
        let len = access
            .0
            .get_size()
            .map_err(|e| js_storage_error(&name, &e))? as u64;
        Ok(Begin::Partial(Partial {
            access: Some(access),
            handle,
            name,
            len,
            unflushed: 0,
            cache: self.clone(),
        }))
    }

    pub(crate) fn record_revision(&self, _model: &ModelRef) -> Result<()> {
        // Files are keyed by hash; which revision they belong to lives in the pinned manifest.
        Ok(())
    }
}

/// The outcome of [`OpfsCache::begin`].
#[derive(Debug)]
pub(crate) enum Begin {
    Cached(CachedFile),
    Partial(Partial),
}

/// A partial file open for writing; its sync access handle is closed when dropped, which also
/// releases the lock for other tabs.
#[derive(Debug)]
pub(crate) struct Partial {
    access: Option<CloseOnDrop>,
    handle: FileSystemFileHandle,
    name: String,
    len: u64,
    unflushed: u64,
    cache: OpfsCache,
}

impl Partial {
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    fn access(&self) -> Result<&FileSystemSyncAccessHandle> {
        self.access
            .as_ref()
            .map(|a| &a.0)
            .ok_or_else(|| HubError::storage(&self.name, "partial file already closed"))
    }

    pub(crate) async fn replay(&mut self, mut f: impl FnMut(&[u8])) -> Result<()> {
        let mut buf = vec![0u8; READ_CHUNK];
        let mut at = 0u64;
        while at < self.len {
            let want = buf.len().min((self.len - at) as usize);
            let n = read_at(self.access()?, &mut buf[..want], at as f64, &self.name)?;
            if n == 0 {
                return Err(HubError::storage(
                    &self.name,
                    "partial file shrank while being read",
                ));
            }
            f(&buf[..n]);
            at += n as u64;
        }
        Ok(())
    }

    pub(crate) async fn append(&mut self, data: &[u8]) -> Result<()> {
        let opts = FileSystemReadWriteOptions::new();
        opts.set_at(self.len as f64);
        let access = self.access()?;
        let written = access
            .write_with_u8_array_and_options(data, &opts)
            .map_err(|e| js_storage_error(&self.name, &e))?;
        if written as usize != data.len() {
            return Err(HubError::storage(
                &self.name,
                format!("short write: {written} of {} bytes", data.len()),
            ));
        }
        let flush = self.unflushed + data.len() as u64 >= FLUSH_EVERY;
        if flush {
            access
                .flush()
                .map_err(|e| js_storage_error(&self.name, &e))?;
        }
        self.len += data.len() as u64;
        self.unflushed = if flush {
            0
        } else {
            self.unflushed + data.len() as u64
        };
        Ok(())
    }

    pub(crate) async fn reset(&mut self) -> Result<()> {
        self.access()?
            .truncate_with_u32(0)
            .map_err(|e| js_storage_error(&self.name, &e))?;
        self.len = 0;
        Ok(())
    }

    /// Moves the verified file from `partial/` to `blobs/` (one rename, so a reader never
    /// sees a half-written blob).
    pub(crate) async fn finish(mut self, _model: &ModelRef, file: &RepoFile) -> Result<CachedFile> {
        if let Some(access) = self.access.take() {
            access
                .0
                .flush()
                .map_err(|e| js_storage_error(&self.name, &e))?;
        }
        let blobs = self.cache.dir("blobs").await?;
        // `FileSystemHandle.move()` is not in web-sys yet; call it by name.
        let mv: Function = Reflect::get(&self.handle, &JsValue::from_str("move"))
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| {
                HubError::storage(&self.name, "this browser lacks FileSystemHandle.move()")
            })?;
        let promise: Promise = mv
            .call2(&self.handle, &blobs, &JsValue::from_str(&self.name))
            .map_err(|e| js_storage_error(&self.name, &e))?
            .unchecked_into();
        await_js(promise, &self.name).await?;
        self.cache
            .get(&file.hash)
            .await?
            .ok_or_else(|| HubError::storage(&self.name, "verified file vanished after the move"))
    }

    pub(crate) async fn discard(mut self) -> Result<()> {
        self.access.take();
        let dir = self.cache.dir("partial").await?;
        match JsFuture::from(dir.remove_entry(&self.name)).await {
            Ok(_) => Ok(()),
            Err(e) if js_name(&e).as_deref() == Some("NotFoundError") => Ok(()),
            Err(e) => Err(js_storage_error(&self.name, &e)),
        }
    }
}

#[derive(Debug)]
struct CloseOnDrop(FileSystemSyncAccessHandle);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        // Flushing here keeps what was written for a resume after an error or cancel.
        let _ = self.0.flush();
        self.0.close();
    }
}

async fn open_sync(
    handle: &FileSystemFileHandle,
    name: &str,
) -> Result<FileSystemSyncAccessHandle> {
    Ok(await_js(handle.create_sync_access_handle(), name)
        .await?
        .unchecked_into())
}

fn read_at(
    access: &FileSystemSyncAccessHandle,
    buf: &mut [u8],
    at: f64,
    name: &str,
) -> Result<usize> {
    let opts = FileSystemReadWriteOptions::new();
    opts.set_at(at);
    // `read` with a Rust slice: wasm-bindgen passes a view of wasm memory, so the bytes land in
    // `buf` directly.
    let n = access
        .read_with_u8_array_and_options(buf, &opts)
        .map_err(|e| js_storage_error(name, &e))?;
    Ok(n as usize)
}

fn storage_manager() -> Result<StorageManager> {
    let global = js_sys::global();
    if let Some(scope) = global.dyn_ref::<WorkerGlobalScope>() {
        return Ok(scope.navigator().storage());
    }
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        return Ok(window.navigator().storage());
    }
    Err(HubError::storage(
        "OPFS",
        "no navigator.storage in this context",
    ))
}

async fn await_js(promise: Promise, what: &str) -> Result<JsValue> {
    JsFuture::from(promise)
        .await
        .map_err(|e| js_storage_error(what, &e))
}

fn js_name(e: &JsValue) -> Option<String> {
    Reflect::get(e, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
}

fn js_storage_error(what: &str, e: &JsValue) -> HubError {
    let message = crate::transport::describe_js(e);
    match js_name(e).as_deref() {
        Some("QuotaExceededError") => HubError::QuotaExceeded { message },
        _ => HubError::storage(what, message),
    }
}
