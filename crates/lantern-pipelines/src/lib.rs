//! Lantern's task pipelines, named like the Hub's pipeline tags. Each takes a model from
//! `lantern-models` and does everything around it: which files of a repository it reads,
//! loading them from any file source onto a device, tokenizers, chat templates, sampling,
//! streaming, pooling.
//!
//! - [`tasks`]: every task behind one door (files, detection, loading, running) — what the
//!   worker and the CLI call;
//! - one module per task: [`text_generation`] (GGUF chat models, streamed, cancellable),
//!   [`embeddings`] (`feature-extraction` / `sentence-similarity`), [`text_classification`],
//!   [`speech_recognition`], [`image_classification`] and [`object_detection`] (which share
//!   [`vision`]: their files, labels, preprocessing and error), [`text2text`] (`translation`
//!   and `summarization`, with [`generation`]: transformers' greedy and beam search);
//! - [`device`]: where a model runs (CPU, WebGPU) and the fallback between them; [`source`]:
//!   where its files come from; [`error`]: the one error type, and the one place it becomes
//!   the page's error code;
//! - [`tokenizer`], [`chat_template`]: shared by the pipelines that need them; [`limits`]: what
//!   a browser worker can hold; [`process`]: process-wide settings for the native programs.

pub mod chat_template;
pub mod device;
pub mod embeddings;
pub mod error;
pub mod generation;
pub mod image_classification;
pub mod limits;
pub mod object_detection;
pub mod process;
pub mod source;
pub mod speech_recognition;
pub mod steps;
pub mod tasks;
pub mod text2text;
pub mod text_classification;
pub mod text_generation;
pub mod tokenizer;
pub mod vision;

pub use error::PipelineError;
pub use steps::Steps;
