//! Weight matrices of the CPU backend: views into the file's bytes, multiplied either by
//! Lantern's kernels (the types in `kernels::Kind`, repacked at load) or by candle's
//! `vec_dot` for every other type candle knows.

use super::cast::{PodBlock, blocks};
use super::kernels::{self, GROUP, Kind, QActs};
use super::math::dot;
use super::team;
use crate::bytes::ByteView;
use crate::error::{ModelError, Result};
use crate::gguf::GgmlDType;
use candle_core::quantized::k_quants::{
    BlockQ2K, BlockQ3K, BlockQ4_0, BlockQ4_1, BlockQ4K, BlockQ5_0, BlockQ5_1, BlockQ5K, BlockQ6K,
    BlockQ8_0, BlockQ8_1, BlockQ8K, GgmlType,
};
use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

/// A `rows x cols` weight matrix (`[out, in]`).
#[derive(Debug, Clone)]
pub struct CpuMatrix {
    pub(crate) name: String,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) dtype: GgmlDType,
    /// `Some` when the full 4-row groups were repacked for Lantern's kernels.
    pub(crate) kind: Option<Kind>,
    pub(crate) bytes: ByteView,
}

/// One unit of parallel work: a range of a matrix's 4-row groups and where their results go.
type Task<'a> = (Kind, &'a [u8], &'a mut [[f32; GROUP]]);

/// Rows per unit of parallel work: small enough to spread a 576-row matrix over threads,
/// large enough that scheduling costs little next to the dot products.
const ROWS_PER_TASK: usize = 32;

impl CpuMatrix {
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn dtype(&self) -> GgmlDType {
        self.dtype
    }

    /// `[n, cols] -> [n, rows]` for each matrix (all with one of Lantern's kernels) and the same
    /// activations, already quantized. The matrices' 4-row groups are computed in one parallel
    /// loop: a decode step's matmuls are small, and q/k/v (or gate/up) as one loop wake the
    /// thread pool once instead of three (twice) times.
    pub(crate) fn matmul_fast_many(ms: &[(&CpuMatrix, Kind)], a: &QActs) -> Vec<Vec<f32>> {
        let n = a.rows;
        // Results are computed as [group][token][4] (each task writes one contiguous range),
        // then transposed to [token][row] unless there is a single token.
        let mut by_group: Vec<Vec<[f32; GROUP]>> = ms
            .iter()
            .map(|(m, _)| vec![[0f32; GROUP]; m.rows / GROUP * n])
            .collect();
        let groups_per_task = (ROWS_PER_TASK / GROUP).max(1);
        let mut tasks: Vec<Task> = Vec::new();
        for ((m, kind), out) in ms.iter().zip(by_group.iter_mut()) {
            let gbytes = kernels::group_bytes(*kind, m.cols);
            let w = &m.bytes.as_slice()[..m.rows / GROUP * gbytes];
            for (w, out) in w
                .chunks(groups_per_task * gbytes)
                .zip(out.chunks_mut(groups_per_task * n))
            {
                tasks.push((*kind, w, out));
            }
        }
        team::for_each(tasks, |(kind, w, out): Task| {
            kernels::groups(kind, w, a, out)
        });
        ms.iter()
            .zip(by_group)
            .map(|((m, kind), by_group)| m.finish_fast(*kind, a, &by_group))
            .collect()
    }

    /// `[token][row]` from `[group][token][4]`, and the rows after the last full group.
    fn finish_fast(&self, kind: Kind, a: &QActs, by_group: &[[f32; GROUP]]) -> Vec<f32> {
        let n = a.rows;
        let groups = self.rows / GROUP;
        let mut out = vec![0f32; n * self.rows];
        for g in 0..groups {
            for t in 0..n {
                out[t * self.rows + g * GROUP..t * self.rows + (g + 1) * GROUP]
                    .copy_from_slice(&by_group[g * n + t]);
            }
        }
        let row_bytes = self.cols / kind.block_elems() * kind.block_bytes();
        let bytes = self.bytes.as_slice();
        let mut col = vec![0f32; n];
        for r in groups * GROUP..self.rows {
            kernels::row(
                kind,
                &bytes[r * row_bytes..(r + 1) * row_bytes],
                a,
                &mut col,
            );
            for t in 0..n {
                out[t * self.rows + r] = col[t];
            }
        }
        out
    }

    /// `[n, cols] -> [n, rows]` through candle's kernels, for the other types.
    pub(crate) fn matmul_generic(&self, x: &[f32], n: usize) -> Result<Vec<f32>> {
        match self.dtype {
            GgmlDType::F32 => float::<f32>(self, x, n),
            GgmlDType::F16 => float::<f16>(self, x, n),
            GgmlDType::BF16 => float::<bf16>(self, x, n),
            GgmlDType::Q4_0 => generic::<BlockQ4_0>(self, x, n),
            GgmlDType::Q4_1 => generic::<BlockQ4_1>(self, x, n),
            GgmlDType::Q5_0 => generic::<BlockQ5_0>(self, x, n),
            GgmlDType::Q5_1 => generic::<BlockQ5_1>(self, x, n),
            GgmlDType::Q8_0 => generic::<BlockQ8_0>(self, x, n),
            GgmlDType::Q8_1 => generic::<BlockQ8_1>(self, x, n),
            GgmlDType::Q2K => generic::<BlockQ2K>(self, x, n),
            GgmlDType::Q3K => generic::<BlockQ3K>(self, x, n),
            GgmlDType::Q4K => generic::<BlockQ4K>(self, x, n),
            GgmlDType::Q5K => generic::<BlockQ5K>(self, x, n),
            GgmlDType::Q6K => generic::<BlockQ6K>(self, x, n),
            GgmlDType::Q8K => generic::<BlockQ8K>(self, x, n),
        }
    }

    /// Row `r` as f32.
    pub(crate) fn dequantize_row(&self, r: usize, out: &mut [f32]) -> Result<()> {
        if let Some(kind) = self.kind {
            kernels::dequantize_row(kind, self.bytes.as_slice(), self.rows, self.cols, r, out);
            return Ok(());
        }
        let row_bytes = self.cols / self.dtype.block_size() * self.dtype.type_size();
        let raw = &self.bytes.as_slice()[r * row_bytes..(r + 1) * row_bytes];
        match self.dtype {
            GgmlDType::F32 => to_float::<f32>(self, raw, out),
            GgmlDType::F16 => to_float::<f16>(self, raw, out),
            GgmlDType::BF16 => to_float::<bf16>(self, raw, out),
            GgmlDType::Q4_0 => to_float::<BlockQ4_0>(self, raw, out),
            GgmlDType::Q4_1 => to_float::<BlockQ4_1>(self, raw, out),
            GgmlDType::Q5_0 => to_float::<BlockQ5_0>(self, raw, out),
            GgmlDType::Q5_1 => to_float::<BlockQ5_1>(self, raw, out),
            GgmlDType::Q8_0 => to_float::<BlockQ8_0>(self, raw, out),
            GgmlDType::Q8_1 => to_float::<BlockQ8_1>(self, raw, out),
            GgmlDType::Q2K => to_float::<BlockQ2K>(self, raw, out),
            GgmlDType::Q3K => to_float::<BlockQ3K>(self, raw, out),
            GgmlDType::Q4K => to_float::<BlockQ4K>(self, raw, out),
            GgmlDType::Q5K => to_float::<BlockQ5K>(self, raw, out),
            GgmlDType::Q6K => to_float::<BlockQ6K>(self, raw, out),
            GgmlDType::Q8K => to_float::<BlockQ8K>(self, raw, out),
        }
    }
}

fn misaligned(m: &CpuMatrix) -> ModelError {
    ModelError::Malformed(format!(
        "tensor {:?} is not aligned for its block type {:?}",
        m.name, m.dtype
    ))
}

fn to_float<T: PodBlock>(m: &CpuMatrix, raw: &[u8], out: &mut [f32]) -> Result<()> {
    let b = blocks::<T>(raw).ok_or_else(|| misaligned(m))?;
    T::to_float(b, out);
    Ok(())
}

/// Float weights against f32 activations (as candle's `QMatMul` does for them; candle's
/// `vec_dot` would round the activations to the weight type): each row is widened to f32 once
/// and dotted with every token by `math::dot`, whose fixed summation order gives the same bits
/// natively and in wasm.
fn float<T: PodBlock + Widen>(m: &CpuMatrix, x: &[f32], n: usize) -> Result<Vec<f32>> {
    let w = blocks::<T>(m.bytes.as_slice()).ok_or_else(|| misaligned(m))?;
    let mut by_row = vec![0f32; m.rows * n];
    let work = |row: &mut Vec<f32>, (r, out): (usize, &mut [f32])| {
        let wr = &w[r * m.cols..(r + 1) * m.cols];
        // A few tokens (decoding): straight from the weights where the type has a kernel for
        // it; more: widened once for all tokens (f32 rows: always straight, nothing to widen).
        if (n <= FEW_TOKENS || T::IN_PLACE) && T::dots(wr, x, m.cols, out) {
            return;
        }
        // The buffer is made on first use: f32 rows and f16 rows of a decode step never
        // need it (an output table's product has ~1800 tasks, each zeroed a row for nothing).
        row.resize(m.cols, 0.0);
        T::widen(wr, row);
        for (o, xt) in out.iter_mut().zip(x.chunks_exact(m.cols)) {
            *o = dot(row, xt);
        }
    };
    let tasks: Vec<_> = by_row.chunks_mut(n * ROWS_PER_TASK).enumerate().collect();
    team::for_each(tasks, |(task, out)| {
        let mut row = Vec::new();
        for (i, out) in out.chunks_mut(n).enumerate() {
            work(&mut row, (task * ROWS_PER_TASK + i, out));
        }
    });
    Ok(transpose(by_row, m.rows, n))
}

/// A row of float weights as f32. `half`'s slice conversion converts 8 values per F16C
/// instruction where the CPU has it; candle's `to_float` converts one value per call, which
/// made widening f16 rows most of the time of a product (Whisper's f16 output projection).
trait Widen: Sized {
    fn widen(src: &[Self], dst: &mut [f32]);
    /// `out[t] = row · x[t]` for each token, where the type has a kernel that reads the row as
    /// stored (the same bits as widening it and `math::dot`); `false`, nothing written,
    /// otherwise.
    fn dots(_row: &[Self], _x: &[f32], _cols: usize, _out: &mut [f32]) -> bool {
        false
    }
    /// Whether `dots` is the better path for any number of tokens (rows that need no
    /// widening), not only up to [`FEW_TOKENS`].
    const IN_PLACE: bool = false;
}

/// Up to this many tokens, f16 rows are read as stored for each token rather than widened
/// once into a buffer (reading 4 rows interleaved, to overlap their sums, measured 3x slower
/// out of cache on the test machines than one row after the other).
const FEW_TOKENS: usize = 4;

impl Widen for f32 {
    fn widen(src: &[f32], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }

    // Read in place: widening an f32 row is a copy (`memory.copy` in wasm, a call into V8's
    // runtime per row), which for a decoder's tied output table (the largest matrix of a
    // text-to-text model: 58101 x 512 for opus-mt) was a third of a greedy step in Chromium.
    // Same bits: `dot` of the row or of its copy. (Up to four tokens' dots in one pass over the
    // row, their accumulators side by side, measured slower for beams: 0.82-0.92x.)
    fn dots(row: &[f32], x: &[f32], cols: usize, out: &mut [f32]) -> bool {
        for (o, xt) in out.iter_mut().zip(x.chunks_exact(cols)) {
            *o = super::math::dot(row, xt);
        }
        true
    }
    const IN_PLACE: bool = true;
}

impl Widen for f16 {
    fn widen(src: &[f16], dst: &mut [f32]) {
        src.convert_to_f32_slice(dst);
    }

    fn dots(row: &[f16], x: &[f32], cols: usize, out: &mut [f32]) -> bool {
        for (o, xt) in out.iter_mut().zip(x.chunks_exact(cols)) {
            *o = super::half_dot::dot_f16(row, xt);
        }
        true
    }
}

impl Widen for bf16 {
    fn widen(src: &[bf16], dst: &mut [f32]) {
        src.convert_to_f32_slice(dst);
    }
}

/// `[row][token]` to `[token][row]`.
fn transpose(by_row: Vec<f32>, rows: usize, n: usize) -> Vec<f32> {
    if n == 1 {
        return by_row;
    }
    let mut out = vec![0f32; n * rows];
    for r in 0..rows {
        for t in 0..n {
            out[t * rows + r] = by_row[r * n + t];
        }
    }
    out
}

fn generic<T: PodBlock>(m: &CpuMatrix, x: &[f32], n: usize) -> Result<Vec<f32>>
where
    T::VecDotType: GgmlType,
{
    let w = blocks::<T>(m.bytes.as_slice()).ok_or_else(|| misaligned(m))?;
    let nb = m.cols / T::BLCK_SIZE;
    let mut xq = vec![T::VecDotType::zeros(); n * nb];
    for (row, q) in x.chunks_exact(m.cols).zip(xq.chunks_exact_mut(nb)) {
        T::VecDotType::from_float(row, q);
    }
    // [row][token], then transposed.
    let mut by_row = vec![0f32; m.rows * n];
    let work = |(r, out): (usize, &mut [f32])| {
        let wr = &w[r * nb..(r + 1) * nb];
        for (t, o) in out.iter_mut().enumerate() {
            *o = T::vec_dot(m.cols, wr, &xq[t * nb..(t + 1) * nb]);
        }
    };
    let tasks: Vec<_> = by_row.chunks_mut(n * ROWS_PER_TASK).enumerate().collect();
    team::for_each(tasks, |(task, out)| {
        for (i, out) in out.chunks_mut(n).enumerate() {
            work((task * ROWS_PER_TASK + i, out));
        }
    });
    Ok(transpose(by_row, m.rows, n))
}
