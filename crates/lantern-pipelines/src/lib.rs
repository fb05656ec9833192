//! Lantern's task pipelines, named like the Hub's pipeline tags. Each takes a model from
//! `lantern-models` and does everything around it: tokenizers, chat templates, sampling,
//! streaming, pooling.
//!
//! - [`text_generation`]: GGUF chat models (llama family), streamed, cancellable;
//! - [`embeddings`]: `feature-extraction` / `sentence-similarity` with BERT encoders;
//! - [`tokenizer`], [`chat_template`]: shared by the pipelines that need them;
//! - [`process`]: process-wide settings for the native programs that run them.

pub mod chat_template;
pub mod embeddings;
pub mod process;
pub mod text_generation;
pub mod tokenizer;
