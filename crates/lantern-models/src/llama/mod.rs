//! The llama family from GGUF: Llama, SmolLM/SmolLM2, Mistral, Qwen2/2.5, Qwen3.
//!
//! Reference: llama.cpp's `llm_build_llama` / `llm_build_qwen2` / `llm_build_qwen3`
//! (<https://github.com/ggml-org/llama.cpp/tree/master/src/models>); candle-transformers'
//! `quantized_llama` is the independent reference the tests compare logits with.

mod config;
mod model;

pub use config::{Architecture, Config};
pub use model::Model;
