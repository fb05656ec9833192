//! The worker on a native thread, for tests and native hosts.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use futures_channel::mpsc::{UnboundedSender, unbounded};
use lantern_core::protocol::{CacheEntry, Event, Request};
use lantern_hub::{CachedFile, HfCache, HubError};

use crate::engine::{self, Cancels, Context};

/// A worker running on its own thread with its own (current-thread) async runtime.
#[derive(Debug)]
pub struct NativeWorker {
    requests: Option<UnboundedSender<Request>>,
    events: mpsc::Receiver<Event>,
    cancels: Cancels,
    thread: Option<JoinHandle<()>>,
}

impl NativeWorker {
    /// Starts a worker that caches models in `cache` (give it a cache of its own:
    /// `ClearCache` empties it).
    pub fn spawn(cache: HfCache, threads: usize) -> Self {
        let (tx, rx) = unbounded();
        let (events_tx, events) = mpsc::channel();
        let cancels = Cancels::default();
        let loop_cancels = cancels.clone();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = events_tx.send(Event::Error(lantern_core::protocol::ErrorReport::new(
                        lantern_core::protocol::ErrorCode::Internal,
                        format!("cannot start the worker's runtime: {e}"),
                    )));
                    return;
                }
            };
            let ctx = Context {
                cache,
                threads,
                emit: Box::new(move |event| {
                    // The receiver is gone only when the host dropped the worker.
                    let _ = events_tx.send(event);
                }),
            };
            runtime.block_on(engine::run(rx, loop_cancels, ctx));
        });
        NativeWorker {
            requests: Some(tx),
            events,
            cancels,
            thread: Some(thread),
        }
    }

    /// Sends a request; a `Cancel` takes effect at once, not behind the queue.
    pub fn send(&self, request: Request) {
        if let Request::Cancel { id } = request {
            self.cancels.cancel(id);
            return;
        }
        if let Some(tx) = &self.requests {
            let _ = tx.unbounded_send(request);
        }
    }

    /// The next event, waiting for it.
    pub fn recv(&self) -> Result<Event, mpsc::RecvError> {
        self.events.recv()
    }

    pub fn recv_timeout(&self, timeout: Duration) -> Result<Event, mpsc::RecvTimeoutError> {
        self.events.recv_timeout(timeout)
    }
}

impl Drop for NativeWorker {
    fn drop(&mut self) {
        // Closing the channel ends the loop once the current request is done.
        self.requests.take();
        self.cancels.cancel(crate::engine::LOAD_ID);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(crate) async fn read(file: &CachedFile) -> Result<Vec<u8>, HubError> {
    std::fs::read(file).map_err(|e| HubError::Storage {
        path: file.display().to_string(),
        message: e.to_string(),
    })
}

/// Nothing to do natively: `Cancel` is handled on the host's thread.
pub(crate) async fn yield_now() {}

pub(crate) fn absolute_endpoint(endpoint: &str) -> String {
    endpoint.to_owned()
}

pub(crate) async fn cache_status(cache: &HfCache) -> Result<(Vec<CacheEntry>, u64, u64), HubError> {
    let mut entries = Vec::new();
    for repo in read_dir(cache.root())? {
        let blobs = repo.join("blobs");
        if !blobs.is_dir() {
            continue;
        }
        for blob in read_dir(&blobs)? {
            let name = blob
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.ends_with(".incomplete") {
                continue;
            }
            if let Ok(m) = std::fs::metadata(&blob) {
                entries.push(CacheEntry {
                    name: name.to_owned(),
                    size: m.len(),
                });
            }
        }
    }
    let usage = entries.iter().map(|e| e.size).sum();
    // No portable free-space query natively; 0 means "unknown".
    Ok((entries, usage, 0))
}

pub(crate) async fn clear_cache(cache: &HfCache) -> Result<(), HubError> {
    for repo in read_dir(cache.root())? {
        let name = repo
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if ["models--", "datasets--", "spaces--"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            std::fs::remove_dir_all(&repo).map_err(|e| HubError::Storage {
                path: repo.display().to_string(),
                message: e.to_string(),
            })?;
        }
    }
    Ok(())
}

fn read_dir(dir: &Path) -> Result<Vec<std::path::PathBuf>, HubError> {
    match std::fs::read_dir(dir) {
        Ok(rd) => Ok(rd.filter_map(|e| e.ok().map(|e| e.path())).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(HubError::Storage {
            path: dir.display().to_string(),
            message: e.to_string(),
        }),
    }
}
