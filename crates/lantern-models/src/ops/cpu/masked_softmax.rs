//! Softmax over the real (unpadded) keys of one attention row.

use super::math;

/// In place: `row[..len] = softmax(row[..len] * scale + bias[..len])`, `row[len..] = 0`
/// (no bias: `softmax(row[..len] * scale)`).
///
/// Padded keys get exactly zero weight (not a large negative logit that still leaks e^-1e4),
/// so a sentence in a padded batch gets the same vector as alone. The bias (T5's relative
/// positions) is read for the real keys only, so it cannot give padding weight either; a bias
/// shorter than `len` is the caller's error (its shape is checked at the op).
pub fn scaled_softmax_prefix(row: &mut [f32], len: usize, scale: f32, bias: Option<&[f32]>) {
    let len = len.min(row.len());
    let (keys, padding) = row.split_at_mut(len);
    match bias {
        // Two roundings (no fused multiply-add), as the unbiased path and every backend.
        Some(bias) => {
            for (v, b) in keys.iter_mut().zip(bias) {
                *v = *v * scale + b;
            }
        }
        None => {
            for v in keys.iter_mut() {
                *v *= scale;
            }
        }
    }
    if !keys.is_empty() {
        math::softmax_lanes(keys);
    }
    padding.fill(0.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_gets_no_weight() {
        let mut row = [1.0f32, 2.0, 3.0, 100.0];
        scaled_softmax_prefix(&mut row, 2, 0.5, None);
        let e = (0.5f32).exp();
        assert!((row[0] - 1.0 / (1.0 + e)).abs() < 1e-6);
        assert!((row[1] - e / (1.0 + e)).abs() < 1e-6);
        assert_eq!(&row[2..], &[0.0, 0.0]);
    }

    /// The bias is added after the scale, and a large bias on a padding key changes nothing.
    #[test]
    fn bias_is_added_after_the_scale_and_padding_still_gets_no_weight() {
        let mut row = [1.0f32, 2.0, 3.0, 100.0];
        scaled_softmax_prefix(&mut row, 2, 0.5, Some(&[1.0, 0.0, 50.0, 50.0]));
        // Logits 1.5 and 1.0.
        let e = (-0.5f32).exp();
        assert!((row[0] - 1.0 / (1.0 + e)).abs() < 1e-6);
        assert!((row[1] - e / (1.0 + e)).abs() < 1e-6);
        assert_eq!(&row[2..], &[0.0, 0.0]);
    }
}
