//! Native (Vulkan, Metal, D3D12): the process drives the device itself.

use std::future::Future;

use futures_util::FutureExt;

use crate::error::{GpuError, Result};

/// Runs the device until submitted work is done, which also runs map callbacks.
pub(crate) fn wait(device: &wgpu::Device) -> Result<()> {
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map(drop)
        .map_err(|e| GpuError::DeviceLost {
            reason: e.to_string(),
        })
}

/// The error an error scope caught. Natively the scope's future is already resolved when it is
/// popped, so the error is returned at once and `_later` is never needed.
pub(crate) fn settle_scope(
    scope: impl Future<Output = Option<wgpu::Error>>,
    _later: impl FnOnce(String) + 'static,
) -> Option<String> {
    scope.now_or_never().flatten().map(|e| scope_message(&e))
}

fn scope_message(e: &wgpu::Error) -> String {
    match e {
        wgpu::Error::Validation { description, .. } | wgpu::Error::Internal { description, .. } => {
            description.clone()
        }
        wgpu::Error::OutOfMemory { .. } => e.to_string(),
    }
}
