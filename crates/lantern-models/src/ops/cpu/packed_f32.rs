//! An f32 matmul for wasm: `x · Wᵀ + b` with `W` packed once at load time.
//!
//! candle's f32 matmul (the `gemm` crate) is what the BERT encoder's linear layers use
//! natively, where it runs AVX2/AVX-512 FMA kernels near the core's peak. Its wasm simd128
//! kernel (12 rows x 4 columns, lhs and rhs packed on every call) reaches ~32 GFLOP/s under V8
//! on the project machine, where this kernel reaches ~40 (`embeddings_bench - gemm`, and the
//! experiment in BENCHMARKS.md): a tile of 4 rows x 8 columns keeps its 8 accumulators, the
//! two weight vectors and one splat activation in registers (V8 has 15 usable on x64; 6 x 8 or
//! 4 x 12 spilled and ran at 27-35), the weights are packed into 8-column panels once, when
//! the model loads, instead of per call, and the bias starts the accumulators (no second pass).
//!
//! Every output is `bias[j]` plus the products summed in order of the input index, one IEEE
//! multiply and one add each (no FMA): the simd128 kernel and the portable one compute the same
//! bits, and the portable one is the oracle its tests compare against.

use super::team;
use crate::error::{ModelError, Result};

/// Columns of `Wᵀ` per packed panel: two f32x4 vectors.
pub const NR: usize = 8;
/// Rows of `x` per tile.
pub const MR: usize = 4;

/// `W` (`[n, k]`, PyTorch's `Linear.weight`: one row per output) packed as panels of
/// [`NR`] outputs: panel `p` holds `Wᵀ[kk][p*NR..p*NR+NR]` for each `kk` in order, the last
/// panel padded with zero columns.
#[derive(Debug, Clone)]
pub struct PackedF32 {
    k: usize,
    n: usize,
    panels: Vec<f32>,
}

impl PackedF32 {
    /// Packs `w`, `n` rows of `k` values.
    pub fn new(w: &[f32], n: usize, k: usize) -> Result<Self> {
        if n.checked_mul(k) != Some(w.len()) {
            return Err(ModelError::Backend(format!(
                "packed matmul: {} weights for a {n} x {k} matrix",
                w.len()
            )));
        }
        let mut panels = vec![0f32; n.div_ceil(NR) * NR * k];
        for (j, row) in w.chunks_exact(k.max(1)).enumerate().take(n) {
            let (p, c) = (j / NR, j % NR);
            let panel = &mut panels[p * NR * k..(p + 1) * NR * k];
            for (kk, &v) in row.iter().enumerate() {
                panel[kk * NR + c] = v;
            }
        }
        Ok(PackedF32 { k, n, panels })
    }

    /// Outputs (`W`'s rows).
    pub fn outputs(&self) -> usize {
        self.n
    }

    /// Inputs (`W`'s columns).
    pub fn inputs(&self) -> usize {
        self.k
    }

    /// `x · Wᵀ + bias` for `x` of `[m, k]` row-major: `[m, n]` row-major.
    pub fn matmul_bias(&self, x: &[f32], bias: &[f32]) -> Result<Vec<f32>> {
        self.matmul_bias_with(x, bias, false)
    }

    /// [`Self::matmul_bias`] through the portable kernel, whatever the build: the oracle of the
    /// SIMD kernel's tests.
    pub fn matmul_bias_portable(&self, x: &[f32], bias: &[f32]) -> Result<Vec<f32>> {
        self.matmul_bias_with(x, bias, true)
    }

    fn matmul_bias_with(&self, x: &[f32], bias: &[f32], portable: bool) -> Result<Vec<f32>> {
        let (k, n) = (self.k, self.n);
        if k == 0 || !x.len().is_multiple_of(k) || bias.len() != n {
            return Err(ModelError::Backend(format!(
                "packed matmul: {} inputs and {} biases for a {n} x {k} matrix",
                x.len(),
                bias.len()
            )));
        }
        let m = x.len() / k;
        // The panels in groups, one parallel task each (the threads of a forward pass:
        // `team`), each group's columns computed into its own buffer and copied into place
        // after. A small product stays one task: a decode step's 512 x 512 is ~13 µs of work,
        // and a task costs ~1-2 µs to hand over. So does every product without a second thread.
        let panels = n.div_ceil(NR);
        let per_task = if m * n * k < PARALLEL_MACS || rayon::current_num_threads() <= 1 {
            panels.max(1)
        } else {
            PANELS_PER_TASK
        };
        let mut parts: Vec<(usize, Vec<f32>)> = (0..panels)
            .step_by(per_task)
            .map(|p0| {
                let cols = (n - p0 * NR).min(per_task * NR);
                (p0, vec![0f32; m * cols])
            })
            .collect();
        let run = |(p0, part): &mut (usize, Vec<f32>)| {
            let width = part.len() / m.max(1);
            let last = (*p0 + per_task).min(panels);
            for p in *p0..last {
                let panel = &self.panels[p * NR * k..(p + 1) * NR * k];
                let col0 = p * NR;
                let cols = (n - col0).min(NR);
                let mut b = [0f32; NR];
                b[..cols].copy_from_slice(&bias[col0..col0 + cols]);
                let tile = Tile {
                    x,
                    k,
                    panel,
                    bias: &b,
                    n: width,
                    col0: col0 - *p0 * NR,
                    cols,
                };
                let mut i = 0;
                while i + MR <= m {
                    tile.run::<MR>(i, part, portable);
                    i += MR;
                }
                while i < m {
                    tile.run::<1>(i, part, portable);
                    i += 1;
                }
            }
        };
        if parts.len() == 1 {
            parts.iter_mut().for_each(run);
        } else {
            team::for_each(parts.iter_mut().collect(), run);
        }
        if let [(_, only)] = parts.as_mut_slice() {
            return Ok(std::mem::take(only));
        }
        let mut out = vec![0f32; m * n];
        for (p0, part) in &parts {
            let (col0, width) = (p0 * NR, part.len() / m.max(1));
            for (dst, src) in out.chunks_exact_mut(n).zip(part.chunks_exact(width)) {
                dst[col0..col0 + width].copy_from_slice(src);
            }
        }
        Ok(out)
    }
}

/// Panels (of [`NR`] columns) per parallel task: 64 output columns.
const PANELS_PER_TASK: usize = 8;
/// Products smaller than this many multiply-adds run as one task.
const PARALLEL_MACS: usize = 1 << 17;

/// One panel against rows of `x`.
struct Tile<'a> {
    x: &'a [f32],
    k: usize,
    /// `k * NR` values.
    panel: &'a [f32],
    bias: &'a [f32; NR],
    /// Row length of the output.
    n: usize,
    /// The panel's first output column, and how many of its columns are real.
    col0: usize,
    cols: usize,
}

impl Tile<'_> {
    /// Rows `i..i + R` of the output's columns `col0..col0 + cols`.
    #[inline(always)]
    fn run<const R: usize>(&self, i: usize, out: &mut [f32], portable: bool) {
        let acc = if portable {
            self.portable::<R>(i)
        } else {
            self.fast::<R>(i)
        };
        for (r, acc) in acc.iter().enumerate() {
            let at = (i + r) * self.n + self.col0;
            out[at..at + self.cols].copy_from_slice(&acc[..self.cols]);
        }
    }

    fn portable<const R: usize>(&self, i: usize) -> [[f32; NR]; R] {
        let mut acc = [*self.bias; R];
        for (kk, w) in self.panel.chunks_exact(NR).enumerate() {
            for (r, acc) in acc.iter_mut().enumerate() {
                let a = self.x[(i + r) * self.k + kk];
                for (c, acc) in acc.iter_mut().enumerate() {
                    *acc += a * w[c];
                }
            }
        }
        acc
    }

    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    #[inline(always)]
    fn fast<const R: usize>(&self, i: usize) -> [[f32; NR]; R] {
        self.portable::<R>(i)
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    #[allow(unsafe_code)]
    fn fast<const R: usize>(&self, i: usize) -> [[f32; NR]; R] {
        use core::arch::wasm32::*;
        let k = self.k;
        // Every read below is inside these bounds; checked once so that the loop is loads and
        // arithmetic only (a bounds check per load halves the kernel's speed under V8).
        assert!(self.panel.len() >= k * NR && self.x.len() >= (i + R) * k);
        let x = self.x[i * k..].as_ptr();
        let w = self.panel.as_ptr();
        // SAFETY: the bias is 8 f32s; v128_load has no alignment requirement.
        let (b0, b1) = unsafe {
            (
                v128_load(self.bias.as_ptr().cast()),
                v128_load(self.bias.as_ptr().add(4).cast()),
            )
        };
        let mut acc = [[b0, b1]; R];
        for kk in 0..k {
            // SAFETY: kk < k, so `w + kk*NR .. + NR` lies in the panel (asserted above) and
            // `x + r*k + kk` in row i + r of x.
            unsafe {
                let w0 = v128_load(w.add(kk * NR).cast());
                let w1 = v128_load(w.add(kk * NR + 4).cast());
                for (r, acc) in acc.iter_mut().enumerate() {
                    let a = v128_load32_splat(x.add(r * k + kk).cast());
                    acc[0] = f32x4_add(acc[0], f32x4_mul(a, w0));
                    acc[1] = f32x4_add(acc[1], f32x4_mul(a, w1));
                }
            }
        }
        let mut res = [[0f32; NR]; R];
        for (res, acc) in res.iter_mut().zip(acc) {
            // SAFETY: `res` is 8 f32s; v128_store has no alignment requirement.
            unsafe {
                v128_store(res.as_mut_ptr().cast(), acc[0]);
                v128_store(res.as_mut_ptr().add(4).cast(), acc[1]);
            }
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 8) as f32 / (1 << 23) as f32 - 1.0
            })
            .collect()
    }

    #[test]
    fn equals_the_plain_product_for_every_edge_shape() {
        for (m, k, n) in [
            (1, 1, 1),
            (3, 5, 7),
            (4, 8, 8),
            (5, 33, 9),
            (9, 17, 19),
            (13, 64, 24),
        ] {
            let (x, w, b) = (values(m * k, 1), values(n * k, 2), values(n, 3));
            let p = PackedF32::new(&w, n, k).unwrap();
            let got = p.matmul_bias(&x, &b).unwrap();
            assert_eq!(got, p.matmul_bias_portable(&x, &b).unwrap());
            for i in 0..m {
                for j in 0..n {
                    let mut want = b[j];
                    for kk in 0..k {
                        want += x[i * k + kk] * w[j * k + kk];
                    }
                    assert_eq!(
                        got[i * n + j].to_bits(),
                        want.to_bits(),
                        "({i}, {j}) of {m}x{k}x{n}"
                    );
                }
            }
        }
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(PackedF32::new(&[0.0; 5], 2, 3).is_err());
        let p = PackedF32::new(&[0.0; 6], 2, 3).unwrap();
        assert!(p.matmul_bias(&[0.0; 4], &[0.0; 2]).is_err());
        assert!(p.matmul_bias(&[0.0; 3], &[0.0; 3]).is_err());
        assert_eq!(p.matmul_bias(&[], &[0.0; 2]).unwrap(), Vec::<f32>::new());
    }
}
