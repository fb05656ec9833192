//! Streaming detokenization: text comes out as tokens arrive, but a character whose UTF-8
//! bytes span several tokens (emoji, CJK in byte-level BPE) comes out only once complete.

use tokenizers::tokenizer::step_decode_stream;

use super::{TokenizerError, tk_err};

/// Wraps `tokenizers`' stream decoding (which holds back output ending in an incomplete
/// character) with the state kept here.
#[derive(Debug)]
pub struct StreamDecoder<'a> {
    tokenizer: &'a tokenizers::Tokenizer,
    skip_special: bool,
    ids: Vec<u32>,
    prefix: String,
    prefix_index: usize,
}

impl<'a> StreamDecoder<'a> {
    pub(super) fn new(tokenizer: &'a tokenizers::Tokenizer, skip_special: bool) -> Self {
        StreamDecoder {
            tokenizer,
            skip_special,
            ids: Vec::new(),
            prefix: String::new(),
            prefix_index: 0,
        }
    }

    /// The text that `id` completes, if any.
    pub fn step(&mut self, id: u32) -> Result<Option<String>, TokenizerError> {
        step_decode_stream(
            &**self.tokenizer,
            vec![id],
            self.skip_special,
            &mut self.ids,
            &mut self.prefix,
            &mut self.prefix_index,
        )
        .map_err(tk_err)
    }
}

/// A [`StreamDecoder`]'s state without its tokenizer, so a generation can move to another
/// pipeline of the same model (the worker's fallback from the GPU to the CPU) without
/// repeating or losing a partly decoded character.
#[derive(Debug, Clone)]
pub struct DecoderState {
    skip_special: bool,
    ids: Vec<u32>,
    prefix: String,
    prefix_index: usize,
}

impl<'a> StreamDecoder<'a> {
    pub fn into_state(self) -> DecoderState {
        DecoderState {
            skip_special: self.skip_special,
            ids: self.ids,
            prefix: self.prefix,
            prefix_index: self.prefix_index,
        }
    }

    pub(super) fn resume(tokenizer: &'a tokenizers::Tokenizer, s: DecoderState) -> Self {
        StreamDecoder {
            tokenizer,
            skip_special: s.skip_special,
            ids: s.ids,
            prefix: s.prefix,
            prefix_index: s.prefix_index,
        }
    }
}
