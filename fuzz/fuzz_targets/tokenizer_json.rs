//! Arbitrary bytes as a `tokenizer.json`: the tokenizer built from it (the `tokenizers` crate's
//! models, normalizers, pre-tokenizers, decoders), then a text encoded, decoded and streamed. The body is shared with the
//! regression test `crates/lantern-pipelines/tests/fuzz_replay.rs`.

#![no_main]

// Each target uses one of the bodies.
#[allow(dead_code)]
#[path = "../../crates/lantern-pipelines/tests/common/fuzz_inputs.rs"]
mod fuzz_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_inputs::tokenizer_json(data));
