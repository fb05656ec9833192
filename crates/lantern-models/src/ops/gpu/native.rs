//! Natively a readback can block: polling the device runs the map callback.

use lantern_gpu::{Gpu, GpuError, GpuTensor};

pub(super) fn block_on_read(gpu: &Gpu, x: &GpuTensor) -> Result<Vec<f32>, GpuError> {
    pollster::block_on(gpu.read(x))
}
