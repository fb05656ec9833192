//! The rules applied to a step's logits before a token is picked, in OpenAI's order: no blank
//! or end first, never the suppressed tokens, and, when timestamps are on, the timestamp
//! grammar (timestamps come in pairs around text, never go back, the first one is early in
//! the window, and a timestamp is forced when timestamps are likelier than any text token).

use super::tokens::{SpecialTokens, Suppression};

/// The rules of one window's decoding.
#[derive(Debug, Clone)]
pub struct Rules<'a> {
    pub special: &'a SpecialTokens,
    pub suppression: &'a Suppression,
    pub timestamps: bool,
    pub max_initial_timestamp_index: u32,
}

impl Rules<'_> {
    /// Applies the rules to `logits` of the next token after `sampled` (the tokens picked in
    /// this window so far, without the prompt).
    pub fn apply(&self, logits: &mut [f32], sampled: &[u32]) {
        let mut ban = |t: u32| {
            if let Some(l) = logits.get_mut(t as usize) {
                *l = f32::NEG_INFINITY;
            }
        };
        if sampled.is_empty() {
            self.suppression.at_begin.iter().for_each(|&t| ban(t));
        }
        self.suppression.always.iter().for_each(|&t| ban(t));
        // Without timestamps the prompt ends in `<|notimestamps|>` and nothing more is
        // imposed (OpenAI's and CTranslate2's decoders do the same, and the model does not
        // sample timestamps after that prompt; text decoding skips any that come).
        if self.timestamps {
            self.timestamp_rules(logits, sampled);
        }
    }

    fn timestamp_rules(&self, logits: &mut [f32], sampled: &[u32]) {
        let s = self.special;
        let vocab = logits.len();
        let begin = (s.timestamp_begin as usize).min(vocab);
        let eot = (s.eot as usize).min(vocab);
        // `<|notimestamps|>` belongs in a prompt only.
        if let Some(l) = logits.get_mut(s.no_timestamps as usize) {
            *l = f32::NEG_INFINITY;
        }
        let is_ts = |t: &u32| s.is_timestamp(*t);
        let last_ts = sampled.last().is_some_and(is_ts);
        let penultimate_ts = sampled.len() < 2 || is_ts(&sampled[sampled.len() - 2]);
        if last_ts {
            if penultimate_ts {
                // A pair closed (or the window just started with one): text must follow.
                logits[begin..].fill(f32::NEG_INFINITY);
            } else {
                // A segment's end: the next one's start, or the end of the window.
                logits[..eot].fill(f32::NEG_INFINITY);
            }
        }
        if let Some(&last) = sampled.iter().rev().find(|t| is_ts(t)) {
            // Timestamps never go back; a segment's start is after the previous one's end.
            let floor = if last_ts && !penultimate_ts {
                last
            } else {
                last + 1
            };
            let floor = (floor as usize).min(vocab);
            logits[begin..floor.max(begin)].fill(f32::NEG_INFINITY);
        }
        if sampled.is_empty() {
            // The window opens with a timestamp, at most `max_initial_timestamp_index` steps in.
            logits[..begin].fill(f32::NEG_INFINITY);
            let last_allowed = begin + self.max_initial_timestamp_index as usize;
            if last_allowed + 1 < vocab {
                logits[last_allowed + 1..].fill(f32::NEG_INFINITY);
            }
        }
        // When the timestamps together are likelier than the likeliest text token, the next
        // token is a timestamp.
        let lse = log_sum_exp(&logits[begin..]);
        let text_max = logits[..begin]
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        if lse > f64::from(text_max) {
            logits[..begin].fill(f32::NEG_INFINITY);
        }
    }
}

/// `log Σ exp(x)`, in f64 (`-inf` for no finite value).
pub fn log_sum_exp(x: &[f32]) -> f64 {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return f64::NEG_INFINITY;
    }
    let max = f64::from(max);
    let sum: f64 = x.iter().map(|&v| (f64::from(v) - max).exp()).sum();
    max + sum.ln()
}

/// Log-probabilities of `logits` (a log-softmax, in f64 for the sums of a long window).
pub fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let lse = log_sum_exp(logits);
    logits.iter().map(|&v| f64::from(v) - lse).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // A toy vocabulary in Whisper's order: text 0..10, eot 10, sot 11, prev 12, lm 13,
    // nospeech 14, notimestamps 15, timestamps 16.. (0.00, 0.02, ...).
    fn special() -> SpecialTokens {
        SpecialTokens {
            eot: 10,
            sot: 11,
            sot_prev: 12,
            sot_lm: Some(13),
            transcribe: None,
            translate: None,
            no_timestamps: 15,
            no_speech: Some(14),
            timestamp_begin: 16,
            languages: vec![],
            text_end: 10,
            multilingual: false,
        }
    }

    fn suppression() -> Suppression {
        Suppression {
            always: vec![3, 11, 12, 13, 14],
            at_begin: vec![0, 10],
        }
    }

    fn rules<'a>(s: &'a SpecialTokens, sup: &'a Suppression, timestamps: bool) -> Rules<'a> {
        Rules {
            special: s,
            suppression: sup,
            timestamps,
            max_initial_timestamp_index: 2,
        }
    }

    fn allowed(logits: &[f32]) -> Vec<u32> {
        (0..logits.len() as u32)
            .filter(|&i| logits[i as usize].is_finite())
            .collect()
    }

    #[test]
    fn without_timestamps_only_the_suppression_applies() {
        let (s, sup) = (special(), suppression());
        let r = rules(&s, &sup, false);
        let mut l = vec![0.0f32; 18];
        r.apply(&mut l, &[]);
        assert_eq!(allowed(&l), vec![1, 2, 4, 5, 6, 7, 8, 9, 15, 16, 17]);
        let mut l = vec![0.0f32; 18];
        r.apply(&mut l, &[5]);
        assert_eq!(allowed(&l), vec![0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17]);
    }

    #[test]
    fn the_first_token_is_an_early_timestamp() {
        let (s, sup) = (special(), suppression());
        let r = rules(&s, &sup, true);
        let mut l = vec![0.0f32; 24];
        r.apply(&mut l, &[]);
        assert_eq!(allowed(&l), vec![16, 17, 18]);
    }

    #[test]
    fn timestamps_pair_up_and_never_go_back() {
        let (s, sup) = (special(), suppression());
        let r = rules(&s, &sup, true);
        // After an opening timestamp: text only (text logits high so no forcing).
        let mut l = vec![5.0f32; 16];
        l.extend([0.0; 8]);
        r.apply(&mut l, &[17]);
        assert!(allowed(&l).iter().all(|&t| t < 16));
        // After text: text, the end, or a timestamp after the segment's start (no empty
        // segment).
        let mut l = vec![5.0f32; 16];
        l.extend([0.0; 8]);
        r.apply(&mut l, &[17, 4]);
        assert!(!l[16].is_finite() && !l[17].is_finite() && l[18].is_finite() && l[10].is_finite());
        // After a closing timestamp (text before it): no text, a timestamp >= it, or the end
        // (likely enough here that timestamps are not forced).
        let mut l = vec![0.0f32; 24];
        l[10] = 5.0;
        r.apply(&mut l, &[17, 4, 19]);
        assert_eq!(allowed(&l), vec![10, 19, 20, 21, 22, 23]);
        // After a closed pair: text.
        let mut l = vec![5.0f32; 16];
        l.extend([0.0; 8]);
        r.apply(&mut l, &[17, 4, 19, 19]);
        assert!(allowed(&l).iter().all(|&t| t < 16));
        assert!(!l[19].is_finite());
    }

    #[test]
    fn likely_timestamps_are_forced() {
        let (s, sup) = (special(), suppression());
        let r = rules(&s, &sup, true);
        // Text's best is 1.0; eight timestamps at 0.5 each sum to more.
        let mut l = vec![1.0f32; 16];
        l.extend([0.5; 8]);
        r.apply(&mut l, &[17, 4]);
        assert!(allowed(&l).iter().all(|&t| t >= 16), "{:?}", allowed(&l));
    }

    #[test]
    fn log_softmax_sums_to_one() {
        let p = log_softmax(&[1.0, 2.0, f32::NEG_INFINITY, 3.0]);
        let total: f64 = p.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert_eq!(p[2], f64::NEG_INFINITY);
    }
}
