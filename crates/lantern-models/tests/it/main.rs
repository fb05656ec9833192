//! Native tests of lantern-models on real weights (the fixture files of `scripts/fixtures.sh`),
//! and on synthetic Qwen2/Qwen3 files written by `qwen_reference`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod candle_reference;
mod fixtures;
mod gguf_hostile;
mod qwen_reference;
mod requantized;
