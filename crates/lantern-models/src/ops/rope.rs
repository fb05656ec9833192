//! Rotary position embedding: the frequencies, from GGUF hyperparameters.

use crate::error::{ModelError, Result};

/// How the rotated dimensions are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Pairs `(2i, 2i + 1)`: llama.cpp's `LLAMA_ROPE_TYPE_NORM` (llama, Mistral); GGUF
    /// converters permute q/k weights for it.
    Interleaved,
    /// Pairs `(i, i + d/2)`: `LLAMA_ROPE_TYPE_NEOX` (Qwen2, Qwen3, most HF models as stored).
    Neox,
}

/// Context extension applied to the frequencies.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    None,
    /// Positions divided by `factor` (`rope.scaling.type = linear`).
    Linear {
        factor: f32,
    },
    /// Per-frequency divisors from the `rope_freqs.weight` tensor (llama 3.1+).
    FreqFactors(Vec<f32>),
}

/// The rotary embedding of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Rope {
    pub style: RopeStyle,
    /// Rotated dimensions per head (the first `dims` of each head; the rest pass through).
    pub dims: usize,
    /// One inverse frequency per rotated pair.
    inv_freq: Vec<f64>,
}

impl Rope {
    pub fn new(style: RopeStyle, dims: usize, base: f32, scaling: RopeScaling) -> Result<Rope> {
        if dims == 0 || !dims.is_multiple_of(2) {
            return Err(ModelError::InvalidConfig {
                name: "rope.dimension_count",
                reason: format!("{dims} is not even"),
            });
        }
        if !(base.is_finite() && base > 0.0) {
            return Err(ModelError::InvalidConfig {
                name: "rope.freq_base",
                reason: format!("{base}"),
            });
        }
        let half = dims / 2;
        let mut inv_freq: Vec<f64> = (0..half)
            .map(|i| (base as f64).powf(-2.0 * i as f64 / dims as f64))
            .collect();
        match scaling {
            RopeScaling::None => {}
            RopeScaling::Linear { factor } => {
                if !(factor.is_finite() && factor > 0.0) {
                    return Err(ModelError::InvalidConfig {
                        name: "rope.scaling.factor",
                        reason: format!("{factor}"),
                    });
                }
                inv_freq.iter_mut().for_each(|f| *f /= factor as f64);
            }
            RopeScaling::FreqFactors(factors) => {
                if factors.len() != half || factors.iter().any(|f| !(f.is_finite() && *f > 0.0)) {
                    return Err(ModelError::InvalidConfig {
                        name: "rope_freqs.weight",
                        reason: format!("{} factors for {half} frequencies", factors.len()),
                    });
                }
                inv_freq
                    .iter_mut()
                    .zip(factors)
                    .for_each(|(f, d)| *f /= d as f64);
            }
        }
        Ok(Rope {
            style,
            dims,
            inv_freq,
        })
    }

    /// cos/sin for `n` consecutive positions from `start`. Computed in f64 and rounded, so
    /// native and wasm builds get the same bits.
    pub fn angles(&self, start: usize, n: usize) -> RopeAngles {
        let half = self.inv_freq.len();
        let mut cos = Vec::with_capacity(n * half);
        let mut sin = Vec::with_capacity(n * half);
        for p in start..start + n {
            for f in &self.inv_freq {
                let a = p as f64 * f;
                cos.push(a.cos() as f32);
                sin.push(a.sin() as f32);
            }
        }
        RopeAngles { half, cos, sin }
    }
}

/// cos and sin per (position, pair), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeAngles {
    pub half: usize,
    pub cos: Vec<f32>,
    pub sin: Vec<f32>,
}

impl RopeAngles {
    pub fn positions(&self) -> usize {
        self.cos.len().checked_div(self.half).unwrap_or(0)
    }
}
