//! The CPU backend: f32 activations in plain vectors, weights as views into the file's bytes,
//! quantized matmuls through Lantern's kernels (`kernels`) or candle's, rayon for threads.
//!
//! Activations are not candle `Tensor`s: a decode step of a small model is hundreds of tiny
//! ops, and candle's per-op dispatch (layouts, storage locks, allocation) costs more than the
//! arithmetic of most of them. The heavy parts — quantized blocks, their dot products for the
//! types without a kernel here, dequantization — are candle's.

mod attention;
mod cast;
pub(crate) mod conv;
pub(crate) mod dense;
pub(crate) mod encoder_attention;
pub mod half_dot;
pub mod kernels;
pub(crate) mod layer_norm;
pub(crate) mod masked_softmax;
pub(crate) mod math;
mod matrix;
pub mod packed_f32;
mod team;

pub use attention::CpuKvCache;
pub use dense::CpuDense;
pub use matrix::CpuMatrix;

use super::{
    Activation, AttendShape, AttentionShape, Backend, Quantization, Rope, RopeAngles, RopeStyle,
    TensorData, Window2d,
};
use crate::error::{ModelError, Result};
use crate::gguf::GgmlDType;
use encoder_attention::EncoderAttention;
use kernels::{Kind, QActs};

/// The CPU backend. Threads come from rayon's global pool (one thread where there is none,
/// as in a wasm build without threads).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu;

/// Activations: `rows x cols`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuTensor {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl CpuTensor {
    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

fn same_shape(op: &'static str, a: &CpuTensor, b: &CpuTensor) -> Result<()> {
    if a.rows == b.rows && a.cols == b.cols {
        Ok(())
    } else {
        Err(ModelError::shape(
            op,
            format!("{}x{} vs {}x{}", a.rows, a.cols, b.rows, b.cols),
        ))
    }
}

/// [`Backend::attend`], with a bias (already checked) or not.
fn attend(
    q: &CpuTensor,
    k: &CpuTensor,
    v: &CpuTensor,
    bias: Option<&[f32]>,
    shape: &AttendShape<'_>,
) -> Result<CpuTensor> {
    shape.check((q.rows, q.cols), (k.rows, k.cols), (v.rows, v.cols))?;
    let att = EncoderAttention {
        q_len: shape.q_len,
        kv_len: shape.kv_len,
        heads: shape.heads,
        head_dim: shape.head_dim,
        scale: shape.scale,
        bias,
    };
    Ok(CpuTensor {
        rows: q.rows,
        cols: q.cols,
        data: att.run(&q.data, &k.data, &v.data, shape.kv_valid, shape.q_valid),
    })
}

impl Cpu {
    /// Threads the matmuls may use.
    pub fn threads(&self) -> usize {
        rayon::current_num_threads()
    }
}

impl Backend for Cpu {
    type Tensor = CpuTensor;
    type Matrix = CpuMatrix;
    type Vector = Vec<f32>;
    type KvCache = CpuKvCache;
    type Dense = CpuDense;

    fn name(&self) -> String {
        "cpu".to_owned()
    }

    fn execute<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        let threads = rayon::current_num_threads();
        if threads <= 1 || rayon::current_thread_index().is_some() {
            return f();
        }
        // On a pool thread (`scope` called outside the pool runs its body there and blocks
        // here). In wasm, with the other pool threads spinning for the pass's parallel loops
        // (`team`: rayon's idle workers fall asleep between a decode step's loops there).
        // Natively rayon's own idle spinning bridges those gaps, and measured faster than the
        // team (SmolLM2 Q4_1, 2 threads: 134-162 against 125 decode tok/s).
        if cfg!(target_arch = "wasm32") {
            team::run(threads, f)
        } else {
            rayon::scope(|_| f())
        }
    }

    fn prepare_matrix(
        &self,
        dtype: GgmlDType,
        rows: usize,
        cols: usize,
        bytes: &mut [u8],
    ) -> Result<()> {
        if let Some(kind) = Kind::of(dtype) {
            let want = rows * (cols / kind.block_elems()) * kind.block_bytes();
            if bytes.len() != want || !cols.is_multiple_of(kind.block_elems()) {
                return Err(ModelError::shape(
                    "prepare_matrix",
                    format!("{} bytes for {rows}x{cols} {dtype:?}", bytes.len()),
                ));
            }
            kernels::repack(kind, rows, cols, bytes);
        }
        Ok(())
    }

    fn matrix(&self, t: TensorData) -> Result<CpuMatrix> {
        let (rows, cols) = t.matrix_shape();
        let want = rows * (cols / t.dtype.block_size()) * t.dtype.type_size();
        if t.bytes.len() != want {
            return Err(ModelError::shape(
                "matrix",
                format!("{:?}: {} bytes for {rows}x{cols}", t.name, t.bytes.len()),
            ));
        }
        Ok(CpuMatrix {
            name: t.name,
            rows,
            cols,
            dtype: t.dtype,
            kind: Kind::of(t.dtype),
            bytes: t.bytes,
        })
    }

    fn vector(&self, t: TensorData) -> Result<Vec<f32>> {
        let n = t.elements();
        let m = CpuMatrix {
            name: t.name,
            rows: 1,
            cols: n,
            dtype: t.dtype,
            // Vectors are never repacked.
            kind: None,
            bytes: t.bytes,
        };
        let mut out = vec![0f32; n];
        m.dequantize_row(0, &mut out)?;
        Ok(out)
    }

    fn dense(
        &self,
        name: &str,
        w: Vec<f32>,
        rows: usize,
        cols: usize,
        quantization: Quantization,
    ) -> Result<CpuDense> {
        CpuDense::new(name, w, rows, cols, quantization)
    }

    /// In wasm: the packed f32 kernel (`packed_f32`) keeps a tile of 4 rows x 8 outputs in
    /// registers and reads the weights as one stream, where a matrix's products are a dot
    /// product per output row and input row. With 4 beams (4 rows per step) opus-mt's
    /// 58101-row head made a step 1.5-1.7x faster under V8, greedy (1 row) 1.02x
    /// (BENCHMARKS.md, "the output table as a packed dense weight"). Natively the dense
    /// weight is the `gemm` crate's, which was slower for this shape (one thread 0.78x with 4
    /// rows, two threads 0.7x: it splits no 1-4-row product over threads).
    fn output_table_as_dense(&self) -> bool {
        cfg!(target_arch = "wasm32")
    }

    fn vector_f32(&self, data: Vec<f32>) -> Result<Vec<f32>> {
        Ok(data)
    }

    fn kv_cache(&self, kv_heads: usize, head_dim: usize) -> Result<CpuKvCache> {
        Ok(CpuKvCache::new(kv_heads * head_dim))
    }

    fn fork_cache(&self, cache: &CpuKvCache, positions: usize) -> Result<CpuKvCache> {
        cache.fork(positions)
    }

    fn tensor(&self, data: Vec<f32>, rows: usize, cols: usize) -> Result<CpuTensor> {
        if data.len() != rows * cols {
            return Err(ModelError::shape(
                "tensor",
                format!("{} values for {rows}x{cols}", data.len()),
            ));
        }
        Ok(CpuTensor { rows, cols, data })
    }

    fn read(&self, x: &CpuTensor) -> Result<Vec<f32>> {
        Ok(x.data.clone())
    }

    fn embedding(&self, table: &CpuMatrix, ids: &[u32]) -> Result<CpuTensor> {
        let mut data = vec![0f32; ids.len() * table.cols];
        for (&id, out) in ids.iter().zip(data.chunks_exact_mut(table.cols)) {
            if id as usize >= table.rows {
                return Err(ModelError::TokenOutOfRange {
                    id,
                    vocab: table.rows,
                });
            }
            table.dequantize_row(id as usize, out)?;
        }
        Ok(CpuTensor {
            rows: ids.len(),
            cols: table.cols,
            data,
        })
    }

    fn matmul(&self, x: &CpuTensor, w: &CpuMatrix) -> Result<CpuTensor> {
        Ok(self.matmul_many(x, &[w])?.remove(0))
    }

    fn matmul_many(&self, x: &CpuTensor, ws: &[&CpuMatrix]) -> Result<Vec<CpuTensor>> {
        for w in ws {
            if w.cols != x.cols {
                return Err(ModelError::shape(
                    "matmul",
                    format!("{}x{} · {:?} {}x{}", x.rows, x.cols, w.name, w.rows, w.cols),
                ));
            }
        }
        // No tokens, no products (the kernels split their output by tokens).
        if x.rows == 0 {
            return Ok(ws
                .iter()
                .map(|w| CpuTensor {
                    rows: 0,
                    cols: w.rows,
                    data: Vec::new(),
                })
                .collect());
        }
        // The matrices with a kernel here share one quantization of the input and one
        // parallel loop; the others go through candle's dot products one by one.
        let fast: Vec<(&CpuMatrix, Kind)> =
            ws.iter().filter_map(|w| w.kind.map(|k| (*w, k))).collect();
        let mut fast_out = if fast.is_empty() {
            Vec::new()
        } else {
            let acts = QActs::quantize(&x.data, x.rows, x.cols);
            CpuMatrix::matmul_fast_many(&fast, &acts)
        }
        .into_iter();
        let mut out = Vec::with_capacity(ws.len());
        for w in ws {
            let data = match w.kind {
                Some(_) => fast_out
                    .next()
                    .ok_or_else(|| ModelError::shape("matmul", "missing output"))?,
                None => w.matmul_generic(&x.data, x.rows)?,
            };
            out.push(CpuTensor {
                rows: x.rows,
                cols: w.rows,
                data,
            });
        }
        Ok(out)
    }

    fn add_bias(&self, x: &mut CpuTensor, bias: &Vec<f32>) -> Result<()> {
        if bias.len() != x.cols {
            return Err(ModelError::shape(
                "add_bias",
                format!("{} for {} columns", bias.len(), x.cols),
            ));
        }
        for row in x.data.chunks_exact_mut(x.cols) {
            row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
        }
        Ok(())
    }

    fn add_assign(&self, x: &mut CpuTensor, y: &CpuTensor) -> Result<()> {
        same_shape("add", x, y)?;
        x.data.iter_mut().zip(&y.data).for_each(|(a, b)| *a += b);
        Ok(())
    }

    fn rms_norm(&self, x: &CpuTensor, gain: &Vec<f32>, eps: f32) -> Result<CpuTensor> {
        if gain.len() != x.cols {
            return Err(ModelError::shape(
                "rms_norm",
                format!("{} gains for {} columns", gain.len(), x.cols),
            ));
        }
        let mut y = x.clone();
        y.data
            .chunks_exact_mut(x.cols)
            .for_each(|r| math::rms_norm(r, gain, eps));
        Ok(y)
    }

    fn rms_norm_heads(
        &self,
        x: &mut CpuTensor,
        gain: &Vec<f32>,
        head_dim: usize,
        eps: f32,
    ) -> Result<()> {
        if gain.len() != head_dim || head_dim == 0 || !x.cols.is_multiple_of(head_dim) {
            return Err(ModelError::shape(
                "rms_norm_heads",
                format!("{} gains, head {head_dim}, {} columns", gain.len(), x.cols),
            ));
        }
        x.data
            .chunks_exact_mut(head_dim)
            .for_each(|h| math::rms_norm(h, gain, eps));
        Ok(())
    }

    fn rope(
        &self,
        x: &mut CpuTensor,
        head_dim: usize,
        rope: &Rope,
        angles: &RopeAngles,
    ) -> Result<()> {
        let half = rope.dims / 2;
        if rope.dims > head_dim
            || head_dim == 0
            || !x.cols.is_multiple_of(head_dim)
            || angles.half != half
            || angles.positions() != x.rows
        {
            return Err(ModelError::shape(
                "rope",
                format!(
                    "{} rows, {} columns, head {head_dim}, rotary {}",
                    x.rows, x.cols, rope.dims
                ),
            ));
        }
        for (i, row) in x.data.chunks_exact_mut(x.cols).enumerate() {
            let (cos, sin) = (
                &angles.cos[i * half..(i + 1) * half],
                &angles.sin[i * half..(i + 1) * half],
            );
            for head in row.chunks_exact_mut(head_dim) {
                for j in 0..half {
                    let (a, b) = match rope.style {
                        RopeStyle::Interleaved => (2 * j, 2 * j + 1),
                        RopeStyle::Neox => (j, j + half),
                    };
                    let (x0, x1) = (head[a], head[b]);
                    head[a] = x0 * cos[j] - x1 * sin[j];
                    head[b] = x0 * sin[j] + x1 * cos[j];
                }
            }
        }
        Ok(())
    }

    fn attention(
        &self,
        q: &CpuTensor,
        k: &CpuTensor,
        v: &CpuTensor,
        cache: &mut CpuKvCache,
        shape: AttentionShape,
    ) -> Result<CpuTensor> {
        let data = attention::attention(&q.data, &k.data, &v.data, q.rows, cache, shape)?;
        Ok(CpuTensor {
            rows: q.rows,
            cols: shape.heads * shape.head_dim,
            data,
        })
    }

    fn attention_biased(
        &self,
        q: &CpuTensor,
        k: &CpuTensor,
        v: &CpuTensor,
        cache: &mut CpuKvCache,
        shape: AttentionShape,
        scale: f32,
        bias: &CpuTensor,
    ) -> Result<CpuTensor> {
        let total = shape.start_pos.checked_add(q.rows);
        if shape.heads.checked_mul(q.rows) != Some(bias.rows) || total != Some(bias.cols) {
            return Err(ModelError::shape(
                "attention_biased",
                format!(
                    "bias {}x{} for {} heads x {} rows after {} positions",
                    bias.rows, bias.cols, shape.heads, q.rows, shape.start_pos
                ),
            ));
        }
        let data = attention::attention_biased(
            &q.data,
            &k.data,
            &v.data,
            q.rows,
            cache,
            shape,
            scale,
            Some(&bias.data),
        )?;
        Ok(CpuTensor {
            rows: q.rows,
            cols: shape.heads * shape.head_dim,
            data,
        })
    }

    fn swiglu(&self, gate: &CpuTensor, up: &CpuTensor) -> Result<CpuTensor> {
        same_shape("swiglu", gate, up)?;
        let mut data = gate.data.clone();
        let f = |(g, u): (&mut f32, &f32)| *g = math::silu(*g) * u;
        if data.len() >= 1 << 14 && rayon::current_num_threads() > 1 {
            let tasks: Vec<_> = data
                .chunks_mut(1 << 12)
                .zip(up.data.chunks(1 << 12))
                .collect();
            team::for_each(tasks, |(g, u)| g.iter_mut().zip(u).for_each(f));
        } else {
            data.iter_mut().zip(&up.data).for_each(f);
        }
        Ok(CpuTensor {
            rows: gate.rows,
            cols: gate.cols,
            data,
        })
    }

    fn last_row(&self, x: &CpuTensor) -> Result<CpuTensor> {
        if x.rows == 0 {
            return Err(ModelError::shape("last_row", "no rows"));
        }
        Ok(CpuTensor {
            rows: 1,
            cols: x.cols,
            data: x.row(x.rows - 1).to_vec(),
        })
    }

    fn linear(&self, x: &CpuTensor, w: &CpuDense, bias: Option<&Vec<f32>>) -> Result<CpuTensor> {
        w.linear(x, bias.map(Vec::as_slice))
    }

    fn layer_norm(
        &self,
        x: &CpuTensor,
        gain: &Vec<f32>,
        bias: &Vec<f32>,
        eps: f32,
    ) -> Result<CpuTensor> {
        if gain.len() != x.cols || bias.len() != x.cols {
            return Err(ModelError::shape(
                "layer_norm",
                format!(
                    "{} gains, {} biases for {} columns",
                    gain.len(),
                    bias.len(),
                    x.cols
                ),
            ));
        }
        let mut y = x.clone();
        if x.cols > 0 {
            y.data
                .chunks_exact_mut(x.cols)
                .for_each(|r| layer_norm::layer_norm(r, gain, bias, eps));
        }
        Ok(y)
    }

    fn activate(&self, x: &mut CpuTensor, f: Activation) -> Result<()> {
        match f {
            Activation::Gelu => math::gelu_erf(&mut x.data),
            Activation::GeluTanh => math::gelu_tanh(&mut x.data),
            Activation::Relu => math::relu(&mut x.data),
            Activation::Tanh => math::tanh(&mut x.data),
            Activation::Relu6 => math::relu6(&mut x.data),
            Activation::Silu => x.data.iter_mut().for_each(|v| *v = math::silu(*v)),
        }
        Ok(())
    }

    fn attend(
        &self,
        q: &CpuTensor,
        k: &CpuTensor,
        v: &CpuTensor,
        shape: &AttendShape<'_>,
    ) -> Result<CpuTensor> {
        attend(q, k, v, None, shape)
    }

    fn attend_biased(
        &self,
        q: &CpuTensor,
        k: &CpuTensor,
        v: &CpuTensor,
        bias: &CpuTensor,
        shape: &AttendShape<'_>,
    ) -> Result<CpuTensor> {
        shape.check_bias(bias.rows, bias.cols)?;
        if bias.rows.checked_mul(bias.cols) != Some(bias.data.len()) {
            return Err(ModelError::shape(
                "attend_biased",
                format!(
                    "{} bias values for {}x{}",
                    bias.data.len(),
                    bias.rows,
                    bias.cols
                ),
            ));
        }
        attend(q, k, v, Some(&bias.data), shape)
    }

    fn scale(&self, x: &mut CpuTensor, factor: f32) -> Result<()> {
        // A plain map: the compiler vectorizes it (SSE natively, simd128 in wasm); one pass over
        // an activation is too little work to wake the pool for.
        x.data.iter_mut().for_each(|v| *v *= factor);
        Ok(())
    }

    fn mul_assign(&self, x: &mut CpuTensor, y: &CpuTensor) -> Result<()> {
        same_shape("mul", x, y)?;
        x.data.iter_mut().zip(&y.data).for_each(|(a, b)| *a *= b);
        Ok(())
    }

    fn unfold1d(
        &self,
        x: &CpuTensor,
        kernel: usize,
        stride: usize,
        pad: usize,
    ) -> Result<CpuTensor> {
        let (len, cols) = (x.rows, x.cols);
        let span = len + 2 * pad;
        if kernel == 0 || stride == 0 || span < kernel {
            return Err(ModelError::shape(
                "unfold1d",
                format!("{len} rows, kernel {kernel}, stride {stride}, padding {pad}"),
            ));
        }
        let out_rows = (span - kernel) / stride + 1;
        let width = kernel * cols;
        let mut data = vec![0f32; out_rows * width];
        if cols > 0 {
            for (t, row) in data.chunks_exact_mut(width).enumerate() {
                for (k, window) in row.chunks_exact_mut(cols).enumerate() {
                    // Rows before or after `x` stay zero.
                    if let Some(src) = (t * stride + k).checked_sub(pad).filter(|&s| s < len) {
                        window.copy_from_slice(x.row(src));
                    }
                }
            }
        }
        Ok(CpuTensor {
            rows: out_rows,
            cols: width,
            data,
        })
    }

    fn unfold2d(&self, x: &CpuTensor, window: &Window2d, cols: usize) -> Result<CpuTensor> {
        let (data, rows, cols) = conv::unfold2d(&x.data, x.cols, window, cols)?;
        Ok(CpuTensor { rows, cols, data })
    }

    fn depthwise_conv2d(
        &self,
        x: &CpuTensor,
        weight: &Vec<f32>,
        bias: &Vec<f32>,
        window: &Window2d,
    ) -> Result<CpuTensor> {
        let (data, rows) = conv::depthwise_conv2d(&x.data, x.cols, weight, bias, window)?;
        Ok(CpuTensor {
            rows,
            cols: x.cols,
            data,
        })
    }

    fn max_pool2d(&self, x: &CpuTensor, window: &Window2d) -> Result<CpuTensor> {
        let (data, rows) = conv::max_pool2d(&x.data, x.cols, window)?;
        Ok(CpuTensor {
            rows,
            cols: x.cols,
            data,
        })
    }

    fn mean_rows(&self, x: &CpuTensor) -> Result<CpuTensor> {
        Ok(CpuTensor {
            rows: 1,
            cols: x.cols,
            data: conv::mean_rows(&x.data, x.rows, x.cols)?,
        })
    }

    fn concat_rows(&self, parts: &[&CpuTensor]) -> Result<CpuTensor> {
        let Some(first) = parts.first() else {
            return Err(ModelError::shape("concat_rows", "no tensors"));
        };
        let cols = first.cols;
        if let Some(bad) = parts.iter().find(|p| p.cols != cols) {
            return Err(ModelError::shape(
                "concat_rows",
                format!("{} columns after {cols}", bad.cols),
            ));
        }
        let rows = parts.iter().map(|p| p.rows).sum();
        let mut data = Vec::with_capacity(rows * cols);
        for p in parts {
            data.extend_from_slice(&p.data);
        }
        Ok(CpuTensor { rows, cols, data })
    }

    fn gather_rows(&self, x: &CpuTensor, rows: &[usize]) -> Result<CpuTensor> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= x.rows) {
            return Err(ModelError::shape(
                "gather_rows",
                format!("row {bad} of {}", x.rows),
            ));
        }
        let mut data = Vec::with_capacity(rows.len() * x.cols);
        for &r in rows {
            data.extend_from_slice(x.row(r));
        }
        Ok(CpuTensor {
            rows: rows.len(),
            cols: x.cols,
            data,
        })
    }

    /// In wasm the threaded build runs batches side by side: whole passes on each thread hand
    /// nothing over between ops. (The packed f32 kernel also splits a large product over a
    /// pass's threads, which is what a lone decoder step, as a text-to-text model's, has.)
    /// Natively `gemm` uses the pool.
    fn batches_side_by_side(&self) -> bool {
        cfg!(target_arch = "wasm32")
    }
}
