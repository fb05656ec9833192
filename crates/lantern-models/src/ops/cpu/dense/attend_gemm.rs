//! Natively, attention over long memories (Whisper's 1500 encoder positions, its decoder's
//! cross-attention) as two matrix products per head and block of query rows, through `gemm`
//! (AVX2 / AVX-512 FMA kernels), with strides that read the heads straight out of the
//! projections' row-major output.
//!
//! The lane kernel (`encoder_attention`) is built for short texts, where a GEMM per head costs
//! more in dispatch than in arithmetic. Over 1500 keys it is the other way round: its value sum
//! walks every key once per 8 output dimensions (strided through a 2 MB matrix), and it is
//! compiled for the baseline x86-64 (SSE2, no FMA) while `gemm` picks the CPU's kernels at run
//! time. Measured on Whisper tiny.en's encoder (1500 x 1500, 6 heads of 64, one thread): see
//! ARCHITECTURE.md, "Whisper on the op layer".
// `gemm::gemm` takes raw pointers and strides; each call below is given the exact extents of
// the slices it reads and writes, checked first.
#![allow(unsafe_code)]

use crate::ops::cpu::encoder_attention::EncoderAttention;
use crate::ops::cpu::masked_softmax::scaled_softmax_prefix;
use crate::ops::cpu::team;

/// Query rows per task: their scores (`ROWS x keys` f32, 384 kB over 1500 keys) stay in L2.
const ROWS: usize = 64;

/// What [`EncoderAttention::run`] computes, for items with many keys (lengths checked by the
/// caller).
pub(crate) fn attend(
    att: &EncoderAttention,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    kv_valid: &[usize],
    q_valid: Option<&[usize]>,
) -> Vec<f32> {
    let hd = att.head_dim;
    let width = att.heads * hd;
    let mut out = vec![0f32; q.len()];
    // (item, head, first row, rows): each computed into its own buffer, then copied into its
    // columns of `out` (the tasks' outputs interleave in memory).
    let mut tasks = Vec::new();
    for (b, &len) in kv_valid.iter().enumerate() {
        let keys = len.min(att.kv_len);
        let rows = q_valid
            .and_then(|v| v.get(b).copied())
            .unwrap_or(att.q_len)
            .min(att.q_len);
        if keys == 0 || hd == 0 {
            continue;
        }
        for h in 0..att.heads {
            for first in (0..rows).step_by(ROWS) {
                let n = ROWS.min(rows - first);
                tasks.push(((b, h, first, n, keys), vec![0f32; n * hd]));
            }
        }
    }
    let run =
        |((b, h, first, n, keys), o): &mut ((usize, usize, usize, usize, usize), Vec<f32>)| {
            let (b, h, first, n, keys) = (*b, *h, *first, *n, *keys);
            let qs = &q[(b * att.q_len + first) * width + h * hd..][..(n - 1) * width + hd];
            let ks = &k[b * att.kv_len * width + h * hd..][..(keys - 1) * width + hd];
            let vs = &v[b * att.kv_len * width + h * hd..][..(keys - 1) * width + hd];
            let mut scores = vec![0f32; n * keys];
            // SAFETY: dst is n x keys (row stride keys); lhs reads n rows of hd values at stride
            // width within `qs`; rhs reads K transposed, hd x keys, element (d, j) at j * width + d
            // within `ks`; the buffers do not overlap.
            unsafe {
                gemm::gemm(
                    n,
                    keys,
                    hd,
                    scores.as_mut_ptr(),
                    1,
                    keys as isize,
                    false,
                    qs.as_ptr(),
                    1,
                    width as isize,
                    ks.as_ptr(),
                    width as isize,
                    1,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            for (r, row) in scores.chunks_exact_mut(keys).enumerate() {
                scaled_softmax_prefix(row, keys, att.scale, att.bias_row(h, first + r, keys));
            }
            // SAFETY: dst is n x hd (row stride hd) in `o`; lhs is the n x keys scores; rhs reads
            // keys rows of hd values at stride width within `vs`; no overlap.
            unsafe {
                gemm::gemm(
                    n,
                    hd,
                    keys,
                    o.as_mut_ptr(),
                    1,
                    hd as isize,
                    false,
                    scores.as_ptr(),
                    1,
                    keys as isize,
                    vs.as_ptr(),
                    1,
                    width as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        };
    let items: Vec<_> = tasks.iter_mut().collect();
    team::for_each(items, run);
    for ((b, h, first, n, _), o) in &tasks {
        for (i, row) in o.chunks_exact(hd).enumerate().take(*n) {
            let at = (b * att.q_len + first + i) * width + h * hd;
            out[at..at + hd].copy_from_slice(row);
        }
    }
    out
}
