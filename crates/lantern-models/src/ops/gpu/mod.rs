//! The GPU backend: `lantern-gpu`'s WebGPU kernels behind the op layer (cargo feature `gpu`).
//!
//! Weights are uploaded as the file stores them (GGUF blocks, repacked by `lantern-gpu` for
//! WGSL); types without GPU kernels (Q5_0, Q2_K, BF16, ...) are dequantized on the CPU and
//! uploaded as f16. Dense weights (encoders) are uploaded as f16 when the device multiplies in
//! f16, else as f32, or as Q8_0 blocks when asked. Activations, the KV cache and every
//! intermediate stay on the GPU; the kernels of a forward pass are recorded into one
//! submission, run when the result is read.
//!
//! A GPU error becomes a [`ModelError`] in one place (`From<GpuError>`): a failed device
//! ([`ModelError::Device`], [`ModelError::is_device_failure`]: run on the CPU instead), or the
//! shape and weight errors any backend would report.

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
use lantern_gpu::{
    GpuError, GpuKvCache, GpuRopeTable, GpuTensor, GpuWeight, Precision, WeightType,
};

use super::cpu::dense::q8_0_bytes;
use super::cpu::{Cpu, CpuMatrix};
use super::{
    Activation, AttendShape, AttentionShape, Backend, Quantization, Rope, RopeAngles, RopeStyle,
    TensorData, Window2d,
};
use crate::error::{ModelError, Result};
use crate::gguf::GgmlDType;

pub use lantern_gpu;

impl From<GpuError> for ModelError {
    /// Shape and weight errors are what the CPU would report too; everything else means the
    /// device failed or cannot run this model (`GpuError::should_fall_back`), and keeps the GPU
    /// layer's stable code (`gpu_device_lost`, `gpu_out_of_memory`, ...).
    fn from(e: GpuError) -> Self {
        match e {
            GpuError::Shape { op, detail } => ModelError::Shape { op, detail },
            GpuError::InvalidWeight { name, detail } => ModelError::InvalidWeight { name, detail },
            other => ModelError::Device {
                code: other.code(),
                message: other.to_string(),
            },
        }
    }
}

/// The kernels read eight weights at a time: a matrix of other widths cannot run here (a
/// device limitation, so the CPU is the answer).
fn check_width(name: &str, cols: usize) -> Result<()> {
    if cols == 0 || !cols.is_multiple_of(8) {
        return Err(GpuError::Unsupported {
            what: format!("{name:?}: rows of {cols} values (a multiple of 8 is)"),
        }
        .into());
    }
    Ok(())
}

/// The op layer's window in the GPU layer's terms (which does not depend on this crate).
fn gpu_window(w: &Window2d) -> lantern_gpu::Window2d {
    let p = w.padding;
    lantern_gpu::Window2d {
        height: w.height,
        width: w.width,
        kernel_h: w.kernel_h,
        kernel_w: w.kernel_w,
        stride: w.stride,
        top: p.top,
        left: p.left,
        bottom: p.bottom,
        right: p.right,
    }
}

/// The op layer's attention shape in the GPU layer's terms.
fn gpu_attention_shape(s: AttentionShape) -> lantern_gpu::AttentionShape {
    let AttentionShape {
        heads,
        kv_heads,
        head_dim,
        start_pos,
        causal,
    } = s;
    lantern_gpu::AttentionShape {
        heads,
        kv_heads,
        head_dim,
        start_pos,
        causal,
    }
}

/// The op layer's [`AttendShape`] in the GPU layer's terms.
fn gpu_attend_shape<'a>(s: &AttendShape<'a>) -> lantern_gpu::AttendShape<'a> {
    let AttendShape {
        heads,
        head_dim,
        q_len,
        kv_len,
        scale,
        kv_valid,
        q_valid,
    } = *s;
    lantern_gpu::AttendShape {
        heads,
        head_dim,
        q_len,
        kv_len,
        scale,
        kv_valid,
        q_valid,
    }
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
    type Dense = GpuWeight;

    fn name(&self) -> String {
        "webgpu".to_owned()
    }

    fn matrix(&self, t: TensorData) -> Result<GpuWeight> {
        let (rows, cols) = t.matrix_shape();
        if let Some(ty) = weight_type(t.dtype) {
            return self
                .gpu
                .weight(&t.name, ty, rows, cols, t.bytes.as_slice())
                .map_err(ModelError::from);
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
            .map_err(ModelError::from)
    }

    fn vector(&self, t: TensorData) -> Result<GpuTensor> {
        let v = Cpu.vector(t)?;
        self.gpu.tensor(&v, 1, v.len()).map_err(ModelError::from)
    }

    fn dense(
        &self,
        name: &str,
        w: Vec<f32>,
        rows: usize,
        cols: usize,
        quantization: Quantization,
    ) -> Result<GpuWeight> {
        if rows.checked_mul(cols) != Some(w.len()) {
            return Err(ModelError::shape(
                "dense",
                format!("{name:?}: {} values for {rows}x{cols}", w.len()),
            ));
        }
        check_width(name, cols)?;
        let (ty, bytes): (WeightType, Vec<u8>) = match quantization {
            Quantization::Q8_0 if cols.is_multiple_of(32) => {
                (WeightType::Q8_0, q8_0_bytes(&w, cols))
            }
            // f16 weights halve what every product reads; the device multiplies in f16 anyway.
            _ if self.gpu.precision() == Precision::F16 => (
                WeightType::F16,
                w.iter()
                    .flat_map(|&v| f16::from_f32(v).to_le_bytes())
                    .collect(),
            ),
            _ => (
                WeightType::F32,
                w.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
        };
        drop(w);
        Ok(self.gpu.weight(name, ty, rows, cols, &bytes)?)
    }

    fn table(&self, name: &str, data: Vec<f32>, rows: usize, cols: usize) -> Result<GpuWeight> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(ModelError::shape(
                "table",
                format!("{name:?}: {} values for {rows}x{cols}", data.len()),
            ));
        }
        check_width(name, cols)?;
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        drop(data);
        Ok(self.gpu.weight(name, WeightType::F32, rows, cols, &bytes)?)
    }

    fn vector_f32(&self, data: Vec<f32>) -> Result<GpuTensor> {
        Ok(self.gpu.tensor(&data, 1, data.len())?)
    }

    fn kv_cache(&self, kv_heads: usize, head_dim: usize) -> Result<GpuKvCache> {
        Ok(self.gpu.kv_cache(kv_heads, head_dim))
    }

    fn fork_cache(&self, cache: &GpuKvCache, positions: usize) -> Result<GpuKvCache> {
        Ok(self.gpu.kv_cache_fork(cache, positions)?)
    }

    fn tensor(&self, data: Vec<f32>, rows: usize, cols: usize) -> Result<GpuTensor> {
        self.gpu.tensor(&data, rows, cols).map_err(ModelError::from)
    }

    fn read(&self, x: &GpuTensor) -> Result<Vec<f32>> {
        let v = block_on_read(&self.gpu, x).map_err(ModelError::from)?;
        self.count_read();
        Ok(v)
    }

    async fn read_async(&self, x: &GpuTensor) -> Result<Vec<f32>> {
        let v = self.gpu.read(x).await.map_err(ModelError::from)?;
        self.count_read();
        Ok(v)
    }

    async fn argmax_async(&self, x: &GpuTensor) -> Result<u32> {
        if x.rows() != 1 {
            return Err(ModelError::shape("argmax", format!("{} rows", x.rows())));
        }
        let ids = self.gpu.argmax(x).map_err(ModelError::from)?;
        let id = self.gpu.read_ids(&ids).await.map_err(ModelError::from)?;
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
        self.gpu.embedding_of(table, ids).map_err(ModelError::from)
    }

    fn matmul(&self, x: &GpuTensor, w: &GpuWeight) -> Result<GpuTensor> {
        self.gpu.matmul(x, w).map_err(ModelError::from)
    }

    fn add_bias(&self, x: &mut GpuTensor, bias: &GpuTensor) -> Result<()> {
        *x = self.gpu.add_bias(x, bias).map_err(ModelError::from)?;
        Ok(())
    }

    fn add_assign(&self, x: &mut GpuTensor, y: &GpuTensor) -> Result<()> {
        *x = self.gpu.add(x, y).map_err(ModelError::from)?;
        Ok(())
    }

    fn rms_norm(&self, x: &GpuTensor, gain: &GpuTensor, eps: f32) -> Result<GpuTensor> {
        self.gpu.rms_norm(x, gain, eps).map_err(ModelError::from)
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
            .map_err(ModelError::from)?;
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
                .map_err(ModelError::from)?;
            *cached = Some((angles.clone(), table));
        }
        let Some((_, table)) = cached.as_ref() else {
            return Err(ModelError::Backend("rope table missing".into()));
        };
        self.gpu
            .rope(x, head_dim, style, table, 0)
            .map_err(ModelError::from)
    }

    fn attention(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        cache: &mut GpuKvCache,
        shape: AttentionShape,
    ) -> Result<GpuTensor> {
        self.gpu
            .attention(q, k, v, cache, gpu_attention_shape(shape))
            .map_err(ModelError::from)
    }

    fn attention_biased(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        cache: &mut GpuKvCache,
        shape: AttentionShape,
        scale: f32,
        bias: &GpuTensor,
    ) -> Result<GpuTensor> {
        Ok(self
            .gpu
            .attention_biased(q, k, v, cache, gpu_attention_shape(shape), scale, bias)?)
    }

    fn attend_biased(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        bias: &GpuTensor,
        shape: &AttendShape<'_>,
    ) -> Result<GpuTensor> {
        let dims = |t: &GpuTensor| (t.rows(), t.cols());
        shape.check(dims(q), dims(k), dims(v))?;
        shape.check_bias(bias.rows(), bias.cols())?;
        Ok(self
            .gpu
            .attend_biased(q, k, v, bias, &gpu_attend_shape(shape))?)
    }

    fn scale(&self, x: &mut GpuTensor, factor: f32) -> Result<()> {
        *x = self.gpu.scale(x, factor)?;
        Ok(())
    }

    fn mul_assign(&self, x: &mut GpuTensor, y: &GpuTensor) -> Result<()> {
        *x = self.gpu.mul(x, y)?;
        Ok(())
    }

    fn swiglu(&self, gate: &GpuTensor, up: &GpuTensor) -> Result<GpuTensor> {
        self.gpu.swiglu(gate, up).map_err(ModelError::from)
    }

    fn last_row(&self, x: &GpuTensor) -> Result<GpuTensor> {
        if x.rows() == 0 {
            return Err(ModelError::shape("last_row", "no rows"));
        }
        self.gpu.rows(x, x.rows() - 1, 1).map_err(ModelError::from)
    }

    fn linear(&self, x: &GpuTensor, w: &GpuWeight, bias: Option<&GpuTensor>) -> Result<GpuTensor> {
        Ok(self.gpu.linear(x, w, bias)?)
    }

    fn layer_norm(
        &self,
        x: &GpuTensor,
        gain: &GpuTensor,
        bias: &GpuTensor,
        eps: f32,
    ) -> Result<GpuTensor> {
        Ok(self.gpu.layer_norm(x, gain, Some(bias), eps)?)
    }

    fn activate(&self, x: &mut GpuTensor, f: Activation) -> Result<()> {
        *x = match f {
            Activation::Gelu => self.gpu.gelu(x),
            Activation::GeluTanh => self.gpu.gelu_tanh(x),
            Activation::Relu => self.gpu.relu(x),
            Activation::Tanh => self.gpu.tanh(x),
            Activation::Relu6 => self.gpu.relu6(x),
            Activation::Silu => self.gpu.silu(x),
        }?;
        Ok(())
    }

    fn attend(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        shape: &AttendShape<'_>,
    ) -> Result<GpuTensor> {
        let dims = |t: &GpuTensor| (t.rows(), t.cols());
        shape.check(dims(q), dims(k), dims(v))?;
        Ok(self.gpu.attend(q, k, v, &gpu_attend_shape(shape))?)
    }

    fn unfold1d(
        &self,
        x: &GpuTensor,
        kernel: usize,
        stride: usize,
        pad: usize,
    ) -> Result<GpuTensor> {
        Ok(self.gpu.unfold1d(x, kernel, stride, pad)?)
    }

    fn unfold2d(&self, x: &GpuTensor, window: &Window2d, cols: usize) -> Result<GpuTensor> {
        Ok(self.gpu.unfold2d(x, &gpu_window(window), cols)?)
    }

    fn depthwise_conv2d(
        &self,
        x: &GpuTensor,
        weight: &GpuTensor,
        bias: &GpuTensor,
        window: &Window2d,
    ) -> Result<GpuTensor> {
        Ok(self
            .gpu
            .depthwise_conv2d(x, weight, bias, &gpu_window(window))?)
    }

    fn max_pool2d(&self, x: &GpuTensor, window: &Window2d) -> Result<GpuTensor> {
        Ok(self.gpu.max_pool2d(x, &gpu_window(window))?)
    }

    fn mean_rows(&self, x: &GpuTensor) -> Result<GpuTensor> {
        Ok(self.gpu.mean_rows(x)?)
    }

    fn concat_rows(&self, parts: &[&GpuTensor]) -> Result<GpuTensor> {
        Ok(self.gpu.concat_rows(parts)?)
    }

    fn gather_rows(&self, x: &GpuTensor, rows: &[usize]) -> Result<GpuTensor> {
        Ok(self.gpu.gather_rows(x, rows)?)
    }
}
