//! Arbitrary bytes as a GGUF file through the header parser, the typed metadata getters and
//! the llama hyperparameter checks: the fast part of `gguf_text`, on its own so the fuzzer
//! explores the parser at thousands of inputs a second. The body is shared with the
//! regression test `crates/lantern-pipelines/tests/bad_input.rs`.

#![no_main]

// `gguf_text` is not used here.
#[allow(dead_code)]
#[path = "../../crates/lantern-pipelines/tests/common/fuzz_targets.rs"]
mod fuzz_targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_targets::gguf_header(data);
});
