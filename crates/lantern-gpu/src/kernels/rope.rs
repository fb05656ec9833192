//! Rotary position embedding.

use super::groups;
use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::pipeline::KernelKey;
use crate::tensor::GpuTensor;

/// How the rotated dimensions of a head are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// `(2i, 2i + 1)`: llama.cpp's `LLAMA_ROPE_TYPE_NORM` (llama, Mistral in GGUF).
    Interleaved,
    /// `(i, i + d/2)`: `LLAMA_ROPE_TYPE_NEOX` (Qwen2/3, most models as Hugging Face stores them).
    Neox,
}

/// cos and sin per (position, rotated pair) on the GPU, row-major.
///
/// The host computes the angles (in f64, so every backend rounds the same values) and uploads
/// a table; one table for the whole context is a few hundred KB and is uploaded once.
#[derive(Debug)]
pub struct GpuRopeTable {
    cos: GpuTensor,
    sin: GpuTensor,
}

impl GpuRopeTable {
    /// Positions in the table.
    pub fn positions(&self) -> usize {
        self.cos.rows()
    }

    /// Rotated pairs per head (half the rotary dimensions).
    pub fn half(&self) -> usize {
        self.cos.cols()
    }
}

impl Gpu {
    /// A table of `cos` and `sin`, `half` values per position.
    pub fn rope_table(&self, cos: &[f32], sin: &[f32], half: usize) -> Result<GpuRopeTable> {
        if half == 0 || cos.len() != sin.len() || !cos.len().is_multiple_of(half) {
            return Err(GpuError::shape(
                "rope_table",
                format!("{} cos, {} sin, {half} per position", cos.len(), sin.len()),
            ));
        }
        let rows = cos.len() / half;
        Ok(GpuRopeTable {
            cos: self.tensor(cos, rows, half)?,
            sin: self.tensor(sin, rows, half)?,
        })
    }

    /// Rotates every head of every row of `x` in place, row `i` at table position
    /// `first_position + i`.
    pub fn rope(
        &self,
        x: &mut GpuTensor,
        head_dim: usize,
        style: RopeStyle,
        table: &GpuRopeTable,
        first_position: usize,
    ) -> Result<()> {
        let half = table.half();
        if head_dim == 0
            || 2 * half > head_dim
            || !x.cols().is_multiple_of(head_dim)
            || first_position + x.rows() > table.positions()
        {
            return Err(GpuError::shape(
                "rope",
                format!(
                    "{}x{}, head {head_dim}, {half} pairs, positions {first_position}+{} of {}",
                    x.rows(),
                    x.cols(),
                    x.rows(),
                    table.positions()
                ),
            ));
        }
        let threads = x.rows() * (x.cols() / head_dim) * half;
        self.dispatch(
            &KernelKey::new("rope"),
            || include_str!("rope.wgsl").to_owned(),
            &[x.buffer(), table.cos.buffer(), table.sin.buffer()],
            &[
                x.rows() as u32,
                x.cols() as u32,
                head_dim as u32,
                half as u32,
                u32::from(style == RopeStyle::Neox),
                first_position as u32,
                0,
                0,
            ],
            groups(threads, 64),
        )
    }
}
