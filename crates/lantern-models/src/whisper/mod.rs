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
mod source;

use std::any::Any;
use std::fmt;

pub use config::Config;
pub use model::{DecoderState, Memory, Whisper};

use crate::LocalFuture;
use crate::error::{ModelError, Result};
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

/// A [`Memory`] of some backend.
pub struct AnyMemory(Box<dyn Any + Send + Sync>);

impl fmt::Debug for AnyMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AnyMemory")
    }
}

/// A [`DecoderState`] of some backend.
#[derive(Debug)]
pub struct AnyState(Box<dyn ErasedState>);

trait ErasedState: Any + Send + Sync + fmt::Debug {
    fn len(&self) -> usize;
    fn truncate(&mut self, n: usize);
}

impl<B: Backend> ErasedState for DecoderState<B> {
    fn len(&self) -> usize {
        DecoderState::len(self)
    }

    fn truncate(&mut self, n: usize) {
        DecoderState::truncate(self, n);
    }
}

impl AnyState {
    /// Tokens held ([`DecoderState::len`]).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`DecoderState::truncate`].
    pub fn truncate(&mut self, n: usize) {
        self.0.truncate(n);
    }
}

fn foreign(what: &'static str) -> ModelError {
    ModelError::InvalidInput {
        what,
        detail: "made by a model on another backend".into(),
    }
}

impl AnyMemory {
    fn of<B: Backend>(&self) -> Result<&Memory<B>> {
        self.0.downcast_ref().ok_or_else(|| foreign("memory"))
    }
}

impl AnyState {
    fn of<B: Backend>(&self) -> Result<&DecoderState<B>> {
        let any: &dyn Any = &*self.0;
        any.downcast_ref().ok_or_else(|| foreign("state"))
    }

    fn of_mut<B: Backend>(&mut self) -> Result<&mut DecoderState<B>> {
        let any: &mut dyn Any = &mut *self.0;
        any.downcast_mut().ok_or_else(|| foreign("state"))
    }
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
        Ok(AnyMemory(Box::new(Whisper::encode(self, mel, n_frames)?)))
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
        Ok(AnyState(Box::new(Whisper::start(self, memory.of()?)?)))
    }

    fn fork(&self, state: &AnyState) -> Result<AnyState> {
        Ok(AnyState(Box::new(Whisper::fork(self, state.of()?)?)))
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
