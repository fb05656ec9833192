//! Lantern's own quantized matmul kernels, for the types that matter most for speed.
//!
//! Weights of these types are rewritten at load time, in place and at the same size, into a
//! layout of 4-row groups: for each block index, the f16 scales of the 4 rows side by side,
//! then the 4 rows' quants. A kernel then computes 4 rows at once with one SIMD lane per row,
//! so the scales of 4 rows load and convert as one vector and each lane does exactly what the
//! scalar code does for its row. That is why [`portable`] (the oracle the SIMD kernels are
//! tested against, and the kernel of native builds) and the SIMD kernels agree to the bit, and
//! why native and wasm builds produce the same logits.
//!
//! Activations are quantized once per matmul input to 8 bits in blocks of 32 with an f32
//! scale (llama.cpp's Q8_0/Q8_1 use f16 scales; f32 costs nothing here and loses nothing).

pub mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;
#[cfg(target_arch = "x86_64")]
pub mod x86;

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use portable as arch;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd128 as arch;

use super::math;
use crate::gguf::GgmlDType;

/// Elements per activation block (and per block of the 32-wide types).
pub const QK: usize = 32;
/// Rows computed together.
pub const GROUP: usize = 4;
/// Tokens processed per pass over a group's weights.
pub const TOKEN_TILE: usize = 8;

/// Activations quantized to i8, per row and block of 32: `x ≈ d * q`; `s = d * Σq`, and
/// `sums = Σq` exactly (kernels that compute with unsigned quants take offsets out with it).
#[derive(Debug, Clone, Default)]
pub struct QActs {
    pub rows: usize,
    pub cols: usize,
    pub blocks: usize,
    pub qs: Vec<i8>,
    pub d: Vec<f32>,
    pub s: Vec<f32>,
    pub sums: Vec<i32>,
}

impl QActs {
    /// Quantizes `rows x cols` activations; `cols` must be a multiple of [`QK`].
    pub fn quantize(x: &[f32], rows: usize, cols: usize) -> QActs {
        debug_assert!(cols.is_multiple_of(QK) && x.len() == rows * cols);
        let blocks = cols / QK;
        let mut qs = vec![0i8; rows * cols];
        let mut d = vec![0f32; rows * blocks];
        let mut s = vec![0f32; rows * blocks];
        let mut sums = vec![0i32; rows * blocks];
        // Rows are contiguous and `cols` is a whole number of blocks, so the blocks of all rows
        // follow each other in the order of `d` and `s`.
        for ((xs, q), ((d, s), total)) in x
            .chunks_exact(QK)
            .zip(qs.chunks_exact_mut(QK))
            .zip(d.iter_mut().zip(s.iter_mut()).zip(sums.iter_mut()))
        {
            // A plain comparison rather than `f32::max`, which is a libm call in wasm (its
            // NaN rules differ from `f32.max`); NaNs are skipped either way.
            let amax = xs
                .iter()
                .fold(0f32, |m, v| if v.abs() > m { v.abs() } else { m });
            let scale = amax / 127.0;
            let inv = if scale != 0.0 { 1.0 / scale } else { 0.0 };
            let mut sum = 0i32;
            for (q, &v) in q.iter_mut().zip(xs) {
                let r = math::round(v * inv).clamp(-127.0, 127.0) as i8;
                *q = r;
                sum += r as i32;
            }
            *d = scale;
            *s = sum as f32 * scale;
            *total = sum;
        }
        QActs {
            rows,
            cols,
            blocks,
            qs,
            d,
            s,
            sums,
        }
    }
}

/// The types with a kernel here. A block holds `block_elems()` weights: f16 fields (scales,
/// and mins for Q4_1 and Q4_K) and quants. The k-quants (Q4_K, Q6_K) have 256-wide
/// super-blocks whose 8 (Q4_K) or 16 (Q6_K) sub-block scales sit among their quants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Q4_0,
    Q4_1,
    Q5_0,
    Q8_0,
    Q4K,
    Q6K,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Q4_0,
        Kind::Q4_1,
        Kind::Q5_0,
        Kind::Q8_0,
        Kind::Q4K,
        Kind::Q6K,
    ];

    pub fn of(dtype: GgmlDType) -> Option<Kind> {
        match dtype {
            GgmlDType::Q4_0 => Some(Kind::Q4_0),
            GgmlDType::Q4_1 => Some(Kind::Q4_1),
            GgmlDType::Q5_0 => Some(Kind::Q5_0),
            GgmlDType::Q8_0 => Some(Kind::Q8_0),
            GgmlDType::Q4K => Some(Kind::Q4K),
            GgmlDType::Q6K => Some(Kind::Q6K),
            _ => None,
        }
    }

    pub fn dtype(self) -> GgmlDType {
        match self {
            Kind::Q4_0 => GgmlDType::Q4_0,
            Kind::Q4_1 => GgmlDType::Q4_1,
            Kind::Q5_0 => GgmlDType::Q5_0,
            Kind::Q8_0 => GgmlDType::Q8_0,
            Kind::Q4K => GgmlDType::Q4K,
            Kind::Q6K => GgmlDType::Q6K,
        }
    }

    /// Weights per block.
    pub const fn block_elems(self) -> usize {
        match self {
            Kind::Q4K | Kind::Q6K => 256,
            _ => QK,
        }
    }

    /// Bytes per block (GGML's sizes).
    pub const fn block_bytes(self) -> usize {
        match self {
            Kind::Q4_0 => 18,
            Kind::Q4_1 => 20,
            Kind::Q5_0 => 22,
            Kind::Q8_0 => 34,
            Kind::Q4K => 144,
            Kind::Q6K => 210,
        }
    }

    /// f16 fields per block (d; d and m for Q4_1; d and dmin for Q4_K).
    pub const fn fields(self) -> usize {
        match self {
            Kind::Q4_1 | Kind::Q4K => 2,
            _ => 1,
        }
    }

    /// Where the f16 fields start within a block of the file: first, except for Q6_K whose
    /// `d` ends the block.
    const fn fields_at(self) -> usize {
        match self {
            Kind::Q6K => 208,
            _ => 0,
        }
    }

    /// Bytes of one row's block other than its fields, in the file's order.
    pub const fn quant_bytes(self) -> usize {
        self.block_bytes() - 2 * self.fields()
    }
}

/// Rewrites the full 4-row groups of a `rows x cols` matrix into the group layout (the rows
/// after the last full group keep the file's layout): per block index, the 4 rows' f16 fields
/// (field `f` of row `r` at `2 * (f * GROUP + r)`), then the 4 rows' other bytes, each row's
/// in the file's order.
pub fn repack(kind: Kind, rows: usize, cols: usize, bytes: &mut [u8]) {
    let bb = kind.block_bytes();
    let nb = cols / kind.block_elems();
    let row_bytes = nb * bb;
    let fields = 2 * kind.fields();
    let (fa, fb) = (kind.fields_at(), kind.fields_at() + fields);
    let quants = kind.quant_bytes();
    let mut tmp = vec![0u8; GROUP * row_bytes];
    for group in bytes.chunks_exact_mut(GROUP * row_bytes).take(rows / GROUP) {
        tmp.copy_from_slice(group);
        for b in 0..nb {
            let chunk = &mut group[b * GROUP * bb..(b + 1) * GROUP * bb];
            for r in 0..GROUP {
                let src = &tmp[r * row_bytes + b * bb..r * row_bytes + (b + 1) * bb];
                for f in 0..kind.fields() {
                    let at = f * 2 * GROUP + 2 * r;
                    chunk[at..at + 2].copy_from_slice(&src[fa + 2 * f..fa + 2 * f + 2]);
                }
                let at = fields * GROUP + r * quants;
                chunk[at..at + fa].copy_from_slice(&src[..fa]);
                chunk[at + fa..at + quants].copy_from_slice(&src[fb..]);
            }
        }
    }
}

/// `out[t * rows + r] = Σ_k w[r, k] * x[t, k]` for a repacked matrix, over the rows of
/// `w` (a range of whole 4-row groups) into `out`, laid out `[group][token][4]`.
pub fn groups(kind: Kind, w: &[u8], a: &QActs, out: &mut [[f32; GROUP]]) {
    #[cfg(target_arch = "x86_64")]
    if x86::groups(kind, w, a, out) {
        return;
    }
    let gbytes = group_bytes(kind, a.cols);
    for (g, o) in w.chunks_exact(gbytes).zip(out.chunks_exact_mut(a.rows)) {
        arch::group(kind, g, a, o);
    }
}

/// Bytes of one 4-row group of a matrix with `cols` columns.
pub const fn group_bytes(kind: Kind, cols: usize) -> usize {
    GROUP * cols / kind.block_elems() * kind.block_bytes()
}

/// One row in the file's layout (the rows after the last full group).
pub fn row(kind: Kind, w: &[u8], a: &QActs, out: &mut [f32]) {
    portable::row(kind, w, a, out)
}

/// Dequantizes row `r` of a repacked `rows x cols` matrix into `out` (`cols` values).
pub fn dequantize_row(
    kind: Kind,
    bytes: &[u8],
    rows: usize,
    cols: usize,
    r: usize,
    out: &mut [f32],
) {
    portable::dequantize_row(kind, bytes, rows, cols, r, out)
}
