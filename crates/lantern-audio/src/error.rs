//! One error type for the crate: the page and the CLI match on the variant to say what is wrong
//! with the file or the configuration.

use thiserror::Error;

/// What went wrong with the audio or with `preprocessor_config.json`.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum AudioError {
    /// `preprocessor_config.json` is not JSON, or a field has the wrong type or is missing.
    #[error("preprocessor_config.json: {0}")]
    ConfigParse(String),
    /// A field of `preprocessor_config.json` has a value the extractor refuses.
    #[error("preprocessor_config.json: `{field}` = {value} is not allowed ({allowed})")]
    ConfigValue {
        field: &'static str,
        value: String,
        allowed: &'static str,
    },
    /// `feature_extractor_type` names an extractor other than Whisper's.
    #[error("feature extractor `{0}` is not supported (only WhisperFeatureExtractor)")]
    UnsupportedExtractor(String),
    /// Samples given to the feature extractor or the resampler hold NaN or infinity.
    #[error("sample {index} is not a finite number")]
    NonFiniteSample { index: usize },
    /// An interleaved buffer whose length is not a multiple of its channel count, or zero channels.
    #[error("{len} interleaved samples do not split into {channels} channels")]
    Interleaving { len: usize, channels: usize },
    /// The bytes are not in a container format Lantern reads (WAV, FLAC, MP3, OGG).
    #[error("not an audio file Lantern can read (WAV, FLAC, MP3 or OGG/Vorbis): {0}")]
    NotAudio(String),
    /// The file ends before its header or its declared length says it should.
    #[error("the audio file is truncated: {0}")]
    Truncated(String),
    /// The file is well formed but holds no samples.
    #[error("the audio holds no samples")]
    Empty,
    /// The container is known but the codec in it is not (for example AAC in OGG, ADPCM in WAV).
    #[error("unsupported audio codec: {0}")]
    UnsupportedCodec(String),
    /// More channels than a mixdown to mono is meant for.
    #[error("the audio has {channels} channels: at most {max} are supported")]
    TooManyChannels { channels: usize, max: usize },
    /// A sample rate outside the range Lantern accepts.
    #[error("a sample rate of {rate} Hz is outside the supported {min}..={max} Hz")]
    SampleRate { rate: u32, min: u32, max: u32 },
    /// The file is larger than Lantern reads; refused before reading it.
    #[error("the audio file is {size} bytes: files over {max} bytes are refused")]
    FileTooLarge { size: u64, max: u64 },
    /// The decoded audio would be longer than Lantern holds in memory.
    #[error("the audio is longer than {max_seconds} s at its sample rate")]
    TooLong { max_seconds: u64 },
    /// The codec data is damaged beyond what the decoder skips.
    #[error("the audio data is corrupt: {0}")]
    Corrupt(String),
    /// Reading the file failed.
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    /// An output buffer of the wrong size.
    #[error("the output buffer holds {len} values: {expected} are needed")]
    OutputBuffer { len: usize, expected: usize },
    /// The FFT rejected a buffer: a bug in this crate, not in the input.
    #[error("internal FFT error: {0}")]
    Fft(String),
}
