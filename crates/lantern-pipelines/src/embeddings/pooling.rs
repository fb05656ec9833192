//! Pooling of token vectors into one sentence vector, and L2 normalisation.

use super::recipe::Pooling;

/// Pools `tokens` (`len * dim` values, row-major, every token real: padding was never
/// returned by the encoder) into one vector of `dim`.
pub fn pool(tokens: &[f32], dim: usize, mode: Pooling) -> Vec<f32> {
    let rows = tokens.chunks_exact(dim);
    let count = rows.len();
    if count == 0 {
        return vec![0.0; dim];
    }
    match mode {
        Pooling::Cls => tokens[..dim].to_vec(),
        Pooling::Max => {
            let mut out = vec![f32::NEG_INFINITY; dim];
            for row in rows {
                for (o, v) in out.iter_mut().zip(row) {
                    *o = o.max(*v);
                }
            }
            out
        }
        Pooling::Mean | Pooling::MeanSqrtLen => {
            // Summed in f64: a 512-token mean in f32 would lose a few bits to rounding.
            let mut sum = vec![0f64; dim];
            for row in rows {
                for (s, v) in sum.iter_mut().zip(row) {
                    *s += *v as f64;
                }
            }
            let div = match mode {
                Pooling::Mean => count as f64,
                _ => (count as f64).sqrt(),
            };
            sum.into_iter().map(|s| (s / div) as f32).collect()
        }
    }
}

/// Scales `v` to unit length, as `torch.nn.functional.normalize` does (a zero vector stays
/// zero: the norm is clamped to 1e-12).
pub fn normalize(v: &mut [f32]) {
    let norm = v
        .iter()
        .map(|&x| (x as f64) * (x as f64))
        .sum::<f64>()
        .sqrt()
        .max(1e-12);
    for x in v.iter_mut() {
        *x = (*x as f64 / norm) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_modes() {
        let t = [1.0, -2.0, 3.0, 4.0, 5.0, 0.0];
        assert_eq!(pool(&t, 2, Pooling::Cls), [1.0, -2.0]);
        assert_eq!(pool(&t, 2, Pooling::Max), [5.0, 4.0]);
        assert_eq!(pool(&t, 2, Pooling::Mean), [3.0, 2.0 / 3.0]);
        let s = pool(&t, 2, Pooling::MeanSqrtLen);
        assert!((s[0] - 9.0 / 3f32.sqrt()).abs() < 1e-6);
        assert_eq!(pool(&[], 2, Pooling::Mean), [0.0, 0.0]);
        let mut v = [3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut z = [0.0, 0.0];
        normalize(&mut z);
        assert_eq!(z, [0.0, 0.0]);
    }
}
