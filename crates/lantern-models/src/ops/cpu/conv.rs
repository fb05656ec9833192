//! 2-D window ops over one image held as `[height * width, channels]` (one row per pixel,
//! channels contiguous): im2col, depthwise convolution, max pooling, the mean of the rows.
//!
//! Channels are the innermost axis, so every inner loop is an element-wise loop over a
//! contiguous run of channels (a kernel cell's weights against one pixel's values), which the
//! compiler vectorizes (simd128 in wasm, SSE/AVX natively) without per-lane code; the pixel
//! loops around it are split by output rows across threads when the image is large. The GPU
//! backend's WGSL kernels (`lantern_gpu::Gpu::unfold2d` and its siblings) compute the same.

use super::team;
use crate::error::{ModelError, Result};
use crate::ops::Window2d;

/// Output rows per parallel task, and the work (multiply-adds) under which one thread runs it
/// all (a task's hand-off costs more than a small image's loop).
const MIN_PARALLEL_WORK: usize = 1 << 16;

fn check_data(op: &'static str, data: usize, rows: usize, cols: usize) -> Result<()> {
    if rows.checked_mul(cols) == Some(data) {
        Ok(())
    } else {
        Err(ModelError::shape(
            op,
            format!("{data} values for {rows}x{cols}"),
        ))
    }
}

/// Runs `f(oy, out_row)` for every output row `oy` of `out` (`out_h` rows of `row_len` values),
/// in parallel when `work` is large enough.
fn per_output_row(
    out: &mut [f32],
    row_len: usize,
    work: usize,
    f: impl Fn(usize, &mut [f32]) + Sync + Send,
) {
    if row_len == 0 {
        return;
    }
    if work < MIN_PARALLEL_WORK || rayon::current_num_threads() <= 1 {
        out.chunks_exact_mut(row_len)
            .enumerate()
            .for_each(|(oy, r)| f(oy, r));
    } else {
        let tasks: Vec<_> = out.chunks_exact_mut(row_len).enumerate().collect();
        team::for_each(tasks, |(oy, r)| f(oy, r));
    }
}

/// The input row of kernel cell `k` of output index `o` along an axis, or `None` in padding.
#[inline]
fn source(o: usize, k: usize, stride: usize, before: usize, n: usize) -> Option<usize> {
    (o * stride + k).checked_sub(before).filter(|&i| i < n)
}

/// im2col: `[out_h * out_w, cols]`, the unfolded `kh * kw * channels` values of each pixel
/// followed by zeros (see `Backend::unfold2d`).
pub(crate) fn unfold2d(
    x: &[f32],
    channels: usize,
    w: &Window2d,
    cols: usize,
) -> Result<(Vec<f32>, usize, usize)> {
    let (oh, ow) = w.check("unfold2d", x.len().checked_div(channels).unwrap_or(0))?;
    check_data("unfold2d", x.len(), w.height * w.width, channels)?;
    let used = w.kernel_h * w.kernel_w * channels;
    if cols < used {
        return Err(ModelError::shape(
            "unfold2d",
            format!("{cols} columns for {used} unfolded values"),
        ));
    }
    let width = cols;
    let len = (oh * ow).checked_mul(width).ok_or_else(|| {
        ModelError::shape("unfold2d", format!("{oh}x{ow} pixels of {width} columns"))
    })?;
    let mut out = vec![0f32; len];
    let p = w.padding;
    per_output_row(&mut out, ow * width, oh * ow * width, |oy, row| {
        for ky in 0..w.kernel_h {
            let Some(iy) = source(oy, ky, w.stride, p.top, w.height) else {
                continue;
            };
            for (ox, pixel) in row.chunks_exact_mut(width).enumerate() {
                for kx in 0..w.kernel_w {
                    if let Some(ix) = source(ox, kx, w.stride, p.left, w.width) {
                        let src = (iy * w.width + ix) * channels;
                        let dst = (ky * w.kernel_w + kx) * channels;
                        pixel[dst..dst + channels].copy_from_slice(&x[src..src + channels]);
                    }
                }
            }
        }
    });
    Ok((out, oh * ow, width))
}

/// Depthwise convolution plus bias: `[out_h * out_w, channels]`.
pub(crate) fn depthwise_conv2d(
    x: &[f32],
    channels: usize,
    weight: &[f32],
    bias: &[f32],
    w: &Window2d,
) -> Result<(Vec<f32>, usize)> {
    let rows = x.len().checked_div(channels).unwrap_or(0);
    let (oh, ow) = w.check("depthwise_conv2d", rows)?;
    check_data("depthwise_conv2d", x.len(), w.height * w.width, channels)?;
    let cells = w.kernel_h * w.kernel_w;
    if weight.len() != cells * channels || bias.len() != channels {
        return Err(ModelError::shape(
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
    let mut out = vec![0f32; oh * ow * channels];
    let p = w.padding;
    per_output_row(
        &mut out,
        ow * channels,
        oh * ow * cells * channels,
        |oy, row| {
            for (ox, acc) in row.chunks_exact_mut(channels).enumerate() {
                acc.copy_from_slice(bias);
                for ky in 0..w.kernel_h {
                    let Some(iy) = source(oy, ky, w.stride, p.top, w.height) else {
                        continue;
                    };
                    for kx in 0..w.kernel_w {
                        let Some(ix) = source(ox, kx, w.stride, p.left, w.width) else {
                            continue;
                        };
                        let src = &x[(iy * w.width + ix) * channels..][..channels];
                        let k = &weight[(ky * w.kernel_w + kx) * channels..][..channels];
                        multiply_add(acc, k, src);
                    }
                }
            }
        },
    );
    Ok((out, oh * ow))
}

/// `acc += a * b`, element-wise, in blocks of 8 (one or two SIMD registers, whose bounds the
/// compiler can see) and a scalar tail.
#[inline]
fn multiply_add(acc: &mut [f32], a: &[f32], b: &[f32]) {
    let n = acc.len().min(a.len()).min(b.len());
    let (acc, a, b) = (&mut acc[..n], &a[..n], &b[..n]);
    let mut acc_blocks = acc.chunks_exact_mut(8);
    let mut a_blocks = a.chunks_exact(8);
    let mut b_blocks = b.chunks_exact(8);
    for ((o, x), y) in (&mut acc_blocks).zip(&mut a_blocks).zip(&mut b_blocks) {
        for i in 0..8 {
            o[i] += x[i] * y[i];
        }
    }
    for ((o, x), y) in acc_blocks
        .into_remainder()
        .iter_mut()
        .zip(a_blocks.remainder())
        .zip(b_blocks.remainder())
    {
        *o += x * y;
    }
}

/// Max pooling: `[out_h * out_w, channels]`.
pub(crate) fn max_pool2d(x: &[f32], channels: usize, w: &Window2d) -> Result<(Vec<f32>, usize)> {
    let rows = x.len().checked_div(channels).unwrap_or(0);
    let (oh, ow) = w.check("max_pool2d", rows)?;
    check_data("max_pool2d", x.len(), w.height * w.width, channels)?;
    let mut out = vec![f32::NEG_INFINITY; oh * ow * channels];
    let p = w.padding;
    let cells = w.kernel_h * w.kernel_w;
    per_output_row(
        &mut out,
        ow * channels,
        oh * ow * cells * channels,
        |oy, row| {
            for (ox, best) in row.chunks_exact_mut(channels).enumerate() {
                for ky in 0..w.kernel_h {
                    let Some(iy) = source(oy, ky, w.stride, p.top, w.height) else {
                        continue;
                    };
                    for kx in 0..w.kernel_w {
                        let Some(ix) = source(ox, kx, w.stride, p.left, w.width) else {
                            continue;
                        };
                        let src = &x[(iy * w.width + ix) * channels..][..channels];
                        best.iter_mut().zip(src).for_each(|(b, &v)| *b = b.max(v));
                    }
                }
            }
        },
    );
    Ok((out, oh * ow))
}

/// The mean of every column of `rows x cols`: `cols` values.
pub(crate) fn mean_rows(x: &[f32], rows: usize, cols: usize) -> Result<Vec<f32>> {
    check_data("mean_rows", x.len(), rows, cols)?;
    if rows == 0 {
        return Err(ModelError::shape("mean_rows", "no rows"));
    }
    // f64 sums: a 7x7 map is short, but a detector's feature map can have thousands of rows.
    let mut sum = vec![0f64; cols];
    if cols > 0 {
        for row in x.chunks_exact(cols) {
            sum.iter_mut()
                .zip(row)
                .for_each(|(s, &v)| *s += f64::from(v));
        }
    }
    Ok(sum.into_iter().map(|s| (s / rows as f64) as f32).collect())
}
