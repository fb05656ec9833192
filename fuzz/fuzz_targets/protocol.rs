//! Arbitrary bytes as a page–worker message (JSON text, then binary attachments): decoded as
//! the worker's `Request` and the page's `Event`, re-encoded and decoded again. The body is shared with the
//! regression test `crates/lantern-pipelines/tests/fuzz_replay.rs`.

#![no_main]

// Each target uses one of the bodies.
#[allow(dead_code)]
#[path = "../../crates/lantern-pipelines/tests/common/fuzz_inputs.rs"]
mod fuzz_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_inputs::protocol(data));
