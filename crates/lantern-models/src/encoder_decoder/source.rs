//! Where an encoder-decoder's tensors come from: a safetensors file (transformers'
//! `model.safetensors`, f32 / f16 / bf16) or a GGUF file of the same tensor names with
//! quantized matrices (candle's quantized Whisper, `candle-transformers`'
//! `whisper::quantized_model`). The model is built from either through [`Source`], which checks
//! each tensor's name and shape.

use std::collections::HashMap;
use std::sync::Arc;

use safetensors::Dtype;

use crate::bytes::{ByteView, ModelBytes};
use crate::encoder::weights::Weights;
use crate::error::{ModelError, Result};
use crate::gguf::{GgmlDType, GgufFile, TensorInfo};
use crate::loader::GgufWeights;
use crate::ops::cpu::Cpu;
use crate::ops::{Backend, Quantization, TensorData};

/// A linear layer's weight: f32 for the backend's large matmuls, or a GGUF file's quantized
/// blocks, multiplied as the file stores them.
#[derive(Debug)]
pub(crate) enum Weight<B: Backend> {
    Dense(B::Dense),
    Quantized(B::Matrix),
}

pub(crate) trait Source<B: Backend> {
    /// The prefix of the body's tensor names: `model.` for the files of
    /// `WhisperForConditionalGeneration` (and `MarianMTModel`, `BartForConditionalGeneration`),
    /// empty for the bare models' (and T5's).
    fn prefix(&self) -> &'static str;
    fn contains(&self, name: &str) -> bool;
    /// The values of `name`, of `shape` (PyTorch's order), as f32.
    fn host(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>>;
    /// A linear layer's `[out, inp]` weight.
    fn weight(&self, be: &B, name: &str, out: usize, inp: usize) -> Result<Weight<B>>;
    /// A `[rows, cols]` matrix for lookups and products, in the file's precision.
    fn matrix(&self, be: &B, name: &str, rows: usize, cols: usize) -> Result<B::Matrix>;
    /// Whether [`Source::matrix`] holds `name` as f32 values (the file's f32 or bf16): then
    /// its values as a dense weight take no more bytes per product.
    fn matrix_is_f32(&self, name: &str, rows: usize, cols: usize) -> Result<bool>;

    /// A vector of `len` values (a gain, a bias).
    fn vector(&self, be: &B, name: &str, len: usize) -> Result<B::Vector> {
        be.vector_f32(self.host(name, &[len])?)
    }

    /// The linear layer `{prefix}.weight` (`[out, inp]`) with `{prefix}.bias` if `bias`.
    fn linear(
        &self,
        be: &B,
        prefix: &str,
        out: usize,
        inp: usize,
        bias: bool,
    ) -> Result<Linear<B>> {
        Ok(Linear {
            w: self.weight(be, &format!("{prefix}.weight"), out, inp)?,
            b: if bias {
                Some(self.vector(be, &format!("{prefix}.bias"), out)?)
            } else {
                None
            },
        })
    }
}

/// A linear layer: its weight and, where the layer has one, its bias.
#[derive(Debug)]
pub(crate) struct Linear<B: Backend> {
    pub w: Weight<B>,
    pub b: Option<B::Vector>,
}

impl<B: Backend> Linear<B> {
    /// `x · wᵀ + b`.
    pub fn apply(&self, be: &B, x: &B::Tensor) -> Result<B::Tensor> {
        match &self.w {
            Weight::Dense(w) => be.linear(x, w, self.b.as_ref()),
            Weight::Quantized(w) => {
                let mut y = be.matmul(x, w)?;
                if let Some(b) = &self.b {
                    be.add_bias(&mut y, b)?;
                }
                Ok(y)
            }
        }
    }
}

/// A matrix from `bytes` of `dtype` (f32 or f16), prepared for the backend.
fn matrix_from<B: Backend>(
    be: &B,
    name: &str,
    dtype: GgmlDType,
    mut bytes: Vec<u8>,
    rows: usize,
    cols: usize,
) -> Result<B::Matrix> {
    be.prepare_matrix(dtype, rows, cols, &mut bytes)?;
    let len = bytes.len();
    let bytes = ByteView::new(Arc::new(ModelBytes::new(bytes)), 0..len)
        .ok_or_else(|| ModelError::shape("matrix", "view outside its buffer"))?;
    be.matrix(TensorData {
        name: name.to_owned(),
        dims: vec![cols, rows],
        dtype,
        bytes,
    })
}

/// transformers' `model.safetensors`.
pub(crate) struct Safetensors<'a> {
    w: Weights<'a>,
}

impl<'a> Safetensors<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        Ok(Safetensors {
            w: Weights::parse_any(bytes, "model.")?,
        })
    }
}

impl<B: Backend> Source<B> for Safetensors<'_> {
    fn prefix(&self) -> &'static str {
        self.w.prefix
    }

    fn contains(&self, name: &str) -> bool {
        self.w.contains(name)
    }

    fn host(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        self.w.f32(&[name], shape)
    }

    fn weight(&self, be: &B, name: &str, out: usize, inp: usize) -> Result<Weight<B>> {
        let w = self.w.f32(&[name], &[out, inp])?;
        Ok(Weight::Dense(be.dense(
            name,
            w,
            out,
            inp,
            Quantization::None,
        )?))
    }

    /// f16 where the file stores f16 (as Whisper's releases do), else f32.
    fn matrix(&self, be: &B, name: &str, rows: usize, cols: usize) -> Result<B::Matrix> {
        let (name, dtype, data) = self.w.raw(&[name], &[rows, cols])?;
        let (dtype, bytes) = match dtype {
            Dtype::F16 => (GgmlDType::F16, data.to_vec()),
            _ => {
                let values = self.w.f32(&[name], &[rows, cols])?;
                let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                (GgmlDType::F32, bytes)
            }
        };
        matrix_from(be, name, dtype, bytes, rows, cols)
    }

    fn matrix_is_f32(&self, name: &str, rows: usize, cols: usize) -> Result<bool> {
        Ok(self.w.raw(&[name], &[rows, cols])?.1 != Dtype::F16)
    }
}

/// A GGUF file with transformers' tensor names (candle's quantized Whisper). Its quantized
/// matrices stay quantized (the backend rewrites them in place for its kernels when the file is
/// loaded); everything else is widened to f32. The hyperparameters come from `config.json`, as
/// candle reads them: these files carry no Whisper metadata.
pub(crate) struct Gguf {
    weights: GgufWeights,
    prefix: &'static str,
    /// Quantized tables read as f32 before the backend rewrote the file's matrices.
    tables: HashMap<String, Vec<f32>>,
}

fn is_float(d: GgmlDType) -> bool {
    matches!(d, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16)
}

/// The f32 values of a tensor's bytes as the file stores them.
fn dequantize(t: &TensorInfo, bytes: &[u8]) -> Result<Vec<f32>> {
    let len = bytes.len();
    let view = ByteView::new(Arc::new(ModelBytes::new(bytes.to_vec())), 0..len)
        .ok_or_else(|| ModelError::shape("dequantize", "view outside its buffer"))?;
    Cpu.vector(TensorData {
        name: t.name.clone(),
        dims: t.dims.clone(),
        dtype: t.dtype,
        bytes: view,
    })
}

impl Gguf {
    pub fn load<B: Backend>(be: &B, bytes: ModelBytes) -> Result<Self> {
        let file = GgufFile::parse(bytes.as_slice())?;
        // The position tables are looked up on the host; a quantized one is read before the
        // backend rewrites the file's matrices in its own layout.
        let mut tables = HashMap::new();
        for t in &file.tensors {
            if t.name.ends_with("embed_positions.weight") && !is_float(t.dtype) {
                let data = bytes
                    .as_slice()
                    .get(t.start..t.start + t.len)
                    .ok_or_else(|| ModelError::Malformed(format!("tensor {:?}", t.name)))?;
                tables.insert(t.name.clone(), dequantize(t, data)?);
            }
        }
        let prefix = if file.tensors.iter().any(|t| t.name.starts_with("model.")) {
            "model."
        } else {
            ""
        };
        drop(file);
        Ok(Gguf {
            weights: GgufWeights::load(be, bytes)?,
            prefix,
            tables,
        })
    }

    /// The tensor `name`, checked against `shape` (PyTorch's order; GGUF's is reversed).
    fn info(&self, name: &str, shape: &[usize]) -> Result<&TensorInfo> {
        let t = self.weights.file.require_tensor(name)?;
        let want: Vec<usize> = shape.iter().rev().copied().collect();
        if t.dims != want {
            return Err(ModelError::TensorShape {
                name: name.to_owned(),
                expected: shape.to_vec(),
                found: t.dims.iter().rev().copied().collect(),
            });
        }
        Ok(t)
    }
}

impl<B: Backend> Source<B> for Gguf {
    fn prefix(&self) -> &'static str {
        self.prefix
    }

    fn contains(&self, name: &str) -> bool {
        self.weights.contains(name)
    }

    fn host(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let t = self.info(name, shape)?;
        if let Some(v) = self.tables.get(name) {
            return Ok(v.clone());
        }
        // A quantized matrix may have been rewritten in place for the backend.
        if t.dims.len() == 2 && !is_float(t.dtype) {
            return Err(ModelError::InvalidWeight {
                name: name.to_owned(),
                detail: format!("{:?}: only f32, f16 or bf16 is supported here", t.dtype),
            });
        }
        Cpu.vector(self.weights.data(name, None)?)
    }

    fn weight(&self, be: &B, name: &str, out: usize, inp: usize) -> Result<Weight<B>> {
        let t = self.info(name, &[out, inp])?;
        if is_float(t.dtype) {
            let w = Cpu.vector(self.weights.data(name, None)?)?;
            return Ok(Weight::Dense(be.dense(
                name,
                w,
                out,
                inp,
                Quantization::None,
            )?));
        }
        Ok(Weight::Quantized(self.weights.matrix(be, name, out, inp)?))
    }

    fn matrix(&self, be: &B, name: &str, rows: usize, cols: usize) -> Result<B::Matrix> {
        let t = self.info(name, &[rows, cols])?;
        if t.dtype == GgmlDType::BF16 {
            // Not every backend has bf16 products: widened, as the safetensors path does.
            let values = Cpu.vector(self.weights.data(name, None)?)?;
            let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            return matrix_from(be, name, GgmlDType::F32, bytes, rows, cols);
        }
        self.weights.matrix(be, name, rows, cols)
    }

    fn matrix_is_f32(&self, name: &str, rows: usize, cols: usize) -> Result<bool> {
        let t = self.info(name, &[rows, cols])?;
        Ok(matches!(t.dtype, GgmlDType::F32 | GgmlDType::BF16))
    }
}
