//! Running a mirror: as an `axum::Router`, as a future on a listener, or on its own thread.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::log::LogEntry;
use crate::routes::{self, Shared};
use crate::{FaultSpec, MirrorConfig, MirrorError};

/// A mirror: a folder served with the Hub's HTTP protocol. Cheap to clone; clones share the
/// request logs.
#[derive(Debug, Clone)]
pub struct Mirror {
    shared: Arc<Shared>,
}

impl Mirror {
    /// Fails when `config.root` is not a folder.
    pub fn new(config: MirrorConfig) -> Result<Self, MirrorError> {
        Ok(Mirror {
            shared: Arc::new(Shared::new(config)?),
        })
    }

    /// The routes, for serving the mirror next to other routes (`Router::nest_service` keeps
    /// redirects and `Link` URLs under the mount point).
    pub fn router(&self) -> axum::Router {
        routes::router(Arc::clone(&self.shared))
    }

    /// The requests logged under a fault id, in arrival order.
    pub fn log(&self, id: &str) -> Vec<LogEntry> {
        self.shared.journal.entries(id)
    }

    /// The commit id the mirror reports for a repo (`ORG/NAME`, `datasets/ORG/NAME`,
    /// `spaces/ORG/NAME`), or `None` when there is no such repo. Blocking: hashes the repo's
    /// files on first use.
    pub fn commit_of(&self, repo: &str) -> Option<String> {
        self.shared.commit_of(repo)
    }

    /// Binds `addr` and serves on a background thread with its own tokio runtime, so it works
    /// from plain `#[test]`s and from inside another runtime alike. Dropping the handle stops it.
    pub fn start(config: MirrorConfig, addr: SocketAddr) -> Result<MirrorHandle, MirrorError> {
        let mirror = Mirror::new(config)?;
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| MirrorError::Bind { addr, source })?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("lantern-mirror-worker")
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = mirror.router();
        let thread = std::thread::Builder::new()
            .name("lantern-mirror".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("mirror cannot listen: {e}");
                            return;
                        }
                    };
                    tokio::select! {
                        result = async { axum::serve(listener, router).await } => {
                            if let Err(e) = result {
                                tracing::error!("mirror stopped: {e}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Open connections and streaming bodies are cut here; a hash still running on
                // the blocking pool finishes on its own.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(MirrorHandle {
            mirror,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Serves a mirror on `listener` until this future is dropped.
///
/// For Ctrl-C handling, race it with `tokio::signal::ctrl_c()` in a `tokio::select!`.
pub async fn serve(
    config: MirrorConfig,
    listener: tokio::net::TcpListener,
) -> Result<(), MirrorError> {
    let mirror = Mirror::new(config)?;
    axum::serve(listener, mirror.router()).await?;
    Ok(())
}

/// A mirror running on its own thread; see [`Mirror::start`]. Dropping it stops the server.
#[derive(Debug)]
pub struct MirrorHandle {
    mirror: Mirror,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MirrorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint to give a Hub client (`HF_ENDPOINT`), e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An endpoint whose requests get the faults of `spec` and are logged under its id.
    pub fn fault_url(&self, spec: &FaultSpec) -> String {
        format!("{}/_faults/{spec}", self.url())
    }

    pub fn log(&self, id: &str) -> Vec<LogEntry> {
        self.mirror.log(id)
    }

    pub fn commit_of(&self, repo: &str) -> Option<String> {
        self.mirror.commit_of(repo)
    }

    pub fn mirror(&self) -> &Mirror {
        &self.mirror
    }
}

impl Drop for MirrorHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
