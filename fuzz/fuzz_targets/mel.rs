//! Arbitrary bytes as a feature-extractor configuration (JSON, or numbers) and samples through
//! Whisper's log-mel features (one window, a window at an offset, the long form) and the
//! resampler. The body is shared with the test `crates/lantern-audio/tests/features.rs`.

#![no_main]

#[path = "../../crates/lantern-audio/tests/common/fuzz_targets.rs"]
mod fuzz_targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_targets::mel(data);
});
