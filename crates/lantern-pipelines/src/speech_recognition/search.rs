//! Decoding one 30 s window: the prompt, then greedy, beam search or sampling under the logit
//! rules, with what the temperature fallback judges a result by (average log-probability,
//! compression ratio, the no-speech probability).

use std::io::Write;

use super::SpeechError;
use super::rules::{Rules, log_softmax, log_sum_exp};
use crate::steps::Steps;
use crate::text_generation::sampling::Rng;

/// One decoder over one window's encoder output: a fresh state per search, one step per
/// token (a prompt at once), and a copy of a state for beams and samples.
pub(crate) trait StepModel {
    type State;
    fn start(&self) -> Result<Self::State, SpeechError>;
    /// Appends `tokens` and returns the logits of the last one.
    async fn step(&self, state: &mut Self::State, tokens: &[u32]) -> Result<Vec<f32>, SpeechError>;
    fn fork(&self, state: &Self::State) -> Result<Self::State, SpeechError>;
}

/// How one window is searched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchOptions {
    /// 0: greedy (or beam search with `beams` > 1); above: sampling at this temperature.
    pub temperature: f32,
    pub beams: usize,
    /// Samples drawn at a temperature above 0, the likeliest kept (OpenAI's `best_of`).
    pub best_of: usize,
    /// Tokens sampled at most (OpenAI: half the decoder's context, 224).
    pub max_new: usize,
    /// OpenAI's `length_penalty`: `None` ranks by log-probability per token.
    pub length_penalty: Option<f64>,
}

/// One window's result.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowResult {
    /// The sampled tokens, without `<|endoftext|>` (a window that ran to `max_new` has none).
    pub tokens: Vec<u32>,
    pub sum_logprob: f64,
    /// `sum_logprob / (tokens + 1)` (the end counts), as OpenAI averages.
    pub avg_logprob: f64,
    /// Probability of `<|nospeech|>` right after `<|startoftranscript|>`.
    pub no_speech_prob: f64,
    pub temperature: f32,
}

/// A sequence being decoded.
struct Hypothesis<S> {
    state: S,
    tokens: Vec<u32>,
    sum_logprob: f64,
    logits: Vec<f32>,
}

/// Runs the prompt: `prompt[..=sot_index]` first, for the no-speech probability at
/// `<|startoftranscript|>`, then the rest. Returns the state and the logits of the first
/// token to sample.
async fn prompt<M: StepModel>(
    model: &M,
    prompt: &[u32],
    sot_index: usize,
    no_speech: Option<u32>,
) -> Result<(M::State, Vec<f32>, f64), SpeechError> {
    let mut state = model.start()?;
    let split = (sot_index + 1).min(prompt.len());
    let (head, tail) = prompt.split_at(split);
    let mut logits = model.step(&mut state, head).await?;
    let no_speech_prob = match no_speech {
        Some(t) => log_softmax(&logits)
            .get(t as usize)
            .map_or(0.0, |lp| lp.exp()),
        None => 0.0,
    };
    if !tail.is_empty() {
        logits = model.step(&mut state, tail).await?;
    }
    Ok((state, logits, no_speech_prob))
}

/// Decodes one window from `prompt` (its `<|startoftranscript|>` at `sot_index`).
/// `steps` is asked between steps whether to stop.
pub(crate) async fn decode_window<M: StepModel>(
    model: &M,
    rules: &Rules<'_>,
    prompt_tokens: &[u32],
    sot_index: usize,
    options: &SearchOptions,
    rng: &mut Rng,
    steps: &dyn Steps,
) -> Result<WindowResult, SpeechError> {
    let (state, logits, no_speech_prob) =
        prompt(model, prompt_tokens, sot_index, rules.special.no_speech).await?;
    let start = Hypothesis {
        state,
        tokens: Vec::new(),
        sum_logprob: 0.0,
        logits,
    };
    let (tokens, sum_logprob) = if options.temperature > 0.0 {
        let mut best: Option<(Vec<u32>, f64)> = None;
        let draws = options.best_of.max(1);
        let mut start = Some(start);
        for i in 0..draws {
            let h = if i + 1 == draws {
                start.take().ok_or(SpeechError::Internal("no start"))?
            } else {
                let s = start.as_ref().ok_or(SpeechError::Internal("no start"))?;
                Hypothesis {
                    state: model.fork(&s.state)?,
                    tokens: Vec::new(),
                    sum_logprob: 0.0,
                    logits: s.logits.clone(),
                }
            };
            let done = run_one(model, rules, h, options, Some(rng), steps).await?;
            let score = rank(&done.0, done.1, options.length_penalty);
            if best
                .as_ref()
                .is_none_or(|b| score > rank(&b.0, b.1, options.length_penalty))
            {
                best = Some(done);
            }
        }
        best.ok_or(SpeechError::Internal("no sample"))?
    } else if options.beams > 1 {
        beam_search(model, rules, start, options, steps).await?
    } else {
        run_one(model, rules, start, options, None, steps).await?
    };
    Ok(WindowResult {
        avg_logprob: sum_logprob / (tokens.len() + 1) as f64,
        tokens,
        sum_logprob,
        no_speech_prob,
        temperature: options.temperature,
    })
}

/// OpenAI's ranking of finished sequences (`tokens` without the end): log-probability per
/// token, or with a length
/// penalty `((5 + n) / 6) ^ penalty` (Google's NMT).
fn rank(tokens: &[u32], sum_logprob: f64, length_penalty: Option<f64>) -> f64 {
    let n = tokens.len() as f64;
    let norm = match length_penalty {
        None => n,
        Some(p) => ((5.0 + n) / 6.0).powf(p),
    };
    sum_logprob / norm.max(1e-9)
}

/// Greedy (no generator) or sampling at `options.temperature` until the end or `max_new`.
async fn run_one<M: StepModel>(
    model: &M,
    rules: &Rules<'_>,
    mut h: Hypothesis<M::State>,
    options: &SearchOptions,
    mut rng: Option<&mut Rng>,
    steps: &dyn Steps,
) -> Result<(Vec<u32>, f64), SpeechError> {
    let eot = rules.special.eot;
    loop {
        if crate::steps::stop_here(steps).await {
            return Err(SpeechError::Cancelled);
        }
        rules.apply(&mut h.logits, &h.tokens);
        // One token's log-probability is all a greedy or sampled step needs: no 50k-entry
        // log-softmax per step (the largest logit is the largest log-probability).
        let next = match rng.as_deref_mut() {
            None => argmax_f32(&h.logits),
            Some(rng) => sample(&h.logits, options.temperature, rng),
        };
        h.sum_logprob += h.logits.get(next as usize).map_or(f64::NEG_INFINITY, |&v| {
            f64::from(v) - log_sum_exp(&h.logits)
        });
        if next == eot {
            return Ok((h.tokens, h.sum_logprob));
        }
        h.tokens.push(next);
        if h.tokens.len() >= options.max_new {
            return Ok((h.tokens, h.sum_logprob));
        }
        h.logits = model.step(&mut h.state, &[next]).await?;
    }
}

/// Beam search as OpenAI's decoder does it (patience 1): each live beam proposes its
/// `beams + 1` best next tokens; the best `beams` unfinished candidates live on, candidates
/// that end are kept until `beams` have ended; the result is the best by [`rank`].
async fn beam_search<M: StepModel>(
    model: &M,
    rules: &Rules<'_>,
    start: Hypothesis<M::State>,
    options: &SearchOptions,
    steps: &dyn Steps,
) -> Result<(Vec<u32>, f64), SpeechError> {
    let eot = rules.special.eot;
    let width = options.beams;
    let mut live = vec![start];
    let mut finished: Vec<(Vec<u32>, f64)> = Vec::new();
    for _ in 0..options.max_new {
        if crate::steps::stop_here(steps).await {
            return Err(SpeechError::Cancelled);
        }
        // (score, beam, token)
        let mut candidates: Vec<(f64, usize, u32)> = Vec::new();
        for (b, h) in live.iter_mut().enumerate() {
            rules.apply(&mut h.logits, &h.tokens);
            let logprobs = log_softmax(&h.logits);
            for t in top_k(&logprobs, width + 1) {
                candidates.push((h.sum_logprob + logprobs[t as usize], b, t));
            }
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut next: Vec<(f64, usize, u32)> = Vec::new();
        let mut seen: Vec<Vec<u32>> = Vec::new();
        for &(score, b, t) in &candidates {
            // Two beams with the same tokens are one sequence (the first steps, where every
            // beam is the prompt).
            let mut seq = live[b].tokens.clone();
            seq.push(t);
            if seen.contains(&seq) {
                continue;
            }
            seen.push(seq.clone());
            if t == eot {
                if finished.len() < width {
                    seq.pop();
                    finished.push((seq, score));
                }
            } else {
                next.push((score, b, t));
                if next.len() == width {
                    break;
                }
            }
        }
        if finished.len() >= width || next.is_empty() {
            break;
        }
        let mut new_live = Vec::with_capacity(next.len());
        for &(score, b, t) in &next {
            let parent = &live[b];
            let mut state = model.fork(&parent.state)?;
            let logits = model.step(&mut state, &[t]).await?;
            let mut tokens = parent.tokens.clone();
            tokens.push(t);
            new_live.push(Hypothesis {
                state,
                tokens,
                sum_logprob: score,
                logits,
            });
        }
        live = new_live;
    }
    if finished.is_empty() {
        finished = live
            .into_iter()
            .map(|h| (h.tokens, h.sum_logprob))
            .collect();
    }
    finished
        .into_iter()
        .max_by(|a, b| {
            rank(&a.0, a.1, options.length_penalty).total_cmp(&rank(
                &b.0,
                b.1,
                options.length_penalty,
            ))
        })
        .ok_or(SpeechError::Internal("beam search kept nothing"))
}

/// The first index of the largest value.
/// The index of the largest logit, the same as of their log-softmax (the first of equals).
fn argmax_f32(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

/// The `k` largest values' indices, largest first (ties: the lower index first).
fn top_k(v: &[f64], k: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..v.len() as u32)
        .filter(|&i| v[i as usize].is_finite())
        .collect();
    idx.sort_by(|&a, &b| v[b as usize].total_cmp(&v[a as usize]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// A draw from `softmax(logits / temperature)`.
fn sample(logits: &[f32], temperature: f32, rng: &mut Rng) -> u32 {
    let t = f64::from(temperature.max(1e-6));
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f64> = logits
        .iter()
        .map(|&l| ((f64::from(l) - f64::from(max)) / t).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut r = rng.next_f64() * total;
    for (i, w) in weights.iter().enumerate() {
        r -= w;
        if r < 0.0 && *w > 0.0 {
            return i as u32;
        }
    }
    // Rounding left `r` a hair above zero: the last token with any weight.
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0) as u32
}

/// `len(text) / len(zlib(text))`, as OpenAI's fallback measures repetition.
pub fn compression_ratio(text: &str) -> f64 {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return 0.0;
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let compressed = z.write_all(bytes).and_then(|()| z.finish());
    match compressed {
        Ok(c) if !c.is_empty() => bytes.len() as f64 / c.len() as f64,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::speech_recognition::tokens::{SpecialTokens, Suppression};

    /// A decoder whose next-token logits are a fixed function of the tokens so far: a bigram
    /// table, so greedy and beam search have known answers.
    struct Bigram {
        table: Vec<Vec<f32>>,
    }

    impl StepModel for Bigram {
        type State = Vec<u32>;
        fn start(&self) -> Result<Vec<u32>, SpeechError> {
            Ok(Vec::new())
        }
        async fn step(&self, s: &mut Vec<u32>, tokens: &[u32]) -> Result<Vec<f32>, SpeechError> {
            s.extend_from_slice(tokens);
            Ok(self.table[*s.last().unwrap() as usize].clone())
        }
        fn fork(&self, s: &Vec<u32>) -> Result<Vec<u32>, SpeechError> {
            Ok(s.clone())
        }
    }

    fn special() -> SpecialTokens {
        SpecialTokens {
            eot: 4,
            sot: 5,
            sot_prev: 6,
            sot_lm: None,
            transcribe: None,
            translate: None,
            no_timestamps: 7,
            no_speech: None,
            timestamp_begin: 8,
            languages: vec![],
            text_end: 4,
            multilingual: false,
        }
    }

    fn ln(p: &[f64]) -> Vec<f32> {
        p.iter().map(|&x| x.ln() as f32).collect()
    }

    /// After the prompt: 1 (0.6) or 2 (0.4); after 1: 3 (0.4), 0 or the end (0.3 each);
    /// after 3: the end (0.4); after 2: the end (0.95). Greedy takes 1, 3, end (-1.17 per
    /// token); beam search finds 2, end (-0.97).
    fn model() -> Bigram {
        let z = 1e-9;
        let row = |pairs: &[(usize, f64)]| {
            let mut p = [z; 9];
            for &(i, v) in pairs {
                p[i] = v;
            }
            ln(&p)
        };
        let mut table = vec![row(&[]); 9];
        table[7] = row(&[(1, 0.6), (2, 0.4)]);
        table[1] = row(&[(3, 0.4), (0, 0.3), (4, 0.3)]);
        table[3] = row(&[(4, 0.4), (0, 0.3), (1, 0.3)]);
        table[2] = row(&[(4, 0.95), (0, 0.05)]);
        Bigram { table }
    }

    fn opts(beams: usize) -> SearchOptions {
        SearchOptions {
            temperature: 0.0,
            beams,
            best_of: 1,
            max_new: 10,
            length_penalty: None,
        }
    }

    fn run(beams: usize) -> WindowResult {
        let s = special();
        let sup = Suppression {
            always: vec![],
            at_begin: vec![],
        };
        let rules = Rules {
            special: &s,
            suppression: &sup,
            timestamps: false,
            max_initial_timestamp_index: 50,
        };
        let mut rng = Rng::new(0);
        futures_util::FutureExt::now_or_never(decode_window(
            &model(),
            &rules,
            &[5, 7],
            0,
            &opts(beams),
            &mut rng,
            &|| false,
        ))
        .unwrap()
        .unwrap()
    }

    #[test]
    fn greedy_takes_the_likeliest_token_each_step() {
        let r = run(1);
        assert_eq!(r.tokens, vec![1, 3]);
        let want = 0.6f64.ln() + 0.4f64.ln() + 0.4f64.ln();
        assert!((r.sum_logprob - want).abs() < 1e-5, "{}", r.sum_logprob);
        assert!((r.avg_logprob - want / 3.0).abs() < 1e-5);
    }

    #[test]
    fn beam_search_finds_the_likelier_sequence() {
        let r = run(2);
        assert_eq!(r.tokens, vec![2]);
    }

    #[test]
    fn repetition_compresses_well() {
        let varied = compression_ratio("The quick brown fox jumps over the lazy dog.");
        let looped = compression_ratio(&"I said yes. ".repeat(40));
        assert!(varied < 1.5, "{varied}");
        assert!(looped > 2.4, "{looped}");
    }
}
