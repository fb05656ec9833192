//! Attention with grouped KV heads over a KV cache kept in GPU buffers.

use super::groups;
use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::pipeline::KernelKey;
use crate::pool::PooledBuffer;
use crate::tensor::GpuTensor;

/// The shape of one attention call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    /// Position of the first query row; the cache must hold at least this many positions
    /// (positions from here on are replaced, so a cached prefix can be reused).
    pub start_pos: usize,
    /// Causal masking (decoders); an encoder attends to every position.
    pub causal: bool,
}

/// The keys and values of one attention layer, `[position][kv_head][head_dim]` f32.
///
/// It grows by doubling (a cache sized for the whole context window up front would take memory
/// that short chats never use); growing copies the old content on the GPU.
#[derive(Debug)]
pub struct GpuKvCache {
    k: Option<PooledBuffer>,
    v: Option<PooledBuffer>,
    width: usize,
    len: usize,
    capacity: usize,
}

/// Positions the cache starts with.
const MIN_CAPACITY: usize = 256;

impl GpuKvCache {
    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every position (a new conversation).
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Gpu {
    /// An empty cache for `kv_heads * head_dim` values per position.
    pub fn kv_cache(&self, kv_heads: usize, head_dim: usize) -> GpuKvCache {
        GpuKvCache {
            k: None,
            v: None,
            width: kv_heads * head_dim,
            len: 0,
            capacity: 0,
        }
    }

    /// A copy of the first `positions` positions of `cache`, growing on its own from then on:
    /// a beam of a beam search that leaves from this one. The copy is recorded like a kernel.
    pub fn kv_cache_fork(&self, cache: &GpuKvCache, positions: usize) -> Result<GpuKvCache> {
        if positions > cache.len {
            return Err(GpuError::shape(
                "kv_cache_fork",
                format!("{positions} positions of {} cached", cache.len),
            ));
        }
        let mut copy = GpuKvCache {
            k: None,
            v: None,
            width: cache.width,
            len: 0,
            capacity: 0,
        };
        if positions == 0 {
            return Ok(copy);
        }
        self.grow(&mut copy, positions)?;
        if let (Some(k), Some(v), Some(ck), Some(cv)) = (&cache.k, &cache.v, &copy.k, &copy.v) {
            let bytes = (positions * cache.width * 4) as u64;
            self.copy(k.buffer(), 0, ck.buffer(), 0, bytes)?;
            self.copy(v.buffer(), 0, cv.buffer(), 0, bytes)?;
        }
        copy.len = positions;
        Ok(copy)
    }

    fn grow(&self, cache: &mut GpuKvCache, positions: usize) -> Result<()> {
        if positions <= cache.capacity {
            return Ok(());
        }
        let capacity = positions.max(2 * cache.capacity).max(MIN_CAPACITY);
        let bytes = (capacity * cache.width * 4) as u64;
        let (k, v) = (self.alloc(bytes)?, self.alloc(bytes)?);
        let keep = (cache.len * cache.width * 4) as u64;
        if let (Some(old_k), Some(old_v)) = (&cache.k, &cache.v) {
            self.copy(old_k.buffer(), 0, k.buffer(), 0, keep)?;
            self.copy(old_v.buffer(), 0, v.buffer(), 0, keep)?;
        }
        cache.k = Some(k);
        cache.v = Some(v);
        cache.capacity = capacity;
        Ok(())
    }

    /// Appends `k`, `v` (`[n, kv_heads * head_dim]`) to `cache` at `start_pos`, then attends
    /// `q` (`[n, heads * head_dim]`) to every cached position (causally if asked), with scale
    /// `1 / sqrt(head_dim)`. Returns `[n, heads * head_dim]`.
    pub fn attention(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        cache: &mut GpuKvCache,
        shape: AttentionShape,
    ) -> Result<GpuTensor> {
        let scale = 1.0 / (shape.head_dim as f32).sqrt();
        self.attention_with(q, k, v, cache, shape, scale, None)
    }

    /// [`Gpu::attention`] with the scores scaled by `scale` and then `bias` added before the
    /// softmax (T5's relative positions): `bias` is `[heads * n, start_pos + n]`, row
    /// `h * n + i` for head `h` and query row `i`, one column per key position. The columns of
    /// masked (future) positions are not read.
    #[allow(clippy::too_many_arguments)]
    pub fn attention_biased(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        cache: &mut GpuKvCache,
        shape: AttentionShape,
        scale: f32,
        bias: &GpuTensor,
    ) -> Result<GpuTensor> {
        self.attention_with(q, k, v, cache, shape, scale, Some(bias))
    }

    #[allow(clippy::too_many_arguments)]
    fn attention_with(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        cache: &mut GpuKvCache,
        shape: AttentionShape,
        scale: f32,
        bias: Option<&GpuTensor>,
    ) -> Result<GpuTensor> {
        let AttentionShape {
            heads,
            kv_heads,
            head_dim,
            start_pos,
            causal,
        } = shape;
        let n = q.rows();
        let width = kv_heads * head_dim;
        if kv_heads == 0 || !heads.is_multiple_of(kv_heads) || cache.width != width {
            return Err(GpuError::shape(
                "attention",
                format!(
                    "{heads} heads, {kv_heads} kv heads, cache width {}",
                    cache.width
                ),
            ));
        }
        // Four values per vector load, at most four output values per thread of 64.
        if head_dim == 0 || !head_dim.is_multiple_of(4) || head_dim > 256 {
            return Err(GpuError::shape(
                "attention",
                format!("head dimension {head_dim} (a multiple of 4 up to 256 is supported)"),
            ));
        }
        if q.cols() != heads * head_dim
            || k.cols() != width
            || v.cols() != width
            || k.rows() != n
            || v.rows() != n
        {
            return Err(GpuError::shape(
                "attention",
                format!(
                    "q {}x{}, k {}x{}, v {}x{}",
                    q.rows(),
                    q.cols(),
                    k.rows(),
                    k.cols(),
                    v.rows(),
                    v.cols()
                ),
            ));
        }
        if cache.len < start_pos {
            return Err(GpuError::shape(
                "attention",
                format!("start position {start_pos} after {} cached", cache.len),
            ));
        }
        let total = start_pos.checked_add(n);
        if let Some(b) = bias
            && (heads.checked_mul(n) != Some(b.rows()) || total != Some(b.cols()))
        {
            return Err(GpuError::shape(
                "attention",
                format!(
                    "bias {}x{} for {heads} heads x {n} rows after {start_pos} positions",
                    b.rows(),
                    b.cols()
                ),
            ));
        }
        // Indices in the kernel are u32: the cache's values, the query rows' and the bias'.
        // (Checked, not `usize::MAX`: that is `u32::MAX` on wasm32 and would pass.)
        let spans = [
            total.and_then(|t| t.checked_mul(width)),
            n.checked_mul(heads).and_then(|r| r.checked_mul(head_dim)),
            bias.map_or(Some(0), |b| b.rows().checked_mul(b.cols())),
        ];
        let required = spans
            .iter()
            .map(|s| s.map_or(u64::MAX, |v| v as u64))
            .max()
            .unwrap_or(0);
        if required > u64::from(u32::MAX) {
            return Err(GpuError::LimitsTooSmall {
                limit: "32-bit indexing of attention",
                required,
                available: u64::from(u32::MAX),
            });
        }
        let out = self.empty(n, heads * head_dim)?;
        if n == 0 {
            return Ok(out);
        }
        self.grow(cache, start_pos + n)?;
        let (Some(ck), Some(cv)) = (&cache.k, &cache.v) else {
            return Err(GpuError::Internal {
                message: "KV cache without buffers after growing".into(),
            });
        };
        let at = (start_pos * width * 4) as u64;
        let bytes = (n * width * 4) as u64;
        self.copy(k.buffer(), 0, ck.buffer(), at, bytes)?;
        self.copy(v.buffer(), 0, cv.buffer(), at, bytes)?;
        cache.len = start_pos + n;
        // Without a bias the kernel never reads its binding: `q` stands in.
        self.dispatch(
            &KernelKey::new("attention").constant("HAS_BIAS", u32::from(bias.is_some())),
            || include_str!("attention.wgsl").to_owned(),
            &[
                q.buffer(),
                ck.buffer(),
                cv.buffer(),
                out.buffer(),
                bias.unwrap_or(q).buffer(),
            ],
            &[
                n as u32,
                heads as u32,
                kv_heads as u32,
                head_dim as u32,
                start_pos as u32,
                u32::from(causal),
                scale.to_bits(),
                0,
            ],
            groups(n * heads, 1),
        )?;
        Ok(out)
    }
}
