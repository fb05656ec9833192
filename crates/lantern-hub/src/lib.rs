//! The Hugging Face Hub client of Lantern, for native programs and for the browser.
//!
//! - metadata: a revision resolves to a commit; the tree API gives every file's size and hash;
//! - downloads are streamed, hashed while they arrive (sha256 for LFS files, the git blob id
//!   for the others), resumed with `Range` after a dropped connection, retried with backoff,
//!   and cancellable;
//! - verified files land in a cache: huggingface_hub's own layout natively (shared with
//!   Python), the Origin Private File System in the browser. Nothing unverified is ever
//!   visible there.
//!
//! ```no_run
//! # #[cfg(not(target_arch = "wasm32"))]
//! # async fn demo() -> Result<(), lantern_hub::HubError> {
//! use lantern_hub::{CancelToken, HfCache, HubClient};
//!
//! let client = HubClient::builder().endpoint("http://127.0.0.1:8765").build()?;
//! let repo = "lantern-fixtures/SmolLM2-135M-Instruct-GGUF".parse()?;
//! let model = client.pin(&repo, &["SmolLM2-135M-Instruct.Q4_1.gguf"]).await?;
//! let files = client
//!     .download(&model, &HfCache::from_env(), &mut |p| eprintln!("{:.0}%", p.percent()), &CancelToken::new())
//!     .await?;
//! println!("{}", files[0].display());
//! # Ok(()) }
//! ```

mod cache;
mod cancel;
mod client;
mod download;
mod error;
mod metadata;
mod retry;
#[cfg(not(target_arch = "wasm32"))]
mod snapshot;
mod transport;
mod verify;

pub use cache::*;
pub use cancel::{CancelToken, Cancelled};
pub use client::{DEFAULT_ENDPOINT, HubClient, HubClientBuilder};
pub use error::{HubError, Result};
pub use lantern_core::{
    ContentHash, ModelRef, Progress, RepoFile, RepoId, RepoPath, RepoRef, RepoType, Revision,
};
pub use metadata::{FileMetadata, next_tree_page, parse_revision, parse_tree_page};
pub use retry::RetryPolicy;
#[cfg(not(target_arch = "wasm32"))]
pub use snapshot::NetworkMode;
