//! transformers' logits processors, in the order `_get_logits_processor` lists them, applied to
//! one sequence's scores (the raw logits for greedy search, the log-probabilities for beam
//! search) given the decoder's tokens so far, its start token included.

use super::config::{GenerationConfig, Lengths};

/// The processors one generation applies, built once from its settings.
#[derive(Debug, Clone)]
pub(crate) struct Processors {
    repetition_penalty: Option<f32>,
    no_repeat_ngram_size: usize,
    /// Bad words of one token, and longer ones (whose last token is banned after the rest).
    bad_single: Vec<u32>,
    bad_sequences: Vec<Vec<u32>>,
    eos: Vec<u32>,
    min_length: usize,
    /// `min_new_tokens`, counted after the one-token decoder prompt.
    min_new_tokens: Option<usize>,
    forced_bos: Option<u32>,
    forced_eos: Vec<u32>,
    max_length: usize,
    suppress: Vec<u32>,
    begin_suppress: Vec<u32>,
    /// The length at which `begin_suppress_tokens` apply.
    begin_index: usize,
    /// `renormalize_logits`: `LogitNormalization`, always last.
    renormalize: bool,
}

impl Processors {
    pub(crate) fn new(c: &GenerationConfig, lengths: Lengths) -> Processors {
        // NoBadWordsLogitsProcessor leaves out a bad "word" that is just an end token.
        let bad: Vec<&Vec<u32>> = c
            .bad_words_ids
            .iter()
            .filter(|w| !(w.len() == 1 && w.iter().all(|t| c.eos_token_id.contains(t))))
            .collect();
        Processors {
            repetition_penalty: (c.repetition_penalty != 1.0)
                .then_some(c.repetition_penalty as f32),
            no_repeat_ngram_size: c.no_repeat_ngram_size,
            bad_single: bad
                .iter()
                .filter(|w| w.len() == 1)
                .flat_map(|w| w.iter().copied())
                .collect(),
            bad_sequences: bad
                .iter()
                .filter(|w| w.len() > 1)
                .map(|w| (*w).clone())
                .collect(),
            eos: c.eos_token_id.clone(),
            // Without an end token there is nothing for the minimum to hold back.
            min_length: lengths.min_length,
            min_new_tokens: c.min_new_tokens.filter(|&n| n > 0),
            forced_bos: c.forced_bos_token_id,
            forced_eos: c.forced_eos_token_id.clone(),
            max_length: lengths.max_length,
            suppress: c.suppress_tokens.clone(),
            begin_suppress: c.begin_suppress_tokens.clone(),
            // The decoder prompt is one token; a forced BOS takes the next place.
            begin_index: if c.forced_bos_token_id.is_some() {
                2
            } else {
                1
            },
            renormalize: c.renormalize_logits,
        }
    }

    /// Applies every processor to `scores` (one per vocabulary entry) of the sequence `ids`.
    pub(crate) fn apply(&self, ids: &[u32], scores: &mut [f32]) {
        let cur_len = ids.len();
        let set = |scores: &mut [f32], t: u32, v: f32| {
            if let Some(s) = scores.get_mut(t as usize) {
                *s = v;
            }
        };
        if let Some(p) = self.repetition_penalty {
            // Every token of the sequence once (a repeated token is penalised once).
            let mut seen: Vec<u32> = ids.to_vec();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                if let Some(s) = scores.get_mut(t as usize) {
                    *s = if *s < 0.0 { *s * p } else { *s / p };
                }
            }
        }
        if self.no_repeat_ngram_size > 0 {
            for t in banned_ngram_tokens(ids, self.no_repeat_ngram_size) {
                set(scores, t, f32::NEG_INFINITY);
            }
        }
        for &t in &self.bad_single {
            set(scores, t, f32::NEG_INFINITY);
        }
        for word in &self.bad_sequences {
            let (last, prefix) = match word.split_last() {
                Some(x) => x,
                None => continue,
            };
            // A word longer than the sequence is left alone, as transformers does.
            if word.len() <= cur_len && ids.ends_with(prefix) {
                set(scores, *last, f32::NEG_INFINITY);
            }
        }
        if !self.eos.is_empty() {
            let short = cur_len < self.min_length
                || self
                    .min_new_tokens
                    .is_some_and(|n| cur_len.saturating_sub(1) < n);
            if short {
                for &t in &self.eos {
                    set(scores, t, f32::NEG_INFINITY);
                }
            }
        }
        if let Some(bos) = self.forced_bos
            && cur_len == 1
        {
            force(scores, &[bos]);
        }
        if !self.forced_eos.is_empty() && cur_len + 1 == self.max_length {
            force(scores, &self.forced_eos);
        }
        for &t in &self.suppress {
            set(scores, t, f32::NEG_INFINITY);
        }
        if cur_len == self.begin_index {
            for &t in &self.begin_suppress {
                set(scores, t, f32::NEG_INFINITY);
            }
        }
        if self.renormalize {
            let normal = lantern_models::ops::log_softmax(scores);
            scores.copy_from_slice(&normal);
        }
    }
}

/// Every score `-inf` but those of `tokens`, which become 0.
fn force(scores: &mut [f32], tokens: &[u32]) {
    scores.fill(f32::NEG_INFINITY);
    for &t in tokens {
        if let Some(s) = scores.get_mut(t as usize) {
            *s = 0.0;
        }
    }
}

/// The tokens that would repeat an n-gram of `ids` (fairseq's rule, as transformers has it):
/// those that followed the sequence's last `n - 1` tokens wherever they occurred before.
pub(crate) fn banned_ngram_tokens(ids: &[u32], n: usize) -> Vec<u32> {
    let cur_len = ids.len();
    if n == 0 || cur_len + 1 < n {
        return Vec::new();
    }
    let tail = &ids[cur_len + 1 - n..];
    ids.windows(n)
        .filter(|w| w[..n - 1] == *tail)
        .map(|w| w[n - 1])
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ngrams_ban_what_followed_the_same_prefix() {
        // 5 6 7 5 6 → after (5, 6) came 7.
        assert_eq!(banned_ngram_tokens(&[5, 6, 7, 5, 6], 3), vec![7]);
        assert_eq!(banned_ngram_tokens(&[5, 6], 3), Vec::<u32>::new());
        // n = 1: every token so far.
        assert_eq!(banned_ngram_tokens(&[4, 9], 1), vec![4, 9]);
        // n = 2: what followed the last token.
        assert_eq!(banned_ngram_tokens(&[1, 2, 1], 2), vec![2]);
    }

    #[test]
    fn processors_in_order() {
        let c = GenerationConfig {
            repetition_penalty: 2.0,
            eos_token_id: vec![1],
            forced_bos_token_id: Some(0),
            bad_words_ids: vec![vec![3], vec![1], vec![2, 4]],
            ..GenerationConfig::default()
        };
        let p = Processors::new(
            &c,
            Lengths {
                max_length: 10,
                min_length: 3,
            },
        );
        let mut s = vec![1.0, -1.0, 2.0, 0.5, 0.25];
        p.apply(&[2, 0], &mut s);
        // 0 and 2 penalised; 3 banned; 4 banned after 2... not here (the sequence ends in 0);
        // the end token held back under min_length.
        assert_eq!(
            s,
            vec![0.5, f32::NEG_INFINITY, 1.0, f32::NEG_INFINITY, 0.25]
        );
        let mut s = vec![0.0; 5];
        p.apply(&[2], &mut s);
        assert_eq!(
            s,
            vec![
                0.0,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY
            ]
        );
    }

    #[test]
    fn log_softmax_sums_to_one() {
        let lp = lantern_models::ops::log_softmax(&[1.0, 2.0, 3.0]);
        let total: f32 = lp.iter().map(|x| x.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
    }
}
