//! Matrix products with (quantized) weights, and the embedding lookup that reads the same
//! layouts.

use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::pipeline::{KernelKey, Precision};
use crate::tensor::{GpuIds, GpuTensor};
use crate::weights::GpuWeight;

/// Up to this many tokens the matrix-vector kernel is used: it reads the weights once per token,
/// which for a few tokens is cheaper than the tiled kernel's 32-token tiles mostly left empty.
pub const MATVEC_MAX_TOKENS: usize = 4;

impl Gpu {
    /// `x · wᵀ`: `[n, in] x [out, in] -> [n, out]`.
    pub fn matmul(&self, x: &GpuTensor, w: &GpuWeight) -> Result<GpuTensor> {
        self.linear(x, w, None)
    }

    /// `x · wᵀ + bias` (`bias`: `[1, out]`), the bias added by the matmul kernel as it writes
    /// each output (a linear layer in one pass).
    pub fn linear(
        &self,
        x: &GpuTensor,
        w: &GpuWeight,
        bias: Option<&GpuTensor>,
    ) -> Result<GpuTensor> {
        if let Some(b) = bias
            && b.len() != w.rows()
        {
            return Err(GpuError::shape(
                "linear",
                format!("{} biases for {:?} of {} rows", b.len(), w.name(), w.rows()),
            ));
        }
        if x.cols() != w.cols() {
            return Err(GpuError::shape(
                "matmul",
                format!(
                    "{}x{} · {:?} {}x{}",
                    x.rows(),
                    x.cols(),
                    w.name(),
                    w.rows(),
                    w.cols()
                ),
            ));
        }
        let y = self.empty(x.rows(), w.rows())?;
        if x.rows() == 0 {
            return Ok(y);
        }
        let ty = w.weight_type();
        let tiled = x.rows() > MATVEC_MAX_TOKENS && w.cols().is_multiple_of(32);
        let kernel = if tiled { "matmul" } else { "matvec" };
        let key = KernelKey::new(kernel)
            .weights(ty)
            .precision(self.precision())
            .constant("HAS_BIAS", u32::from(bias.is_some()));
        let template = if tiled {
            include_str!("matmul.wgsl")
        } else {
            include_str!("matvec.wgsl")
        };
        for part in &w.parts {
            let [c, s, r, r0] = w.part_params(part);
            let (params, groups) = if tiled {
                let row_tiles = part.rows.div_ceil(64) as u32;
                let token_tiles = x.rows().div_ceil(32) as u32;
                (
                    [
                        c,
                        s,
                        r,
                        r0,
                        x.rows() as u32,
                        w.rows() as u32,
                        row_tiles,
                        token_tiles,
                    ],
                    row_tiles * token_tiles,
                )
            } else {
                let row_groups = part.rows.div_ceil(8) as u32;
                (
                    [c, s, r, r0, x.rows() as u32, w.rows() as u32, row_groups, 0],
                    row_groups * x.rows() as u32,
                )
            };
            self.dispatch(
                &key,
                || format!("{}\n{}", ty.wgsl(), template),
                &[
                    &part.buffer,
                    x.buffer(),
                    y.buffer(),
                    bias.unwrap_or(x).buffer(),
                ],
                &params,
                groups,
            )?;
        }
        Ok(y)
    }

    /// Rows `ids` of a `[vocab, dim]` table, as f32.
    pub fn embedding(&self, table: &GpuWeight, ids: &GpuIds) -> Result<GpuTensor> {
        let y = self.empty(ids.len(), table.cols())?;
        let ty = table.weight_type();
        // A lookup does no arithmetic worth doing in f16.
        let key = KernelKey::new("embedding")
            .weights(ty)
            .precision(Precision::F32);
        let groups = (table.cols() / 8) as u32;
        let threads = ids.len() as u32 * groups;
        for part in &table.parts {
            let [c, s, r, r0] = table.part_params(part);
            self.dispatch(
                &key,
                || format!("{}\n{}", ty.wgsl(), include_str!("embedding.wgsl")),
                &[&part.buffer, ids.buffer(), y.buffer()],
                &[c, s, r, r0, ids.len() as u32, groups, 0, 0],
                threads.div_ceil(64),
            )?;
        }
        Ok(y)
    }

    /// [`Gpu::embedding`] of ids known on the host, checked against the vocabulary.
    pub fn embedding_of(&self, table: &GpuWeight, ids: &[u32]) -> Result<GpuTensor> {
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= table.rows()) {
            return Err(GpuError::shape(
                "embedding",
                format!("token {bad} outside a vocabulary of {}", table.rows()),
            ));
        }
        let ids = self.ids(ids)?;
        self.embedding(table, &ids)
    }
}
