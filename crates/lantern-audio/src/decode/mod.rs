//! Audio files to samples. Natively with symphonia (WAV, FLAC, MP3, OGG/Vorbis); in the browser
//! the page decodes with `AudioContext.decodeAudioData` and checks the result with
//! [`check_format`](crate::check_format), so this module holds only the shared limits there.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub use native::{AudioDecoder, decode_bytes, decode_file, decode_file_mono};

/// Files larger than this (2 GiB) are refused before they are read: their samples would not fit
/// a browser tab, and no speech recording needs it (10 hours of 16-bit 16 kHz mono is 1.1 GiB).
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// The longest audio decoded (4 hours), whatever the file's size: a compressed file of silence
/// can otherwise expand without limit.
pub const MAX_DURATION_S: u64 = 4 * 3600;

/// At most 1 G decoded values (4 GiB of `f32`) held at once, whatever the rate and channels.
pub const MAX_DECODED_VALUES: u64 = 1 << 30;

/// Decoded audio: interleaved `f32` samples in `-1.0..=1.0` (integer PCM is scaled by
/// `1 / 2^(bits - 1)`, as transformers' readers and symphonia do).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    pub channels: usize,
}

impl DecodedAudio {
    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// Mixed down to mono and resampled to `rate`.
    pub fn to_mono(&self, rate: u32) -> Result<Vec<f32>, crate::AudioError> {
        let mono = crate::to_mono(&self.samples, self.channels)?;
        crate::resample(&mono, self.sample_rate, rate)
    }
}
