//! What a long run asks its host between two steps: whether to stop, and a pause that lets the
//! host run. A Web Worker reads its messages (`Cancel` among them) only when the wasm yields to
//! its event loop, so a decoder that never awaited anything but its own compute could not be
//! cancelled; natively the pause is nothing.

use futures_util::future::LocalBoxFuture;

pub trait Steps {
    fn cancelled(&self) -> bool;

    /// Awaited before every check of [`Steps::cancelled`].
    fn pause(&self) -> LocalBoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// A plain flag: `&|| false` never stops, `&|| token.is_cancelled()` stops when asked.
impl<F: Fn() -> bool> Steps for F {
    fn cancelled(&self) -> bool {
        self()
    }
}

/// Pauses, then says whether to stop.
pub async fn stop_here(steps: &dyn Steps) -> bool {
    steps.pause().await;
    steps.cancelled()
}
