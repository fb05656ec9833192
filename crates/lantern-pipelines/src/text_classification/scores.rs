//! Logits to scores, as transformers' text-classification pipeline computes them (in f32:
//! softmax with the largest logit subtracted first, or a sigmoid per label).

use super::config::Problem;

pub fn scores(logits: &[f32], problem: Problem) -> Vec<f32> {
    match problem {
        Problem::SingleLabel => softmax(logits),
        Problem::MultiLabel => logits.iter().map(|&x| sigmoid(x)).collect(),
    }
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_and_sigmoid_as_transformers_computes_them() {
        let s = scores(&[1.0, 2.0, 3.0], Problem::SingleLabel);
        let want = [0.090_030_57, 0.244_728_48, 0.665_240_94];
        for (a, b) in s.iter().zip(want) {
            assert!((a - b).abs() < 1e-7, "{s:?}");
        }
        // Large logits do not overflow.
        let s = scores(&[1000.0, 0.0], Problem::SingleLabel);
        assert_eq!(s, vec![1.0, 0.0]);
        let s = scores(&[0.0, 2.0], Problem::MultiLabel);
        assert!((s[0] - 0.5).abs() < 1e-7 && (s[1] - 0.880_797).abs() < 1e-6);
    }
}
