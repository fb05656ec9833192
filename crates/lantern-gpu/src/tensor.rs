//! Activations and token ids living on the GPU.

use crate::pool::PooledBuffer;

/// A `rows x cols` matrix of f32 activations (one row per token), row-major, in a pooled buffer.
///
/// Activations stay f32 whatever the kernels' precision: they are a small part of the memory
/// traffic of a decode step (the weights are the rest), and f32 keeps the residual stream and the
/// KV cache as exact as the CPU's.
#[derive(Debug)]
pub struct GpuTensor {
    buf: PooledBuffer,
    rows: usize,
    cols: usize,
}

impl GpuTensor {
    pub(crate) fn new(buf: PooledBuffer, rows: usize, cols: usize) -> GpuTensor {
        GpuTensor { buf, rows, cols }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn buffer(&self) -> &wgpu::Buffer {
        self.buf.buffer()
    }

    /// The same buffer seen with another shape of the same size (e.g. `[n, heads * d]` as
    /// `[n * heads, d]` for a per-head norm).
    pub fn reshape(self, rows: usize, cols: usize) -> Option<GpuTensor> {
        (rows * cols == self.len()).then_some(GpuTensor {
            buf: self.buf,
            rows,
            cols,
        })
    }
}

/// Token ids on the GPU: the input of an embedding lookup, or what the sampler chose.
#[derive(Debug)]
pub struct GpuIds {
    buf: PooledBuffer,
    len: usize,
}

impl GpuIds {
    pub(crate) fn new(buf: PooledBuffer, len: usize) -> GpuIds {
        GpuIds { buf, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn buffer(&self) -> &wgpu::Buffer {
        self.buf.buffer()
    }
}
