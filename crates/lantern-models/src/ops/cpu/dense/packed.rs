//! wasm f32 weights: Lantern's packed simd128 matmul ([`PackedF32`]), weights packed into
//! 8-column panels once at load, the bias as the accumulators' start.

use crate::error::Result;
use crate::ops::cpu::packed_f32::PackedF32;

#[derive(Debug)]
pub(super) struct F32Weights {
    packed: PackedF32,
    /// The kernel always starts from a bias: zeros for a layer without one.
    zeros: Vec<f32>,
}

impl F32Weights {
    pub(super) fn new(w: Vec<f32>, rows: usize, cols: usize) -> Result<Self> {
        Ok(F32Weights {
            packed: PackedF32::new(&w, rows, cols)?,
            zeros: vec![0f32; rows],
        })
    }

    /// `x · wᵀ + bias` for `m` rows of `x` (lengths checked by the caller).
    pub(super) fn linear(&self, x: &[f32], _m: usize, bias: Option<&[f32]>) -> Result<Vec<f32>> {
        self.packed.matmul_bias(x, bias.unwrap_or(&self.zeros))
    }
}
