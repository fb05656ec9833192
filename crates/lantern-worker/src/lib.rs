//! Lantern's inference worker: holds the pipelines and answers lantern-core's protocol.
//!
//! In the browser it is the wasm of a module Web Worker (`static/worker.js` loads it and calls
//! [`start`]); natively the same loop runs on a thread ([`NativeWorker`]), which is how the
//! protocol is tested without a browser.
//!
//! ```no_run
//! # #[cfg(not(target_arch = "wasm32"))] {
//! use lantern_core::protocol::{Event, Request};
//! let worker = lantern_worker::NativeWorker::spawn(lantern_hub::HfCache::from_env(), 1);
//! worker.send(Request::CacheStatus);
//! if let Ok(Event::Started { threads }) = worker.recv() { assert_eq!(threads, 1); }
//! # }
//! ```

mod engine;

pub use engine::{Cancels, LOAD_ID};

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
use native as platform;
#[cfg(not(target_arch = "wasm32"))]
pub use native::NativeWorker;

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
use web as platform;
#[cfg(target_arch = "wasm32")]
pub use web::start;

// The threaded build's pool (the loader calls `initThreadPool` before `start`).
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub use wasm_bindgen_rayon::init_thread_pool;
