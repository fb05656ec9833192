//! Generation for encoder-decoder models, model-agnostic: greedy and beam search reproducing
//! transformers 4.57's `generate()` token for token, with its logits processors
//! (`repetition_penalty`, `no_repeat_ngram_size`, `bad_words_ids`, `min_length` /
//! `min_new_tokens`, `forced_bos_token_id` / `forced_eos_token_id`, suppressed tokens) and its
//! way of reading and merging the settings ([`GenerationConfig`]).
//!
//! The model is anything that appends tokens to a decoder state and returns the next token's
//! logits ([`StepModel`]); a beam is a forked state. Between two steps the search asks its
//! [`Steps`] whether to stop, so a browser worker can cancel it.

mod config;
mod processors;
mod search;

use lantern_models::ModelError;

pub use config::{GenerationConfig, Lengths, Overrides, Stopping};

use crate::steps::Steps;

/// The most beams a request may ask for (each is a decoder state and a model step per token).
pub const MAX_BEAMS: usize = 16;

/// Errors of a search.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cancelled")]
    Cancelled,
    /// `num_beams` of 0, above [`MAX_BEAMS`], or above the vocabulary's size.
    #[error("num_beams must be 1 to {}, not {beams}", MAX_BEAMS.min(*vocab))]
    Beams { beams: usize, vocab: usize },
    /// Neither `decoder_start_token_id` nor `bos_token_id` is set: the decoder has no first
    /// token (transformers refuses such a model the same way).
    #[error(
        "the model's configuration names no decoder_start_token_id (nor a bos_token_id to start \
         from): the decoder has no first token"
    )]
    NoDecoderStart,
    /// A generation setting that cannot be used.
    #[error("{0}")]
    InvalidConfig(String),
    /// The model's logits are not one per vocabulary entry.
    #[error("the model gave {got} logits for a vocabulary of {want}")]
    Logits { got: usize, want: usize },
    /// A bug: a state the search should never reach.
    #[error("internal error in the search: {0}")]
    Internal(&'static str),
}

/// A decoder that generates one token at a time.
pub(crate) trait StepModel {
    type State;
    /// A state that has seen no token.
    fn start(&self) -> Result<Self::State, ModelError>;
    /// Appends `tokens` and returns the logits of the token after the last one.
    async fn step(&self, state: &mut Self::State, tokens: &[u32]) -> Result<Vec<f32>, ModelError>;
    /// A copy of `state` that goes on separately (a new beam).
    fn fork(&self, state: &Self::State) -> Result<Self::State, ModelError>;
    /// Appends `tokens[i]` to `states[i]` (the live beams, all of one length) and returns
    /// each state's logits, in order. A model that can runs them as one batch (each weight
    /// read once per step for all beams); by default, one step per beam.
    async fn step_beams(
        &self,
        states: &mut [Self::State],
        tokens: &[u32],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut out = Vec::with_capacity(states.len());
        for (state, &token) in states.iter_mut().zip(tokens) {
            out.push(self.step(state, &[token]).await?);
        }
        Ok(out)
    }
}

/// Generates from `model` with the settings `config` (the request's options already laid
/// over it), starting from `start`. `vocab_size` is the model's number of logits;
/// `max_position_embeddings` caps the default length as transformers caps it. Returns the
/// decoder's sequence, as `generate()`'s `sequences[0]`: the start token, the new tokens, and
/// the end token if one came. `progress` hears the best live sequence after each step.
pub(crate) async fn generate<M: StepModel>(
    model: &M,
    config: &GenerationConfig,
    start: u32,
    vocab_size: usize,
    max_position_embeddings: Option<usize>,
    progress: &mut dyn FnMut(&[u32]),
    steps: &dyn Steps,
) -> Result<Vec<u32>, SearchError> {
    let beams = config.num_beams;
    if beams == 0 || beams > MAX_BEAMS || beams > vocab_size {
        return Err(SearchError::Beams {
            beams,
            vocab: vocab_size,
        });
    }
    let lengths = config.lengths(max_position_embeddings)?;
    let search = search::Search::new(config, start, lengths, vocab_size);
    if beams == 1 {
        search::greedy(model, &search, progress, steps).await
    } else {
        search::beam_search(model, &search, progress, steps).await
    }
}

/// transformers' own choices, replayed: the logits transformers computed for every decoder
/// prefix its search evaluated (scripts/reference/text2text-replay.py writes them), served by a
/// model that knows nothing else. A search that strays from transformers' path asks for a
/// prefix the table does not have.
#[cfg(test)]
mod replay {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::HashMap;

    use futures_util::FutureExt;
    use lantern_models::ModelError;

    use super::*;

    struct Replay<'a> {
        table: &'a HashMap<String, Vec<f32>>,
    }

    impl StepModel for Replay<'_> {
        type State = Vec<u32>;
        fn start(&self) -> Result<Vec<u32>, ModelError> {
            Ok(Vec::new())
        }
        async fn step(&self, s: &mut Vec<u32>, tokens: &[u32]) -> Result<Vec<f32>, ModelError> {
            s.extend_from_slice(tokens);
            let key: Vec<String> = s.iter().map(u32::to_string).collect();
            let key = key.join(" ");
            self.table
                .get(&key)
                .cloned()
                .ok_or_else(|| ModelError::Backend(format!("transformers never evaluated {key}")))
        }
        fn fork(&self, s: &Vec<u32>) -> Result<Vec<u32>, ModelError> {
            Ok(s.clone())
        }
    }

    #[test]
    #[ignore = "needs target/t2t-replay/replay.json from scripts/reference/text2text-replay.py"]
    fn the_search_makes_transformers_choices() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let replay: HashMap<String, HashMap<String, HashMap<String, Vec<f32>>>> =
            serde_json::from_slice(
                &std::fs::read(format!("{root}/target/t2t-replay/replay.json")).unwrap(),
            )
            .unwrap();
        let golden: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!(
                "{root}/crates/lantern-pipelines/tests/data/text2text.golden.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let mut checked = 0;
        let mut failed = Vec::new();
        for (model, m) in golden["models"].as_object().unwrap() {
            for case in m["cases"].as_array().unwrap() {
                let name = case["name"].as_str().unwrap();
                let table = &replay[model][name];
                let json = serde_json::to_vec(&case["generation_config"]).unwrap();
                let mut config = GenerationConfig::for_model(Some(&json), b"{}").unwrap();
                // The recorded max_length is already the effective one.
                config.max_length_requested = true;
                let start = config.decoder_start((None, None)).unwrap();
                let vocab = table.values().next().unwrap().len();
                let got = generate(
                    &Replay { table },
                    &config,
                    start,
                    vocab,
                    None,
                    &mut |_| {},
                    &|| false,
                )
                .now_or_never()
                .unwrap();
                let want: Vec<u32> = serde_json::from_value(case["output_ids"].clone()).unwrap();
                match got {
                    Ok(ids) if ids == want => {}
                    other => failed.push(format!("{model} {name}: {other:?}, want {want:?}")),
                }
                checked += 1;
            }
        }
        assert!(
            failed.is_empty(),
            "{} of {checked}:\n{}",
            failed.len(),
            failed.join("\n")
        );
        assert!(checked > 60, "{checked}");
    }
}
