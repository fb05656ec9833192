//! The kernels in plain Rust: the reference the SIMD kernels must match to the bit, and the
//! kernels of builds without one. Per row, the float work is always, for each 32-wide
//! activation block `k` in order, `acc += isum_k as f32 * (scale_k * d_k)` — where `isum_k` is
//! the exact integer dot product of the block's quants (with their offset) and the activation
//! quants, `scale_k` the row's scale of that block (`d`; `d * sc_j` for Q4_K; Q6_K applies its
//! 16-wide integer scales inside `isum_k`) and `d_k` the activation scale — and for the types
//! with mins `accm += min_k * s_k`; the result is `acc + accm` (Q4_1), `acc - accm` (Q4_K) or
//! `acc`.

use super::{GROUP, Kind, QActs, QK};
use crate::ops::cpu::math::f16_to_f32;

#[inline]
fn f16_at(b: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// Σ (nibble - offset) * x over a block whose low nibbles are elements 0..16 and high
/// nibbles 16..32.
#[inline]
fn dot_nibbles(q: &[u8], x: &[i8], offset: i32) -> i32 {
    let mut sum = 0i32;
    for j in 0..QK / 2 {
        sum += ((q[j] & 15) as i32 - offset) * x[j] as i32
            + ((q[j] >> 4) as i32 - offset) * x[j + QK / 2] as i32;
    }
    sum
}

#[inline]
fn dot_i8(q: &[u8], x: &[i8]) -> i32 {
    let mut sum = 0i32;
    for j in 0..QK {
        sum += (q[j] as i8) as i32 * x[j] as i32;
    }
    sum
}

/// Q5_0's 32 values (`(nibble | fifth bit << 4) - 16`) of a block whose quants are
/// `[qh: u32 LE][qs: 16 bytes]`, as ggml's `dequantize_row_q5_0` reads them.
#[inline]
fn q5_0_values(q: &[u8]) -> [i32; QK] {
    let qh = u32::from_le_bytes([q[0], q[1], q[2], q[3]]);
    let mut v = [0i32; QK];
    for j in 0..QK / 2 {
        let h0 = ((qh >> j) << 4) & 0x10;
        let h1 = (qh >> (j + 12)) & 0x10;
        v[j] = ((q[4 + j] & 15) as u32 | h0) as i32 - 16;
        v[j + QK / 2] = ((q[4 + j] >> 4) as u32 | h1) as i32 - 16;
    }
    v
}

/// Q4_K's 6-bit scale and min of sub-block `j` (ggml's `get_scale_min_k4`).
#[inline]
pub(crate) fn q4k_scale_min(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        (
            (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4),
            (s[j + 4] >> 4) | ((s[j] >> 6) << 4),
        )
    }
}

/// Q4_K: the 32 nibbles of sub-block `j` from the 128 quant bytes (sub-blocks 2i and 2i+1
/// are the low and high nibbles of bytes 32i..32i+32).
#[inline]
fn q4k_nibble(qs: &[u8], j: usize, l: usize) -> i32 {
    let b = qs[(j / 2) * 32 + l];
    (if j.is_multiple_of(2) { b & 15 } else { b >> 4 }) as i32
}

/// Q6_K: value `l` (0..32) of the 32-wide block `blk` (0..8) as `q - 32`, from the quants
/// `[ql: 128][qh: 64][scales: 16]`, as ggml's `dequantize_row_q6_K` reads them: each 128-wide
/// half `n` uses `ql[64n..]` and `qh[32n..]`; its block `kk` takes low (kk < 2) or high
/// nibbles of `ql[64n + 32 (kk % 2) + l]` and bits `2kk..2kk+2` of `qh[32n + l]`.
#[inline]
fn q6k_value(q: &[u8], blk: usize, l: usize) -> i32 {
    let (n, kk) = (blk / 4, blk % 4);
    let b = q[64 * n + 32 * (kk % 2) + l];
    let low = if kk < 2 { b & 15 } else { b >> 4 };
    let high = (q[128 + 32 * n + l] >> (2 * kk)) & 3;
    (low | (high << 4)) as i32 - 32
}

/// Q6_K's 16-wide scales of block `blk`: for values 0..16 and 16..32.
#[inline]
fn q6k_scales(q: &[u8], blk: usize) -> (i32, i32) {
    let at = 192 + 8 * (blk / 4) + 2 * (blk % 4);
    (q[at] as i8 as i32, q[at + 1] as i8 as i32)
}

/// One row's share of one block: the float work of the module doc, for token `t` and block
/// `b` of a row whose fields are `d`, `m` (0 if none) and whose other bytes are `q`.
#[inline]
#[allow(clippy::too_many_arguments)]
fn block_row(
    kind: Kind,
    d: f32,
    m: f32,
    q: &[u8],
    a: &QActs,
    t: usize,
    b: usize,
    acc: &mut f32,
    accm: &mut f32,
) {
    let per = kind.block_elems() / QK;
    let k0 = t * a.blocks + b * per;
    let x0 = t * a.cols + b * kind.block_elems();
    match kind {
        Kind::Q4_0 | Kind::Q4_1 | Kind::Q5_0 | Kind::Q8_0 => {
            let x = &a.qs[x0..x0 + QK];
            let isum = match kind {
                Kind::Q4_0 => dot_nibbles(q, x, 8),
                Kind::Q4_1 => dot_nibbles(q, x, 0),
                Kind::Q5_0 => q5_0_values(q)
                    .iter()
                    .zip(x)
                    .map(|(&v, &x)| v * x as i32)
                    .sum(),
                _ => dot_i8(q, x),
            };
            *acc += isum as f32 * (d * a.d[k0]);
            if kind == Kind::Q4_1 {
                *accm += m * a.s[k0];
            }
        }
        Kind::Q4K => {
            let (scales, qs) = (&q[..12], &q[12..]);
            for j in 0..per {
                let x = &a.qs[x0 + j * QK..x0 + (j + 1) * QK];
                let isum: i32 = (0..QK).map(|l| q4k_nibble(qs, j, l) * x[l] as i32).sum();
                let (sc, mn) = q4k_scale_min(j, scales);
                *acc += isum as f32 * ((d * sc as f32) * a.d[k0 + j]);
                *accm += (m * mn as f32) * a.s[k0 + j];
            }
        }
        Kind::Q6K => {
            for blk in 0..per {
                let x = &a.qs[x0 + blk * QK..x0 + (blk + 1) * QK];
                let (sa, sb) = q6k_scales(q, blk);
                let half = |r: std::ops::Range<usize>| -> i32 {
                    r.map(|l| q6k_value(q, blk, l) * x[l] as i32).sum()
                };
                let isum = sa * half(0..QK / 2) + sb * half(QK / 2..QK);
                *acc += isum as f32 * (d * a.d[k0 + blk]);
            }
        }
    }
}

#[inline]
fn finish(kind: Kind, acc: f32, accm: f32) -> f32 {
    match kind {
        Kind::Q4_1 => acc + accm,
        Kind::Q4K => acc - accm,
        _ => acc,
    }
}

/// One 4-row group of a repacked matrix: `out[t][r]` for every token `t`.
pub fn group(kind: Kind, w: &[u8], a: &QActs, out: &mut [[f32; GROUP]]) {
    let bb = kind.block_bytes();
    let nb = a.cols / kind.block_elems();
    let head = 2 * kind.fields() * GROUP;
    let qb = kind.quant_bytes();
    for (t, o) in out.iter_mut().enumerate() {
        let mut acc = [0f32; GROUP];
        let mut accm = [0f32; GROUP];
        for b in 0..nb {
            let c = &w[b * GROUP * bb..(b + 1) * GROUP * bb];
            for r in 0..GROUP {
                let d = f16_at(c, 2 * r);
                let m = if kind.fields() == 2 {
                    f16_at(c, 2 * GROUP + 2 * r)
                } else {
                    0.0
                };
                let q = &c[head + r * qb..head + (r + 1) * qb];
                block_row(kind, d, m, q, a, t, b, &mut acc[r], &mut accm[r]);
            }
        }
        for r in 0..GROUP {
            o[r] = finish(kind, acc[r], accm[r]);
        }
    }
}

/// `(d, m, other bytes)` of a block in the file's layout.
fn file_block(kind: Kind, blk: &[u8]) -> (f32, f32, &[u8]) {
    match kind {
        Kind::Q6K => (f16_at(blk, 208), 0.0, &blk[..208]),
        _ if kind.fields() == 2 => (f16_at(blk, 0), f16_at(blk, 2), &blk[4..]),
        _ => (f16_at(blk, 0), 0.0, &blk[2..]),
    }
}

/// One row in the file's layout: `out[t]` for every token.
pub fn row(kind: Kind, w: &[u8], a: &QActs, out: &mut [f32]) {
    let bb = kind.block_bytes();
    for (t, o) in out.iter_mut().enumerate() {
        let (mut acc, mut accm) = (0f32, 0f32);
        for (b, blk) in w.chunks_exact(bb).enumerate() {
            let (d, m, q) = file_block(kind, blk);
            block_row(kind, d, m, q, a, t, b, &mut acc, &mut accm);
        }
        *o = finish(kind, acc, accm);
    }
}

/// The weights of one block as f32, the same values as candle's (and ggml's)
/// `dequantize_row_*`.
fn dequantize_block(kind: Kind, d: f32, m: f32, q: &[u8], o: &mut [f32]) {
    match kind {
        Kind::Q4_0 => {
            for j in 0..QK / 2 {
                o[j] = ((q[j] & 15) as i32 - 8) as f32 * d;
                o[j + QK / 2] = ((q[j] >> 4) as i32 - 8) as f32 * d;
            }
        }
        Kind::Q4_1 => {
            for j in 0..QK / 2 {
                o[j] = (q[j] & 15) as f32 * d + m;
                o[j + QK / 2] = (q[j] >> 4) as f32 * d + m;
            }
        }
        Kind::Q5_0 => {
            for (o, v) in o.iter_mut().zip(q5_0_values(q)) {
                *o = v as f32 * d;
            }
        }
        Kind::Q8_0 => {
            for j in 0..QK {
                o[j] = (q[j] as i8) as f32 * d;
            }
        }
        Kind::Q4K => {
            let (scales, qs) = (&q[..12], &q[12..]);
            for j in 0..8 {
                let (sc, mn) = q4k_scale_min(j, scales);
                let (d1, m1) = (d * sc as f32, m * mn as f32);
                for l in 0..QK {
                    o[j * QK + l] = d1 * q4k_nibble(qs, j, l) as f32 - m1;
                }
            }
        }
        Kind::Q6K => {
            for blk in 0..8 {
                let (sa, sb) = q6k_scales(q, blk);
                for l in 0..QK {
                    let sc = if l < QK / 2 { sa } else { sb };
                    o[blk * QK + l] = d * sc as f32 * q6k_value(q, blk, l) as f32;
                }
            }
        }
    }
}

/// Row `r` of a `rows x cols` matrix whose full groups are repacked, as f32.
pub fn dequantize_row(
    kind: Kind,
    bytes: &[u8],
    rows: usize,
    cols: usize,
    r: usize,
    out: &mut [f32],
) {
    let bb = kind.block_bytes();
    let be = kind.block_elems();
    let nb = cols / be;
    let grouped = rows / GROUP * GROUP;
    let qb = kind.quant_bytes();
    for b in 0..nb {
        let (d, m, q): (f32, f32, &[u8]) = if r < grouped {
            let (g, l) = (r / GROUP, r % GROUP);
            let c = &bytes[(g * nb + b) * GROUP * bb..(g * nb + b + 1) * GROUP * bb];
            let head = 2 * kind.fields() * GROUP;
            let m = if kind.fields() == 2 {
                f16_at(c, 2 * GROUP + 2 * l)
            } else {
                0.0
            };
            (f16_at(c, 2 * l), m, &c[head + l * qb..head + (l + 1) * qb])
        } else {
            file_block(kind, &bytes[(r * nb + b) * bb..(r * nb + b + 1) * bb])
        };
        dequantize_block(kind, d, m, q, &mut out[b * be..(b + 1) * be]);
    }
}
