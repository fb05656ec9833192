//! `automatic-speech-recognition`: audio in, text out, with segment timestamps when asked —
//! transformers' `pipeline("automatic-speech-recognition", return_timestamps=True)` shape, and
//! OpenAI's decoder: the special-token prompt, suppressed tokens, greedy or beam search, the
//! temperature fallback when a window repeats itself or is a guess, silent windows skipped,
//! language detection on multilingual models, and long audio in 30 s windows with the
//! previous text as the prompt.
//!
//! The model is Whisper (`WhisperForConditionalGeneration`) from safetensors, on the CPU or a
//! GPU ([`lantern_models::whisper`]); the features are `lantern_audio`'s log-mel spectrogram.
//!
//! ```no_run
//! # async fn demo(source: &impl lantern_pipelines::source::FileSource, samples: &[f32]) -> Result<(), lantern_pipelines::PipelineError> {
//! use lantern_core::protocol::TranscribeOptions;
//! use lantern_pipelines::device::Device;
//! use lantern_pipelines::speech_recognition;
//!
//! let asr = speech_recognition::load(source, Device::Cpu).await?.pipeline;
//! // 16 kHz mono samples.
//! let transcript = asr
//!     .transcribe_async(samples, &TranscribeOptions::default(), &mut |_| {}, &|| false)
//!     .await?;
//! println!("{}", transcript.text);
//! # Ok(()) }
//! ```

mod languages;
mod longform;
mod rules;
mod search;
mod tokens;

use lantern_audio::{AudioError, FeatureExtractor};
use lantern_core::protocol::{
    Chunk, Partial, SpeechTask, TranscribeInput, TranscribeOptions, Transcript,
};
use lantern_models::ModelError;
use lantern_models::ops::Backend;
use lantern_models::whisper::{self, AnyMemory, AnyState, SpeechModel};
use tokenizers::Tokenizer;

pub use longform::Fallback;
pub use tokens::{GenerationConfig, SpecialTokens};

use crate::device::{Arithmetic, Device, Loaded, Loader, load_on};
use crate::error::PipelineError;
use crate::source::{FileSource, read_optional, read_required};
use crate::steps::Steps;
use crate::tasks::{FileChoice, FileList};
use crate::text_generation::sampling::Rng;
use longform::{Fallback as FallbackRule, MAX_PROMPT_TOKENS, Piece};
use rules::Rules;
use search::{SearchOptions, StepModel, WindowResult, compression_ratio, decode_window};
use tokens::Suppression;

/// What the pipeline cannot run without.
pub const REQUIRED: [&str; 4] = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "preprocessor_config.json",
];
/// Read where the repository has it: the suppressed tokens and the timestamp limit (OpenAI's
/// defaults otherwise).
const OPTIONAL: [&str; 1] = ["generation_config.json"];

/// The multilingual vocabulary's size (OpenAI tells the models apart by it).
const MULTILINGUAL_VOCAB: usize = 51865;

/// Beams at most (each beam is a decoder state and a step per token).
pub const MAX_BEAMS: usize = 16;

/// Errors of speech recognition.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpeechError {
    #[error("{file} is not valid: {reason}")]
    InvalidConfig { file: &'static str, reason: String },
    #[error("tokenizer: {0}")]
    Vocabulary(String),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(
        "{0:?} is not a language Whisper knows (give a code such as en, de, fr, or an English name)"
    )]
    UnknownLanguage(String),
    #[error("this model is English-only: it cannot {0}")]
    EnglishOnly(String),
    #[error("num_beams must be 1 to {MAX_BEAMS}, not {0}")]
    Beams(usize),
    #[error("cancelled")]
    Cancelled,
    /// A bug: a state the decoder should never reach.
    #[error("internal error in the speech decoder: {0}")]
    Internal(&'static str),
}

/// What a transcription reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum SpeechEvent {
    /// A window is done: `done_s` of `total_s` seconds of audio.
    Progress { done_s: f64, total_s: f64 },
    /// A finished segment, in order.
    Segment(Segment),
    /// The language was detected.
    Language(String),
    /// A window was decoded: its prompt and what came of it (for checking against other
    /// decoders, and for logs).
    Window {
        seek: usize,
        prompt: Vec<u32>,
        tokens: Vec<u32>,
        temperature: f32,
        avg_logprob: f64,
        no_speech_prob: f64,
    },
}

/// A finished segment: its text, its place in the audio in seconds (a whole window's span
/// without timestamps), and its tokens (timestamps included).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
    pub tokens: Vec<u32>,
}

/// What of a [`SpeechEvent`] the page is shown while the transcript grows (the window's
/// tokens are for tests and logs).
pub fn partial(event: SpeechEvent) -> Option<Partial> {
    match event {
        SpeechEvent::Progress { done_s, total_s } => {
            Some(Partial::SpeechProgress { done_s, total_s })
        }
        SpeechEvent::Segment(s) => Some(Partial::SpeechSegment(Chunk {
            timestamp: (s.start, s.end),
            text: s.text,
        })),
        SpeechEvent::Language(language) => Some(Partial::SpeechLanguage { language }),
        SpeechEvent::Window { .. } => None,
    }
}

/// The files a speech recognizer is read from.
pub fn files<S: FileSource>(source: &S) -> Result<FileChoice, PipelineError> {
    FileList {
        required: &REQUIRED,
        one_of: &[],
        optional: &OPTIONAL,
        runs: "Lantern's speech recognition runs Whisper from safetensors, in the layout of the \
               Hub's openai/whisper-* repositories",
        whose: "Whisper's",
    }
    .choose(source)
}

/// Loads Whisper from the source onto `device` (the CPU when the GPU cannot take it).
pub async fn load<S: FileSource>(
    source: &S,
    device: Device,
) -> Result<Loaded<SpeechRecognizer>, PipelineError> {
    let config_json = read_required(source, "config.json").await?;
    let config = whisper::Config::from_json(&config_json).map_err(SpeechError::from)?;
    let tokenizer_json = read_required(source, "tokenizer.json").await?;
    let tokenizer = Tokenizer::from_bytes(&tokenizer_json)
        .map_err(|e| SpeechError::Vocabulary(e.to_string()))?;

    let preprocessor = read_required(source, "preprocessor_config.json").await?;
    let features = FeatureExtractor::from_config_json(&preprocessor).map_err(SpeechError::from)?;
    if features.n_mels() != config.num_mel_bins {
        return Err(SpeechError::InvalidConfig {
            file: "preprocessor_config.json",
            reason: format!(
                "{} mel bins, but the model takes {}",
                features.n_mels(),
                config.num_mel_bins
            ),
        }
        .into());
    }
    let generation = match read_optional(source, "generation_config.json").await? {
        Some(json) => GenerationConfig::from_json(&json)?,
        None => GenerationConfig::default(),
    };
    let multilingual = generation
        .is_multilingual
        .unwrap_or(config.vocab_size >= MULTILINGUAL_VOCAB);
    let special = SpecialTokens::from_tokenizer(&tokenizer, multilingual)?;
    let suppression = Suppression::new(&generation, &special, config.vocab_size);
    let loader = SpeechLoader {
        source,
        config: &config,
    };
    let loaded = load_on(device, largest_buffer(&config), &loader).await?;
    Ok(Loaded {
        pipeline: SpeechRecognizer {
            model: loaded.pipeline,
            tokenizer,
            special,
            suppression,
            generation,
            features,
        },
        fallback: loaded.fallback,
    })
}

/// Bytes of the largest GPU buffer Whisper makes: the token table (also the output
/// projection), the second convolution's windows, the encoder's feed-forward activation, or
/// one encoder attention's scores.
fn largest_buffer(c: &whisper::Config) -> u64 {
    let f = 4u64;
    let (d, src) = (c.d_model as u64, c.max_source_positions as u64);
    [
        c.vocab_size as u64 * d * f,
        2 * src * 3 * d * f,
        src * c.encoder_ffn_dim as u64 * f,
        c.encoder_attention_heads as u64 * src * src * f,
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

struct SpeechLoader<'s, S> {
    source: &'s S,
    config: &'s whisper::Config,
}

impl<S: FileSource> Loader for SpeechLoader<'_, S> {
    // Greedy decoding follows the largest logit: f16 arithmetic would change tokens where two
    // are close, so a GPU computes in f32 (as the CPU does).
    const ARITHMETIC: Arithmetic = Arithmetic::Exact;
    type Output = Box<dyn SpeechModel>;

    async fn load<B: Backend>(&self, backend: B) -> Result<Box<dyn SpeechModel>, PipelineError> {
        let weights = read_required(self.source, "model.safetensors").await?;
        Ok(whisper::load_whisper_on(backend, self.config, &weights).map_err(SpeechError::from)?)
    }
}

/// A loaded speech recognizer.
#[derive(Debug)]
pub struct SpeechRecognizer {
    model: Box<dyn SpeechModel>,
    tokenizer: Tokenizer,
    special: SpecialTokens,
    suppression: Suppression,
    generation: GenerationConfig,
    features: FeatureExtractor,
}

/// One window's decoder: the model over that window's encoder output.
struct Window<'m> {
    model: &'m dyn SpeechModel,
    memory: &'m AnyMemory,
}

impl StepModel for Window<'_> {
    type State = AnyState;

    fn start(&self) -> Result<AnyState, SpeechError> {
        Ok(self.model.start(self.memory)?)
    }

    async fn step(&self, state: &mut AnyState, tokens: &[u32]) -> Result<Vec<f32>, SpeechError> {
        Ok(self.model.step_async(state, tokens).await?)
    }

    fn fork(&self, state: &AnyState) -> Result<AnyState, SpeechError> {
        Ok(self.model.fork(state)?)
    }
}

impl SpeechRecognizer {
    pub fn backend_name(&self) -> String {
        self.model.backend_name()
    }

    /// The sample rate the model hears (16 kHz).
    pub fn sample_rate(&self) -> u32 {
        self.features.sampling_rate()
    }

    pub fn multilingual(&self) -> bool {
        self.special.multilingual()
    }

    /// Samples as decoded (any rate, `channels` interleaved) → the model's rate, mono.
    pub fn prepare(
        &self,
        interleaved: &[f32],
        sample_rate: u32,
        channels: usize,
    ) -> Result<Vec<f32>, SpeechError> {
        lantern_audio::check_format(sample_rate, channels)?;
        let mono = lantern_audio::to_mono(interleaved, channels)?;
        if sample_rate == self.sample_rate() {
            return Ok(mono);
        }
        Ok(lantern_audio::resample(
            &mono,
            sample_rate,
            self.sample_rate(),
        )?)
    }

    /// Runs a protocol request: the payload's samples (little-endian `f32`, any rate and
    /// channel count) prepared, then transcribed.
    pub async fn run_async(
        &self,
        input: TranscribeInput,
        events: &mut dyn FnMut(SpeechEvent),
        steps: &dyn Steps,
    ) -> Result<Transcript, SpeechError> {
        let bytes = input.samples.into_bytes().map_err(|e| {
            SpeechError::Audio(AudioError::NotAudio(format!("the request's samples: {e}")))
        })?;
        if bytes.len() % 4 != 0 {
            return Err(SpeechError::Audio(AudioError::NotAudio(format!(
                "{} bytes of samples is not a whole number of f32 values",
                bytes.len()
            ))));
        }
        let interleaved: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        drop(bytes);
        // What the page sends is already 16 kHz mono: used as it is, not copied again (an hour
        // of audio is 230 MB of samples in a worker's memory).
        let samples = if input.channels == 1 && input.sample_rate == self.sample_rate() {
            lantern_audio::check_format(input.sample_rate, 1)?;
            interleaved
        } else {
            let prepared =
                self.prepare(&interleaved, input.sample_rate, usize::from(input.channels))?;
            drop(interleaved);
            prepared
        };
        self.transcribe_async(&samples, &input.options, events, steps)
            .await
    }

    /// Transcribes (or translates) mono samples at [`Self::sample_rate`]. `events` hears each
    /// finished segment and each window's progress; `steps` is asked between decoder
    /// steps whether to stop.
    pub async fn transcribe_async(
        &self,
        samples: &[f32],
        options: &TranscribeOptions,
        events: &mut dyn FnMut(SpeechEvent),
        steps: &dyn Steps,
    ) -> Result<Transcript, SpeechError> {
        let beams = options.num_beams.unwrap_or(1);
        if beams == 0 || beams > MAX_BEAMS {
            return Err(SpeechError::Beams(beams));
        }
        let language = self.language_token(options)?;
        let task = match options.task {
            SpeechTask::Transcribe => self.special.transcribe,
            // An English-only vocabulary has the token, but the model was never taught it.
            SpeechTask::Translate if !self.special.multilingual() => {
                return Err(SpeechError::EnglishOnly("translate".into()));
            }
            SpeechTask::Translate => Some(self.special.translate.ok_or_else(|| {
                SpeechError::Vocabulary("tokenizer.json has no <|translate|>".into())
            })?),
        };
        let hop = self.features.hop_length();
        let audio_s = samples.len() as f64 / f64::from(self.sample_rate());
        let long = self.features.long_form(samples)?;
        let content = long.content_frames();
        let window_frames = self.features.n_frames();
        let fallback = FallbackRule::default();
        let mut rng = Rng::new(0);
        let mut detected: Option<String> = None;
        let mut language = language;
        let mut all_tokens: Vec<u32> = Vec::new();
        let mut prompt_reset_since = 0;
        let mut chunks: Vec<Chunk> = Vec::new();
        let mut text_tokens: Vec<u32> = Vec::new();
        let mut seek = 0usize;
        let max_new = self.max_new_tokens();
        let mut mel = vec![0.0f32; self.features.n_mels() * window_frames];
        while seek < content {
            if crate::steps::stop_here(steps).await {
                return Err(SpeechError::Cancelled);
            }
            let frames = long.window_into(seek, &mut mel)?;
            let offset = (seek * hop) as f64 / f64::from(self.sample_rate());
            let memory = self.model.encode(&mel, window_frames)?;
            let window = Window {
                model: self.model.as_ref(),
                memory: &memory,
            };
            if language.is_none() && self.special.multilingual() {
                let (token, code) = self.detect_language(&window).await?;
                events(SpeechEvent::Language(code.clone()));
                detected = Some(code);
                language = Some(token);
            }
            let context = &all_tokens[prompt_reset_since..];
            let (prompt, sot_index) = self.prompt(context, language, task, options.timestamps);
            let rules = Rules {
                special: &self.special,
                suppression: &self.suppression,
                timestamps: options.timestamps,
                max_initial_timestamp_index: self.generation.max_initial_timestamp_index(),
            };
            let result = self
                .decode_with_fallback(
                    &window, &rules, &prompt, sot_index, beams, max_new, &fallback, &mut rng, steps,
                )
                .await?;
            drop(memory);
            events(SpeechEvent::Window {
                seek,
                prompt: prompt.clone(),
                tokens: result.tokens.clone(),
                temperature: result.temperature,
                avg_logprob: result.avg_logprob,
                no_speech_prob: result.no_speech_prob,
            });
            if fallback.silent(result.avg_logprob, result.no_speech_prob) {
                seek += frames.max(1);
                events(SpeechEvent::Progress {
                    done_s: longform::seconds(seek.min(content)),
                    total_s: audio_s,
                });
                continue;
            }
            let split = longform::split(&result.tokens, &self.special, offset, frames);
            for Piece { start, end, tokens } in split.pieces {
                let text = self.decode_text(&tokens)?;
                // OpenAI drops a segment without text or without length: its tokens would
                // only mislead the next window's prompt.
                if text.trim().is_empty() || start == end {
                    continue;
                }
                chunks.push(Chunk {
                    timestamp: (start, end),
                    text: text.clone(),
                });
                text_tokens.extend_from_slice(&tokens);
                all_tokens.extend_from_slice(&tokens);
                events(SpeechEvent::Segment(Segment {
                    start,
                    end,
                    text,
                    tokens,
                }));
            }
            // OpenAI conditions on the previous text unless the window needed a hot retry
            // (its text is then likely wrong, and would mislead the next window).
            if result.temperature > 0.5 {
                prompt_reset_since = all_tokens.len();
            }
            seek += split.advance;
            events(SpeechEvent::Progress {
                done_s: longform::seconds(seek.min(content)),
                total_s: audio_s,
            });
        }
        let text = self.decode_text(&text_tokens)?;
        Ok(Transcript {
            text,
            chunks: if options.timestamps {
                chunks
            } else {
                Vec::new()
            },
            language: detected.or_else(|| {
                language
                    .and_then(|t| self.special.language_code(t))
                    .map(str::to_owned)
                    .or_else(|| (!self.special.multilingual()).then(|| "en".to_owned()))
            }),
            audio_s,
            warnings: Vec::new(),
        })
    }

    /// The language token asked for (`None`: detect it, or an English-only model).
    fn language_token(&self, options: &TranscribeOptions) -> Result<Option<u32>, SpeechError> {
        let Some(asked) = options.language.as_deref() else {
            return Ok(None);
        };
        let code =
            languages::code(asked).ok_or_else(|| SpeechError::UnknownLanguage(asked.into()))?;
        if !self.special.multilingual() {
            return if code == "en" {
                Ok(None)
            } else {
                Err(SpeechError::EnglishOnly(format!("transcribe {asked}")))
            };
        }
        self.special
            .language_token(code)
            .map(Some)
            .ok_or_else(|| SpeechError::UnknownLanguage(asked.into()))
    }

    /// The likeliest language of a window: the logits after `<|startoftranscript|>`, over the
    /// language tokens.
    async fn detect_language(&self, window: &Window<'_>) -> Result<(u32, String), SpeechError> {
        let mut state = window.start()?;
        let logits = window.step(&mut state, &[self.special.sot]).await?;
        let best = self
            .special
            .languages
            .iter()
            .filter_map(|(code, t)| logits.get(*t as usize).map(|&l| (l, *t, code)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .ok_or(SpeechError::Internal("no language tokens"))?;
        Ok((best.1, best.2.clone()))
    }

    /// The prompt of a window: the earlier text after `<|startofprev|>` (its last 223 tokens),
    /// then `<|startoftranscript|>`, the language and the task (multilingual models), and
    /// `<|notimestamps|>` without timestamps. Returns it and where `<|startoftranscript|>` is.
    fn prompt(
        &self,
        context: &[u32],
        language: Option<u32>,
        task: Option<u32>,
        timestamps: bool,
    ) -> (Vec<u32>, usize) {
        let mut prompt = Vec::new();
        if !context.is_empty() {
            prompt.push(self.special.sot_prev);
            prompt.extend_from_slice(&context[context.len().saturating_sub(MAX_PROMPT_TOKENS)..]);
        }
        let sot_index = prompt.len();
        prompt.push(self.special.sot);
        if self.special.multilingual() {
            prompt.extend(language);
            prompt.extend(task);
        }
        if !timestamps {
            prompt.push(self.special.no_timestamps);
        }
        (prompt, sot_index)
    }

    /// New tokens per window at most: half the decoder's positions (OpenAI's `sample_len`).
    fn max_new_tokens(&self) -> usize {
        (self.model.config().max_target_positions / 2).max(1)
    }

    #[allow(clippy::too_many_arguments)]
    async fn decode_with_fallback(
        &self,
        window: &Window<'_>,
        rules: &Rules<'_>,
        prompt: &[u32],
        sot_index: usize,
        beams: usize,
        max_new: usize,
        fallback: &FallbackRule,
        rng: &mut Rng,
        steps: &dyn Steps,
    ) -> Result<WindowResult, SpeechError> {
        let mut last: Option<WindowResult> = None;
        for &temperature in &fallback.temperatures {
            let options = SearchOptions {
                temperature,
                beams: if temperature > 0.0 { 1 } else { beams },
                best_of: if temperature > 0.0 { 5 } else { 1 },
                max_new,
                length_penalty: None,
            };
            let result =
                decode_window(window, rules, prompt, sot_index, &options, rng, steps).await?;
            let text = self.decode_text(&result.tokens)?;
            let ratio = compression_ratio(&text);
            if !fallback.retry(ratio, result.avg_logprob, result.no_speech_prob) {
                return Ok(result);
            }
            last = Some(result);
        }
        last.ok_or(SpeechError::Internal("no temperature to decode at"))
    }

    /// Text of tokens, without special or timestamp tokens.
    fn decode_text(&self, tokens: &[u32]) -> Result<String, SpeechError> {
        let text: Vec<u32> = tokens
            .iter()
            .copied()
            .filter(|&t| t < self.special.text_end)
            .collect();
        self.tokenizer
            .decode(&text, true)
            .map_err(|e| SpeechError::Vocabulary(e.to_string()))
    }
}
