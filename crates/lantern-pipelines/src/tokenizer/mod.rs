//! Tokenizers for generation models: built from GGUF metadata (`tokenizer.ggml.*`, the way
//! llama.cpp reads it) or from a repository's `tokenizer.json`, run by Hugging Face's
//! `tokenizers`; and a streaming decoder that never splits a UTF-8 character.

mod gguf;
mod stream;

use lantern_models::gguf::Metadata;

pub use stream::{DecoderState, StreamDecoder};

/// Errors building or running a tokenizer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenizerError {
    #[error("tokenizer metadata: {0}")]
    Metadata(String),
    #[error("unsupported tokenizer model {0:?} (gpt2 BPE and llama SentencePiece are supported)")]
    UnsupportedModel(String),
    #[error("unsupported pre-tokenizer {0:?}")]
    UnsupportedPreTokenizer(String),
    #[error("tokenizer: {0}")]
    Tokenizers(String),
}

impl TokenizerError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenizerError::Metadata(_) => "tokenizer_metadata",
            TokenizerError::UnsupportedModel(_) => "unsupported_tokenizer",
            TokenizerError::UnsupportedPreTokenizer(_) => "unsupported_pre_tokenizer",
            TokenizerError::Tokenizers(_) => "tokenizer",
        }
    }
}

impl From<lantern_models::ModelError> for TokenizerError {
    fn from(e: lantern_models::ModelError) -> Self {
        TokenizerError::Metadata(e.to_string())
    }
}

fn tk_err(e: impl std::fmt::Display) -> TokenizerError {
    TokenizerError::Tokenizers(e.to_string())
}

/// A tokenizer with the special tokens a generation pipeline needs to know.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    bos: Option<u32>,
    eos: Option<u32>,
    /// Tokens that end a turn or the text (EOS, end-of-turn, ...): generation stops there.
    end_of_generation: Vec<u32>,
    add_bos: bool,
}

impl Tokenizer {
    /// From GGUF metadata.
    pub fn from_gguf(md: &Metadata) -> Result<Tokenizer, TokenizerError> {
        gguf::from_gguf(md)
    }

    /// From a `tokenizer.json`; `eos` names the end token(s) (from `tokenizer_config.json` or
    /// `generation_config.json`).
    pub fn from_json(
        json: &str,
        bos: Option<u32>,
        eos: &[u32],
    ) -> Result<Tokenizer, TokenizerError> {
        // tokenizers 0.23 panics (`expect("Helper")` in decoders/mod.rs) on a syntax error
        // inside the "decoder" value instead of returning it, which would abort the worker on
        // a hostile file. Parsed as a `Value` first (the same recursion limit), the text is
        // valid JSON, on which that step cannot fail. Found by the `tokenizer_json` fuzz
        // target (fuzz/regressions/tokenizer_json/).
        serde_json::from_str::<serde_json::Value>(json).map_err(tk_err)?;
        let inner: tokenizers::Tokenizer = json.parse().map_err(tk_err)?;
        Ok(Tokenizer {
            inner,
            bos,
            eos: eos.first().copied(),
            end_of_generation: eos.to_vec(),
            add_bos: false,
        })
    }

    /// Token ids of `text`. Special tokens written in the text (`<|im_start|>`) are parsed as
    /// such, as llama.cpp does for prompts; `add_bos` prepends BOS if the model wants one.
    pub fn encode(&self, text: &str, add_bos: bool) -> Result<Vec<u32>, TokenizerError> {
        let enc = self.inner.encode_fast(text, false).map_err(tk_err)?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if add_bos
            && self.add_bos
            && let Some(bos) = self.bos
        {
            ids.push(bos);
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// Text of `ids`; special tokens are left out when `skip_special`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, TokenizerError> {
        self.inner.decode(ids, skip_special).map_err(tk_err)
    }

    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// Whether a prompt should start with BOS (`tokenizer.ggml.add_bos_token`).
    pub fn adds_bos(&self) -> bool {
        self.add_bos
    }

    pub fn is_end_of_generation(&self, id: u32) -> bool {
        self.end_of_generation.contains(&id)
    }

    pub fn end_of_generation(&self) -> &[u32] {
        &self.end_of_generation
    }

    /// The text of one token as the vocabulary spells it (`<|im_end|>`), if it exists.
    pub fn token_text(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// A decoder for streaming generated text.
    pub fn stream(&self, skip_special: bool) -> StreamDecoder<'_> {
        StreamDecoder::new(&self.inner, DecoderState::new(skip_special))
    }

    /// A stream decoder that continues where another one stopped ([`StreamDecoder::into_state`]).
    pub fn resume_stream(&self, state: DecoderState) -> StreamDecoder<'_> {
        StreamDecoder::new(&self.inner, state)
    }

    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}
