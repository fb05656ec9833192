//! Arbitrary bytes as the Hub API's answers: a revision, a page of the file tree (paths and
//! hashes validated), a `Link` header. The body is shared with the
//! regression test `crates/lantern-pipelines/tests/fuzz_replay.rs`.

#![no_main]

// Each target uses one of the bodies.
#[allow(dead_code)]
#[path = "../../crates/lantern-pipelines/tests/common/fuzz_inputs.rs"]
mod fuzz_inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_inputs::hub_json(data));
