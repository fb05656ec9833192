//! The op layer: the few operations a model family is written over.
//!
//! A model holds its weights as a backend's [`Backend::Matrix`] / [`Backend::Vector`] and
//! computes only through the methods below, so the same model code runs on every backend.
//! Activations are 2-D, one row per token (`[tokens, features]`); ops that work per head take
//! the head count. [`cpu::Cpu`] is the CPU backend (native and wasm32, SIMD, threads); a GPU
//! backend implements the same trait.

pub mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;
mod rope;

use std::fmt;

pub use rope::{Rope, RopeAngles, RopeScaling, RopeStyle};

use crate::bytes::ByteView;
use crate::error::Result;
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
    /// An empty cache for `kv_heads * head_dim` features per position.
    fn kv_cache(&self, kv_heads: usize, head_dim: usize) -> Result<Self::KvCache>;

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
