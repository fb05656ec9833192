//! Attention with grouped KV heads over a growing cache.

use super::team;

use super::math::{axpy, dot, softmax};
use crate::error::{ModelError, Result};
use crate::ops::AttentionShape;

/// Keys and values of past positions, `[position][kv_head][head_dim]`, growing as needed (a
/// cache sized for the whole context window up front would cost hundreds of MB that short
/// chats never use).
#[derive(Debug, Clone, Default)]
pub struct CpuKvCache {
    pub(crate) width: usize,
    pub(crate) k: Vec<f32>,
    pub(crate) v: Vec<f32>,
}

impl CpuKvCache {
    pub fn new(width: usize) -> Self {
        CpuKvCache {
            width,
            k: Vec::new(),
            v: Vec::new(),
        }
    }

    /// Positions held.
    pub fn len(&self) -> usize {
        self.k.len().checked_div(self.width).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the first `positions` positions.
    pub fn fork(&self, positions: usize) -> Result<CpuKvCache> {
        if positions > self.len() {
            return Err(ModelError::shape(
                "fork_cache",
                format!("{positions} positions of {} cached", self.len()),
            ));
        }
        let n = positions * self.width;
        Ok(CpuKvCache {
            width: self.width,
            k: self.k[..n].to_vec(),
            v: self.v[..n].to_vec(),
        })
    }
}

/// (Query row, head) pairs per parallel task at least.
const HEADS_PER_TASK: usize = 2;

/// Scaled dot-product attention of `n` query rows over the cache after appending `k`, `v`:
/// scores scaled by `1 / sqrt(head_dim)`.
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n: usize,
    cache: &mut CpuKvCache,
    s: AttentionShape,
) -> Result<Vec<f32>> {
    let scale = 1.0 / (s.head_dim as f32).sqrt();
    attention_biased(q, k, v, n, cache, s, scale, None)
}

/// [`attention`] with the scores scaled by `scale`, then `bias` added before the softmax
/// (T5's relative positions): `[heads * n, start_pos + n]`, row `h * n + i` for head `h`,
/// query row `i`, one column per key position. Masked (future) positions' columns are not read.
#[allow(clippy::too_many_arguments)]
pub fn attention_biased(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n: usize,
    cache: &mut CpuKvCache,
    s: AttentionShape,
    scale: f32,
    bias: Option<&[f32]>,
) -> Result<Vec<f32>> {
    let AttentionShape {
        heads,
        kv_heads,
        head_dim,
        start_pos,
        causal,
    } = s;
    let width = kv_heads * head_dim;
    let q_width = heads * head_dim;
    if kv_heads == 0 || !heads.is_multiple_of(kv_heads) || cache.width != width {
        return Err(ModelError::shape(
            "attention",
            format!(
                "{heads} heads, {kv_heads} kv heads, cache width {}",
                cache.width
            ),
        ));
    }
    if q.len() != n * q_width || k.len() != n * width || v.len() != n * width {
        return Err(ModelError::shape(
            "attention",
            format!("q {} k {} v {} for {n} rows", q.len(), k.len(), v.len()),
        ));
    }
    if cache.len() < start_pos {
        return Err(ModelError::shape(
            "attention",
            format!("start position {start_pos} after {} cached", cache.len()),
        ));
    }
    let total = start_pos + n;
    if let Some(b) = bias
        && heads
            .checked_mul(n)
            .and_then(|r| r.checked_mul(total))
            .is_none_or(|len| len != b.len())
    {
        return Err(ModelError::shape(
            "attention",
            format!(
                "{} bias values for {heads} heads x {n} rows x {total} positions",
                b.len()
            ),
        ));
    }
    cache.k.truncate(start_pos * width);
    cache.v.truncate(start_pos * width);
    cache.k.extend_from_slice(k);
    cache.v.extend_from_slice(v);
    let group = heads / kv_heads;
    let (ck, cv) = (&cache.k[..], &cache.v[..]);

    let mut out = vec![0f32; n * q_width];
    // One task per query row and head: its scores against every visible key, their softmax,
    // and the weighted sum of the values, so that decode (one row) still has `heads` tasks to
    // spread over threads. Every output value is computed the same way whatever the split.
    let head = |scores: &mut Vec<f32>, (j, o): (usize, &mut [f32])| {
        let (i, h) = (j / heads, j % heads);
        let visible = if causal { start_pos + i + 1 } else { total };
        let qh = &q[i * q_width + h * head_dim..][..head_dim];
        let at = (h / group) * head_dim;
        scores.clear();
        scores.extend((0..visible).map(|t| dot(qh, &ck[t * width + at..][..head_dim]) * scale));
        if let Some(b) = bias {
            let row = &b[(h * n + i) * total..][..visible];
            scores.iter_mut().zip(row).for_each(|(s, b)| *s += b);
        }
        softmax(scores);
        for (t, &p) in scores.iter().enumerate() {
            axpy(p, &cv[t * width + at..][..head_dim], o);
        }
    };
    // Only when there is enough work to be worth waking the pool (a decode step's heads over
    // a few hundred positions are ~100k multiply-adds).
    // (Saturating: `usize` is 32 bits in wasm, and a long prompt with many heads overflows it.)
    let work = [heads, total, head_dim]
        .iter()
        .fold(n, |w, &f| w.saturating_mul(f));
    if rayon::current_num_threads() > 1 && n * heads > 1 && work >= 1 << 15 {
        let tasks: Vec<_> = out
            .chunks_mut(head_dim * HEADS_PER_TASK)
            .enumerate()
            .collect();
        team::for_each(tasks, |(task, out)| {
            let mut scores = Vec::new();
            for (i, o) in out.chunks_mut(head_dim).enumerate() {
                head(&mut scores, (task * HEADS_PER_TASK + i, o));
            }
        });
    } else {
        let mut scores = Vec::new();
        out.chunks_mut(head_dim)
            .enumerate()
            .for_each(|item| head(&mut scores, item));
    }
    Ok(out)
}
