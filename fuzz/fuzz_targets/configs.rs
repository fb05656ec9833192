//! Arbitrary bytes as every `config.json`, `generation_config.json`,
//! `preprocessor_config.json` and `tokenizer_config.json` parser of the supported
//! architectures (encoders, seq2seq, Whisper, vision; the list: `configs` in the body's file). The body is shared with the
//! regression test `crates/lantern-pipelines/tests/fuzz_replay.rs`.

#![no_main]

// Each target uses one of the bodies.
#[allow(dead_code)]
#[path = "../../crates/lantern-pipelines/tests/common/fuzz_inputs.rs"]
mod fuzz_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_inputs::configs(data));
