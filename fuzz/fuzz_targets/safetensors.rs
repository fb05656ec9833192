//! Arbitrary bytes as a safetensors file through the encoder loader: the header (its length,
//! the JSON, each tensor's dtype, shape and offsets), then each tensor by name against a micro
//! BERT's shapes, widened to f32. The body is shared with the
//! regression test `crates/lantern-pipelines/tests/fuzz_replay.rs`.

#![no_main]

// Each target uses one of the bodies.
#[allow(dead_code)]
#[path = "../../crates/lantern-pipelines/tests/common/fuzz_inputs.rs"]
mod fuzz_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_inputs::safetensors(data));
