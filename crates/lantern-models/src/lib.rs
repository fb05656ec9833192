//! Model families of Lantern, written once over a narrow op layer ([`ops::Backend`]), with a
//! CPU backend ([`ops::cpu::Cpu`]: native and wasm32, SIMD kernels, rayon threads), loaded
//! from GGUF files without copying their bytes.
//!
//! ```no_run
//! use lantern_models::{CausalLm, Logits, ModelBytes, load_causal_lm};
//!
//! let bytes = std::fs::read("SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let mut model = load_causal_lm(ModelBytes::new(bytes))?;
//! let logits = model.forward(&[1, 9690, 198], 0, Logits::Last)?;
//! assert_eq!(logits.len(), model.vocab_size());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layout: `gguf` parses files (with limits against hostile ones); `loader` turns a parsed
//! file into a backend's weights; `ops` is the op layer with its CPU backend (and its GPU
//! backend, feature `gpu`); one module per model family (`llama` for decoders, `encoder` for
//! BERT, DistilBERT, RoBERTa and XLM-R, `whisper` for speech recognition, `seq2seq` for
//! translation and summarization: Marian, BART, T5; `encoder_decoder` holds what the last two
//! share).

mod bytes;
pub mod encoder;
pub mod encoder_decoder;
mod error;
pub mod gguf;
pub mod llama;
mod loader;
pub mod ops;
pub mod seq2seq;
pub mod vision;
pub mod whisper;

use std::fmt;

pub use bytes::{ByteView, ModelBytes};
pub use error::{ModelError, Result};
pub use loader::GgufWeights;

/// A boxed future that need not be `Send`: a browser's GPU readbacks are not.
pub type LocalFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + 'a>>;

/// Which positions [`CausalLm::forward`] returns logits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// The last position only (generation).
    Last,
    /// Every position, row-major `[tokens, vocab]` (evaluation, tests).
    All,
}

/// A decoder-only language model with a KV cache: what text generation needs, whatever the
/// family or backend.
pub trait CausalLm: fmt::Debug + Send + Sync {
    /// Runs `tokens` at positions `start_pos..` (positions before `start_pos` must be cached;
    /// cached positions from `start_pos` on are replaced).
    fn forward(&mut self, tokens: &[u32], start_pos: usize, which: Logits) -> Result<Vec<f32>>;
    /// [`CausalLm::forward`] with the readback awaited: what a browser worker calls, since a
    /// WebGPU readback cannot block there. The default runs the synchronous forward.
    fn forward_async<'a>(
        &'a mut self,
        tokens: &'a [u32],
        start_pos: usize,
        which: Logits,
    ) -> LocalFuture<'a, Result<Vec<f32>>> {
        Box::pin(std::future::ready(self.forward(tokens, start_pos, which)))
    }
    /// Runs `tokens` and returns the argmax of the last token's logits ([`ops::argmax`]):
    /// a greedy step, for which a GPU backend reads back one id instead of the logits.
    fn forward_argmax_async<'a>(
        &'a mut self,
        tokens: &'a [u32],
        start_pos: usize,
    ) -> LocalFuture<'a, Result<u32>> {
        let logits = self.forward(tokens, start_pos, Logits::Last);
        Box::pin(std::future::ready(logits.map(|l| ops::argmax(&l))))
    }
    /// Forgets every cached position.
    fn clear_cache(&mut self);
    fn cached_positions(&self) -> usize;
    fn vocab_size(&self) -> usize;
    fn context_length(&self) -> usize;
    /// The GGUF metadata (tokenizer, chat template, ...).
    fn metadata(&self) -> &gguf::Metadata;
    /// The backend's name for reports (`cpu`).
    fn backend_name(&self) -> String;
    /// Bytes of the file the weights live in.
    fn file_size(&self) -> usize;
}

/// Loads a GGUF causal language model of any supported architecture on the CPU backend.
pub fn load_causal_lm(bytes: ModelBytes) -> Result<Box<dyn CausalLm>> {
    load_causal_lm_on(ops::cpu::Cpu, bytes)
}

/// Loads a GGUF causal language model of any supported architecture on `backend`.
pub fn load_causal_lm_on<B: ops::Backend>(
    backend: B,
    bytes: ModelBytes,
) -> Result<Box<dyn CausalLm>> {
    let weights = GgufWeights::load(&backend, bytes)?;
    let arch = weights.file.architecture()?;
    match arch {
        "llama" | "qwen2" | "qwen3" => Ok(Box::new(llama::Model::from_weights(backend, weights)?)),
        other => Err(ModelError::UnsupportedArchitecture(other.to_owned())),
    }
}
