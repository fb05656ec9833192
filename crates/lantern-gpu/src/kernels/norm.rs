//! RMS norm and layer norm, row by row.

use super::with_reduce;
use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::pipeline::KernelKey;
use crate::tensor::GpuTensor;

impl Gpu {
    /// RMS norm of every row, times `gain` (`[1, cols]`).
    pub fn rms_norm(&self, x: &GpuTensor, gain: &GpuTensor, eps: f32) -> Result<GpuTensor> {
        self.rms_norm_rows(x, x.rows(), x.cols(), gain, eps)
    }

    /// RMS norm of every `head_dim` slice of every row (Qwen3's q/k norm), times `gain`
    /// (`[1, head_dim]`).
    pub fn rms_norm_heads(
        &self,
        x: &GpuTensor,
        gain: &GpuTensor,
        head_dim: usize,
        eps: f32,
    ) -> Result<GpuTensor> {
        if head_dim == 0 || !x.cols().is_multiple_of(head_dim) {
            return Err(GpuError::shape(
                "rms_norm_heads",
                format!("head {head_dim} in {} columns", x.cols()),
            ));
        }
        let y = self.rms_norm_rows(x, x.len() / head_dim, head_dim, gain, eps)?;
        y.reshape(x.rows(), x.cols())
            .ok_or_else(|| GpuError::shape("rms_norm_heads", "reshape"))
    }

    fn rms_norm_rows(
        &self,
        x: &GpuTensor,
        rows: usize,
        cols: usize,
        gain: &GpuTensor,
        eps: f32,
    ) -> Result<GpuTensor> {
        if gain.len() != cols {
            return Err(GpuError::shape(
                "rms_norm",
                format!("{} gains for {cols} columns", gain.len()),
            ));
        }
        let y = self.empty(rows, cols)?;
        self.dispatch(
            &KernelKey::new("rms_norm"),
            || with_reduce(include_str!("rms_norm.wgsl")),
            &[x.buffer(), gain.buffer(), y.buffer()],
            &[rows as u32, cols as u32, eps.to_bits(), 0],
            rows as u32,
        )?;
        Ok(y)
    }

    /// Layer norm of every row: `(x - mean) / sqrt(var + eps) * gain + bias`.
    pub fn layer_norm(
        &self,
        x: &GpuTensor,
        gain: &GpuTensor,
        bias: Option<&GpuTensor>,
        eps: f32,
    ) -> Result<GpuTensor> {
        let cols = x.cols();
        if gain.len() != cols || bias.is_some_and(|b| b.len() != cols) {
            return Err(GpuError::shape(
                "layer_norm",
                format!(
                    "gain {} / bias {:?} for {cols} columns",
                    gain.len(),
                    bias.map(GpuTensor::len)
                ),
            ));
        }
        let y = self.empty(x.rows(), cols)?;
        self.dispatch(
            &KernelKey::new("layer_norm"),
            || with_reduce(include_str!("layer_norm.wgsl")),
            // Without a bias the gain stands in for it (never read): the bindings stay the same.
            &[
                x.buffer(),
                gain.buffer(),
                bias.unwrap_or(gain).buffer(),
                y.buffer(),
            ],
            &[
                x.rows() as u32,
                cols as u32,
                eps.to_bits(),
                u32::from(bias.is_some()),
            ],
            x.rows() as u32,
        )?;
        Ok(y)
    }
}
