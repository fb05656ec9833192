//! The op layer: the few operations a model family is written over.
//!
//! A model holds its weights as a backend's [`Backend::Matrix`] / [`Backend::Vector`] and
//! computes only through the methods below, so the same model code runs on every backend.
//! Activations are 2-D, one row per token (`[tokens, features]`); ops that work per head take
//! the head count. [`cpu::Cpu`] is the CPU backend (native and wasm32, SIMD, threads); the GPU
//! backend (`gpu::Gpu`, feature `gpu`) implements the same trait.
//!
//! Two families of weights: [`Backend::Matrix`] holds a GGUF tensor as the file stores it
//! (quantized blocks, multiplied row by row: what decoding one token needs), while
//! [`Backend::Dense`] holds f32 host data in whatever layout the backend's large matmuls are
//! fastest with (encoders run every token of a padded batch at once).

pub mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;
mod rope;

use std::fmt;
use std::sync::Arc;

pub use rope::{Rope, RopeAngles, RopeScaling, RopeStyle};

use crate::bytes::{ByteView, ModelBytes};
use crate::error::{ModelError, Result};
use crate::gguf::GgmlDType;

/// A tensor's data as the file holds it, handed to a backend to make a weight of it.
#[derive(Debug, Clone)]
pub struct TensorData {
    pub name: String,
    /// GGUF order: `dims[0]` is the contiguous dimension.
    pub dims: Vec<usize>,
    pub dtype: GgmlDType,
    pub bytes: ByteView,
}

impl TensorData {
    /// `(rows, cols)` of the tensor seen as a matrix.
    pub fn matrix_shape(&self) -> (usize, usize) {
        let cols = self.dims.first().copied().unwrap_or(1);
        (self.dims.iter().skip(1).product(), cols)
    }

    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }
}

/// The shape of one attention call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    /// Position of the first query row; the cache must hold exactly this many positions
    /// before the call (positions past it are dropped first, so a prefix can be reused).
    pub start_pos: usize,
    /// Causal masking (decoders); an encoder attends to every position.
    pub causal: bool,
}

/// An activation function, applied in place by [`Backend::activate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Activation {
    /// The exact GELU, `x/2 * (1 + erf(x/√2))` (transformers' `gelu`, what BERT was trained
    /// with).
    Gelu,
    /// GELU's tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    Relu,
    Tanh,
    /// `min(max(x, 0), 6)` (MobileNet's and EfficientNet-Lite's `relu6`).
    Relu6,
    /// `x * sigmoid(x)` (`silu`, `swish`).
    Silu,
}

/// How a dense weight is held in memory ([`Backend::dense`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Quantization {
    /// As f32 (or what the backend multiplies f32 activations with: f16 on a GPU with f16
    /// arithmetic).
    #[default]
    None,
    /// GGML's Q8_0 (blocks of 32 weights sharing one f16 scale: 8.5 bits per weight), quantized
    /// on load. A matrix whose rows are not whole blocks stays f32.
    Q8_0,
}

/// The shape of one [`Backend::attend`] call: non-causal multi-head attention over a padded
/// batch of `batch = kv_valid.len()` items. Item `b`'s query rows are rows
/// `b * q_len .. (b + 1) * q_len` of `q` and its keys and values rows `b * kv_len ..` of `k`
/// and `v`; both are `heads * head_dim` wide, head `h` in columns `h * head_dim ..`.
///
/// Encoder self-attention has `q_len == kv_len`; cross-attention over a fixed memory (a
/// decoder's query rows over an encoder's positions) has its own `kv_len`, and its keys and
/// values are computed once and passed to every call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttendShape<'a> {
    pub heads: usize,
    pub head_dim: usize,
    pub q_len: usize,
    pub kv_len: usize,
    /// The scores' factor (`1 / sqrt(head_dim)` for BERT; T5 uses 1).
    pub scale: f32,
    /// Real keys of each item (at most `kv_len`): the padding after them gets exactly zero
    /// weight, so an item's result does not depend on its batch.
    pub kv_valid: &'a [usize],
    /// Real query rows of each item (at most `q_len`); rows after them come out zero and are
    /// not computed. `None`: every row is real.
    pub q_valid: Option<&'a [usize]>,
}

impl AttendShape<'_> {
    pub fn batch(&self) -> usize {
        self.kv_valid.len()
    }

    pub fn width(&self) -> usize {
        self.heads * self.head_dim
    }

    /// Real query rows of item `b`.
    pub fn q_rows(&self, b: usize) -> usize {
        self.q_valid
            .and_then(|v| v.get(b).copied())
            .unwrap_or(self.q_len)
    }

    /// Checks the shape against `q`'s `[rows, cols]` and `k`'s and `v`'s.
    pub fn check(&self, q: (usize, usize), k: (usize, usize), v: (usize, usize)) -> Result<()> {
        let batch = self.batch();
        let width = self.heads.checked_mul(self.head_dim);
        let fits = |(rows, cols): (usize, usize), len: usize| {
            Some(cols) == width && batch.checked_mul(len) == Some(rows)
        };
        let ok = self.heads > 0
            && self.head_dim > 0
            && fits(q, self.q_len)
            && fits(k, self.kv_len)
            && fits(v, self.kv_len)
            && self.kv_valid.iter().all(|&n| n <= self.kv_len)
            && self
                .q_valid
                .is_none_or(|v| v.len() == batch && v.iter().all(|&n| n <= self.q_len));
        if ok {
            Ok(())
        } else {
            Err(ModelError::shape(
                "attend",
                format!(
                    "q {q:?}, k {k:?}, v {v:?} for {batch} items of {} x {} rows, {} heads of {}, \
                     valid keys {:?}, valid queries {:?}",
                    self.q_len, self.kv_len, self.heads, self.head_dim, self.kv_valid, self.q_valid
                ),
            ))
        }
    }

    /// Checks an [`Backend::attend_biased`] bias of `rows x cols`: `[heads * q_len, kv_len]`.
    pub fn check_bias(&self, rows: usize, cols: usize) -> Result<()> {
        if self.heads.checked_mul(self.q_len) == Some(rows) && cols == self.kv_len {
            Ok(())
        } else {
            Err(ModelError::shape(
                "attend_biased",
                format!(
                    "bias {rows}x{cols} for {} heads of {} query rows over {} keys",
                    self.heads, self.q_len, self.kv_len
                ),
            ))
        }
    }
}

/// Cells added around an image before a 2-D window op: zeros for a convolution, ignored by
/// max pooling. Four sides, so that both PyTorch's symmetric padding and TF's "same" padding
/// (which puts the odd cell at the bottom and right) are one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Padding2d {
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
}

impl Padding2d {
    /// `pad` cells on every side (PyTorch's `Conv2d(padding=pad)`).
    pub fn symmetric(pad: usize) -> Self {
        Padding2d {
            top: pad,
            left: pad,
            bottom: pad,
            right: pad,
        }
    }

    /// TF's "same" padding: per axis `total = max((ceil(n / stride) - 1) * stride + kernel - n,
    /// 0)`, the smaller half before (top, left), so the output has `ceil(n / stride)` cells.
    pub fn tf_same(height: usize, width: usize, kernel: usize, stride: usize) -> Self {
        let amount = |n: usize| {
            let total = if stride == 0 {
                0
            } else {
                (n.div_ceil(stride).saturating_sub(1) * stride + kernel).saturating_sub(n)
            };
            (total / 2, total - total / 2)
        };
        let ((top, bottom), (left, right)) = (amount(height), amount(width));
        Padding2d {
            top,
            left,
            bottom,
            right,
        }
    }
}

/// The geometry of a 2-D window op (convolution, pooling) over one image held as
/// `[height * width, channels]`: one row per pixel, row-major over `y` then `x` (NHWC without
/// the batch), channels as columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window2d {
    pub height: usize,
    pub width: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    /// The same step along both axes.
    pub stride: usize,
    pub padding: Padding2d,
}

impl Window2d {
    /// A square `kernel` with TF "same" padding.
    pub fn tf_same(height: usize, width: usize, kernel: usize, stride: usize) -> Self {
        Window2d {
            height,
            width,
            kernel_h: kernel,
            kernel_w: kernel,
            stride,
            padding: Padding2d::tf_same(height, width, kernel, stride),
        }
    }

    /// A square `kernel` with `pad` cells on every side.
    pub fn symmetric(
        height: usize,
        width: usize,
        kernel: usize,
        stride: usize,
        pad: usize,
    ) -> Self {
        Window2d {
            height,
            width,
            kernel_h: kernel,
            kernel_w: kernel,
            stride,
            padding: Padding2d::symmetric(pad),
        }
    }

    /// `(out_height, out_width)`, or `None` where the geometry is impossible (an empty image or
    /// kernel, a zero stride, a kernel larger than the padded image, a padding that would make
    /// a window see only padding).
    pub fn out_size(&self) -> Option<(usize, usize)> {
        let p = self.padding;
        let axis = |n: usize, k: usize, before: usize, after: usize| {
            let span = n.checked_add(before)?.checked_add(after)?;
            if n == 0 || k == 0 || self.stride == 0 || span < k || before >= k || after >= k {
                return None;
            }
            Some((span - k) / self.stride + 1)
        };
        Some((
            axis(self.height, self.kernel_h, p.top, p.bottom)?,
            axis(self.width, self.kernel_w, p.left, p.right)?,
        ))
    }

    /// Checks the geometry against an input of `rows` rows; returns the output size.
    pub fn check(&self, op: &'static str, rows: usize) -> Result<(usize, usize)> {
        match self.out_size() {
            Some(out) if self.height.checked_mul(self.width) == Some(rows) => Ok(out),
            _ => Err(ModelError::shape(op, format!("{rows} rows for {self:?}"))),
        }
    }
}

/// The rows of a dense weight are a multiple of this many values wide on every backend: the
/// GPU's matrix kernels read eight weights at a time. Convolutions whose unfolded width is not
/// (a 3×3 or 7×7 stem over RGB: 27 or 147 values, a 1×1 convolution over an odd channel count)
/// unfold to [`dense_columns`] columns, the extra ones zero in the input and in the weight, so
/// their products add nothing.
pub const DENSE_COLUMN_MULTIPLE: usize = 8;

/// `values` rounded up to a multiple of [`DENSE_COLUMN_MULTIPLE`]: the width of a convolution's
/// unfolded rows and of its weight's rows.
pub fn dense_columns(values: usize) -> usize {
    values.next_multiple_of(DENSE_COLUMN_MULTIPLE)
}

/// A PyTorch `Conv2d` weight `[out, in, kh, kw]` laid out as `[out, cols]`: `kh * kw * in`
/// values (kernel row, kernel column, then input channel; the column order of
/// [`Backend::unfold2d`]), then zeros up to `cols` ([`dense_columns`]), so that a convolution is
/// `unfold2d` + [`Backend::linear`].
pub fn conv2d_weight_for_unfold(
    w: &[f32],
    out: usize,
    inp: usize,
    kh: usize,
    kw: usize,
    cols: usize,
) -> Result<Vec<f32>> {
    let n = [out, inp, kh, kw]
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d));
    let padded = out.checked_mul(cols);
    if n != Some(w.len()) || padded.is_none() || cols < kh * kw * inp {
        return Err(ModelError::shape(
            "conv2d_weight",
            format!(
                "{} values for [{out}, {inp}, {kh}, {kw}] in rows of {cols}",
                w.len()
            ),
        ));
    }
    let mut r = vec![0f32; padded.unwrap_or(0)];
    for o in 0..out {
        for c in 0..inp {
            for y in 0..kh {
                for x in 0..kw {
                    r[o * cols + (y * kw + x) * inp + c] = w[((o * inp + c) * kh + y) * kw + x];
                }
            }
        }
    }
    Ok(r)
}

/// A depthwise `Conv2d` weight `[channels, 1, kh, kw]` laid out as `[kh * kw, channels]`, what
/// [`Backend::depthwise_conv2d`] takes: one kernel cell's weights for every channel side by
/// side, so its inner loop runs over contiguous channels (SIMD lanes).
pub fn depthwise_weight_layout(
    w: &[f32],
    channels: usize,
    kh: usize,
    kw: usize,
) -> Result<Vec<f32>> {
    let cells = kh.checked_mul(kw);
    if cells.and_then(|c| c.checked_mul(channels)) != Some(w.len()) {
        return Err(ModelError::shape(
            "depthwise_weight",
            format!("{} values for [{channels}, 1, {kh}, {kw}]", w.len()),
        ));
    }
    let cells = kh * kw;
    let mut r = vec![0f32; w.len()];
    for c in 0..channels {
        for k in 0..cells {
            r[k * channels + c] = w[c * cells + k];
        }
    }
    Ok(r)
}

/// BatchNorm (inference: running statistics) folded into the convolution before it: the
/// weight `w` (`out` rows of any length, PyTorch's layout) is scaled per output channel and
/// `bias` (the convolution's own, or zeros) becomes `(bias - mean) * scale + beta`, with
/// `scale = gamma / sqrt(var + eps)`. Done once at load, so a conv + BN is one op.
pub fn fold_batch_norm(
    w: &mut [f32],
    bias: &mut [f32],
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f32,
) -> Result<()> {
    let out = bias.len();
    if out == 0
        || gamma.len() != out
        || beta.len() != out
        || mean.len() != out
        || var.len() != out
        || !w.len().is_multiple_of(out)
    {
        return Err(ModelError::shape(
            "fold_batch_norm",
            format!(
                "{} weights, {out} biases, {}/{}/{}/{} statistics",
                w.len(),
                gamma.len(),
                beta.len(),
                mean.len(),
                var.len()
            ),
        ));
    }
    let per = w.len() / out;
    for o in 0..out {
        // In f64: var + eps can be tiny, and the fold should not be the error's source.
        let scale = f64::from(gamma[o]) / (f64::from(var[o]) + f64::from(eps)).sqrt();
        for v in &mut w[o * per..(o + 1) * per] {
            *v = (f64::from(*v) * scale) as f32;
        }
        bias[o] = ((f64::from(bias[o]) - f64::from(mean[o])) * scale + f64::from(beta[o])) as f32;
    }
    Ok(())
}

/// What a backend offers the model families.
pub trait Backend: fmt::Debug + Send + Sync + 'static {
    /// Activations: `[rows, cols]` of f32, one row per token.
    type Tensor: fmt::Debug + Send + Sync;
    /// A weight matrix `[out, in]` in whatever type the file stores it.
    type Matrix: fmt::Debug + Send + Sync;
    /// A weight vector (norm gains, biases) as f32.
    type Vector: fmt::Debug + Send + Sync;
    /// Keys and values of the positions seen so far, for one attention layer.
    type KvCache: fmt::Debug + Send + Sync;
    /// A dense weight matrix `[out, in]` for [`Backend::linear`], in the layout the backend's
    /// large matmuls read.
    type Dense: fmt::Debug + Send + Sync;

    /// Short name for reports (`cpu`, `webgpu`).
    fn name(&self) -> String;

    /// Runs one forward pass. A backend with a thread pool runs it on the pool, so the many
    /// small parallel loops of a step start from a pool thread (cheap) instead of each one
    /// waking the pool from outside and blocking the caller (two thread wake-ups per loop).
    fn execute<R: Send>(f: impl FnOnce() -> R + Send) -> R
    where
        Self: Sized,
    {
        f()
    }

    /// Called once for each matrix before the file's bytes are shared: a backend may rewrite
    /// the matrix in place into the layout its kernels read (the size may not change).
    /// [`Backend::matrix`] is later given the rewritten bytes.
    fn prepare_matrix(
        &self,
        _dtype: GgmlDType,
        _rows: usize,
        _cols: usize,
        _bytes: &mut [u8],
    ) -> Result<()> {
        Ok(())
    }
    /// A matrix from a (prepared) tensor.
    fn matrix(&self, t: TensorData) -> Result<Self::Matrix>;
    /// A vector from a tensor of any type.
    fn vector(&self, t: TensorData) -> Result<Self::Vector>;
    /// A dense weight from `rows x cols` f32 values, row-major (`[out, in]`, PyTorch's
    /// `Linear.weight`), held as `quantization` asks.
    fn dense(
        &self,
        name: &str,
        w: Vec<f32>,
        rows: usize,
        cols: usize,
        quantization: Quantization,
    ) -> Result<Self::Dense>;
    /// Whether an f32 output projection (a language model's head: tens of thousands of rows,
    /// one product per generated token) runs faster as a [`Backend::dense`] weight than as a
    /// [`Backend::matrix`]. A tied head then holds its values twice (the lookup table and the
    /// dense weight).
    fn output_table_as_dense(&self) -> bool {
        false
    }
    /// A `rows x cols` lookup table (embeddings) from f32 values, row-major, for
    /// [`Backend::embedding`].
    fn table(&self, name: &str, data: Vec<f32>, rows: usize, cols: usize) -> Result<Self::Matrix> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(ModelError::shape(
                "table",
                format!("{name:?}: {} values for {rows}x{cols}", data.len()),
            ));
        }
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        drop(data);
        let len = bytes.len();
        let bytes = ByteView::new(Arc::new(ModelBytes::new(bytes)), 0..len)
            .ok_or_else(|| ModelError::shape("table", "view outside its buffer"))?;
        self.matrix(TensorData {
            name: name.to_owned(),
            dims: vec![cols, rows],
            dtype: GgmlDType::F32,
            bytes,
        })
    }
    /// A vector (a gain, a bias) from f32 values.
    fn vector_f32(&self, data: Vec<f32>) -> Result<Self::Vector>;
    /// An empty cache for `kv_heads * head_dim` features per position.
    fn kv_cache(&self, kv_heads: usize, head_dim: usize) -> Result<Self::KvCache>;
    /// A copy of the first `positions` positions of `cache` (a beam of a beam search leaving
    /// from another), which then grows on its own. More positions than the cache holds is a
    /// shape error.
    fn fork_cache(&self, cache: &Self::KvCache, positions: usize) -> Result<Self::KvCache>;

    /// Tensor from host data (`data.len() == rows * cols`).
    fn tensor(&self, data: Vec<f32>, rows: usize, cols: usize) -> Result<Self::Tensor>;
    /// Host copy of a tensor, row-major.
    fn read(&self, x: &Self::Tensor) -> Result<Vec<f32>>;
    /// [`Backend::read`], awaited. In a browser a GPU readback cannot block (its map callback
    /// runs from the event loop, which a blocked worker never returns to), so the GPU backend
    /// implements this one; the default is the synchronous read.
    fn read_async(&self, x: &Self::Tensor) -> impl Future<Output = Result<Vec<f32>>> {
        std::future::ready(self.read(x))
    }
    /// The index of the largest value of a `[1, n]` tensor (the first on ties, as
    /// [`argmax`]), awaited. A GPU backend computes it on the device, so a greedy step reads
    /// back 4 bytes instead of the whole row of logits; the default reads the row.
    fn argmax_async(&self, x: &Self::Tensor) -> impl Future<Output = Result<u32>> {
        std::future::ready(self.read(x).map(|v| argmax(&v)))
    }

    /// Rows `ids` of a `[vocab, dim]` table, as f32.
    fn embedding(&self, table: &Self::Matrix, ids: &[u32]) -> Result<Self::Tensor>;
    /// `x · wᵀ`: `[n, in] x [out, in] -> [n, out]`.
    fn matmul(&self, x: &Self::Tensor, w: &Self::Matrix) -> Result<Self::Tensor>;
    /// `x · wᵀ` for several matrices sharing one input (q/k/v, gate/up): a backend can prepare
    /// the input once.
    fn matmul_many(&self, x: &Self::Tensor, ws: &[&Self::Matrix]) -> Result<Vec<Self::Tensor>> {
        ws.iter().map(|w| self.matmul(x, w)).collect()
    }
    /// Adds `bias` to every row.
    fn add_bias(&self, x: &mut Self::Tensor, bias: &Self::Vector) -> Result<()>;
    /// `x += y`.
    fn add_assign(&self, x: &mut Self::Tensor, y: &Self::Tensor) -> Result<()>;
    /// RMS norm of every row, times `gain`.
    fn rms_norm(&self, x: &Self::Tensor, gain: &Self::Vector, eps: f32) -> Result<Self::Tensor>;
    /// RMS norm of every `head_dim` slice of every row (Qwen3's q/k norm), times `gain`.
    fn rms_norm_heads(
        &self,
        x: &mut Self::Tensor,
        gain: &Self::Vector,
        head_dim: usize,
        eps: f32,
    ) -> Result<()>;
    /// Rotary position embedding of every head of every row, row `i` at `angles`' position `i`.
    fn rope(
        &self,
        x: &mut Self::Tensor,
        head_dim: usize,
        rope: &Rope,
        angles: &RopeAngles,
    ) -> Result<()>;
    /// Scaled dot-product attention with grouped KV heads: appends `k`, `v` to `cache`, then
    /// attends `q` to every cached position (causally if asked). Returns `[n, heads * head_dim]`.
    fn attention(
        &self,
        q: &Self::Tensor,
        k: &Self::Tensor,
        v: &Self::Tensor,
        cache: &mut Self::KvCache,
        shape: AttentionShape,
    ) -> Result<Self::Tensor>;
    /// `silu(gate) * up`, element-wise.
    fn swiglu(&self, gate: &Self::Tensor, up: &Self::Tensor) -> Result<Self::Tensor>;
    /// The last row, as a `[1, cols]` tensor.
    fn last_row(&self, x: &Self::Tensor) -> Result<Self::Tensor>;

    /// `x · wᵀ + bias`: `[n, in] x [out, in] -> [n, out]`, the bias added in the same pass
    /// where the backend can.
    fn linear(
        &self,
        x: &Self::Tensor,
        w: &Self::Dense,
        bias: Option<&Self::Vector>,
    ) -> Result<Self::Tensor>;
    /// Layer norm of every row: `(x - mean) / sqrt(var + eps) * gain + bias`.
    fn layer_norm(
        &self,
        x: &Self::Tensor,
        gain: &Self::Vector,
        bias: &Self::Vector,
        eps: f32,
    ) -> Result<Self::Tensor>;
    /// `x = f(x)`, element-wise.
    fn activate(&self, x: &mut Self::Tensor, f: Activation) -> Result<()>;
    /// Non-causal multi-head scaled dot-product attention of a padded batch ([`AttendShape`]).
    /// Returns `[batch * q_len, heads * head_dim]`.
    fn attend(
        &self,
        q: &Self::Tensor,
        k: &Self::Tensor,
        v: &Self::Tensor,
        shape: &AttendShape<'_>,
    ) -> Result<Self::Tensor>;
    /// The windows of a 1-D convolution's input side by side (im2col): `x` is
    /// `[len, channels]`, one row per time step; row `t` of the result is rows
    /// `t * stride - pad + k` of `x` for `k` in `0..kernel` (zero rows where a window reaches
    /// outside `x`), `[out_len, kernel * channels]` with
    /// `out_len = (len + 2 * pad - kernel) / stride + 1`. A convolution is then
    /// [`Backend::linear`] with its weight `[out, channels, kernel]` (PyTorch's `Conv1d`) laid
    /// out as `[out, kernel * channels]`, kernel axis first.
    fn unfold1d(
        &self,
        x: &Self::Tensor,
        kernel: usize,
        stride: usize,
        pad: usize,
    ) -> Result<Self::Tensor>;
    /// The windows of a 2-D convolution's input side by side (im2col). `x` is one image,
    /// `[height * width, channels]` ([`Window2d`]); row `oy * out_w + ox` of the result holds,
    /// for each kernel cell `(ky, kx)` in row-major order, the `channels` values of pixel
    /// `(oy * stride + ky - top, ox * stride + kx - left)` (zeros where that is padding):
    /// `[out_h * out_w, kh * kw * channels]`. A convolution is then [`Backend::linear`] with its
    /// weight laid out by [`conv2d_weight_for_unfold`]. `cols` (at least `kh * kw * channels`)
    /// is the result's width, the columns past the unfolded values zero: [`dense_columns`], so
    /// that the weight's rows are as wide as every backend's dense kernels need. A 1×1
    /// convolution with stride 1 over a multiple of 8 channels needs no unfold (it is `linear`
    /// on `x` itself).
    fn unfold2d(&self, x: &Self::Tensor, window: &Window2d, cols: usize) -> Result<Self::Tensor>;
    /// A depthwise 2-D convolution (one filter per channel, PyTorch's `groups == channels`)
    /// plus a bias: `x` is `[height * width, channels]`, `weight` is `[kh * kw, channels]`
    /// ([`depthwise_weight_layout`]), `bias` has `channels` values (a folded BatchNorm's).
    /// Returns `[out_h * out_w, channels]`.
    fn depthwise_conv2d(
        &self,
        x: &Self::Tensor,
        weight: &Self::Vector,
        bias: &Self::Vector,
        window: &Window2d,
    ) -> Result<Self::Tensor>;
    /// Max pooling of every channel over `window` (padding cells are ignored, as PyTorch's
    /// `MaxPool2d` pads with -inf). Returns `[out_h * out_w, channels]`.
    fn max_pool2d(&self, x: &Self::Tensor, window: &Window2d) -> Result<Self::Tensor>;
    /// The mean of every column (global average pooling of `[height * width, channels]`):
    /// `[1, cols]`. No rows is a shape error.
    fn mean_rows(&self, x: &Self::Tensor) -> Result<Self::Tensor>;
    /// Rows `rows` of `x`, in that order (the first token of each text for a classification
    /// head, or the real rows of a padded batch), so that a GPU reads back only those.
    fn gather_rows(&self, x: &Self::Tensor, rows: &[usize]) -> Result<Self::Tensor>;
    /// `parts` one under the other (the same number of columns): the rows of a batch put back
    /// together after a per-item op (the beams of a beam search, each attending over its own
    /// cache). No parts, or parts of different widths, is a shape error.
    fn concat_rows(&self, parts: &[&Self::Tensor]) -> Result<Self::Tensor>;
    /// x *= factor, element-wise (Marian's embedding scale sqrt(d_model); T5's tied-head d_model^-0.5).
    fn scale(&self, x: &mut Self::Tensor, factor: f32) -> Result<()>;
    /// x *= y, element-wise, same shapes (T5 v1.1's gated GELU: gelu_new(wi_0 x) * wi_1 x).
    fn mul_assign(&self, x: &mut Self::Tensor, y: &Self::Tensor) -> Result<()>;
    /// [`Backend::attend`] with an additive bias on the scores (T5's relative position bias):
    /// `bias` is `[heads * q_len, kv_len]` (row h * q_len + i: head h, query i), the same for every
    /// item of the batch, added after the scores are scaled by `shape.scale` and before the
    /// softmax; padding keys still get zero weight.
    fn attend_biased(
        &self,
        q: &Self::Tensor,
        k: &Self::Tensor,
        v: &Self::Tensor,
        bias: &Self::Tensor,
        shape: &AttendShape<'_>,
    ) -> Result<Self::Tensor>;
    /// [`Backend::attention`] (appends k, v to the cache, attends causally if asked) with an additive
    /// bias `[heads * n, start_pos + n]` on the scores (row h * n + i: head h, query row i; column:
    /// key position), and the scores scaled by `scale` instead of 1/sqrt(head_dim) (T5: 1).
    ///
    /// Masked key positions (the future, when causal) need no -inf in the bias: their columns
    /// are not read.
    #[allow(clippy::too_many_arguments)]
    fn attention_biased(
        &self,
        q: &Self::Tensor,
        k: &Self::Tensor,
        v: &Self::Tensor,
        cache: &mut Self::KvCache,
        shape: AttentionShape,
        scale: f32,
        bias: &Self::Tensor,
    ) -> Result<Self::Tensor>;
    /// Whether callers should run forward passes of several batches side by side on the
    /// thread pool, because one pass's matmuls do not use it (the CPU backend's wasm matmul).
    fn batches_side_by_side(&self) -> bool {
        false
    }
}

/// Log-probabilities of one row of logits (beam search), the same bits on every target:
/// `x - max - ln(sum(exp(x - max)))` in f32, the exponentials (~2 ulp, vectorized) summed in
/// f64. A row whose largest value is not finite is returned as it is.
pub fn log_softmax(logits: &[f32]) -> Vec<f32> {
    cpu::math::log_softmax(logits)
}

/// The index of the largest value (the first one on ties; 0 for an empty slice): greedy
/// decoding, the same rule on every backend.
pub fn argmax(values: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best as u32
}
