//! Encoders: BERT (and MiniLM, BGE, E5, GTE), DistilBERT, RoBERTa and XLM-RoBERTa, written once
//! over the op layer ([`crate::ops::Backend`]), so the same model runs on the CPU and on WebGPU.
//!
//! ```no_run
//! # fn demo(config_json: &[u8], safetensors: &[u8]) -> lantern_models::Result<()> {
//! use lantern_models::encoder::{Config, EncoderOptions, Input, load_encoder};
//!
//! let cfg = Config::from_json(config_json)?;
//! let encoder = load_encoder(&cfg, safetensors, EncoderOptions::default())?;
//! // [CLS] hello [SEP] and [CLS] hello world [SEP], padded into one batch.
//! let hello: &[u32] = &[101, 7592, 102];
//! let hello_world: &[u32] = &[101, 7592, 2088, 102];
//! let hidden = encoder.hidden_states(&[hello.into(), hello_world.into()])?;
//! assert_eq!(hidden[1].len(), 4 * cfg.hidden_size);
//! # Ok(()) }
//! ```

pub(crate) mod config;
pub(crate) mod model;
pub(crate) mod weights;

use std::fmt;

pub use crate::ops::{Activation, Quantization};
pub use config::{Architecture, Config};
pub use model::Model;

use crate::LocalFuture;
use crate::error::Result;
use crate::ops::Backend;

/// One input text as token ids, with BERT's segment ids for a sentence pair (`None`: all 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input<'a> {
    pub ids: &'a [u32],
    pub type_ids: Option<&'a [u32]>,
}

impl<'a> From<&'a [u32]> for Input<'a> {
    fn from(ids: &'a [u32]) -> Self {
        Input {
            ids,
            type_ids: None,
        }
    }
}

/// The head loaded on top of the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Head {
    /// None: the last hidden state per token (sentence embeddings pool it).
    #[default]
    None,
    /// Sequence classification on the first token (`*ForSequenceClassification`): BERT's
    /// pooler and `classifier`, DistilBERT's `pre_classifier` and `classifier`, RoBERTa's
    /// `classifier.dense` and `classifier.out_proj`.
    SequenceClassification,
}

/// How to load an encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncoderOptions {
    /// How the linear layers' weights are held (embedding tables and norms stay f32).
    pub quantization: Quantization,
    pub head: Head,
}

/// An encoder of any supported family on any backend.
///
/// Inputs are padded into one batch; padded keys get exactly zero attention weight, so each
/// input gets what it would get alone (up to float summation order). The `_async` forms await
/// the readback, which in a browser is the only way to read a GPU's result.
pub trait Encoder: fmt::Debug + Send + Sync {
    fn config(&self) -> &Config;
    fn head(&self) -> Head;
    /// The backend's name for reports (`cpu`, `webgpu`).
    fn backend_name(&self) -> String;
    /// Whether callers should run several batches side by side on the thread pool (one
    /// forward pass's matmuls do not use it: the CPU in wasm).
    fn batches_side_by_side(&self) -> bool;
    /// The last hidden state of each input: `len * hidden_size` values, row-major.
    fn hidden_states(&self, batch: &[Input<'_>]) -> Result<Vec<Vec<f32>>>;
    fn hidden_states_async<'a>(
        &'a self,
        batch: &'a [Input<'a>],
    ) -> LocalFuture<'a, Result<Vec<Vec<f32>>>>;
    /// The classification logits of each input (`num_labels` values). An error unless loaded
    /// with [`Head::SequenceClassification`].
    fn classify(&self, batch: &[Input<'_>]) -> Result<Vec<Vec<f32>>>;
    fn classify_async<'a>(
        &'a self,
        batch: &'a [Input<'a>],
    ) -> LocalFuture<'a, Result<Vec<Vec<f32>>>>;
}

/// Loads an encoder on the CPU backend.
pub fn load_encoder(
    cfg: &Config,
    safetensors: &[u8],
    options: EncoderOptions,
) -> Result<Box<dyn Encoder>> {
    load_encoder_on(crate::ops::cpu::Cpu, cfg, safetensors, options)
}

/// Loads an encoder on `backend` from a safetensors file's bytes (f32, f16 or bf16), with
/// transformers' tensor names (the `bert.` / `distilbert.` / `roberta.` prefix of `*For*`
/// checkpoints optional). The bytes may be dropped once it returns.
pub fn load_encoder_on<B: Backend>(
    backend: B,
    cfg: &Config,
    safetensors: &[u8],
    options: EncoderOptions,
) -> Result<Box<dyn Encoder>> {
    Ok(Box::new(Model::load(backend, cfg, safetensors, options)?))
}

impl<B: Backend> Encoder for Model<B> {
    fn config(&self) -> &Config {
        Model::config(self)
    }

    fn head(&self) -> Head {
        Model::head(self)
    }

    fn backend_name(&self) -> String {
        self.backend().name()
    }

    fn batches_side_by_side(&self) -> bool {
        self.backend().batches_side_by_side()
    }

    fn hidden_states(&self, batch: &[Input<'_>]) -> Result<Vec<Vec<f32>>> {
        let pending = B::execute(|| self.hidden_pending(batch))?;
        let data = match pending.tensor() {
            Some(t) => self.backend().read(t)?,
            None => Vec::new(),
        };
        pending.split(data)
    }

    fn hidden_states_async<'a>(
        &'a self,
        batch: &'a [Input<'a>],
    ) -> LocalFuture<'a, Result<Vec<Vec<f32>>>> {
        Box::pin(async move {
            let pending = B::execute(|| self.hidden_pending(batch))?;
            let data = match pending.tensor() {
                Some(t) => self.backend().read_async(t).await?,
                None => Vec::new(),
            };
            pending.split(data)
        })
    }

    fn classify(&self, batch: &[Input<'_>]) -> Result<Vec<Vec<f32>>> {
        let pending = B::execute(|| self.logits_pending(batch))?;
        let data = match pending.tensor() {
            Some(t) => self.backend().read(t)?,
            None => Vec::new(),
        };
        pending.split(data)
    }

    fn classify_async<'a>(
        &'a self,
        batch: &'a [Input<'a>],
    ) -> LocalFuture<'a, Result<Vec<Vec<f32>>>> {
        Box::pin(async move {
            let pending = B::execute(|| self.logits_pending(batch))?;
            let data = match pending.tensor() {
                Some(t) => self.backend().read_async(t).await?,
                None => Vec::new(),
            };
            pending.split(data)
        })
    }
}
