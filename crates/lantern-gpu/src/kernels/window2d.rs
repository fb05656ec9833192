//! The 2-D window ops of the convolutional vision models over one image held as
//! `[height * width, channels]` (one row per pixel, channels innermost): im2col, depthwise
//! convolution, max pooling, and the mean of the rows (global average pooling).

use super::{groups, with_reduce};
use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::pipeline::KernelKey;
use crate::tensor::GpuTensor;

/// The geometry of a 2-D window op over an image of `height x width` pixels: a
/// `kernel_h x kernel_w` window moved by `stride` along both axes, over the image padded with
/// `top` / `left` / `bottom` / `right` cells (symmetric as PyTorch's `Conv2d(padding=n)`, or
/// uneven as TF's "same", which puts the smaller half first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window2d {
    pub height: usize,
    pub width: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride: usize,
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
}

impl Window2d {
    /// `(out_height, out_width)`, or `None` where the geometry is impossible: an empty image
    /// or kernel, a zero stride, a kernel larger than the padded image, or padding as wide as
    /// the kernel (a window could see only padding).
    pub fn out_size(&self) -> Option<(usize, usize)> {
        let axis = |n: usize, k: usize, before: usize, after: usize| {
            let span = n.checked_add(before)?.checked_add(after)?;
            if n == 0 || k == 0 || self.stride == 0 || span < k || before >= k || after >= k {
                return None;
            }
            Some((span - k) / self.stride + 1)
        };
        Some((
            axis(self.height, self.kernel_h, self.top, self.bottom)?,
            axis(self.width, self.kernel_w, self.left, self.right)?,
        ))
    }

    /// Checks the window against `x` (`[height * width, channels]`), and that every index the
    /// kernels compute fits their 32-bit integers; returns the output's `[out_h, out_w]`.
    fn check(&self, op: &'static str, x: &GpuTensor, out_cols: usize) -> Result<[usize; 2]> {
        let bad = || GpuError::shape(op, format!("{}x{} input for {self:?}", x.rows(), x.cols()));
        let (oh, ow) = self.out_size().ok_or_else(bad)?;
        if self.height.checked_mul(self.width) != Some(x.rows()) || x.cols() == 0 {
            return Err(bad());
        }
        // Pixel indices are i32 in the kernels (-1 is padding); every other index is u32.
        let spans = [
            oh.checked_mul(self.stride)
                .and_then(|v| v.checked_add(self.kernel_h)),
            ow.checked_mul(self.stride)
                .and_then(|v| v.checked_add(self.kernel_w)),
            oh.checked_mul(ow).and_then(|v| v.checked_mul(out_cols)),
            x.rows().checked_mul(x.cols()),
            self.kernel_h
                .checked_mul(self.kernel_w)
                .and_then(|v| v.checked_mul(x.cols())),
        ];
        // An overflow is past any limit: not `usize::MAX`, which on wasm32 is `u32::MAX` and
        // would pass the check below.
        let required = spans
            .iter()
            .map(|s| s.map_or(u64::MAX, |v| v as u64))
            .chain([x.rows() as u64 * 2])
            .max()
            .unwrap_or(0);
        if required > u64::from(u32::MAX) {
            return Err(GpuError::LimitsTooSmall {
                limit: "32-bit indexing of the 2-D window ops",
                required,
                available: u64::from(u32::MAX),
            });
        }
        Ok([oh, ow])
    }

    fn params(&self, channels: usize, oh: usize, ow: usize, out_cols: usize) -> [u32; 12] {
        [
            self.height,
            self.width,
            channels,
            self.kernel_h,
            self.kernel_w,
            self.stride,
            self.top,
            self.left,
            oh,
            ow,
            out_cols,
            0,
        ]
        .map(|v| v as u32)
    }
}

/// A kernel's source after the shared geometry.
fn with_window(src: &str) -> String {
    format!("{}\n{src}", include_str!("window2d.wgsl"))
}

impl Gpu {
    /// im2col: `x` is `[height * width, channels]`; row `oy * out_w + ox` of the result holds,
    /// for each kernel cell `(ky, kx)` in row-major order, the `channels` values of pixel
    /// `(oy * stride + ky - top, ox * stride + kx - left)` (zeros where that is padding), then
    /// zeros up to `out_cols` columns: `[out_h * out_w, out_cols]`. A convolution is then a
    /// matrix product, and the zero columns let its weight's rows be padded to the multiple of
    /// 8 the dense kernels read. `out_cols` below `kernel_h * kernel_w * channels` is an error.
    pub fn unfold2d(&self, x: &GpuTensor, w: &Window2d, out_cols: usize) -> Result<GpuTensor> {
        let width = w
            .kernel_h
            .saturating_mul(w.kernel_w)
            .saturating_mul(x.cols());
        if out_cols < width {
            return Err(GpuError::shape(
                "unfold2d",
                format!("{out_cols} columns for {width} unfolded values"),
            ));
        }
        let [oh, ow] = w.check("unfold2d", x, out_cols)?;
        let y = self.empty(oh * ow, out_cols)?;
        self.dispatch(
            &KernelKey::new("unfold2d"),
            || with_window(include_str!("unfold2d.wgsl")),
            &[x.buffer(), y.buffer()],
            &w.params(x.cols(), oh, ow, out_cols),
            groups(y.len(), 256),
        )?;
        Ok(y)
    }

    /// A depthwise convolution (one filter per channel) plus a bias: `x` is
    /// `[height * width, channels]`, `weight` holds `kernel_h * kernel_w * channels` values
    /// (`[kh * kw, channels]`), `bias` `channels`. Returns `[out_h * out_w, channels]`.
    pub fn depthwise_conv2d(
        &self,
        x: &GpuTensor,
        weight: &GpuTensor,
        bias: &GpuTensor,
        w: &Window2d,
    ) -> Result<GpuTensor> {
        let channels = x.cols();
        let [oh, ow] = w.check("depthwise_conv2d", x, channels)?;
        if weight.len() != w.kernel_h * w.kernel_w * channels || bias.len() != channels {
            return Err(GpuError::shape(
                "depthwise_conv2d",
                format!(
                    "{} weights, {} biases for a {}x{} kernel over {channels} channels",
                    weight.len(),
                    bias.len(),
                    w.kernel_h,
                    w.kernel_w
                ),
            ));
        }
        let y = self.empty(oh * ow, channels)?;
        self.dispatch(
            &KernelKey::new("depthwise_conv2d"),
            || with_window(include_str!("depthwise_conv2d.wgsl")),
            &[x.buffer(), weight.buffer(), bias.buffer(), y.buffer()],
            &w.params(channels, oh, ow, channels),
            groups(y.len(), 256),
        )?;
        Ok(y)
    }

    /// Max pooling of every channel over the window (padding never wins, as PyTorch's
    /// `MaxPool2d` pads with -inf). Returns `[out_h * out_w, channels]`.
    pub fn max_pool2d(&self, x: &GpuTensor, w: &Window2d) -> Result<GpuTensor> {
        let channels = x.cols();
        let [oh, ow] = w.check("max_pool2d", x, channels)?;
        let y = self.empty(oh * ow, channels)?;
        self.dispatch(
            &KernelKey::new("max_pool2d"),
            || with_window(include_str!("max_pool2d.wgsl")),
            &[x.buffer(), y.buffer()],
            &w.params(channels, oh, ow, channels),
            groups(y.len(), 256),
        )?;
        Ok(y)
    }

    /// The mean of every column of `x` (global average pooling of `[height * width,
    /// channels]`): `[1, cols]`, summed in f32 in a tree (relative error about 1e-6). No rows
    /// or no columns is a shape error.
    pub fn mean_rows(&self, x: &GpuTensor) -> Result<GpuTensor> {
        let (rows, cols) = (x.rows(), x.cols());
        if x.is_empty() {
            return Err(GpuError::shape("mean_rows", format!("{rows}x{cols}")));
        }
        if u32::try_from(x.len()).is_err() {
            return Err(GpuError::LimitsTooSmall {
                limit: "32-bit indexing of mean_rows",
                required: x.len() as u64,
                available: u64::from(u32::MAX),
            });
        }
        let y = self.empty(1, cols)?;
        self.dispatch(
            &KernelKey::new("mean_rows"),
            || with_reduce(include_str!("mean_rows.wgsl")),
            &[x.buffer(), y.buffer()],
            &[rows as u32, cols as u32, 0, 0],
            cols as u32,
        )?;
        Ok(y)
    }
}
