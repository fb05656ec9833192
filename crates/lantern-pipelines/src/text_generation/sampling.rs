//! Picking the next token from logits: repetition penalty, then greedy (temperature 0) or
//! top-k, top-p, min-p and temperature, then a draw from a seeded generator — the same
//! draw for the same seed on every platform.

use lantern_core::SamplingParams;

/// Tokens looked back at by the repetition penalty (llama.cpp's `penalty_last_n`).
pub const REPEAT_LAST_N: usize = 64;

/// SplitMix64: small, fast, and the same sequence everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The sampler of one generation.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: Rng,
}

impl Sampler {
    pub fn new(params: &SamplingParams) -> Sampler {
        Sampler {
            params: params.clone(),
            rng: Rng::new(params.seed),
        }
    }

    /// The next token for `logits`, given the tokens seen so far (`history`, for the penalty).
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> u32 {
        let p = &self.params;
        if p.repetition_penalty != 1.0 && p.repetition_penalty > 0.0 {
            // As llama.cpp and transformers: divide positive logits, multiply negative ones,
            // once per distinct token in the window.
            let window = &history[history.len().saturating_sub(REPEAT_LAST_N)..];
            let mut seen: Vec<u32> = window.to_vec();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                if let Some(l) = logits.get_mut(t as usize) {
                    *l = if *l > 0.0 {
                        *l / p.repetition_penalty
                    } else {
                        *l * p.repetition_penalty
                    };
                }
            }
        }
        if p.temperature <= 0.0 || p.top_k == 1 {
            return argmax(logits);
        }
        // Candidates by decreasing logit (ties: lower id first, so results never depend on
        // the sort's stability).
        let mut cand: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, l))
            .collect();
        let by_logit = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if p.top_k > 0 && p.top_k < cand.len() {
            cand.select_nth_unstable_by(p.top_k - 1, by_logit);
            cand.truncate(p.top_k);
        }
        cand.sort_by(by_logit);
        // Probabilities at temperature 1 for the filters (as llama.cpp's default chain applies
        // top-p and min-p before the temperature), in f64.
        let max = cand.first().map_or(0.0, |c| c.1) as f64;
        let mut probs: Vec<f64> = cand.iter().map(|c| (c.1 as f64 - max).exp()).collect();
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|x| *x /= total);
        let mut keep = cand.len();
        if p.top_p < 1.0 && p.top_p > 0.0 {
            let mut acc = 0.0;
            for (i, &pr) in probs.iter().enumerate() {
                acc += pr;
                if acc >= p.top_p as f64 {
                    keep = keep.min(i + 1);
                    break;
                }
            }
        }
        if p.min_p > 0.0 && p.min_p <= 1.0 {
            let threshold = probs[0] * p.min_p as f64;
            let n = probs.iter().take_while(|&&x| x >= threshold).count().max(1);
            keep = keep.min(n);
        }
        cand.truncate(keep.max(1));
        // Temperature on what is left, then one draw.
        let t = p.temperature as f64;
        let weights: Vec<f64> = cand
            .iter()
            .map(|c| ((c.1 as f64 - max) / t).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        let mut r = self.rng.next_f64() * total;
        for (c, w) in cand.iter().zip(&weights) {
            if r < *w {
                return c.0;
            }
            r -= w;
        }
        cand.last().map_or(0, |c| c.0)
    }
}

/// The index of the largest logit (the first one on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(f: impl FnOnce(&mut SamplingParams)) -> SamplingParams {
        let mut p = SamplingParams::default();
        f(&mut p);
        p
    }

    #[test]
    fn greedy_takes_the_argmax_and_penalty_can_change_it() {
        let mut s = Sampler::new(&SamplingParams::default());
        assert_eq!(s.sample(&mut [0.1, 2.0, 1.9], &[]), 1);
        let mut s = Sampler::new(&params(|p| p.repetition_penalty = 1.5));
        assert_eq!(s.sample(&mut [0.1, 2.0, 1.9], &[1, 1]), 2);
    }

    #[test]
    fn top_k_one_and_tiny_top_p_and_full_min_p_are_greedy() {
        let logits = [0.5f32, 3.0, 2.9, -1.0];
        for p in [
            params(|p| {
                p.temperature = 1.0;
                p.top_k = 1
            }),
            params(|p| {
                p.temperature = 1.0;
                p.top_p = 0.01
            }),
            params(|p| {
                p.temperature = 1.0;
                p.min_p = 1.0
            }),
        ] {
            let mut s = Sampler::new(&p);
            for _ in 0..50 {
                assert_eq!(s.sample(&mut logits.clone(), &[]), 1);
            }
        }
    }

    #[test]
    fn sampling_follows_the_distribution_and_the_seed() {
        let logits = [0.0f32, (3.0f32).ln(), f32::NEG_INFINITY];
        let p = params(|p| {
            p.temperature = 1.0;
            p.seed = 7
        });
        let mut s = Sampler::new(&p);
        let draws: Vec<u32> = (0..4000)
            .map(|_| s.sample(&mut logits.clone(), &[]))
            .collect();
        let ones = draws.iter().filter(|&&d| d == 1).count() as f64 / 4000.0;
        assert!((ones - 0.75).abs() < 0.03, "{ones}");
        assert!(!draws.contains(&2));
        let mut again = Sampler::new(&p);
        let replay: Vec<u32> = (0..4000)
            .map(|_| again.sample(&mut logits.clone(), &[]))
            .collect();
        assert_eq!(draws, replay);
    }

    #[test]
    fn top_k_limits_candidates() {
        let p = params(|p| {
            p.temperature = 5.0;
            p.top_k = 2;
            p.seed = 1
        });
        let mut s = Sampler::new(&p);
        for _ in 0..500 {
            let t = s.sample(&mut [1.0, 0.9, 0.8, 0.7], &[]);
            assert!(t < 2);
        }
    }
}
