//! Softmax over the real (unpadded) keys of one attention row.

use super::math;

/// In place: `row[..len] = softmax(row[..len] * scale)`, `row[len..] = 0`.
///
/// Padded keys get exactly zero weight (not a large negative logit that still leaks e^-1e4),
/// so a sentence in a padded batch gets the same vector as alone.
pub fn scaled_softmax_prefix(row: &mut [f32], len: usize, scale: f32) {
    let len = len.min(row.len());
    let (keys, padding) = row.split_at_mut(len);
    for v in keys.iter_mut() {
        *v *= scale;
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
        scaled_softmax_prefix(&mut row, 2, 0.5);
        let e = (0.5f32).exp();
        assert!((row[0] - 1.0 / (1.0 + e)).abs() < 1e-6);
        assert!((row[1] - e / (1.0 + e)).abs() < 1e-6);
        assert_eq!(&row[2..], &[0.0, 0.0]);
    }
}
