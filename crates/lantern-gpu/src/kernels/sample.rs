//! Choosing the next token on the GPU, so that only its id comes back.
//!
//! Reading a whole row of logits back costs `vocab * 4` bytes per token (200 KB for SmolLM2,
//! 500 KB for a 128k vocabulary) through a staging buffer, and then a softmax and a sort on the
//! CPU; reading one id costs 4 bytes. The round trip itself remains (the host must know the id
//! to stream text and to stop).

use super::with_reduce;
use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::pipeline::KernelKey;
use crate::tensor::{GpuIds, GpuTensor};

/// How to choose among the logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// `<= 0` means greedy (argmax).
    pub temperature: f32,
    /// Keep the `top_k` largest logits (ties at the boundary are kept too); 0 turns it off.
    pub top_k: usize,
    /// Keep the most probable tokens until their mass reaches `top_p`; `>= 1` turns it off.
    pub top_p: f32,
}

impl Gpu {
    /// The index of the largest value of every row (the first on ties). A row with no value
    /// above `f32::MIN` (all NaN or -inf) gives `u32::MAX`.
    pub fn argmax(&self, logits: &GpuTensor) -> Result<GpuIds> {
        let ids = self.alloc((logits.rows() * 4) as u64)?;
        self.dispatch(
            &KernelKey::new("argmax"),
            || include_str!("argmax.wgsl").to_owned(),
            &[logits.buffer(), ids.buffer()],
            &[logits.rows() as u32, logits.cols() as u32, 0, 0],
            logits.rows() as u32,
        )?;
        Ok(GpuIds::new(ids, logits.rows()))
    }

    /// One token per row, drawn with `uniform` (in `[0, 1)`, from the caller's seeded
    /// generator) as described in `sample.wgsl`; greedy when the temperature is not positive.
    pub fn sample(&self, logits: &GpuTensor, sampling: &Sampling, uniform: f32) -> Result<GpuIds> {
        if sampling.temperature <= 0.0 {
            return self.argmax(logits);
        }
        if !(0.0..1.0).contains(&uniform)
            || !sampling.temperature.is_finite()
            || sampling.top_p.is_nan()
        {
            return Err(GpuError::shape(
                "sample",
                format!("uniform {uniform}, temperature {}", sampling.temperature),
            ));
        }
        let ids = self.alloc((logits.rows() * 4) as u64)?;
        let top_k = u32::try_from(sampling.top_k).unwrap_or(u32::MAX);
        self.dispatch(
            &KernelKey::new("sample"),
            || with_reduce(include_str!("sample.wgsl")),
            &[logits.buffer(), ids.buffer()],
            &[
                logits.rows() as u32,
                logits.cols() as u32,
                top_k,
                sampling.top_p.to_bits(),
                (1.0 / sampling.temperature).to_bits(),
                uniform.to_bits(),
                0,
                0,
            ],
            logits.rows() as u32,
        )?;
        Ok(GpuIds::new(ids, logits.rows()))
    }
}
