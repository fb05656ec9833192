//! Text-to-text encoder-decoders (translation, summarization) written once over the op layer
//! ([`crate::ops::Backend`]), so the same model runs on the CPU (native and wasm32) and on
//! WebGPU: Marian (`MarianMTModel`, Opus-MT), BART (`BartForConditionalGeneration`, BART and
//! DistilBART) and T5 (`T5ForConditionalGeneration`, T5 v1.0, v1.1 and Flan-T5), with
//! transformers' tensor names and arithmetic.
//!
//! An input (token ids, the tokenizer's special tokens included) is encoded once into a
//! [`Memory`]; decoder states read it without copying it, so the beams of a beam search share
//! it and each holds only its self-attention caches (as [`crate::whisper`], whose types these
//! are).
//!
//! ```no_run
//! # fn demo(config_json: &[u8], safetensors: &[u8]) -> lantern_models::Result<()> {
//! use lantern_models::ops::argmax;
//! use lantern_models::ops::cpu::Cpu;
//! use lantern_models::seq2seq::{Config, load_seq2seq_on};
//!
//! let cfg = Config::from_json(config_json)?;
//! let model = load_seq2seq_on(Cpu, &cfg, safetensors)?;
//! let memory = model.encode(&[100, 200, 300, cfg.eos_token_id])?;
//! let mut state = model.start(&memory)?;
//! let mut logits = model.step(&mut state, &[cfg.decoder_start_token_id.unwrap_or(cfg.pad_token_id)])?;
//! let mut tokens = Vec::new();
//! while tokens.len() < 100 {
//!     let next = argmax(&logits);
//!     if next == cfg.eos_token_id {
//!         break;
//!     }
//!     tokens.push(next);
//!     logits = model.step(&mut state, &[next])?;
//! }
//! # Ok(()) }
//! ```

mod config;
mod model;

use std::fmt;

pub use config::{Config, Family, RelativeAttention, T5_MAX_POSITIONS};
pub use model::Seq2Seq;

pub use crate::encoder_decoder::{AnyMemory, AnyState, DecoderState, Memory};

use crate::LocalFuture;
use crate::error::Result;
use crate::ops::Backend;

/// A text-to-text model on any backend, boxed ([`load_seq2seq_on`]): what a pipeline holds
/// when the backend is chosen at run time. The memories and decoder states it hands out are
/// [`AnyMemory`] and [`AnyState`]; giving one to a model of another backend or family is an
/// [`crate::ModelError::InvalidInput`] error. The `_async` forms await the readback, which in a
/// browser is the only way to read a GPU's result.
pub trait Seq2SeqModel: fmt::Debug + Send + Sync {
    fn config(&self) -> &Config;
    /// The backend's name for reports (`cpu`, `webgpu`).
    fn backend_name(&self) -> String;
    /// Encodes one input ([`Seq2Seq::encode`]): token ids with the tokenizer's special tokens
    /// (e.g. a final `</s>`).
    fn encode(&self, ids: &[u32]) -> Result<AnyMemory>;
    /// The encoder's output, `[len, d_model]` row-major ([`Seq2Seq::encoder_output`]).
    fn encoder_output(&self, memory: &AnyMemory) -> Result<Vec<f32>>;
    fn encoder_output_async<'a>(
        &'a self,
        memory: &'a AnyMemory,
    ) -> LocalFuture<'a, Result<Vec<f32>>>;
    /// A decoder state with no tokens yet ([`Seq2Seq::start`]).
    fn start(&self, memory: &AnyMemory) -> Result<AnyState>;
    /// A beam leaving from another: self-attention caches copied, the memory shared
    /// ([`Seq2Seq::fork`]).
    fn fork(&self, state: &AnyState) -> Result<AnyState>;
    /// Appends tokens (the first call: the decoder start token, or start + a prefix) and
    /// returns the last token's logits ([`Seq2Seq::step`]): `vocab_size` values,
    /// `final_logits_bias` added, T5's tied scaling applied.
    fn step(&self, state: &mut AnyState, tokens: &[u32]) -> Result<Vec<f32>>;
    fn step_async<'a>(
        &'a self,
        state: &'a mut AnyState,
        tokens: &'a [u32],
    ) -> LocalFuture<'a, Result<Vec<f32>>>;
    /// One token appended to each state (the beams of one input, all of the same length) as
    /// one batch; each state's logits, in order ([`Seq2Seq::step_beams`]).
    fn step_beams(&self, states: &mut [AnyState], tokens: &[u32]) -> Result<Vec<Vec<f32>>>;
    fn step_beams_async<'a>(
        &'a self,
        states: &'a mut [AnyState],
        tokens: &'a [u32],
    ) -> LocalFuture<'a, Result<Vec<Vec<f32>>>>;
}

/// Loads a text-to-text model on the CPU backend.
pub fn load_seq2seq(cfg: &Config, safetensors: &[u8]) -> Result<Box<dyn Seq2SeqModel>> {
    load_seq2seq_on(crate::ops::cpu::Cpu, cfg, safetensors)
}

/// Loads a text-to-text model on `backend` from a GGUF file with quantized matrices
/// ([`Seq2Seq::load_gguf`]: candle's quantized T5 files, and Marian's and BART's under the same
/// rule).
pub fn load_seq2seq_gguf_on<B: Backend>(
    backend: B,
    cfg: &Config,
    gguf: crate::ModelBytes,
) -> Result<Box<dyn Seq2SeqModel>> {
    Ok(Box::new(Seq2Seq::load_gguf(backend, cfg, gguf)?))
}

/// Loads a text-to-text model on `backend` from a safetensors file's bytes
/// ([`Seq2Seq::load`]).
pub fn load_seq2seq_on<B: Backend>(
    backend: B,
    cfg: &Config,
    safetensors: &[u8],
) -> Result<Box<dyn Seq2SeqModel>> {
    Ok(Box::new(Seq2Seq::load(backend, cfg, safetensors)?))
}

impl<B: Backend> Seq2SeqModel for Seq2Seq<B> {
    fn config(&self) -> &Config {
        Seq2Seq::config(self)
    }

    fn backend_name(&self) -> String {
        self.backend().name()
    }

    fn encode(&self, ids: &[u32]) -> Result<AnyMemory> {
        Ok(AnyMemory::new(Seq2Seq::encode(self, ids)?))
    }

    fn encoder_output(&self, memory: &AnyMemory) -> Result<Vec<f32>> {
        Seq2Seq::encoder_output(self, memory.of()?)
    }

    fn encoder_output_async<'a>(
        &'a self,
        memory: &'a AnyMemory,
    ) -> LocalFuture<'a, Result<Vec<f32>>> {
        Box::pin(async move { Seq2Seq::encoder_output_async(self, memory.of()?).await })
    }

    fn start(&self, memory: &AnyMemory) -> Result<AnyState> {
        Ok(AnyState::new(Seq2Seq::start(self, memory.of()?)?))
    }

    fn fork(&self, state: &AnyState) -> Result<AnyState> {
        Ok(AnyState::new(Seq2Seq::fork(self, state.of()?)?))
    }

    fn step(&self, state: &mut AnyState, tokens: &[u32]) -> Result<Vec<f32>> {
        Seq2Seq::step(self, state.of_mut()?, tokens)
    }

    fn step_async<'a>(
        &'a self,
        state: &'a mut AnyState,
        tokens: &'a [u32],
    ) -> LocalFuture<'a, Result<Vec<f32>>> {
        Box::pin(async move { Seq2Seq::step_async(self, state.of_mut()?, tokens).await })
    }

    fn step_beams(&self, states: &mut [AnyState], tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
        let mut states = states
            .iter_mut()
            .map(AnyState::of_mut)
            .collect::<Result<Vec<&mut DecoderState<B>>>>()?;
        Seq2Seq::step_beams(self, &mut states, tokens)
    }

    fn step_beams_async<'a>(
        &'a self,
        states: &'a mut [AnyState],
        tokens: &'a [u32],
    ) -> LocalFuture<'a, Result<Vec<Vec<f32>>>> {
        Box::pin(async move {
            let mut states = states
                .iter_mut()
                .map(AnyState::of_mut)
                .collect::<Result<Vec<&mut DecoderState<B>>>>()?;
            Seq2Seq::step_beams_async(self, &mut states, tokens).await
        })
    }
}
