//! Bidirectional multi-head attention for encoders, over a padded batch, straight from the
//! projections' row-major output (no transposes into per-head tensors, no batched GEMM of tiny
//! `n x n` matrices: for the short texts embeddings see, those cost more than the arithmetic).
//!
//! Per (sequence, head): that head's keys are packed once into blocks of `KEYS` keys stored
//! dimension-major, then `ROWS` query rows at a time get their scores against a block of keys
//! with the keys in the vector lanes (no horizontal sums; each key load serves `ROWS` rows),
//! their softmax, and the weighted sum of the values with the value dimensions in the lanes.
//! Plain Rust over fixed-size arrays, which the compiler vectorizes (simd128 in wasm, SSE
//! natively); every value is a sum in a fixed order without fused multiply-adds, so the bits
//! are the same everywhere and do not depend on how rows are grouped.

use rayon::prelude::*;

use super::masked_softmax::scaled_softmax_prefix;

/// Keys per packed block (the lanes of the score loop).
const KEYS: usize = 8;
/// Query rows computed together.
const ROWS: usize = 4;
/// Value dimensions per accumulator of the weighted sum (its lanes).
const DIMS: usize = 8;

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
                let len = len.min(n);
                if len == 0 || hd == 0 {
                    return;
                }
                let rows = |t| Rows::new(t, b * per_seq, len, width);
                let (q, k, v) = (rows(q), rows(k), rows(v));
                let blocks = len.div_ceil(KEYS);
                let padded = blocks * KEYS;
                let mut packed = vec![0f32; padded * hd];
                let mut scores = vec![0f32; ROWS * padded];
                for h in 0..self.heads {
                    let col = h * hd;
                    pack_keys(&k, col, hd, len, &mut packed);
                    let mut i = 0;
                    while i + ROWS <= len {
                        self.rows::<ROWS>(i, col, len, &q, &v, &packed, &mut scores, out);
                        i += ROWS;
                    }
                    while i < len {
                        self.rows::<1>(i, col, len, &q, &v, &packed, &mut scores, out);
                        i += 1;
                    }
                }
            });
        out
    }

    /// Query rows `i..i + R` of one head: scores, softmax, weighted sum of the values into `out`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn rows<const R: usize>(
        &self,
        i: usize,
        col: usize,
        len: usize,
        q: &Rows,
        v: &Rows,
        packed: &[f32],
        scores: &mut [f32],
        out: &mut [f32],
    ) {
        let hd = self.head_dim;
        let padded = packed.len() / hd;
        let qs: [&[f32]; R] = std::array::from_fn(|r| &q.row(i + r)[col..][..hd]);
        // Scores: for each block of keys, R x KEYS accumulators over the head's dimensions.
        for (blk, keys) in packed.chunks_exact(hd * KEYS).enumerate() {
            let mut acc = [[0f32; KEYS]; R];
            for (d, kd) in keys.chunks_exact(KEYS).enumerate() {
                for r in 0..R {
                    let qd = qs[r][d];
                    for l in 0..KEYS {
                        acc[r][l] += qd * kd[l];
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                scores[r * padded + blk * KEYS..][..KEYS].copy_from_slice(a);
            }
        }
        for r in 0..R {
            scaled_softmax_prefix(&mut scores[r * padded..][..len], len, self.scale);
        }
        // The weighted sum of the values, DIMS dimensions at a time, then the rest one by one.
        let p: [&[f32]; R] = std::array::from_fn(|r| &scores[r * padded..][..len]);
        let o = &mut out[i * v.width..][..R * v.width];
        let full = hd / DIMS * DIMS;
        for d in (col..col + full).step_by(DIMS) {
            weighted_sum::<R, DIMS>(&p, v, d, o);
        }
        for d in col + full..col + hd {
            weighted_sum::<R, 1>(&p, v, d, o);
        }
    }
}

/// Row-major rows of one sequence.
struct Rows<'a> {
    data: &'a [f32],
    width: usize,
}

impl<'a> Rows<'a> {
    /// Rows `0..len` from `start` on.
    fn new(t: &'a [f32], start: usize, len: usize, width: usize) -> Self {
        Rows {
            data: &t[start..][..len * width],
            width,
        }
    }

    #[inline]
    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.width..][..self.width]
    }
}

/// Keys `0..len` of the head at `col` into blocks of `KEYS`: `packed[(blk * hd + d) * KEYS + l]`
/// is dimension `d` of key `blk * KEYS + l`, zero past `len`.
fn pack_keys(k: &Rows, col: usize, hd: usize, len: usize, packed: &mut [f32]) {
    for (blk, block) in packed.chunks_exact_mut(hd * KEYS).enumerate() {
        for l in 0..KEYS {
            let j = blk * KEYS + l;
            if j < len {
                for (d, &x) in k.row(j)[col..][..hd].iter().enumerate() {
                    block[d * KEYS + l] = x;
                }
            } else {
                for d in 0..hd {
                    block[d * KEYS + l] = 0.0;
                }
            }
        }
    }
}

/// `o[r][at..at + W] = sum over j of p[r][j] * v[j][at..at + W]`, in the order of `j` (`o`:
/// `R` rows as wide as `v`'s).
#[inline]
fn weighted_sum<const R: usize, const W: usize>(
    p: &[&[f32]; R],
    v: &Rows,
    at: usize,
    o: &mut [f32],
) {
    let mut acc = [[0f32; W]; R];
    for (j, row) in v.data.chunks_exact(v.width).enumerate() {
        let vj = &row[at..][..W];
        for r in 0..R {
            let pj = p[r][j];
            for l in 0..W {
                acc[r][l] += pj * vj[l];
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        o[r * v.width + at..][..W].copy_from_slice(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one padded batch and checks every output value against a direct, unbatched
    /// computation in f64; padding rows must be zero.
    fn check(heads: usize, hd: usize, n: usize, lens: &[usize], scale: f32) -> Vec<f32> {
        let width = heads * hd;
        let size = lens.len() * n * width;
        let val = |s: usize, i: usize| ((s * 7 + i * 13) % 11) as f32 / 5.0 - 1.0;
        let q: Vec<f32> = (0..size).map(|i| val(1, i)).collect();
        let k: Vec<f32> = (0..size).map(|i| val(2, i)).collect();
        let v: Vec<f32> = (0..size).map(|i| val(3, i)).collect();
        let att = EncoderAttention {
            n,
            heads,
            head_dim: hd,
            scale,
        };
        let out = att.run(&q, &k, &v, lens);
        assert_eq!(out.len(), size);
        for (b, &len) in lens.iter().enumerate() {
            let at = |t: &[f32], r: usize, h: usize, d: usize| t[(b * n + r) * width + h * hd + d];
            for h in 0..heads {
                for i in 0..n {
                    for d in 0..hd {
                        let got = at(&out, i, h, d);
                        if i >= len {
                            assert_eq!(got, 0.0);
                            continue;
                        }
                        let s: Vec<f64> = (0..len)
                            .map(|j| {
                                (0..hd)
                                    .map(|e| at(&q, i, h, e) as f64 * at(&k, j, h, e) as f64)
                                    .sum::<f64>()
                                    * scale as f64
                            })
                            .collect();
                        let m = s.iter().cloned().fold(f64::MIN, f64::max);
                        let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
                        let want: f64 = (0..len)
                            .map(|j| (s[j] - m).exp() / z * at(&v, j, h, d) as f64)
                            .sum();
                        assert!(
                            (got as f64 - want).abs() < 1e-5,
                            "heads {heads} hd {hd} n {n} lens {lens:?}: b{b} h{h} i{i} d{d}: \
                             {got} vs {want}"
                        );
                    }
                }
            }
        }
        out
    }

    /// Against a direct, unbatched computation; padding must change nothing.
    #[test]
    fn matches_naive_attention_and_ignores_padding() {
        check(2, 3, 4, &[4, 2], 0.5);
    }

    /// Shapes around the blocks of keys, query rows and value lanes: one key, lengths that are
    /// and are not multiples of 4 and 8, head sizes below, at and above the lanes, odd ones.
    #[test]
    fn matches_naive_attention_for_many_shapes() {
        for (heads, hd) in [(1, 1), (3, 5), (2, 8), (2, 10), (4, 13), (12, 32)] {
            let scale = 1.0 / (hd as f32).sqrt();
            check(heads, hd, 1, &[1], scale);
            check(heads, hd, 3, &[3, 1, 0, 2], scale);
            check(heads, hd, 17, &[17, 16, 9, 8, 5, 4, 1], scale);
            check(heads, hd, 33, &[33, 32, 31, 12, 7], scale);
        }
    }

    /// A text's output in a padded batch has the same bits as alone (the GEMMs' rows are
    /// independent too, which is what makes an embedding independent of its batch).
    #[test]
    fn a_sequence_in_a_batch_has_the_same_bits_as_alone() {
        let (heads, hd, n) = (3usize, 12usize, 23usize);
        let width = heads * hd;
        let val = |s: usize, i: usize| ((s * 5 + i * 17) % 19) as f32 / 7.0 - 1.3;
        let lens = [23usize, 6, 17];
        let size = lens.len() * n * width;
        let (q, k, v): (Vec<f32>, Vec<f32>, Vec<f32>) = (
            (0..size).map(|i| val(1, i)).collect(),
            (0..size).map(|i| val(2, i)).collect(),
            (0..size).map(|i| val(3, i)).collect(),
        );
        let batch = EncoderAttention {
            n,
            heads,
            head_dim: hd,
            scale: 0.3,
        }
        .run(&q, &k, &v, &lens);
        for (b, &len) in lens.iter().enumerate() {
            let rows = |t: &[f32]| t[b * n * width..][..len * width].to_vec();
            let alone = EncoderAttention {
                n: len,
                heads,
                head_dim: hd,
                scale: 0.3,
            }
            .run(&rows(&q), &rows(&k), &rows(&v), &[len]);
            let got = rows(&batch);
            assert!(
                got.iter()
                    .zip(&alone)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "sequence {b}"
            );
        }
    }
}
