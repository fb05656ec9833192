//! Dense weights of the CPU backend ([`Backend::dense`](crate::ops::Backend::dense)): the
//! linear layers of encoders, which multiply every token of a padded batch at once.
//!
//! f32 weights go to the fastest f32 matmul of the build: natively the `gemm` crate (AVX2 /
//! AVX-512 FMA kernels near the core's peak, what candle's f32 matmul calls), in wasm Lantern's
//! packed simd128 kernel (`packed_f32`, ~1.25x `gemm`'s simd128 kernel under V8). Q8_0 weights
//! are GGML blocks run by Lantern's quantized kernels, as the llama family's are.

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod attend_gemm;
#[cfg(not(target_arch = "wasm32"))]
mod gemm;
#[cfg(target_arch = "wasm32")]
mod packed;

#[cfg(not(target_arch = "wasm32"))]
use gemm::F32Weights;
#[cfg(target_arch = "wasm32")]
use packed::F32Weights;

use std::sync::Arc;

use half::f16;

use super::math;
use super::{Cpu, CpuMatrix, CpuTensor};
use crate::bytes::{ByteView, ModelBytes};
use crate::error::{ModelError, Result};
use crate::gguf::GgmlDType;
use crate::ops::{Backend, Quantization, TensorData};

/// Weights per Q8_0 block.
const Q8_0_BLOCK: usize = 32;
/// Bytes per Q8_0 block: an f16 scale and 32 signed bytes.
const Q8_0_BYTES: usize = 34;

/// A dense `[out, in]` weight of the CPU backend.
#[derive(Debug)]
pub struct CpuDense {
    name: String,
    rows: usize,
    cols: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    F32(F32Weights),
    /// Q8_0 blocks, repacked for Lantern's kernels.
    Q8_0(CpuMatrix),
}

impl CpuDense {
    pub(crate) fn new(
        name: &str,
        w: Vec<f32>,
        rows: usize,
        cols: usize,
        quantization: Quantization,
    ) -> Result<Self> {
        if rows.checked_mul(cols) != Some(w.len()) {
            return Err(ModelError::shape(
                "dense",
                format!("{name:?}: {} values for {rows}x{cols}", w.len()),
            ));
        }
        let kind = match quantization {
            Quantization::Q8_0 if cols.is_multiple_of(Q8_0_BLOCK) && cols > 0 => {
                let mut bytes = q8_0_bytes(&w, cols);
                drop(w);
                Cpu.prepare_matrix(GgmlDType::Q8_0, rows, cols, &mut bytes)?;
                let len = bytes.len();
                let bytes = ByteView::new(Arc::new(ModelBytes::new(bytes)), 0..len)
                    .ok_or_else(|| ModelError::shape("dense", "view outside its buffer"))?;
                Kind::Q8_0(Cpu.matrix(TensorData {
                    name: name.to_owned(),
                    dims: vec![cols, rows],
                    dtype: GgmlDType::Q8_0,
                    bytes,
                })?)
            }
            _ => Kind::F32(F32Weights::new(w, rows, cols)?),
        };
        Ok(CpuDense {
            name: name.to_owned(),
            rows,
            cols,
            kind,
        })
    }

    /// Outputs (`[out, in]`'s rows).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Inputs.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `x · wᵀ + bias`.
    pub(crate) fn linear(&self, x: &CpuTensor, bias: Option<&[f32]>) -> Result<CpuTensor> {
        if x.cols != self.cols || bias.is_some_and(|b| b.len() != self.rows) {
            return Err(ModelError::shape(
                "linear",
                format!(
                    "{}x{} · {:?} {}x{} with {:?} biases",
                    x.rows,
                    x.cols,
                    self.name,
                    self.rows,
                    self.cols,
                    bias.map(<[f32]>::len)
                ),
            ));
        }
        let data = match &self.kind {
            Kind::F32(w) => w.linear(&x.data, x.rows, bias)?,
            Kind::Q8_0(m) => {
                let mut y = Cpu.matmul(x, m)?.data;
                if let Some(b) = bias {
                    for row in y.chunks_exact_mut(self.rows) {
                        row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
                    }
                }
                y
            }
        };
        Ok(CpuTensor {
            rows: x.rows,
            cols: self.rows,
            data,
        })
    }
}

/// `w` (rows of `cols` values, `cols` a multiple of 32) as GGML Q8_0 blocks, as
/// `quantize_row_q8_0_ref` makes them: per block `d = max|x| / 127`, `q = round(x / d)`.
pub(crate) fn q8_0_bytes(w: &[f32], cols: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(w.len() / Q8_0_BLOCK * Q8_0_BYTES);
    for row in w.chunks_exact(cols.max(1)) {
        for block in row.chunks_exact(Q8_0_BLOCK) {
            let amax = block.iter().fold(0f32, |m, &x| {
                let a = x.abs();
                if a > m { a } else { m }
            });
            let d = amax / 127.0;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
            // |x * id| <= 127 (up to rounding), where `math::round` is exact.
            out.extend(block.iter().map(|&x| math::round(x * id) as i8 as u8));
        }
    }
    out
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

    /// Every shape against the plain f64 product, with and without a bias, both formats.
    #[test]
    fn linear_equals_the_plain_product() {
        for (m, k, n) in [(1, 32, 1), (3, 64, 7), (17, 96, 33), (5, 8, 3), (0, 32, 4)] {
            let (x, w, b) = (values(m * k, 1), values(n * k, 2), values(n, 3));
            for q in [Quantization::None, Quantization::Q8_0] {
                let d = CpuDense::new("w", w.clone(), n, k, q).unwrap();
                let xt = CpuTensor {
                    rows: m,
                    cols: k,
                    data: x.clone(),
                };
                for bias in [None, Some(&b[..])] {
                    let y = d.linear(&xt, bias).unwrap();
                    assert_eq!((y.rows, y.cols), (m, n));
                    // Q8_0 rounds weights and activations to 8 bits: within 2 % of sum |w x|.
                    let tol = if q == Quantization::Q8_0 && k % 32 == 0 {
                        2e-2
                    } else {
                        1e-5
                    };
                    for i in 0..m {
                        for j in 0..n {
                            let (mut want, mut size) = (bias.map_or(0.0, |b| b[j] as f64), 0f64);
                            for kk in 0..k {
                                let p = x[i * k + kk] as f64 * w[j * k + kk] as f64;
                                want += p;
                                size += p.abs();
                            }
                            let got = y.data[i * n + j] as f64;
                            assert!(
                                (got - want).abs() <= tol * size.max(1.0),
                                "{q:?} {m}x{k}x{n} ({i}, {j}): {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(CpuDense::new("w", vec![0.0; 5], 2, 3, Quantization::None).is_err());
        let d = CpuDense::new("w", vec![0.0; 6], 2, 3, Quantization::None).unwrap();
        let x = CpuTensor {
            rows: 1,
            cols: 2,
            data: vec![0.0; 2],
        };
        assert!(d.linear(&x, None).is_err());
        let x = CpuTensor {
            rows: 1,
            cols: 3,
            data: vec![0.0; 3],
        };
        assert!(d.linear(&x, Some(&[0.0; 3])).is_err());
    }

    #[test]
    fn q8_0_blocks_are_ggml_blocks() {
        let mut w = vec![0f32; 64];
        w[0] = 127.0;
        w[1] = -63.5;
        w[5] = 0.2;
        let b = q8_0_bytes(&w, 64);
        assert_eq!(b.len(), 2 * Q8_0_BYTES);
        assert_eq!(f16::from_le_bytes([b[0], b[1]]).to_f32(), 1.0);
        assert_eq!(b[2] as i8, 127);
        // Half away from zero, as roundf.
        assert_eq!(b[3] as i8, -64);
        assert_eq!(b[7] as i8, 0);
        // An all-zero block: scale 0, zeros.
        assert!(b[Q8_0_BYTES..].iter().all(|&v| v == 0));
    }
}
