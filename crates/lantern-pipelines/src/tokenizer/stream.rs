//! Streaming detokenization: text comes out as tokens arrive, but a character whose UTF-8
//! bytes span several tokens (emoji, CJK in byte-level BPE) comes out only once complete.

use tokenizers::tokenizer::step_decode_stream;

use super::{TokenizerError, tk_err};

/// The state of a stream decoder, without its tokenizer: what a generation keeps, so it can
/// move to another pipeline of the same model (the worker's fallback from the GPU to the CPU)
/// without repeating or losing a partly decoded character.
#[derive(Debug, Clone)]
pub struct DecoderState {
    skip_special: bool,
    ids: Vec<u32>,
    prefix: String,
    prefix_index: usize,
}

impl DecoderState {
    pub fn new(skip_special: bool) -> Self {
        DecoderState {
            skip_special,
            ids: Vec::new(),
            prefix: String::new(),
            prefix_index: 0,
        }
    }

    /// The text that `id` completes, if any (`tokenizers`' stream decoding, which holds back
    /// output ending in an incomplete character).
    pub fn step(
        &mut self,
        tokenizer: &tokenizers::Tokenizer,
        id: u32,
    ) -> Result<Option<String>, TokenizerError> {
        step_decode_stream(
            tokenizer,
            vec![id],
            self.skip_special,
            &mut self.ids,
            &mut self.prefix,
            &mut self.prefix_index,
        )
        .map_err(tk_err)
    }
}

/// A [`DecoderState`] with its tokenizer.
#[derive(Debug)]
pub struct StreamDecoder<'a> {
    tokenizer: &'a tokenizers::Tokenizer,
    state: DecoderState,
}

impl<'a> StreamDecoder<'a> {
    pub(super) fn new(tokenizer: &'a tokenizers::Tokenizer, state: DecoderState) -> Self {
        StreamDecoder { tokenizer, state }
    }

    /// The text that `id` completes, if any.
    pub fn step(&mut self, id: u32) -> Result<Option<String>, TokenizerError> {
        self.state.step(self.tokenizer, id)
    }

    pub fn into_state(self) -> DecoderState {
        self.state
    }
}
