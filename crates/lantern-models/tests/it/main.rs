//! Native tests of lantern-models on real weights (the fixture files of `scripts/fixtures.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod candle_reference;
mod fixtures;
mod gguf_hostile;
mod requantized;
