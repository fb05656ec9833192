//! Softmax of every row.

use super::with_reduce;
use crate::context::Gpu;
use crate::error::Result;
use crate::pipeline::KernelKey;
use crate::tensor::GpuTensor;

impl Gpu {
    pub fn softmax(&self, x: &GpuTensor) -> Result<GpuTensor> {
        let y = self.empty(x.rows(), x.cols())?;
        self.dispatch(
            &KernelKey::new("softmax"),
            || with_reduce(include_str!("softmax.wgsl")),
            &[x.buffer(), y.buffer()],
            &[x.rows() as u32, x.cols() as u32, 0, 0],
            x.rows() as u32,
        )?;
        Ok(y)
    }
}
