//! The windows of a 1-D convolution's input, side by side (im2col), for a convolution as a
//! matrix product (Whisper's convolutional front end).

use super::groups;
use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::pipeline::KernelKey;
use crate::tensor::GpuTensor;

impl Gpu {
    /// `x` is `[len, channels]` (one row per time step); row `t` of the result is rows
    /// `t * stride - pad + k` of `x` for `k` in `0..kernel`, side by side
    /// (`[out_len, kernel * channels]`, `out_len = (len + 2 pad - kernel) / stride + 1`), with
    /// zeros where a window reaches outside `x`.
    pub fn unfold1d(
        &self,
        x: &GpuTensor,
        kernel: usize,
        stride: usize,
        pad: usize,
    ) -> Result<GpuTensor> {
        let (len, channels) = (x.rows(), x.cols());
        let span = len + 2 * pad;
        if kernel == 0 || stride == 0 || span < kernel {
            return Err(GpuError::shape(
                "unfold1d",
                format!("{len} rows, kernel {kernel}, stride {stride}, padding {pad}"),
            ));
        }
        let out_rows = (span - kernel) / stride + 1;
        let width = kernel * channels;
        // Indices in the kernel are u32.
        if u32::try_from(out_rows * width).is_err() || u32::try_from(span * channels).is_err() {
            return Err(GpuError::LimitsTooSmall {
                limit: "32-bit indexing of unfold1d",
                required: (out_rows * width) as u64,
                available: u64::from(u32::MAX),
            });
        }
        let y = self.empty(out_rows, width)?;
        if y.is_empty() {
            return Ok(y);
        }
        self.dispatch(
            &KernelKey::new("unfold1d"),
            || include_str!("unfold.wgsl").to_owned(),
            &[x.buffer(), y.buffer()],
            &[
                out_rows as u32,
                len as u32,
                channels as u32,
                kernel as u32,
                stride as u32,
                pad as u32,
                0,
                0,
            ],
            groups(out_rows * width, 256),
        )?;
        Ok(y)
    }
}
