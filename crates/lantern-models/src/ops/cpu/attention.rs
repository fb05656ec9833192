//! Attention with grouped KV heads over a growing cache.

use rayon::prelude::*;

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
}

/// Query rows per parallel task in a prompt.
const ROWS_PER_TASK: usize = 4;

pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n: usize,
    cache: &mut CpuKvCache,
    s: AttentionShape,
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
    cache.k.truncate(start_pos * width);
    cache.v.truncate(start_pos * width);
    cache.k.extend_from_slice(k);
    cache.v.extend_from_slice(v);
    let total = start_pos + n;
    let group = heads / kv_heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let (ck, cv) = (&cache.k[..], &cache.v[..]);

    let mut out = vec![0f32; n * q_width];
    // Per query row and KV head: the `group` query heads that share it read each cached key
    // and value once. Per head the arithmetic is the same as one head at a time (same dot,
    // softmax and accumulation order), so grouping changes no bit.
    let row = |(i, o): (usize, &mut [f32])| {
        let visible = if causal { start_pos + i + 1 } else { total };
        let mut scores = vec![0f32; group * visible];
        for kvh in 0..kv_heads {
            let heads_q = &q[i * q_width + kvh * group * head_dim..][..group * head_dim];
            for t in 0..visible {
                let kt = &ck[t * width + kvh * head_dim..][..head_dim];
                for (g, qh) in heads_q.chunks_exact(head_dim).enumerate() {
                    scores[g * visible + t] = dot(qh, kt) * scale;
                }
            }
            for s in scores.chunks_exact_mut(visible) {
                softmax(s);
            }
            let oh = &mut o[kvh * group * head_dim..][..group * head_dim];
            for t in 0..visible {
                let vt = &cv[t * width + kvh * head_dim..][..head_dim];
                for (g, og) in oh.chunks_exact_mut(head_dim).enumerate() {
                    axpy(scores[g * visible + t], vt, og);
                }
            }
        }
    };
    if n > ROWS_PER_TASK && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(q_width)
            .enumerate()
            .with_min_len(ROWS_PER_TASK)
            .for_each(row);
    } else {
        out.chunks_mut(q_width).enumerate().for_each(row);
    }
    Ok(out)
}
