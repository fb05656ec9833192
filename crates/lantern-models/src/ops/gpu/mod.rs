//! The GPU backend: `lantern-gpu`'s WebGPU kernels behind the op layer (cargo feature `gpu`).
//!
//! Weights are uploaded as the file stores them (GGUF blocks, repacked by `lantern-gpu` for
//! WGSL); types without GPU kernels (Q5_0, Q2_K, BF16, ...) are dequantized on the CPU and
//! uploaded as f16. Activations, the KV cache and every intermediate stay on the GPU; the
//! kernels of a forward pass are recorded into one submission, run when the logits are read.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(not(target_arch = "wasm32"))]
use native::block_on_read;
#[cfg(target_arch = "wasm32")]
use web::block_on_read;

use std::sync::Mutex;

use half::f16;
use lantern_gpu::{GpuError, GpuKvCache, GpuRopeTable, GpuTensor, GpuWeight, WeightType};

use super::cpu::{Cpu, CpuMatrix};
use super::{AttentionShape, Backend, Rope, RopeAngles, RopeStyle, TensorData};
use crate::error::{ModelError, Result};
use crate::gguf::GgmlDType;

pub use lantern_gpu;

/// A GPU error as a model error. The stable code comes first (`gpu_device_lost: ...`), so a
/// caller can tell "fall back to the CPU" from a mistake.
fn err(e: GpuError) -> ModelError {
    ModelError::Backend(format!("{}: {e}", e.code()))
}

fn weight_type(d: GgmlDType) -> Option<WeightType> {
    Some(match d {
        GgmlDType::F32 => WeightType::F32,
        GgmlDType::F16 => WeightType::F16,
        GgmlDType::Q4_0 => WeightType::Q4_0,
        GgmlDType::Q4_1 => WeightType::Q4_1,
        GgmlDType::Q8_0 => WeightType::Q8_0,
        GgmlDType::Q4K => WeightType::Q4K,
        GgmlDType::Q6K => WeightType::Q6K,
        _ => return None,
    })
}

/// The GPU backend over an opened `lantern_gpu::Gpu`.
#[derive(Debug)]
pub struct Gpu {
    gpu: lantern_gpu::Gpu,
    /// The cos/sin table of the last `rope` call: every layer of a forward pass rotates at the
    /// same positions, so it is uploaded once per pass, not twice per layer.
    rope_table: Mutex<Option<(RopeAngles, GpuRopeTable)>>,
    /// Readbacks left before the device is destroyed on purpose ([`Gpu::lose_device_after`]).
    reads_before_loss: Mutex<Option<u32>>,
}

impl Gpu {
    pub fn new(gpu: lantern_gpu::Gpu) -> Gpu {
        Gpu {
            gpu,
            rope_table: Mutex::new(None),
            reads_before_loss: Mutex::new(None),
        }
    }

    /// The device (for probing, `destroy`, pool statistics).
    pub fn device(&self) -> &lantern_gpu::Gpu {
        &self.gpu
    }

    /// Destroys the device right after the `reads`-th readback from now, so the next forward
    /// pass fails with `gpu_device_lost`: how the fallback to the CPU is tested in the middle
    /// of a generation (a forward pass ends in one readback, so `reads` counts forward passes).
    pub fn lose_device_after(self, reads: u32) -> Gpu {
        *self
            .reads_before_loss
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reads);
        self
    }

    /// Counts one readback against [`Gpu::lose_device_after`].
    fn count_read(&self) {
        let mut left = self
            .reads_before_loss
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = left.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                *left = None;
                self.gpu.destroy();
            }
        }
    }
}

impl Backend for Gpu {
    type Tensor = GpuTensor;
    type Matrix = GpuWeight;
    type Vector = GpuTensor;
    type KvCache = GpuKvCache;

    fn name(&self) -> String {
        "webgpu".to_owned()
    }

    fn matrix(&self, t: TensorData) -> Result<GpuWeight> {
        let (rows, cols) = t.matrix_shape();
        if let Some(ty) = weight_type(t.dtype) {
            return self
                .gpu
                .weight(&t.name, ty, rows, cols, t.bytes.as_slice())
                .map_err(err);
        }
        // No kernels for this type: dequantize on the CPU (as the file stores it, never repacked
        // here) and upload f16, row by row into one buffer.
        let m = CpuMatrix {
            name: t.name.clone(),
            rows,
            cols,
            dtype: t.dtype,
            kind: None,
            bytes: t.bytes,
        };
        let mut row = vec![0f32; cols];
        let mut bytes = Vec::with_capacity(rows * cols * 2);
        for r in 0..rows {
            m.dequantize_row(r, &mut row)?;
            bytes.extend(row.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()));
        }
        self.gpu
            .weight(&t.name, WeightType::F16, rows, cols, &bytes)
            .map_err(err)
    }

    fn vector(&self, t: TensorData) -> Result<GpuTensor> {
        let v = Cpu.vector(t)?;
        self.gpu.tensor(&v, 1, v.len()).map_err(err)
    }

    fn kv_cache(&self, kv_heads: usize, head_dim: usize) -> Result<GpuKvCache> {
        Ok(self.gpu.kv_cache(kv_heads, head_dim))
    }

    fn tensor(&self, data: Vec<f32>, rows: usize, cols: usize) -> Result<GpuTensor> {
        self.gpu.tensor(&data, rows, cols).map_err(err)
    }

    fn read(&self, x: &GpuTensor) -> Result<Vec<f32>> {
        let v = block_on_read(&self.gpu, x).map_err(err)?;
        self.count_read();
        Ok(v)
    }

    async fn read_async(&self, x: &GpuTensor) -> Result<Vec<f32>> {
        let v = self.gpu.read(x).await.map_err(err)?;
        self.count_read();
        Ok(v)
    }

    async fn argmax_async(&self, x: &GpuTensor) -> Result<u32> {
        if x.rows() != 1 {
            return Err(ModelError::shape("argmax", format!("{} rows", x.rows())));
        }
        let ids = self.gpu.argmax(x).map_err(err)?;
        let id = self.gpu.read_ids(&ids).await.map_err(err)?;
        self.count_read();
        match id.first() {
            Some(&id) if (id as usize) < x.cols() => Ok(id),
            // The kernel's answer for a row without a finite value: the model has diverged
            // (NaN everywhere), which the CPU would not fix either.
            _ => Err(ModelError::Backend(format!(
                "argmax found no finite logit among {}",
                x.cols()
            ))),
        }
    }

    fn embedding(&self, table: &GpuWeight, ids: &[u32]) -> Result<GpuTensor> {
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= table.rows()) {
            return Err(ModelError::TokenOutOfRange {
                id,
                vocab: table.rows(),
            });
        }
        self.gpu.embedding_of(table, ids).map_err(err)
    }

    fn matmul(&self, x: &GpuTensor, w: &GpuWeight) -> Result<GpuTensor> {
        self.gpu.matmul(x, w).map_err(err)
    }

    fn add_bias(&self, x: &mut GpuTensor, bias: &GpuTensor) -> Result<()> {
        *x = self.gpu.add_bias(x, bias).map_err(err)?;
        Ok(())
    }

    fn add_assign(&self, x: &mut GpuTensor, y: &GpuTensor) -> Result<()> {
        *x = self.gpu.add(x, y).map_err(err)?;
        Ok(())
    }

    fn rms_norm(&self, x: &GpuTensor, gain: &GpuTensor, eps: f32) -> Result<GpuTensor> {
        self.gpu.rms_norm(x, gain, eps).map_err(err)
    }

    fn rms_norm_heads(
        &self,
        x: &mut GpuTensor,
        gain: &GpuTensor,
        head_dim: usize,
        eps: f32,
    ) -> Result<()> {
        *x = self
            .gpu
            .rms_norm_heads(x, gain, head_dim, eps)
            .map_err(err)?;
        Ok(())
    }

    fn rope(
        &self,
        x: &mut GpuTensor,
        head_dim: usize,
        rope: &Rope,
        angles: &RopeAngles,
    ) -> Result<()> {
        let style = match rope.style {
            RopeStyle::Interleaved => lantern_gpu::RopeStyle::Interleaved,
            RopeStyle::Neox => lantern_gpu::RopeStyle::Neox,
        };
        if angles.half != rope.dims / 2 || angles.positions() != x.rows() {
            return Err(ModelError::shape(
                "rope",
                format!(
                    "{} positions of {} pairs for {} rows",
                    angles.positions(),
                    angles.half,
                    x.rows()
                ),
            ));
        }
        let mut cached = self
            .rope_table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached.as_ref().is_none_or(|(a, _)| a != angles) {
            let table = self
                .gpu
                .rope_table(&angles.cos, &angles.sin, angles.half)
                .map_err(err)?;
            *cached = Some((angles.clone(), table));
        }
        let Some((_, table)) = cached.as_ref() else {
            return Err(ModelError::Backend("rope table missing".into()));
        };
        self.gpu.rope(x, head_dim, style, table, 0).map_err(err)
    }

    fn attention(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        cache: &mut GpuKvCache,
        shape: AttentionShape,
    ) -> Result<GpuTensor> {
        let AttentionShape {
            heads,
            kv_heads,
            head_dim,
            start_pos,
            causal,
        } = shape;
        let shape = lantern_gpu::AttentionShape {
            heads,
            kv_heads,
            head_dim,
            start_pos,
            causal,
        };
        self.gpu.attention(q, k, v, cache, shape).map_err(err)
    }

    fn swiglu(&self, gate: &GpuTensor, up: &GpuTensor) -> Result<GpuTensor> {
        self.gpu.swiglu(gate, up).map_err(err)
    }

    fn last_row(&self, x: &GpuTensor) -> Result<GpuTensor> {
        if x.rows() == 0 {
            return Err(ModelError::shape("last_row", "no rows"));
        }
        self.gpu.rows(x, x.rows() - 1, 1).map_err(err)
    }
}
