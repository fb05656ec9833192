//! Whisper, the encoder-decoder speech recognizer, written once over the op layer
//! ([`crate::ops::Backend`]), so the same model runs on the CPU and on WebGPU.
//!
//! A segment (30 s of log-mel features) is encoded once into a [`Memory`]: the encoder's output
//! and the keys and values of every decoder layer's cross-attention. Decoder states read it
//! without copying it, so the beams of a beam search, or retries at another temperature, share
//! one memory; each state holds only its self-attention caches.
//!
//! ```no_run
//! # fn demo(config_json: &[u8], safetensors: &[u8], mel: &[f32]) -> lantern_models::Result<()> {
//! use lantern_models::ops::argmax;
//! use lantern_models::whisper::{Config, Whisper};
//! use lantern_models::ops::cpu::Cpu;
//!
//! let cfg = Config::from_json(config_json)?;
//! let model = Whisper::load(Cpu, &cfg, safetensors)?;
//! // mel: [80, 3000], as transformers' WhisperFeatureExtractor makes it.
//! let memory = model.encode(mel, cfg.n_frames())?;
//! let mut state = model.start(&memory)?;
//! // <|startoftranscript|><|notimestamps|> (tiny.en's ids), then one token at a time.
//! let mut logits = model.step(&mut state, &[50257, 50362])?;
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

pub use config::Config;
pub use model::Whisper;

// Shared with the text-to-text models (`crate::seq2seq`), re-exported under their old names.
pub use crate::encoder_decoder::{AnyMemory, AnyState, DecoderState, Memory};

use crate::LocalFuture;
use crate::error::Result;
use crate::ops::Backend;

/// A Whisper model on any backend, boxed ([`load_whisper_on`]): what a pipeline holds when the
/// backend is chosen at run time. The segments and decoder states it hands out are
/// [`AnyMemory`] and [`AnyState`]; giving one to another model is an
/// [`ModelError::InvalidInput`] error. The `_async` forms await the readback, which in a browser
/// is the only way to read a GPU's result.
pub trait SpeechModel: fmt::Debug + Send + Sync {
    fn config(&self) -> &Config;
    /// The backend's name for reports (`cpu`, `webgpu`).
    fn backend_name(&self) -> String;
    /// [`Whisper::encode`].
    fn encode(&self, mel: &[f32], n_frames: usize) -> Result<AnyMemory>;
    /// [`Whisper::encoder_output`].
    fn encoder_output(&self, memory: &AnyMemory) -> Result<Vec<f32>>;
    fn encoder_output_async<'a>(
        &'a self,
        memory: &'a AnyMemory,
    ) -> LocalFuture<'a, Result<Vec<f32>>>;
    /// [`Whisper::start`].
    fn start(&self, memory: &AnyMemory) -> Result<AnyState>;
    /// [`Whisper::fork`].
    fn fork(&self, state: &AnyState) -> Result<AnyState>;
    /// [`Whisper::step`].
    fn step(&self, state: &mut AnyState, tokens: &[u32]) -> Result<Vec<f32>>;
    fn step_async<'a>(
        &'a self,
        state: &'a mut AnyState,
        tokens: &'a [u32],
    ) -> LocalFuture<'a, Result<Vec<f32>>>;
}

/// Loads Whisper on the CPU backend.
pub fn load_whisper(cfg: &Config, safetensors: &[u8]) -> Result<Box<dyn SpeechModel>> {
    load_whisper_on(crate::ops::cpu::Cpu, cfg, safetensors)
}

/// Loads Whisper on `backend` from a GGUF file with quantized matrices
/// ([`Whisper::load_gguf`]).
pub fn load_whisper_gguf_on<B: Backend>(
    backend: B,
    cfg: &Config,
    gguf: crate::ModelBytes,
) -> Result<Box<dyn SpeechModel>> {
    Ok(Box::new(Whisper::load_gguf(backend, cfg, gguf)?))
}

/// Loads Whisper on `backend` from a safetensors file's bytes ([`Whisper::load`]).
pub fn load_whisper_on<B: Backend>(
    backend: B,
    cfg: &Config,
    safetensors: &[u8],
) -> Result<Box<dyn SpeechModel>> {
    Ok(Box::new(Whisper::load(backend, cfg, safetensors)?))
}

impl<B: Backend> SpeechModel for Whisper<B> {
    fn config(&self) -> &Config {
        Whisper::config(self)
    }

    fn backend_name(&self) -> String {
        self.backend().name()
    }

    fn encode(&self, mel: &[f32], n_frames: usize) -> Result<AnyMemory> {
        Ok(AnyMemory::new(Whisper::encode(self, mel, n_frames)?))
    }

    fn encoder_output(&self, memory: &AnyMemory) -> Result<Vec<f32>> {
        Whisper::encoder_output(self, memory.of()?)
    }

    fn encoder_output_async<'a>(
        &'a self,
        memory: &'a AnyMemory,
    ) -> LocalFuture<'a, Result<Vec<f32>>> {
        Box::pin(async move { Whisper::encoder_output_async(self, memory.of()?).await })
    }

    fn start(&self, memory: &AnyMemory) -> Result<AnyState> {
        Ok(AnyState::new(Whisper::start(self, memory.of()?)?))
    }

    fn fork(&self, state: &AnyState) -> Result<AnyState> {
        Ok(AnyState::new(Whisper::fork(self, state.of()?)?))
    }

    fn step(&self, state: &mut AnyState, tokens: &[u32]) -> Result<Vec<f32>> {
        Whisper::step(self, state.of_mut()?, tokens)
    }

    fn step_async<'a>(
        &'a self,
        state: &'a mut AnyState,
        tokens: &'a [u32],
    ) -> LocalFuture<'a, Result<Vec<f32>>> {
        Box::pin(async move { Whisper::step_async(self, state.of_mut()?, tokens).await })
    }
}
