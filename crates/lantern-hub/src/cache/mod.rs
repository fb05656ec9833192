//! Where verified files are kept: huggingface_hub's cache folder natively, the Origin Private
//! File System in the browser. Both expose the same crate-internal `Begin`/`Partial` API that
//! [`HubClient::download`](crate::HubClient::download) drives.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::{Begin, Partial};
#[cfg(not(target_arch = "wasm32"))]
pub use native::{Cache, CachedFile, CachedSnapshot, HfCache};

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub(crate) use web::{Begin, Partial};
#[cfg(target_arch = "wasm32")]
pub use web::{Cache, CachedFile, OpfsCache};
