//! Native tests of the text-generation pipeline on real files: the SmolLM2 fixture model and
//! llama.cpp's tokenizer test vocabularies (both made by `scripts/fixtures.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod llama_cpp_goldens;
mod pipeline;
mod tokenizer_llama_cpp;
