//! In a browser a readback can only be awaited: the map callback runs from the event loop, which
//! a blocked worker never returns to. The op layer's `read` is synchronous, so it cannot be
//! served here until the op layer gets an asynchronous readback.

use lantern_gpu::{Gpu, GpuError, GpuTensor};

pub(super) fn block_on_read(_gpu: &Gpu, _x: &GpuTensor) -> Result<Vec<f32>, GpuError> {
    Err(GpuError::Unsupported {
        what: "a synchronous readback in the browser (the op layer needs an async read)".into(),
    })
}
