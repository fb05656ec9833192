//! The browser's WebGPU: the page's event loop drives the device.

use std::future::Future;

use crate::error::Result;

/// Nothing to do: map callbacks run from the event loop, and awaiting them yields to it.
pub(crate) fn wait(_device: &wgpu::Device) -> Result<()> {
    Ok(())
}

/// The browser resolves an error scope asynchronously; code that compiles a pipeline on demand
/// cannot wait for it, so the error (if any) is handed to `later`, which records it as the
/// device's failure for the next flush or readback to return.
pub(crate) fn settle_scope(
    scope: impl Future<Output = Option<wgpu::Error>> + 'static,
    later: impl FnOnce(String) + 'static,
) -> Option<String> {
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(e) = scope.await {
            later(e.to_string());
        }
    });
    None
}
