//! Arbitrary bytes as a GGUF file through the header parser, the tokenizer built from its
//! metadata and its chat template. The body is shared with the regression test
//! `crates/lantern-pipelines/tests/bad_input.rs` (`tests/common/fuzz_targets.rs` there).

#![no_main]

#[path = "../../crates/lantern-pipelines/tests/common/fuzz_targets.rs"]
mod fuzz_targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::gguf_text(data));
