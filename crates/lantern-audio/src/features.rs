//! Whisper's log-mel spectrogram, as Hugging Face's `WhisperFeatureExtractor` computes it on its
//! NumPy path (`transformers/models/whisper/feature_extraction_whisper.py`,
//! `_np_extract_fbank_features`, over `audio_utils.spectrogram` and `audio_utils.mel_filter_bank`).
//!
//! Per window of `n_samples` (30 s at 16 kHz): the samples padded with `padding_value` or cut to
//! `n_samples`; reflect padding of `n_fft / 2` at both ends; frames every `hop_length` samples
//! under a periodic Hann window; the power spectrum; Slaney-scale mel filters with Slaney
//! normalisation from 0 to 8 kHz; `log10(max(e, 1e-10))`; the last frame dropped; values clamped
//! to the window's maximum − 8; `(x + 4) / 4`. As in transformers, the arithmetic up to the
//! logarithm is in `f64` (the FFT output rounded to `f32` complex, as NumPy stores it), the
//! rest in `f32`.
//!
//! Long recordings are read in windows two ways:
//! - [`FeatureExtractor::features_at`]: transformers' semantics for the window that starts at a
//!   sample offset (what its ASR pipeline computes for each chunk): each window is padded,
//!   reflected and normalised on its own.
//! - [`LongForm`]: the semantics of OpenAI's `transcribe` and of faster-whisper (CTranslate2),
//!   which compute one spectrogram of the whole recording, normalise it with its global
//!   maximum, and cut 3000-frame windows from it at frame offsets, zero-filled past the end of
//!   the audio. [`LongForm`] produces the same windows without holding that spectrogram: one
//!   pass finds the global maximum, then each window computes only its own frames.
//!
//! Neither holds more than one window of features: memory does not grow with the audio's length.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use serde::Deserialize;

use crate::AudioError;

/// transformers builds Whisper's filter bank from 0 to 8 kHz whatever the sample rate
/// (`WhisperFeatureExtractor.__init__`).
const MEL_MAX_HZ: f64 = 8000.0;
/// The floor under each mel energy before the logarithm (`spectrogram`'s `mel_floor`).
const MEL_FLOOR: f64 = 1e-10;
/// Values below the window's maximum minus this many decades are raised to it.
const DYNAMIC_RANGE: f32 = 8.0;

/// Bounds on `preprocessor_config.json`, so that a hostile file cannot make the extractor
/// allocate or compute without limit. Every released Whisper uses 16 kHz, `n_fft` 400,
/// hop 160, 30 s chunks and 80 or 128 mels.
const MAX_FEATURE_SIZE: usize = 512;
const N_FFT_RANGE: (usize, usize) = (16, 8192);
const MAX_CHUNK_LENGTH_S: usize = 120;
const SAMPLE_RATE_RANGE: (u32, u32) = (4_000, 384_000);
/// At most 16 M values (64 MB of `f32`) in one window of features.
const MAX_WINDOW_VALUES: usize = 1 << 24;

/// The fields of `preprocessor_config.json` that the Whisper feature extractor reads.
///
/// The derived fields a config may also carry (`n_samples`, `nb_max_frames`, an old
/// `mel_filters` table) are ignored: transformers recomputes them from these, and so do we.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FeatureConfig {
    /// Number of mel bins: 80, or 128 for large-v3.
    pub feature_size: usize,
    /// Sample rate the model expects, in Hz.
    pub sampling_rate: u32,
    /// Samples between frames.
    pub hop_length: usize,
    /// Seconds per window.
    pub chunk_length: usize,
    /// FFT length (and window length).
    pub n_fft: usize,
    /// Value the samples are padded with up to a full window.
    #[serde(default)]
    pub padding_value: f32,
    /// Gaussian noise added to each frame: random, so refused unless 0.
    #[serde(default)]
    pub dither: f32,
    #[serde(default)]
    pub feature_extractor_type: Option<String>,
}

impl FeatureConfig {
    /// The configuration of every released Whisper with `n_mels` mel bins (80, or 128 for
    /// large-v3).
    pub fn whisper(n_mels: usize) -> Self {
        Self {
            feature_size: n_mels,
            sampling_rate: 16_000,
            hop_length: 160,
            chunk_length: 30,
            n_fft: 400,
            padding_value: 0.0,
            dither: 0.0,
            feature_extractor_type: Some("WhisperFeatureExtractor".to_owned()),
        }
    }

    /// Reads `preprocessor_config.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, AudioError> {
        serde_json::from_slice(bytes).map_err(|e| AudioError::ConfigParse(e.to_string()))
    }

    fn check(&self) -> Result<(), AudioError> {
        if let Some(kind) = &self.feature_extractor_type
            && kind != "WhisperFeatureExtractor"
        {
            return Err(AudioError::UnsupportedExtractor(kind.clone()));
        }
        let bad = |field, value: &dyn fmt::Display, allowed| AudioError::ConfigValue {
            field,
            value: value.to_string(),
            allowed,
        };
        if !(1..=MAX_FEATURE_SIZE).contains(&self.feature_size) {
            return Err(bad("feature_size", &self.feature_size, "1..=512"));
        }
        if !(SAMPLE_RATE_RANGE.0..=SAMPLE_RATE_RANGE.1).contains(&self.sampling_rate) {
            return Err(bad("sampling_rate", &self.sampling_rate, "4000..=384000"));
        }
        if !(N_FFT_RANGE.0..=N_FFT_RANGE.1).contains(&self.n_fft) {
            return Err(bad("n_fft", &self.n_fft, "16..=8192"));
        }
        if !(1..=self.n_fft).contains(&self.hop_length) {
            return Err(bad("hop_length", &self.hop_length, "1..=n_fft"));
        }
        if !(1..=MAX_CHUNK_LENGTH_S).contains(&self.chunk_length) {
            return Err(bad("chunk_length", &self.chunk_length, "1..=120"));
        }
        if self.n_samples() < self.n_fft {
            return Err(bad(
                "chunk_length",
                &self.chunk_length,
                "a window of at least n_fft samples",
            ));
        }
        if self.n_frames().saturating_mul(self.feature_size) > MAX_WINDOW_VALUES {
            return Err(bad(
                "chunk_length",
                &self.chunk_length,
                "at most 16M values per window (feature_size × chunk samples / hop_length)",
            ));
        }
        if !self.padding_value.is_finite() {
            return Err(bad("padding_value", &self.padding_value, "a finite number"));
        }
        if self.dither != 0.0 {
            return Err(bad(
                "dither",
                &self.dither,
                "0: dither makes features random",
            ));
        }
        Ok(())
    }

    fn n_samples(&self) -> usize {
        self.chunk_length * self.sampling_rate as usize
    }

    /// Frames per window after the last is dropped: `spectrogram` makes
    /// `1 + (n + 2 * (n_fft / 2) - n_fft) / hop` frames from `n` samples.
    fn n_frames(&self) -> usize {
        (self.n_samples() + 2 * (self.n_fft / 2) - self.n_fft) / self.hop_length
    }
}

/// The bins where one mel filter is non-zero, and its weights there.
#[derive(Debug, Clone)]
struct MelFilter {
    first_bin: usize,
    weights: Vec<f64>,
}

/// Whisper's log-mel front end: the FFT plan, window and filter bank, made once.
///
/// ```
/// use lantern_audio::FeatureExtractor;
///
/// let config = br#"{"feature_size": 80, "sampling_rate": 16000, "hop_length": 160,
///                   "chunk_length": 30, "n_fft": 400}"#;
/// let extractor = FeatureExtractor::from_config_json(config)?;
/// let samples = vec![0.0f32; 16_000]; // 1 s of silence at 16 kHz
/// let features = extractor.extract(&samples)?;
/// assert_eq!(features.len(), 80 * 3000); // [n_mels, frames], row-major
/// # Ok::<(), lantern_audio::AudioError>(())
/// ```
#[derive(Clone)]
pub struct FeatureExtractor {
    config: FeatureConfig,
    n_frames: usize,
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    filters: Vec<MelFilter>,
}

impl fmt::Debug for FeatureExtractor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeatureExtractor")
            .field("config", &self.config)
            .field("n_frames", &self.n_frames)
            .finish_non_exhaustive()
    }
}

/// A signal as `spectrogram` sees it: `samples` followed by `pad_value` up to `len`, then
/// reflected (NumPy's `reflect`: about the end samples, which are not repeated) beyond both ends.
struct Signal<'a> {
    samples: &'a [f32],
    len: usize,
    pad_value: f32,
}

impl Signal<'_> {
    fn at(&self, k: isize) -> f32 {
        let index = if self.len == 1 {
            0
        } else {
            // NumPy reflects repeatedly when the padding is longer than the signal: a periodic
            // extension with period 2 (len - 1).
            let period = 2 * (self.len as isize - 1);
            let r = k.rem_euclid(period);
            (if r >= self.len as isize {
                period - r
            } else {
                r
            }) as usize
        };
        self.samples.get(index).copied().unwrap_or(self.pad_value)
    }
}

impl FeatureExtractor {
    /// Builds the extractor from `preprocessor_config.json`.
    pub fn from_config_json(bytes: &[u8]) -> Result<Self, AudioError> {
        Self::new(FeatureConfig::from_json(bytes)?)
    }

    /// Builds the extractor, refusing configurations outside the bounds a Whisper can have.
    pub fn new(config: FeatureConfig) -> Result<Self, AudioError> {
        config.check()?;
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(config.n_fft);
        let window = periodic_hann(config.n_fft);
        let filters = mel_filters(&config);
        Ok(Self {
            n_frames: config.n_frames(),
            config,
            fft,
            window,
            filters,
        })
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// Mel bins per frame (`feature_size`).
    pub fn n_mels(&self) -> usize {
        self.config.feature_size
    }

    /// Frames per window (3000 for Whisper).
    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    /// Samples per window (480 000 for Whisper).
    pub fn n_samples(&self) -> usize {
        self.config.n_samples()
    }

    pub fn hop_length(&self) -> usize {
        self.config.hop_length
    }

    pub fn sampling_rate(&self) -> u32 {
        self.config.sampling_rate
    }

    /// `WhisperFeatureExtractor(samples)["input_features"][0]`: the log-mel features of the
    /// first window of `samples` (padded or cut to [`n_samples`](Self::n_samples)), as
    /// `[n_mels, n_frames]` row-major.
    pub fn extract(&self, samples: &[f32]) -> Result<Vec<f32>, AudioError> {
        let mut out = vec![0.0; self.n_mels() * self.n_frames];
        self.extract_into(samples, &mut out)?;
        Ok(out)
    }

    /// [`extract`](Self::extract) into a buffer of `n_mels * n_frames` values, so that a
    /// decoder reading many windows reuses one.
    pub fn extract_into(&self, samples: &[f32], out: &mut [f32]) -> Result<(), AudioError> {
        self.check_out(out)?;
        let window = &samples[..samples.len().min(self.n_samples())];
        check_finite(window, 0)?;
        let signal = Signal {
            samples: window,
            len: self.n_samples(),
            pad_value: self.config.padding_value,
        };
        let n_frames = self.n_frames;
        let mut max = f32::NEG_INFINITY;
        self.log_mel_frames(&signal, 0..n_frames, |frame, mel| {
            for (m, &v) in mel.iter().enumerate() {
                out[m * n_frames + frame] = v;
                max = max.max(v);
            }
        })?;
        normalise(out, max);
        Ok(())
    }

    /// The features of the window that starts `start_sample` samples into `samples`, with
    /// transformers' per-window semantics: exactly `extract(&samples[start_sample..])`. A start
    /// past the end gives the features of a window of padding.
    pub fn features_at(
        &self,
        samples: &[f32],
        start_sample: usize,
    ) -> Result<Vec<f32>, AudioError> {
        self.extract(&samples[start_sample.min(samples.len())..])
    }

    /// Prepares windows of the whole-recording spectrogram that OpenAI's `transcribe` and
    /// faster-whisper decode from (see [`LongForm`]). Computes every frame once to find the
    /// global maximum; holds nothing but that maximum.
    pub fn long_form<'a>(&'a self, samples: &'a [f32]) -> Result<LongForm<'a>, AudioError> {
        check_finite(samples, 0)?;
        let signal = self.long_form_signal(samples);
        let frames = signal.len / self.config.hop_length;
        let mut max = f32::NEG_INFINITY;
        self.log_mel_frames(&signal, 0..frames, |_, mel| {
            max = mel.iter().fold(max, |a, &b| a.max(b));
        })?;
        Ok(LongForm {
            extractor: self,
            samples,
            max,
            content_frames: samples.len() / self.config.hop_length,
        })
    }

    /// faster-whisper appends 160 samples (one hop) of silence before its STFT.
    fn long_form_signal<'a>(&self, samples: &'a [f32]) -> Signal<'a> {
        Signal {
            samples,
            len: samples.len() + self.config.hop_length,
            pad_value: 0.0,
        }
    }

    fn check_out(&self, out: &[f32]) -> Result<(), AudioError> {
        let want = self.n_mels() * self.n_frames;
        if out.len() != want {
            return Err(AudioError::OutputBuffer {
                len: out.len(),
                expected: want,
            });
        }
        Ok(())
    }

    /// Computes the `log10` mel energies of `frames` of `signal`, handing each frame's
    /// `n_mels` values to `sink`.
    fn log_mel_frames(
        &self,
        signal: &Signal<'_>,
        frames: Range<usize>,
        mut sink: impl FnMut(usize, &[f32]),
    ) -> Result<(), AudioError> {
        let n_fft = self.config.n_fft;
        let hop = self.config.hop_length;
        let half = (n_fft / 2) as isize;
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f64; spectrum.len()];
        let mut mel = vec![0.0f32; self.filters.len()];
        for f in frames {
            let start = (f * hop) as isize - half;
            let inside = start >= 0 && start as usize + n_fft <= signal.samples.len();
            if inside {
                let src = &signal.samples[start as usize..start as usize + n_fft];
                for ((x, &s), &w) in frame.iter_mut().zip(src).zip(&self.window) {
                    *x = f64::from(s) * w;
                }
            } else {
                for (j, (x, &w)) in frame.iter_mut().zip(&self.window).enumerate() {
                    *x = f64::from(signal.at(start + j as isize)) * w;
                }
            }
            self.fft
                .process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
                .map_err(|e| AudioError::Fft(e.to_string()))?;
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = power_of(*c);
            }
            for (v, filter) in mel.iter_mut().zip(&self.filters) {
                let bins = &power[filter.first_bin..filter.first_bin + filter.weights.len()];
                let energy: f64 = filter.weights.iter().zip(bins).map(|(w, p)| w * p).sum();
                *v = energy.max(MEL_FLOOR).log10() as f32;
            }
            sink(f, &mel);
        }
        Ok(())
    }
}

/// Windows cut from the log-mel spectrogram of a whole recording, as OpenAI's `transcribe` and
/// faster-whisper (the CTranslate2 reference) decode long audio.
///
/// Their spectrogram is that of the audio followed by one hop of silence (faster-whisper's
/// `padding=160`), reflect-padded at both ends, normalised with the maximum over all its frames;
/// a window at frame offset `seek` holds frames `seek..seek + 3000` up to `content_frames`
/// (`samples / hop`), and zeros after (their `pad_or_trim` on the features). Made by
/// [`FeatureExtractor::long_form`].
#[derive(Debug)]
pub struct LongForm<'a> {
    extractor: &'a FeatureExtractor,
    samples: &'a [f32],
    max: f32,
    content_frames: usize,
}

impl LongForm<'_> {
    /// Frames that hold audio: `samples.len() / hop_length`. Decoding ends when `seek` reaches it.
    pub fn content_frames(&self) -> usize {
        self.content_frames
    }

    /// The global maximum of the `log10` mel energies that every window is normalised with.
    pub fn max_log10(&self) -> f32 {
        self.max
    }

    /// The `[n_mels, n_frames]` window that starts at frame `seek`.
    pub fn window(&self, seek: usize) -> Result<Vec<f32>, AudioError> {
        let fx = self.extractor;
        let mut out = vec![0.0; fx.n_mels() * fx.n_frames];
        self.window_into(seek, &mut out)?;
        Ok(out)
    }

    /// [`window`](Self::window) into a buffer of `n_mels * n_frames` values; returns how many
    /// of its frames hold audio (the rest are zeros).
    pub fn window_into(&self, seek: usize, out: &mut [f32]) -> Result<usize, AudioError> {
        let fx = self.extractor;
        fx.check_out(out)?;
        out.fill(0.0);
        let n_frames = fx.n_frames;
        let count = n_frames.min(self.content_frames.saturating_sub(seek));
        let floor = self.max - DYNAMIC_RANGE;
        let signal = fx.long_form_signal(self.samples);
        fx.log_mel_frames(&signal, seek..seek + count, |frame, mel| {
            for (m, &v) in mel.iter().enumerate() {
                out[m * n_frames + frame - seek] = (v.max(floor) + 4.0) / 4.0;
            }
        })?;
        Ok(count)
    }
}

/// `np.maximum(x, x.max() - 8.0)`, then `(x + 4.0) / 4.0`, in `f32` as NumPy does.
fn normalise(values: &mut [f32], max: f32) {
    let floor = max - DYNAMIC_RANGE;
    for v in values {
        *v = (v.max(floor) + 4.0) / 4.0;
    }
}

fn check_finite(samples: &[f32], offset: usize) -> Result<(), AudioError> {
    match samples.iter().position(|s| !s.is_finite()) {
        Some(i) => Err(AudioError::NonFiniteSample { index: offset + i }),
        None => Ok(()),
    }
}

/// `np.abs(spectrum.astype(complex64), dtype=float64) ** 2`: NumPy stores the FFT as `complex64`
/// before taking the power in `f64`. Where a component overflows `f32` (samples far outside
/// -1..1), the `f64` value is kept, so that the features stay finite.
fn power_of(c: Complex<f64>) -> f64 {
    let narrow = |x: f64| {
        let y = x as f32;
        if y.is_finite() { f64::from(y) } else { x }
    };
    let (re, im) = (narrow(c.re), narrow(c.im));
    re * re + im * im
}

/// `np.hanning(n + 1)[:-1]`, with NumPy's formula: `0.5 + 0.5 cos(pi k / (m - 1))` for
/// `k = 1 - m, 3 - m, ..`.
fn periodic_hann(n: usize) -> Vec<f64> {
    let m = n as f64 + 1.0;
    (0..n)
        .map(|i| {
            let k = 1.0 - m + 2.0 * i as f64;
            0.5 + 0.5 * (std::f64::consts::PI * k / (m - 1.0)).cos()
        })
        .collect()
}

/// `hertz_to_mel(f, mel_scale="slaney")`: linear below 1 kHz, logarithmic above.
fn hertz_to_mel(hz: f64) -> f64 {
    if hz >= 1000.0 {
        15.0 + (hz / 1000.0).ln() * (27.0 / 6.4f64.ln())
    } else {
        3.0 * hz / 200.0
    }
}

fn mel_to_hertz(mel: f64) -> f64 {
    if mel >= 15.0 {
        1000.0 * ((6.4f64.ln() / 27.0) * (mel - 15.0)).exp()
    } else {
        200.0 * mel / 3.0
    }
}

/// `np.linspace(start, stop, n)`: `start + i * step`, the last value exactly `stop`.
fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    let step = (stop - start) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    if let Some(last) = v.last_mut() {
        *last = stop;
    }
    v
}

/// `mel_filter_bank(n_fft // 2 + 1, feature_size, 0, 8000, sampling_rate, norm="slaney",
/// mel_scale="slaney")`, stored by filter as the run of bins where it is non-zero.
fn mel_filters(config: &FeatureConfig) -> Vec<MelFilter> {
    let n_bins = config.n_fft / 2 + 1;
    let n_mels = config.feature_size;
    let mels = linspace(hertz_to_mel(0.0), hertz_to_mel(MEL_MAX_HZ), n_mels + 2);
    let edges: Vec<f64> = mels.into_iter().map(mel_to_hertz).collect();
    let bins = linspace(0.0, f64::from(config.sampling_rate / 2), n_bins);
    (0..n_mels)
        .map(|m| {
            let (lo, mid, hi) = (edges[m], edges[m + 1], edges[m + 2]);
            let enorm = 2.0 / (hi - lo);
            let weights: Vec<f64> = bins
                .iter()
                .map(|&f| {
                    let down = -(lo - f) / (mid - lo);
                    let up = (hi - f) / (hi - mid);
                    0f64.max(down.min(up)) * enorm
                })
                .collect();
            let first = weights.iter().position(|&w| w != 0.0).unwrap_or(0);
            let last = weights.iter().rposition(|&w| w != 0.0).map_or(0, |i| i + 1);
            MelFilter {
                first_bin: first,
                weights: weights[first..last.max(first)].to_vec(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_numpy() {
        // np.pad(np.arange(3), (5, 5), mode="reflect")
        let samples = [0.0, 1.0, 2.0];
        let signal = Signal {
            samples: &samples,
            len: 3,
            pad_value: 0.0,
        };
        let got: Vec<f32> = (-5..8).map(|k| signal.at(k)).collect();
        let want = [1., 0., 1., 2., 1., 0., 1., 2., 1., 0., 1., 2., 1.];
        assert_eq!(got, want);
    }

    #[test]
    fn hann_is_periodic() {
        let w = periodic_hann(400);
        assert_eq!(w[0], 0.0);
        assert!((w[200] - 1.0).abs() < 1e-15);
        assert!((w[100] - 0.5).abs() < 1e-15);
        assert!((w[1] - w[399]).abs() < 1e-15);
    }
}
