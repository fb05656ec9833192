//! Integration tests of the mirror over the real fixture model files.
//!
//! One test binary, so the process-wide hash cache hashes the 190 MB of fixtures once.

// clippy.toml allows unwrap in #[test] functions only; the helpers they share fail the same way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod common;
mod content;
mod faults;
mod huggingface_hub;
mod safety;
