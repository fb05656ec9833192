//! The BERT encoder: embeddings, then post-norm transformer layers (Devlin et al. 2019,
//! <https://arxiv.org/abs/1810.04805>, section 3; weight names as transformers'
//! `modeling_bert.py` writes them).

use std::collections::HashMap;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{
    CpuStorage, CustomOp1, CustomOp3, DType, Device, InplaceOp1, Layout, Module, Shape, Tensor,
};

use super::config::{Activation, Config};
use crate::error::{ModelError, Result};
use crate::ops::cpu::encoder_attention::EncoderAttention;
use crate::ops::cpu::layer_norm::layer_norm;
use crate::ops::cpu::math::gelu_erf;
use crate::ops::cpu::packed_f32::PackedF32;

/// How the linear layers' weights are held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Quantization {
    /// As f32 (f16 and bf16 files are widened on load).
    #[default]
    None,
    /// The attention and feed-forward matrices quantized on load to GGML's Q8_0 (blocks of 32
    /// weights sharing one f16 scale: 8.5 bits per weight). Embedding tables and layer norms
    /// stay f32.
    Q8_0,
}

/// A BERT-family encoder (BERT, MiniLM, and the BGE / E5 / GTE checkpoints that are BERTs).
#[derive(Debug)]
pub struct Model {
    cfg: Config,
    word: Tensor,
    position: Tensor,
    /// Row 0 of the token-type table: single-segment input only.
    token_type: Tensor,
    norm: Norm,
    layers: Vec<Layer>,
}

#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

#[derive(Debug)]
struct Linear {
    weight: Weight,
    bias: Tensor,
}

#[derive(Debug)]
enum Weight {
    /// `[in, out]`, contiguous: transposed once at load so every matmul reads rows.
    #[cfg_attr(
        all(target_arch = "wasm32", target_feature = "simd128"),
        allow(dead_code)
    )]
    Dense(Tensor),
    /// The wasm build's f32 layers: packed once at load for Lantern's simd128 matmul, which is
    /// ~1.25x candle's there (`ops::cpu::packed_f32`). Holds its bias too (the kernel starts
    /// from it); `Linear::bias` is then unused.
    #[cfg_attr(
        not(all(target_arch = "wasm32", target_feature = "simd128")),
        allow(dead_code)
    )]
    Packed(PackedF32, Vec<f32>),
    Quantized(QMatMul),
}

/// A layer norm's parameters; applied to `[rows, cols]` as a candle custom op over
/// [`layer_norm`].
#[derive(Debug)]
struct Norm {
    gain: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

/// Attention of a padded batch: `q`, `k`, `v` as `[batch * n, hidden]`, each row attending
/// to the first `lens[b]` keys of its sequence ([`EncoderAttention`]).
struct Attention<'a> {
    lens: &'a [usize],
    shape: EncoderAttention,
}

pub(crate) fn backend(e: candle_core::Error) -> ModelError {
    ModelError::Backend(e.to_string())
}

impl Model {
    /// Loads the encoder from a safetensors file's bytes (f32, f16 or bf16). Tensor names may
    /// carry the `bert.` prefix of `BertFor*` checkpoints.
    pub fn from_safetensors(
        cfg: &Config,
        bytes: &[u8],
        quantization: Quantization,
    ) -> Result<Self> {
        let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
            .map_err(|e| ModelError::Safetensors(e.to_string()))?;
        Self::from_tensors(cfg, tensors, quantization)
    }

    fn from_tensors(
        cfg: &Config,
        tensors: HashMap<String, Tensor>,
        quantization: Quantization,
    ) -> Result<Self> {
        let mut w = Weights::new(tensors);
        let h = cfg.hidden_size;
        let word = w.take("embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?;
        let position = w.take(
            "embeddings.position_embeddings.weight",
            &[cfg.max_position_embeddings, h],
        )?;
        let token_type = w
            .take(
                "embeddings.token_type_embeddings.weight",
                &[cfg.type_vocab_size, h],
            )?
            .get(0)
            .map_err(backend)?;
        let norm = w.norm("embeddings.LayerNorm", h, cfg.layer_norm_eps)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}.");
            let i_size = cfg.intermediate_size;
            let mut lin = |name: &str, out: usize, inp: usize| {
                w.linear(&format!("{p}{name}"), out, inp, quantization)
            };
            let query = lin("attention.self.query", h, h)?;
            let key = lin("attention.self.key", h, h)?;
            let value = lin("attention.self.value", h, h)?;
            let attn_out = lin("attention.output.dense", h, h)?;
            let up = lin("intermediate.dense", i_size, h)?;
            let down = lin("output.dense", h, i_size)?;
            layers.push(Layer {
                query,
                key,
                value,
                attn_out,
                attn_norm: w.norm(
                    &format!("{p}attention.output.LayerNorm"),
                    h,
                    cfg.layer_norm_eps,
                )?,
                up,
                down,
                out_norm: w.norm(&format!("{p}output.LayerNorm"), h, cfg.layer_norm_eps)?,
            });
        }
        Ok(Model {
            cfg: cfg.clone(),
            word,
            position,
            token_type,
            norm,
            layers,
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Threads one forward pass's matmuls use. candle sizes its GEMM threads from the machine's
    /// physical cores (or `RAYON_NUM_THREADS`), which is 1 in wasm even when the threaded
    /// worker build has a rayon pool: there, callers get parallelism by running several
    /// batches at once instead.
    pub fn matmul_threads(&self) -> usize {
        candle_core::utils::get_num_threads()
    }

    /// The last hidden state of each sequence, `len * hidden_size` values row-major, for a batch
    /// of token-id sequences of any lengths (single segment: token type 0).
    ///
    /// The batch is padded to its longest sequence; padded keys get zero attention weight, so
    /// each sequence gets the vectors it would get alone (up to float summation order).
    pub fn forward(&self, sequences: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let b = sequences.len();
        let n = sequences.iter().map(|s| s.len()).max().unwrap_or(0);
        if n == 0 {
            return Ok(vec![Vec::new(); b]);
        }
        let cfg = &self.cfg;
        if n > cfg.max_position_embeddings {
            return Err(ModelError::ContextOverflow {
                requested: n,
                max: cfg.max_position_embeddings,
            });
        }
        let h = cfg.hidden_size;
        let lens: Vec<usize> = sequences.iter().map(|s| s.len()).collect();
        let mut ids = Vec::with_capacity(b * n);
        for s in sequences {
            if let Some(&id) = s.iter().find(|&&id| id as usize >= cfg.vocab_size) {
                return Err(ModelError::TokenOutOfRange {
                    id,
                    vocab: cfg.vocab_size,
                });
            }
            ids.extend_from_slice(s);
            ids.extend(std::iter::repeat_n(cfg.pad_token_id, n - s.len()));
        }
        let x = self.embed(ids, b, n).map_err(backend)?;
        let mut x = self.norm.apply(&x)?;
        for layer in &self.layers {
            x = layer.forward(&x, cfg, b, n, &lens)?;
        }
        let all = x
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(backend)?;
        Ok(lens
            .iter()
            .enumerate()
            .map(|(i, &len)| all[i * n * h..(i * n + len) * h].to_vec())
            .collect())
    }

    fn embed(&self, ids: Vec<u32>, b: usize, n: usize) -> candle_core::Result<Tensor> {
        let h = self.cfg.hidden_size;
        let ids = Tensor::from_vec(ids, b * n, &Device::Cpu)?;
        let words = self.word.index_select(&ids, 0)?.reshape((b, n, h))?;
        let positions = self.position.narrow(0, 0, n)?;
        words
            .broadcast_add(&positions)?
            .broadcast_add(&self.token_type)?
            .reshape((b * n, h))
    }
}

impl Layer {
    fn forward(
        &self,
        x: &Tensor,
        cfg: &Config,
        b: usize,
        n: usize,
        lens: &[usize],
    ) -> Result<Tensor> {
        let (heads, dh, h) = (cfg.num_attention_heads, cfg.head_dim(), cfg.hidden_size);
        let q = self.query.forward(x)?;
        let k = self.key.forward(x)?;
        let v = self.value.forward(x)?;
        let op = Attention {
            lens,
            shape: EncoderAttention {
                n,
                heads,
                head_dim: dh,
                scale: 1.0 / (dh as f32).sqrt(),
            },
        };
        debug_assert_eq!(q.dims(), [b * n, h]);
        let ctx = q.apply_op3_no_bwd(&k, &v, &op).map_err(backend)?;
        let attn = (self.attn_out.forward(&ctx)? + x).map_err(backend)?;
        let x = self.attn_norm.apply(&attn)?;
        let up = self.up.forward(&x)?;
        let act = match cfg.hidden_act {
            Activation::Gelu => up.inplace_op1(&GeluErf).map(|()| up),
            Activation::GeluTanh => up.gelu(),
            Activation::Relu => up.relu(),
        }
        .map_err(backend)?;
        let out = (self.down.forward(&act)? + &x).map_err(backend)?;
        self.out_norm.apply(&out)
    }
}

impl Linear {
    /// `x · Wᵀ + b` for `x` of `[rows, in]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = match &self.weight {
            Weight::Dense(wt) => x.matmul(wt),
            Weight::Quantized(q) => q.forward(x),
            Weight::Packed(w, bias) => {
                return x
                    .apply_op1_no_bwd(&PackedLinear { w, bias })
                    .map_err(backend);
            }
        };
        y.and_then(|y| y.broadcast_add(&self.bias)).map_err(backend)
    }
}

/// The exact (erf) GELU in place, through [`gelu_erf`]: vectorized and the same bits natively
/// and in wasm, where candle's calls libm's scalar `erff` per value.
struct GeluErf;

impl InplaceOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "gelu-erf"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("gelu-erf: expected f32 input")
        };
        match layout.contiguous_offsets() {
            Some((start, end)) => {
                gelu_erf(&mut data[start..end]);
                Ok(())
            }
            None => candle_core::bail!("gelu-erf: input is not contiguous"),
        }
    }
}

/// `x · Wᵀ + b` through [`PackedF32`], as a candle op on `[rows, in]`.
struct PackedLinear<'a> {
    w: &'a PackedF32,
    bias: &'a [f32],
}

impl CustomOp1 for PackedLinear<'_> {
    fn name(&self) -> &'static str {
        "packed-linear"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_input(self.name(), storage, layout)?;
        let &[rows, cols] = layout.dims() else {
            candle_core::bail!("packed-linear over {:?}", layout.dims())
        };
        if cols != self.w.inputs() {
            candle_core::bail!("packed-linear: {cols} inputs for {}", self.w.inputs())
        }
        let y = self
            .w
            .matmul_bias(x, self.bias)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        Ok((CpuStorage::F32(y), Shape::from((rows, self.w.outputs()))))
    }
}

impl Norm {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        x.apply_op1_no_bwd(self).map_err(backend)
    }
}

/// The contiguous f32 data of a custom op's input.
fn f32_input<'a>(
    op: &'static str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{op}: expected f32 input")
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{op}: input is not contiguous"),
    }
}

impl CustomOp1 for Norm {
    fn name(&self) -> &'static str {
        "layer-norm"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut out = f32_input(self.name(), storage, layout)?.to_vec();
        let cols = self.gain.len();
        if layout.dims().last() != Some(&cols) {
            candle_core::bail!("layer-norm over {:?} with {cols} gains", layout.dims())
        }
        for row in out.chunks_exact_mut(cols) {
            layer_norm(row, &self.gain, &self.bias, self.eps);
        }
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

impl CustomOp3 for Attention<'_> {
    fn name(&self) -> &'static str {
        "encoder-attention"
    }

    fn cpu_fwd(
        &self,
        q: &CpuStorage,
        lq: &Layout,
        k: &CpuStorage,
        lk: &Layout,
        v: &CpuStorage,
        lv: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (q, k, v) = (
            f32_input(self.name(), q, lq)?,
            f32_input(self.name(), k, lk)?,
            f32_input(self.name(), v, lv)?,
        );
        let s = &self.shape;
        let rows = self.lens.len() * s.n;
        let want = rows * s.heads * s.head_dim;
        if q.len() != want || k.len() != want || v.len() != want {
            candle_core::bail!(
                "encoder-attention: {} values for {rows} rows of {} heads",
                q.len(),
                s.heads
            )
        }
        let out = s.run(q, k, v, self.lens);
        Ok((CpuStorage::F32(out), lq.shape().clone()))
    }
}

/// The file's tensors, taken one at a time (so each is converted and the original freed).
struct Weights {
    tensors: HashMap<String, Tensor>,
    /// `bert.` for `BertForMaskedLM`-style checkpoints, empty for `BertModel` ones.
    prefix: &'static str,
}

impl Weights {
    fn new(tensors: HashMap<String, Tensor>) -> Self {
        let prefix = if tensors.contains_key("embeddings.word_embeddings.weight") {
            ""
        } else {
            "bert."
        };
        Weights { tensors, prefix }
    }

    fn take_any(&mut self, names: &[&str]) -> Result<Tensor> {
        for name in names {
            if let Some(t) = self.tensors.remove(&format!("{}{name}", self.prefix)) {
                return Ok(t);
            }
        }
        Err(ModelError::MissingTensor(format!(
            "{}{}",
            self.prefix,
            names.first().unwrap_or(&"")
        )))
    }

    /// A tensor of `shape`, widened to f32.
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.take_shaped(&[name], shape)
    }

    fn take_shaped(&mut self, names: &[&str], shape: &[usize]) -> Result<Tensor> {
        let t = self.take_any(names)?;
        if t.dims() != shape {
            return Err(ModelError::TensorShape {
                name: names.first().map(|n| n.to_string()).unwrap_or_default(),
                expected: shape.to_vec(),
                found: t.dims().to_vec(),
            });
        }
        match t.dtype() {
            DType::F32 => Ok(t),
            DType::F16 | DType::BF16 => t.to_dtype(DType::F32).map_err(backend),
            other => Err(ModelError::Malformed(format!(
                "tensor {:?} is {other:?}; expected f32, f16 or bf16",
                names.first().unwrap_or(&"")
            ))),
        }
    }

    fn vec(&mut self, names: &[&str], len: usize) -> Result<Vec<f32>> {
        self.take_shaped(names, &[len])?
            .to_vec1::<f32>()
            .map_err(backend)
    }

    fn norm(&mut self, prefix: &str, len: usize, eps: f64) -> Result<Norm> {
        // Old TensorFlow-converted checkpoints name the parameters gamma and beta.
        Ok(Norm {
            gain: self.vec(
                &[&format!("{prefix}.weight"), &format!("{prefix}.gamma")],
                len,
            )?,
            bias: self.vec(&[&format!("{prefix}.bias"), &format!("{prefix}.beta")], len)?,
            eps: eps as f32,
        })
    }

    fn linear(
        &mut self,
        prefix: &str,
        out: usize,
        inp: usize,
        quantization: Quantization,
    ) -> Result<Linear> {
        let w = self.take(&format!("{prefix}.weight"), &[out, inp])?;
        let bias = self.take(&format!("{prefix}.bias"), &[out])?;
        // Q8_0 blocks run along the input dimension; a width that is not a whole number of
        // blocks (no BERT we know) stays f32 rather than failing.
        let block = GgmlDType::Q8_0.block_size();
        let weight = match quantization {
            Quantization::Q8_0 if inp.is_multiple_of(block) => {
                let q = QTensor::quantize(&w, GgmlDType::Q8_0).map_err(backend)?;
                Weight::Quantized(QMatMul::from_qtensor(q).map_err(backend)?)
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            _ => {
                let values = w.flatten_all().and_then(|t| t.to_vec1()).map_err(backend)?;
                let b = bias.to_vec1().map_err(backend)?;
                Weight::Packed(PackedF32::new(&values, out, inp)?, b)
            }
            #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
            _ => Weight::Dense(w.t().and_then(|t| t.contiguous()).map_err(backend)?),
        };
        Ok(Linear { weight, bias })
    }
}
