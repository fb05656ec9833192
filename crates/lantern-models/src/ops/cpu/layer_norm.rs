//! Layer normalisation of one row (Ba, Kiros & Hinton 2016), as BERT uses it: the row minus
//! its mean, divided by the standard deviation (biased variance), times a gain, plus a bias.

/// In place: `x = (x - mean(x)) / sqrt(var(x) + eps) * gain + bias`. Mean and variance are
/// summed in f64 in a fixed order, so native and wasm builds agree to the last bit or so.
pub fn layer_norm(x: &mut [f32], gain: &[f32], bias: &[f32], eps: f32) {
    let n = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x
        .iter()
        .map(|&v| (v as f64 - mean) * (v as f64 - mean))
        .sum::<f64>()
        / n;
    let scale = (1.0 / (var + eps as f64).sqrt()) as f32;
    let mean = mean as f32;
    for ((v, g), b) in x.iter_mut().zip(gain).zip(bias) {
        *v = (*v - mean) * scale * g + b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_a_row() {
        let mut x = [1.0f32, 2.0, 3.0, 4.0];
        layer_norm(&mut x, &[1.0; 4], &[0.0; 4], 0.0);
        // mean 2.5, variance 1.25
        let s = 1.25f32.sqrt();
        for (got, want) in x.iter().zip([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]) {
            assert!((got - want).abs() < 1e-6, "{got} {want}");
        }
        let mut y = [5.0f32, 5.0];
        layer_norm(&mut y, &[2.0, 2.0], &[0.5, -0.5], 1e-12);
        assert_eq!(y, [0.5, -0.5]);
    }
}
