//! Native f32 weights: the `gemm` crate, called as candle's f32 matmul calls it (weights
//! transposed once at load to `[in, out]`, contiguous), with the bias as the destination's
//! starting value, so that it is added in the same pass.
// `gemm::gemm` takes raw pointers and strides; every call below checks the slices' lengths
// against the shape first.
#![allow(unsafe_code)]

use crate::error::{ModelError, Result};

#[derive(Debug)]
pub(super) struct F32Weights {
    /// `[in][out]`.
    wt: Vec<f32>,
    rows: usize,
    cols: usize,
}

impl F32Weights {
    /// `w`: `rows x cols` (`[out, in]`), checked by the caller.
    pub(super) fn new(w: Vec<f32>, rows: usize, cols: usize) -> Result<Self> {
        let mut wt = vec![0f32; w.len()];
        for (r, row) in w.chunks_exact(cols.max(1)).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                wt[c * rows + r] = v;
            }
        }
        Ok(F32Weights { wt, rows, cols })
    }

    /// `x · wᵀ + bias` for `m` rows of `x` (lengths checked by the caller).
    pub(super) fn linear(&self, x: &[f32], m: usize, bias: Option<&[f32]>) -> Result<Vec<f32>> {
        let (k, n) = (self.cols, self.rows);
        let mut dst = match bias {
            Some(b) => b.repeat(m),
            None => vec![0f32; m * n],
        };
        if x.len() != m * k || self.wt.len() != k * n {
            return Err(ModelError::shape(
                "linear",
                format!("{} inputs for {m} rows of {k}", x.len()),
            ));
        }
        if m == 0 || n == 0 || k == 0 {
            return Ok(dst);
        }
        // candle's choice of threads (RAYON_NUM_THREADS, else the physical cores): the same
        // matmuls as the BERT encoder ran through candle before.
        let threads = candle_core::utils::get_num_threads();
        let parallelism = if threads > 1 {
            gemm::Parallelism::Rayon(threads)
        } else {
            gemm::Parallelism::None
        };
        // SAFETY: dst holds m x n values (row stride n, column stride 1), x m x k (row stride
        // k) and wt k x n (row stride n), as checked above; none of them overlap.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr(),
                1,
                n as isize,
                // dst = 1 * dst + 1 * x · wt: the bias starts the sum.
                bias.is_some(),
                x.as_ptr(),
                1,
                k as isize,
                self.wt.as_ptr(),
                1,
                n as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
        Ok(dst)
    }
}
