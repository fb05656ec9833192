//! A chat template (Jinja, run by minijinja under fuel) with its BOS/EOS texts and messages,
//! laid out as 0xFF-separated text fields (the layout: `chat_template` in the body's file). The body is shared with the
//! regression test `crates/lantern-pipelines/tests/fuzz_replay.rs`.

#![no_main]

// Each target uses one of the bodies.
#[allow(dead_code)]
#[path = "../../crates/lantern-pipelines/tests/common/fuzz_inputs.rs"]
mod fuzz_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_inputs::chat_template(data));
