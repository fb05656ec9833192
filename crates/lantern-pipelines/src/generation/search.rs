//! Greedy and beam search as transformers 4.57's `_sample` (without sampling) and `_beam_search`
//! run them for one input, step by step, on any decoder that appends tokens to a state and
//! forks states ([`StepModel`]).
//!
//! Beam search follows transformers' vectorised implementation literally, because the ids must
//! be equal, not merely as good: scores are f32 sums; each step takes the best
//! `max(2, 1 + number of end tokens) * num_beams` continuations over all beams; those that
//! end (an end token, or `max_length` reached) are set aside with `-1e9` added and the best
//! `num_beams` of the rest live on; only ended continuations among the first `num_beams` may
//! join the finished sequences, scored by their sum divided by `generated ** length_penalty`
//! (`generated` counts the new tokens, the end token included, not the decoder's start); the
//! first step's duplicate beams start at `-1e9`; the early-stopping heuristic and the loop's
//! end condition are transformers' own.

use super::config::{GenerationConfig, Lengths, Stopping};
use super::processors::Processors;
use super::{SearchError, StepModel};
use crate::steps::{Steps, stop_here};

/// transformers' "minus infinity that stays finite" for set-aside beams.
const SET_ASIDE: f32 = -1.0e9;

/// What a search needs besides the model.
#[derive(Debug, Clone)]
pub(crate) struct Search {
    pub start: u32,
    pub eos: Vec<u32>,
    pub lengths: Lengths,
    pub num_beams: usize,
    pub length_penalty: f64,
    pub early_stopping: Stopping,
    pub vocab_size: usize,
    pub processors: Processors,
}

impl Search {
    pub(crate) fn new(
        c: &GenerationConfig,
        start: u32,
        lengths: Lengths,
        vocab_size: usize,
    ) -> Search {
        Search {
            start,
            eos: c.eos_token_id.clone(),
            lengths,
            num_beams: c.num_beams,
            length_penalty: c.length_penalty,
            early_stopping: c.early_stopping,
            vocab_size,
            processors: Processors::new(c, lengths),
        }
    }
}

fn check_logits(logits: &[f32], vocab: usize) -> Result<(), SearchError> {
    if logits.len() == vocab {
        Ok(())
    } else {
        Err(SearchError::Logits {
            got: logits.len(),
            want: vocab,
        })
    }
}

/// Greedy search: the largest processed logit each step (the first of equals, as
/// `torch.argmax`), until an end token or `max_length`. Returns the decoder's sequence, its
/// start token included. `progress` hears the sequence after each step.
pub(crate) async fn greedy<M: StepModel>(
    model: &M,
    search: &Search,
    progress: &mut dyn FnMut(&[u32]),
    steps: &dyn Steps,
) -> Result<Vec<u32>, SearchError> {
    let mut ids = vec![search.start];
    let mut state = model.start()?;
    if stop_here(steps).await {
        return Err(SearchError::Cancelled);
    }
    let mut logits = model.step(&mut state, &ids).await?;
    loop {
        check_logits(&logits, search.vocab_size)?;
        search.processors.apply(&ids, &mut logits);
        // The op layer's greedy rule (the first of equals, as `torch.argmax`), shared by every
        // backend and pipeline.
        let next = lantern_models::ops::argmax(&logits);
        ids.push(next);
        progress(&ids);
        if search.eos.contains(&next) || ids.len() >= search.lengths.max_length {
            return Ok(ids);
        }
        if stop_here(steps).await {
            return Err(SearchError::Cancelled);
        }
        logits = model.step(&mut state, &[next]).await?;
    }
}

/// A live beam.
struct Beam<S> {
    ids: Vec<u32>,
    score: f32,
    /// The decoder state that has seen `ids` (the logits of the next token are in `logits`).
    state: S,
    logits: Vec<f32>,
}

/// A continuation: beam `beam` followed by `token`, with its accumulated score.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    score: f32,
    beam: usize,
    token: u32,
}

/// A slot of the finished sequences (transformers keeps `num_beams` of them, filled with
/// `-1e9` placeholders).
#[derive(Debug, Clone)]
struct Finished {
    ids: Vec<u32>,
    score: f32,
    done: bool,
}

/// `len ** length_penalty`, in f64 as Python computes it, then f32 as torch divides by it.
fn penalty(len: usize, length_penalty: f64) -> f32 {
    (len as f64).powf(length_penalty) as f32
}

/// The `k` largest of `items` by `key` (`f32::total_cmp`), largest first; equals keep their
/// order (the lower index first).
///
/// One pass with the best `k` so far in order: a beam step ranks a vocabulary's worth of
/// scores per beam (58k for opus-mt) for `k` of 8 or so, and after the first few items nearly
/// every one is a single comparison with the worst kept. (Selecting with
/// `select_nth_unstable_by` over an index vector cost a shuffle of the whole vocabulary.)
fn top<T>(items: &[T], k: usize, key: impl Fn(&T) -> f32) -> Vec<usize> {
    if k == 0 {
        return Vec::new();
    }
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    for (i, item) in items.iter().enumerate() {
        let v = key(item);
        // A later item enters only above an equal: the lower index stays first.
        if best.len() == k && best.last().is_some_and(|w| v.total_cmp(&w.0).is_le()) {
            continue;
        }
        let at = best.partition_point(|b| b.0.total_cmp(&v).is_ge());
        best.insert(at, (v, i));
        best.truncate(k);
    }
    best.into_iter().map(|(_, i)| i).collect()
}

/// Beam search. Returns the best finished sequence, its start token included. `progress` hears
/// the best live beam after each step.
pub(crate) async fn beam_search<M: StepModel>(
    model: &M,
    search: &Search,
    progress: &mut dyn FnMut(&[u32]),
    steps: &dyn Steps,
) -> Result<Vec<u32>, SearchError> {
    let n = search.num_beams;
    let vocab = search.vocab_size;
    if n == 0 || n > vocab {
        return Err(SearchError::Beams { beams: n, vocab });
    }
    let keep = 2usize.max(1 + search.eos.len()) * n;
    let prompt_len = 1usize;
    let max_length = search.lengths.max_length;
    let lp = search.length_penalty;

    // Every beam starts as the decoder's start token; only the first counts (the others at
    // -1e9), so the first step does not pick the same token n times. They share one state
    // until a step gives them different tokens.
    let mut state = model.start()?;
    if stop_here(steps).await {
        return Err(SearchError::Cancelled);
    }
    let logits = model.step(&mut state, &[search.start]).await?;
    check_logits(&logits, vocab)?;
    let mut live: Vec<Beam<M::State>> = Vec::with_capacity(n);
    for b in 0..n {
        live.push(Beam {
            ids: vec![search.start],
            score: if b == 0 { 0.0 } else { SET_ASIDE },
            state: if b + 1 == n {
                // The last beam takes the state itself; the others copies.
                std::mem::replace(&mut state, model.start()?)
            } else {
                model.fork(&state)?
            },
            logits: logits.clone(),
        });
    }
    drop(state);
    let mut finished: Vec<Finished> = (0..n)
        .map(|_| Finished {
            ids: vec![search.start],
            score: SET_ASIDE,
            done: false,
        })
        .collect();
    let mut improvable = true;
    let mut cur_len = prompt_len;
    loop {
        // b. log-probabilities, processed, plus each beam's score.
        let mut candidates: Vec<Candidate> = Vec::with_capacity(keep * n);
        for (b, beam) in live.iter().enumerate() {
            let mut scored = lantern_models::ops::log_softmax(&beam.logits);
            search.processors.apply(&beam.ids, &mut scored);
            scored.iter_mut().for_each(|x| *x += beam.score);
            // The best `keep` of each beam hold the best `keep` of all.
            for t in top(&scored, keep, |&x| x) {
                candidates.push(Candidate {
                    score: scored[t],
                    beam: b,
                    token: t as u32,
                });
            }
        }
        // c. The best `keep` continuations over all beams (in the flattened order of
        // `beam * vocab + token` among equals).
        candidates.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.beam.cmp(&b.beam))
                .then(a.token.cmp(&b.token))
        });
        candidates.truncate(keep);
        // d. Which of them end: an end token, or the sequence reaching `max_length`.
        let at_max = cur_len + 1 >= max_length;
        let ends: Vec<bool> = candidates
            .iter()
            .map(|c| at_max || search.eos.contains(&c.token))
            .collect();
        // e. The best `n` that go on (ended ones set aside at -1e9).
        let running: Vec<f32> = candidates
            .iter()
            .zip(&ends)
            .map(|(c, &end)| if end { c.score + SET_ASIDE } else { c.score })
            .collect();
        let next: Vec<usize> = top(&running, n, |&x| x);
        // f. Ended continuations among the first `n` join the finished sequences if they beat
        // them.
        let all_done = finished.iter().all(|f| f.done);
        let divisor = penalty(cur_len + 1 - prompt_len, lp);
        let mut merged: Vec<Finished> = finished.clone();
        for (j, c) in candidates.iter().enumerate() {
            let just_finished = ends[j] && j < n;
            let mut s = c.score / divisor;
            if all_done && search.early_stopping == Stopping::Early {
                s += SET_ASIDE;
            }
            if !improvable {
                s += SET_ASIDE;
            }
            if !just_finished {
                s += SET_ASIDE;
            }
            let parent = live
                .get(c.beam)
                .ok_or(SearchError::Internal("a candidate of no beam"))?;
            let mut ids = parent.ids.clone();
            ids.push(c.token);
            merged.push(Finished {
                ids,
                score: s,
                done: just_finished,
            });
        }
        finished = top(&merged, n, |f| f.score)
            .into_iter()
            .filter_map(|i| merged.get(i).cloned())
            .collect();

        // g. The next step's beams: each chosen continuation forks its parent's state (the
        // last one to use a parent takes it).
        let chosen: Vec<Candidate> = next
            .iter()
            .filter_map(|&i| candidates.get(i).copied())
            .collect();
        let chosen_scores: Vec<f32> = next
            .iter()
            .filter_map(|&i| running.get(i).copied())
            .collect();
        cur_len += 1;
        let best_running = chosen_scores.first().copied().unwrap_or(f32::NEG_INFINITY);
        improvable = improvable && {
            let hypothetical = if search.early_stopping == Stopping::Never && lp > 0.0 {
                max_length - prompt_len
            } else {
                cur_len - prompt_len
            };
            let best_possible = best_running / penalty(hypothetical, lp);
            let worst = finished
                .iter()
                .map(|f| f.score)
                .fold(f32::INFINITY, f32::min);
            finished
                .iter()
                .any(|f| best_possible > if f.done { worst } else { SET_ASIDE })
        };
        let open_beam =
            !(finished.iter().all(|f| f.done) && search.early_stopping == Stopping::Early);
        let continuations = !ends.iter().all(|&e| e);
        if !(improvable && open_beam && continuations) {
            break;
        }
        if let Some(c) = chosen.first()
            && let Some(parent) = live.get(c.beam)
        {
            let mut ids = parent.ids.clone();
            ids.push(c.token);
            progress(&ids);
        }
        if stop_here(steps).await {
            return Err(SearchError::Cancelled);
        }
        let mut uses: Vec<usize> = vec![0; live.len()];
        for c in &chosen {
            if let Some(u) = uses.get_mut(c.beam) {
                *u += 1;
            }
        }
        let mut parents: Vec<Option<Beam<M::State>>> = live.into_iter().map(Some).collect();
        let mut states = Vec::with_capacity(n);
        let mut seqs = Vec::with_capacity(n);
        for c in &chosen {
            let uses_left = uses
                .get_mut(c.beam)
                .ok_or(SearchError::Internal("a continuation of no beam"))?;
            *uses_left -= 1;
            let slot = parents
                .get_mut(c.beam)
                .ok_or(SearchError::Internal("a continuation of no beam"))?;
            let (state, mut ids) = if *uses_left == 0 {
                let parent = slot
                    .take()
                    .ok_or(SearchError::Internal("a beam used after it was given away"))?;
                (parent.state, parent.ids)
            } else {
                let parent = slot
                    .as_ref()
                    .ok_or(SearchError::Internal("a beam used after it was given away"))?;
                (model.fork(&parent.state)?, parent.ids.clone())
            };
            ids.push(c.token);
            states.push(state);
            seqs.push(ids);
        }
        drop(parents);
        // Every beam's next token in one step (a batch where the model can).
        let tokens: Vec<u32> = chosen.iter().map(|c| c.token).collect();
        let logits = model.step_beams(&mut states, &tokens).await?;
        if logits.len() != states.len() {
            return Err(SearchError::Internal("a step gave logits for other beams"));
        }
        let mut new_live = Vec::with_capacity(n);
        for (((state, ids), logits), &score) in
            states.into_iter().zip(seqs).zip(logits).zip(&chosen_scores)
        {
            check_logits(&logits, vocab)?;
            new_live.push(Beam {
                ids,
                score,
                state,
                logits,
            });
        }
        live = new_live;
    }
    finished
        .into_iter()
        .next()
        .map(|f| f.ids)
        .ok_or(SearchError::Internal("beam search kept nothing"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use futures_util::FutureExt;

    use super::*;
    use crate::generation::config::GenerationConfig;
    use lantern_models::ModelError;

    /// A decoder whose next-token logits depend on the last token only (a bigram table).
    struct Bigram {
        table: Vec<Vec<f32>>,
    }

    impl StepModel for Bigram {
        type State = Vec<u32>;
        fn start(&self) -> Result<Vec<u32>, ModelError> {
            Ok(Vec::new())
        }
        async fn step(&self, s: &mut Vec<u32>, tokens: &[u32]) -> Result<Vec<f32>, ModelError> {
            s.extend_from_slice(tokens);
            Ok(self.table[*s.last().unwrap() as usize].clone())
        }
        fn fork(&self, s: &Vec<u32>) -> Result<Vec<u32>, ModelError> {
            Ok(s.clone())
        }
    }

    fn ln(p: &[f64]) -> Vec<f32> {
        p.iter().map(|&x| x.ln() as f32).collect()
    }

    /// Tokens: 0 start, 1 end, 2..6 words. After the start: 2 (0.5) or 3 (0.4); after 2: 4
    /// (0.4), 5 (0.35), end (0.25); after 3: end (0.9); after 4, 5: end (0.9).
    fn model() -> Bigram {
        let z = 1e-6;
        let row = |pairs: &[(usize, f64)]| {
            let mut p = [z; 6];
            for &(i, v) in pairs {
                p[i] = v;
            }
            ln(&p)
        };
        let mut table = vec![row(&[(1, 1.0)]); 6];
        table[0] = row(&[(2, 0.5), (3, 0.4)]);
        table[2] = row(&[(4, 0.4), (5, 0.35), (1, 0.25)]);
        table[3] = row(&[(1, 0.9)]);
        table[4] = row(&[(1, 0.9)]);
        table[5] = row(&[(1, 0.9)]);
        Bigram { table }
    }

    fn run(c: GenerationConfig) -> Result<Vec<u32>, SearchError> {
        let lengths = c.lengths(None).unwrap();
        let search = Search::new(&c, 0, lengths, 6);
        let m = model();
        let f = async {
            if c.num_beams > 1 {
                beam_search(&m, &search, &mut |_| {}, &|| false).await
            } else {
                greedy(&m, &search, &mut |_| {}, &|| false).await
            }
        };
        f.now_or_never().unwrap()
    }

    fn config(beams: usize) -> GenerationConfig {
        GenerationConfig {
            num_beams: beams,
            eos_token_id: vec![1],
            max_length: 10,
            ..GenerationConfig::default()
        }
    }

    /// `top` against the rule it implements: a stable sort by key, descending.
    #[test]
    fn top_is_a_stable_descending_sort_cut_to_k() {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed >> 8
        };
        for len in [0usize, 1, 2, 5, 9, 40, 300] {
            // Few distinct values, so that ties are common; infinities and NaN too.
            let items: Vec<f32> = (0..len)
                .map(|_| match next() % 9 {
                    0 => f32::NEG_INFINITY,
                    1 => f32::INFINITY,
                    2 => f32::NAN,
                    r => (r as f32 - 5.0) * 0.5,
                })
                .collect();
            for k in [0usize, 1, 3, 8, len, len + 2] {
                let mut want: Vec<usize> = (0..len).collect();
                want.sort_by(|a, b| items[*b].total_cmp(&items[*a]));
                want.truncate(k);
                assert_eq!(top(&items, k, |&x| x), want, "len {len}, k {k}");
            }
        }
    }

    #[test]
    fn greedy_follows_the_largest_logit() {
        assert_eq!(run(config(1)).unwrap(), vec![0, 2, 4, 1]);
    }

    #[test]
    fn beam_search_finds_the_likelier_sequence() {
        // 0.4 * 0.9 = 0.36 over two tokens beats 0.5 * 0.4 * 0.9 = 0.18 over three.
        assert_eq!(run(config(2)).unwrap(), vec![0, 3, 1]);
        // A length penalty of 0 ranks by the sum alone, the same here.
        let mut c = config(2);
        c.length_penalty = 0.0;
        assert_eq!(run(c).unwrap(), vec![0, 3, 1]);
    }

    #[test]
    fn max_length_ends_every_beam() {
        let mut c = config(2);
        c.max_length = 2;
        assert_eq!(run(c).unwrap(), vec![0, 2]);
    }

    #[test]
    fn more_beams_than_tokens_is_refused() {
        assert!(matches!(
            run(config(7)),
            Err(SearchError::Beams { beams: 7, vocab: 6 })
        ));
    }

    #[test]
    fn a_cancel_stops_between_steps() {
        let c = config(2);
        let search = Search::new(&c, 0, c.lengths(None).unwrap(), 6);
        let m = model();
        let calls = std::cell::Cell::new(0);
        let steps = || {
            calls.set(calls.get() + 1);
            calls.get() > 1
        };
        let r = beam_search(&m, &search, &mut |_| {}, &steps)
            .now_or_never()
            .unwrap();
        assert!(matches!(r, Err(SearchError::Cancelled)), "{r:?}");
    }
}
