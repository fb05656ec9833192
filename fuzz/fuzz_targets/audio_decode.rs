//! Arbitrary bytes as an audio file through the native decoder (symphonia: WAV, FLAC, MP3,
//! OGG/Vorbis), the mono mixdown and the resampler to 16 kHz. The body is shared with the
//! test `crates/lantern-audio/tests/decode.rs`.

#![no_main]

#[path = "../../crates/lantern-audio/tests/common/fuzz_targets.rs"]
mod fuzz_targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_targets::audio_decode(data);
});
