//! Bidirectional multi-head attention for encoders, over a padded batch, straight from the
//! projections' row-major output (no transposes into per-head tensors, no batched GEMM of tiny
//! `n x n` matrices: for the short texts embeddings see, those cost more than the arithmetic).

use rayon::prelude::*;

use super::masked_softmax::scaled_softmax_prefix;
use super::math::{axpy, dot};

/// The shape of one call: `batch` sequences padded to `n` rows, `lens[b]` of them real.
#[derive(Debug, Clone, Copy)]
pub struct EncoderAttention {
    pub n: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub scale: f32,
}

impl EncoderAttention {
    /// `q`, `k`, `v`: `[batch * n, heads * head_dim]`; returns the same shape. Query row `i` of
    /// sequence `b` attends to keys `0..lens[b]` only; rows past `lens[b]` (padding) come out
    /// zero, since nothing reads them.
    pub fn run(&self, q: &[f32], k: &[f32], v: &[f32], lens: &[usize]) -> Vec<f32> {
        let (n, hd) = (self.n, self.head_dim);
        let width = self.heads * hd;
        let mut out = vec![0f32; q.len()];
        let per_seq = n * width;
        out.par_chunks_mut(per_seq.max(1))
            .zip(lens.par_iter())
            .enumerate()
            .for_each(|(b, (out, &len))| {
                let base = b * per_seq;
                let len = len.min(n);
                let mut scores = vec![0f32; len];
                for h in 0..self.heads {
                    let col = h * hd;
                    for i in 0..len {
                        let qi = &q[base + i * width + col..][..hd];
                        for (j, s) in scores.iter_mut().enumerate() {
                            *s = dot(qi, &k[base + j * width + col..][..hd]);
                        }
                        scaled_softmax_prefix(&mut scores, len, self.scale);
                        let o = &mut out[i * width + col..][..hd];
                        for (j, &p) in scores.iter().enumerate() {
                            axpy(p, &v[base + j * width + col..][..hd], o);
                        }
                    }
                }
            });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a direct, unbatched computation; padding must change nothing.
    #[test]
    fn matches_naive_attention_and_ignores_padding() {
        let (heads, hd, n) = (2usize, 3usize, 4usize);
        let width = heads * hd;
        let val = |s: usize, i: usize| ((s * 7 + i * 13) % 11) as f32 / 5.0 - 1.0;
        let (mut q, mut k, mut v) = (
            vec![0f32; 2 * n * width],
            vec![0f32; 2 * n * width],
            vec![0f32; 2 * n * width],
        );
        for i in 0..q.len() {
            q[i] = val(1, i);
            k[i] = val(2, i);
            v[i] = val(3, i);
        }
        let att = EncoderAttention {
            n,
            heads,
            head_dim: hd,
            scale: 0.5,
        };
        let lens = [4, 2];
        let out = att.run(&q, &k, &v, &lens);
        for (b, &len) in lens.iter().enumerate() {
            for h in 0..heads {
                for i in 0..n {
                    for d in 0..hd {
                        let got = out[(b * n + i) * width + h * hd + d];
                        if i >= len {
                            assert_eq!(got, 0.0);
                            continue;
                        }
                        let at =
                            |t: &[f32], r: usize, d: usize| t[(b * n + r) * width + h * hd + d];
                        let s: Vec<f64> = (0..len)
                            .map(|j| {
                                (0..hd)
                                    .map(|e| at(&q, i, e) as f64 * at(&k, j, e) as f64)
                                    .sum::<f64>()
                                    * 0.5
                            })
                            .collect();
                        let m = s.iter().cloned().fold(f64::MIN, f64::max);
                        let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
                        let want: f64 = (0..len)
                            .map(|j| (s[j] - m).exp() / z * at(&v, j, d) as f64)
                            .sum();
                        assert!(
                            (got as f64 - want).abs() < 1e-5,
                            "b{b} h{h} i{i} d{d}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
