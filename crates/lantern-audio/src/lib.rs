//! The audio front end for speech models: decoding files (natively; the page decodes with the
//! browser), mono mixdown, band-limited resampling, and Whisper's log-mel features as Hugging
//! Face's `WhisperFeatureExtractor` computes them.
//!
//! No model code and no GPU code: the page can link this crate.
//!
//! ```
//! use lantern_audio::{FeatureExtractor, resample, to_mono};
//!
//! // Half a second of 440 Hz in stereo at 44.1 kHz.
//! let stereo: Vec<f32> = (0..22_050)
//!     .flat_map(|i| {
//!         let s = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 44_100.0).sin();
//!         [s, s]
//!     })
//!     .collect();
//! let mono = to_mono(&stereo, 2)?;
//! let samples = resample(&mono, 44_100, 16_000)?;
//! assert_eq!(samples.len(), 8_000);
//!
//! let extractor = FeatureExtractor::new(lantern_audio::FeatureConfig::whisper(80))?;
//! let features = extractor.extract(&samples)?;
//! assert_eq!(features.len(), 80 * 3000);
//! # Ok::<(), lantern_audio::AudioError>(())
//! ```

mod decode;
mod error;
pub mod features;
mod resample;

#[cfg(not(target_arch = "wasm32"))]
pub use decode::{AudioDecoder, decode_bytes, decode_file, decode_file_mono};
pub use decode::{DecodedAudio, MAX_DECODED_VALUES, MAX_DURATION_S, MAX_FILE_BYTES};
pub use error::AudioError;
pub use features::{FeatureConfig, FeatureExtractor, LongForm};
pub use resample::{
    MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Resampler, check_format, mix_to_mono_into,
    output_len, resample, to_mono,
};
