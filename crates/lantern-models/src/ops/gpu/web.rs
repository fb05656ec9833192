//! In a browser a readback can only be awaited: the map callback runs from the event loop, which
//! a blocked worker never returns to. So the synchronous `Backend::read` is refused here with a
//! typed error; the browser worker calls the awaited path (`Backend::read_async`,
//! `CausalLm::forward_async`), which the GPU backend implements.

use lantern_gpu::{Gpu, GpuError, GpuTensor};

pub(super) fn block_on_read(_gpu: &Gpu, _x: &GpuTensor) -> Result<Vec<f32>, GpuError> {
    Err(GpuError::Unsupported {
        what: "a synchronous readback in the browser (use the async forward)".into(),
    })
}
