//! Bidirectional multi-head attention over a padded batch (encoder self-attention, and
//! cross-attention of query rows over a fixed memory), straight from the projections' row-major
//! output (no transposes into per-head tensors, no batched GEMM of tiny
//! `n x n` matrices: for the short texts embeddings see, those cost more than the arithmetic).
//!
//! Per (sequence, head): that head's keys are packed once into blocks of `KEYS` keys stored
//! dimension-major, then `ROWS` query rows at a time get their scores against a block of keys
//! with the keys in the vector lanes (no horizontal sums; each key load serves `ROWS` rows),
//! their softmax, and the weighted sum of the values with the value dimensions in the lanes.
//! Plain Rust over fixed-size arrays, which the compiler vectorizes (simd128 in wasm, SSE
//! natively); every value is a sum in a fixed order without fused multiply-adds, so the bits
//! are the same everywhere and do not depend on how rows are grouped.

use super::masked_softmax::scaled_softmax_prefix;
use super::{math, team};

/// Keys per packed block (the lanes of the score loop).
const KEYS: usize = 8;
/// Query rows computed together.
const ROWS: usize = 4;
/// Value dimensions per accumulator of the weighted sum (its lanes).
const DIMS: usize = 8;
/// Fewest query rows of a task that splits an item: its keys are packed per task.
const MIN_CHUNK_ROWS: usize = 64;
/// Up to this many query rows over a longer memory (a decoder step's cross-attention) go
/// through `few_rows`. Self-attention (BERT) always has as many rows as keys.
const FEW_ROWS: usize = 4;
/// Natively, items with more keys than this (Whisper's 1500 positions) go through `gemm`
/// (`dense::attend_gemm`); every BERT-family encoder (512 positions at most) stays here, with
/// the results it had.
#[cfg(not(target_arch = "wasm32"))]
const GEMM_MIN_KEYS: usize = 512;

/// The shape of one call: `batch` items of `q_len` query rows and `kv_len` key/value rows.
#[derive(Debug, Clone, Copy)]
pub struct EncoderAttention<'a> {
    pub q_len: usize,
    pub kv_len: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub scale: f32,
    /// Added to the scaled scores before the softmax (T5's relative positions), the same for
    /// every item: `[heads * q_len, kv_len]`, row `h * q_len + i` for head `h`, query row `i`
    /// (its length checked by the caller). Only the real keys' columns are read.
    pub bias: Option<&'a [f32]>,
}

impl EncoderAttention<'_> {
    /// Bias row of head `h`, item-local query row `i`, for the first `len` keys.
    #[inline]
    pub(crate) fn bias_row(&self, h: usize, i: usize, len: usize) -> Option<&[f32]> {
        self.bias
            .map(|b| &b[(h * self.q_len + i) * self.kv_len..][..len])
    }

    /// `q`: `[batch * q_len, heads * head_dim]`, `k`, `v`: `[batch * kv_len, heads * head_dim]`
    /// (lengths checked by the caller); returns `q`'s shape. The query rows of item `b` attend
    /// to its keys `0..kv_valid[b]` only; its rows from `q_valid[b]` on (padding) come out
    /// zero, since nothing reads them.
    pub fn run(
        &self,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        kv_valid: &[usize],
        q_valid: Option<&[usize]>,
    ) -> Vec<f32> {
        #[cfg(not(target_arch = "wasm32"))]
        if self.kv_len > GEMM_MIN_KEYS {
            return super::dense::attend_gemm::attend(self, q, k, v, kv_valid, q_valid);
        }
        if self.q_len <= FEW_ROWS && self.kv_len > self.q_len {
            return self.few_rows(q, k, v, kv_valid, q_valid);
        }
        let hd = self.head_dim;
        let width = self.heads * hd;
        let mut out = vec![0f32; q.len()];
        let (q_item, kv_item) = (self.q_len * width, self.kv_len * width);
        // One task per item, or per block of an item's query rows when there are fewer items
        // than threads (Whisper's encoder: one item of 1500 rows). Each task packs its item's
        // keys itself, which costs 1 / `chunk` of its scores (`team::for_each`: the forward
        // pass's team in the threaded wasm build, rayon elsewhere).
        let threads = rayon::current_num_threads();
        let batch = kv_valid.len().max(1);
        let chunk = if batch >= 2 * threads {
            self.q_len
        } else {
            let per_item = (4 * threads).div_ceil(batch);
            self.q_len
                .div_ceil(per_item)
                .next_multiple_of(ROWS)
                .max(MIN_CHUNK_ROWS)
        };
        let tasks: Vec<_> = out
            .chunks_mut(q_item.max(1))
            .enumerate()
            .flat_map(|(b, item)| {
                item.chunks_mut((chunk * width).max(1))
                    .enumerate()
                    .map(move |(c, out)| (b, c * chunk, out))
            })
            .collect();
        team::for_each(tasks, |(b, first, out)| {
            let len = kv_valid.get(b).map_or(0, |&l| l.min(self.kv_len));
            let q_rows = q_valid
                .and_then(|v| v.get(b).copied())
                .unwrap_or(self.q_len)
                .min(self.q_len)
                .saturating_sub(first)
                .min(chunk);
            if len == 0 || q_rows == 0 || hd == 0 {
                return;
            }
            let q = Rows::new(q, b * q_item + first * width, q_rows, width);
            let (k, v) = (
                Rows::new(k, b * kv_item, len, width),
                Rows::new(v, b * kv_item, len, width),
            );
            let blocks = len.div_ceil(KEYS);
            let padded = blocks * KEYS;
            let mut packed = vec![0f32; padded * hd];
            let mut scores = vec![0f32; ROWS * padded];
            for h in 0..self.heads {
                let col = h * hd;
                pack_keys(&k, col, hd, len, &mut packed);
                let at = Head { h, col, first };
                let mut i = 0;
                while i + ROWS <= q_rows {
                    self.rows::<ROWS>(i, at, len, &q, &v, &packed, &mut scores, out);
                    i += ROWS;
                }
                while i < q_rows {
                    self.rows::<1>(i, at, len, &q, &v, &packed, &mut scores, out);
                    i += 1;
                }
            }
        });
        out
    }

    /// Cross-attention of a few query rows (a decoder step) over a longer memory: the keys are
    /// not packed (for one row that costs as much as its scores); each score is a dot product
    /// of two contiguous head slices, and the values are summed key by key, each a contiguous
    /// slice.
    fn few_rows(
        &self,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        kv_valid: &[usize],
        q_valid: Option<&[usize]>,
    ) -> Vec<f32> {
        let hd = self.head_dim;
        let width = self.heads * hd;
        let mut out = vec![0f32; q.len()];
        let (q_item, kv_item) = (self.q_len * width, self.kv_len * width);
        let items: Vec<_> = out.chunks_mut(q_item.max(1)).enumerate().collect();
        team::for_each(items, |(b, out)| {
            let len = kv_valid.get(b).map_or(0, |&l| l.min(self.kv_len));
            let q_rows = q_valid
                .and_then(|v| v.get(b).copied())
                .unwrap_or(self.q_len)
                .min(self.q_len);
            if len == 0 || hd == 0 {
                return;
            }
            let (ks, vs) = (
                &k[b * kv_item..][..len * width],
                &v[b * kv_item..][..len * width],
            );
            let mut scores = vec![0f32; len];
            for i in 0..q_rows {
                let qi = &q[b * q_item + i * width..][..width];
                for h in 0..self.heads {
                    let col = h * hd;
                    let qh = &qi[col..col + hd];
                    for (s, kj) in scores.iter_mut().zip(ks.chunks_exact(width)) {
                        *s = math::dot(qh, &kj[col..col + hd]);
                    }
                    scaled_softmax_prefix(&mut scores, len, self.scale, self.bias_row(h, i, len));
                    let o = &mut out[i * width + col..][..hd];
                    for (&p, vj) in scores.iter().zip(vs.chunks_exact(width)) {
                        math::axpy(p, &vj[col..col + hd], o);
                    }
                }
            }
        });
        out
    }

    /// Query rows `i..i + R` (of the task's, which start at the item's row `at.first`) of one
    /// head: scores, softmax, weighted sum of the values into `out`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn rows<const R: usize>(
        &self,
        i: usize,
        at: Head,
        len: usize,
        q: &Rows,
        v: &Rows,
        packed: &[f32],
        scores: &mut [f32],
        out: &mut [f32],
    ) {
        let hd = self.head_dim;
        let col = at.col;
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
            let bias = self.bias_row(at.h, at.first + i + r, len);
            scaled_softmax_prefix(&mut scores[r * padded..][..len], len, self.scale, bias);
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

/// Where a task's rows are: head `h` (its columns from `col`), the task's first query row
/// `first` within its item.
#[derive(Debug, Clone, Copy)]
struct Head {
    h: usize,
    col: usize,
    first: usize,
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
        check_cross(heads, hd, n, n, lens, Some(lens), scale)
    }

    /// `q_len` query rows per item over `kv_len` keys, `kv_valid` of them real, the query rows
    /// from `q_valid` on padding.
    fn check_cross(
        heads: usize,
        hd: usize,
        q_len: usize,
        kv_len: usize,
        kv_valid: &[usize],
        q_valid: Option<&[usize]>,
        scale: f32,
    ) -> Vec<f32> {
        let width = heads * hd;
        let batch = kv_valid.len();
        let val = |s: usize, i: usize| ((s * 7 + i * 13) % 11) as f32 / 5.0 - 1.0;
        let q: Vec<f32> = (0..batch * q_len * width).map(|i| val(1, i)).collect();
        let k: Vec<f32> = (0..batch * kv_len * width).map(|i| val(2, i)).collect();
        let v: Vec<f32> = (0..batch * kv_len * width).map(|i| val(3, i)).collect();
        let att = EncoderAttention {
            q_len,
            kv_len,
            heads,
            head_dim: hd,
            scale,
            bias: None,
        };
        let out = att.run(&q, &k, &v, kv_valid, q_valid);
        assert_eq!(out.len(), q.len());
        for (b, &len) in kv_valid.iter().enumerate() {
            let q_rows = q_valid.map_or(q_len, |v| v[b]);
            let at = |t: &[f32], rows: usize, r: usize, h: usize, d: usize| {
                t[(b * rows + r) * width + h * hd + d]
            };
            for h in 0..heads {
                for i in 0..q_len {
                    for d in 0..hd {
                        let got = at(&out, q_len, i, h, d);
                        if i >= q_rows || len == 0 {
                            assert_eq!(got, 0.0);
                            continue;
                        }
                        let s: Vec<f64> = (0..len)
                            .map(|j| {
                                (0..hd)
                                    .map(|e| {
                                        at(&q, q_len, i, h, e) as f64
                                            * at(&k, kv_len, j, h, e) as f64
                                    })
                                    .sum::<f64>()
                                    * scale as f64
                            })
                            .collect();
                        let m = s.iter().cloned().fold(f64::MIN, f64::max);
                        let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
                        let want: f64 = (0..len)
                            .map(|j| (s[j] - m).exp() / z * at(&v, kv_len, j, h, d) as f64)
                            .sum();
                        assert!(
                            (got as f64 - want).abs() < 1e-5,
                            "heads {heads} hd {hd} q {q_len} kv {kv_len} {kv_valid:?} \
                             {q_valid:?}: b{b} h{h} i{i} d{d}: {got} vs {want}"
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

    /// One long item, split into blocks of query rows across threads (when there are
    /// several), some of its rows padding.
    #[test]
    fn a_long_item_split_into_row_blocks_matches_naive_attention() {
        check_cross(2, 8, 150, 150, &[150], None, 0.3);
        check_cross(3, 4, 141, 70, &[61], Some(&[133]), 0.5);
    }

    /// Long memories (natively through `gemm`): self-attention over more than 512 keys, with
    /// padding; one and a few query rows over them (a decoder's cross-attention).
    #[test]
    fn long_memories_match_naive_attention() {
        check_cross(2, 16, 70, 600, &[600, 513], Some(&[70, 3]), 0.25);
        check_cross(3, 8, 1, 700, &[700], None, 0.35);
        check_cross(1, 12, 5, 520, &[0, 520], None, 0.3);
    }

    /// Cross-attention: one or a few query rows over a longer memory, some of it padding;
    /// query padding of its own; an item without keys.
    #[test]
    fn cross_attention_matches_naive_attention() {
        for (heads, hd) in [(1, 4), (3, 8), (2, 13)] {
            check_cross(heads, hd, 1, 70, &[70, 33, 1], None, 0.3);
            check_cross(heads, hd, 5, 17, &[17, 9], Some(&[5, 2]), 1.0);
            check_cross(heads, hd, 3, 9, &[0, 9], None, 0.5);
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
            q_len: n,
            kv_len: n,
            heads,
            head_dim: hd,
            scale: 0.3,
            bias: None,
        }
        .run(&q, &k, &v, &lens, Some(&lens));
        for (b, &len) in lens.iter().enumerate() {
            let rows = |t: &[f32]| t[b * n * width..][..len * width].to_vec();
            let alone = EncoderAttention {
                q_len: len,
                kv_len: len,
                heads,
                head_dim: hd,
                scale: 0.3,
                bias: None,
            }
            .run(&rows(&q), &rows(&k), &rows(&v), &[len], None);
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
