//! `text-generation`: a chat (or raw text) in, generated text out, streamed.
//!
//! ```no_run
//! use lantern_core::{ChatMessage, Role, SamplingParams};
//! use lantern_pipelines::text_generation::{Prompt, TextGeneration};
//!
//! let bytes = std::fs::read("SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let mut pipe = TextGeneration::from_gguf(bytes.into())?;
//! let prompt = Prompt::Chat(vec![ChatMessage::new(Role::User, "What is the capital of France?")]);
//! let out = pipe.generate(&prompt, &SamplingParams::default(), &mut |chunk| print!("{chunk}"), &|| false)?;
//! eprintln!("\n{} tokens at {:.1} tok/s", out.generated_tokens, out.decode_tok_s);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A generation is a [`Session`] stepped one token at a time, so a caller (the browser worker)
//! can yield between steps, show each chunk, and cancel.

mod gguf_choice;
pub(crate) mod sampling;
mod stop;

use std::cell::RefCell;

use lantern_core::{ChatMessage, SamplingParams, protocol::GenerationStats};
use lantern_models::gguf::GgufFile;
use lantern_models::ops::Backend;
use lantern_models::{CausalLm, Logits, ModelBytes, ModelError, load_causal_lm, load_causal_lm_on};
use web_time::Instant;

pub use gguf_choice::{
    Choice as GgufChoice, GgufFile as GgufListing, choose as choose_gguf, quant_of,
};

pub use sampling::{REPEAT_LAST_N, Rng, Sampler, argmax};
pub use stop::StopFilter;

use crate::chat_template::{ChatTemplate, TemplateError};
use crate::device::{Device, Loaded, Loader, load_on};
use crate::error::PipelineError;
use crate::source::{FileSource, SourceError};
use crate::tasks::{FileChoice, Wanted};
use crate::tokenizer::{DecoderState, Tokenizer, TokenizerError};

/// The file a text-generation model is read from: one `.gguf` of the repository — the one the
/// author picked or pinned, checked, or the default pick ([`choose_gguf`]: Q4_K_M, then
/// Q4_1/Q4_0, then the smallest that runs). The report lists every `.gguf` file with its size
/// and why it can or cannot be used.
pub fn files(paths: &[(String, u64)], wanted: Wanted<'_>) -> Result<FileChoice, PipelineError> {
    let ggufs = |files: &[String]| -> Vec<String> {
        files
            .iter()
            .filter(|f| f.to_ascii_lowercase().ends_with(".gguf"))
            .cloned()
            .collect()
    };
    let requested = match wanted {
        Wanted::Choose => None,
        Wanted::Pick(file) => Some(file.to_owned()),
        Wanted::Pinned(files) => match ggufs(files).as_slice() {
            [one] => Some(one.clone()),
            [] => {
                let have = ggufs(&paths.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>());
                return Err(PipelineError::UnsupportedModel(format!(
                    "a text-generation demo must name its .gguf file in [model] files (the \
                     repository has: {}); `lantern new` picks one for you",
                    if have.is_empty() {
                        "none".to_owned()
                    } else {
                        have.join(", ")
                    }
                )));
            }
            many => {
                return Err(PipelineError::UnsupportedModel(format!(
                    "a text-generation demo runs one .gguf file; [model] files names {}",
                    many.len()
                )));
            }
        },
    };
    let requested = requested.as_deref();
    let wanted_kind = wanted;
    let Some(choice) = choose_gguf(paths) else {
        return Err(PipelineError::UnsupportedModel(
            "the repository has no .gguf file; Lantern runs text generation from GGUF \
             (look for a GGUF version of the model, usually a repository named …-GGUF)"
                .into(),
        ));
    };
    let mut report = format!("GGUF files:\n{}", choice.table());
    let file = match requested {
        Some(wanted) => {
            let Some(file) = choice.files.iter().find(|g| g.path == wanted) else {
                return Err(PipelineError::UnsupportedModel(format!(
                    "the repository has no file {wanted:?} (its .gguf files: {})",
                    choice
                        .files
                        .iter()
                        .map(|g| g.path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            // A pinned file's size is checked with the whole model's by whoever pins it.
            let pinned = matches!(wanted_kind, Wanted::Pinned(_));
            if let Some(why) = file
                .unusable
                .filter(|&w| !(pinned && w == gguf_choice::TOO_LARGE))
            {
                return Err(PipelineError::UnsupportedModel(format!(
                    "{wanted} cannot run in the browser: {why}"
                )));
            }
            report.push_str(&format!("using {wanted} (asked for)\n"));
            wanted.to_owned()
        }
        None => {
            let Some(picked) = choice.picked() else {
                return Err(PipelineError::UnsupportedModel(format!(
                    "none of the repository's .gguf files can run in the browser ({}); \
                     name one (--file) to insist:\n{}",
                    choice.why,
                    choice.table()
                )));
            };
            report.push_str(&format!(
                "picked {} ({}): {}\n",
                picked.path,
                crate::limits::human_bytes(picked.size),
                choice.why
            ));
            picked.path.clone()
        }
    };
    Ok(FileChoice {
        files: vec![file],
        report,
        picked: true,
    })
}

/// Loads the chat model from the source's `.gguf` file onto `device` (the CPU when the GPU
/// cannot take it; [`Loaded::fallback`] says why).
pub async fn load<S: FileSource>(
    source: &S,
    device: Device,
) -> Result<Loaded<TextGeneration>, PipelineError> {
    let path = source
        .paths()
        .into_iter()
        .map(|(p, _)| p)
        .find(|p| p.to_ascii_lowercase().ends_with(".gguf"))
        .ok_or_else(|| {
            PipelineError::UnsupportedModel("a text-generation model needs a .gguf file".into())
        })?;
    let bytes = source.read(&path).await?;
    let largest = largest_buffer(&bytes);
    let loader = GgufLoader {
        source,
        path,
        first: RefCell::new(Some(bytes)),
    };
    load_on(device, largest, &loader).await
}

/// The largest buffer the model asks a GPU for at once: the KV cache of one layer at the full
/// context (weights larger than a binding are split by rows, so they fit any adapter).
/// Anything this misses (an activation of a very long prompt) is a device error at run time,
/// which falls back like a lost device. A file that does not parse is left to the loader,
/// which reports it properly.
fn largest_buffer(gguf: &[u8]) -> u64 {
    let Ok(file) = GgufFile::parse(gguf) else {
        return 0;
    };
    let Ok(c) = lantern_models::llama::Config::from_metadata(&file.metadata) else {
        return 0;
    };
    (c.kv_heads * c.head_dim * 4) as u64 * c.context_length as u64
}

/// Reads the GGUF (the first time from the bytes already read for [`largest_buffer`]) and
/// loads it onto a backend.
struct GgufLoader<'s, S> {
    source: &'s S,
    path: String,
    first: RefCell<Option<Vec<u8>>>,
}

impl<S: FileSource> Loader for GgufLoader<'_, S> {
    type Output = TextGeneration;

    async fn load<B: Backend>(&self, backend: B) -> Result<TextGeneration, PipelineError> {
        let first = self.first.borrow_mut().take();
        let bytes = match first {
            Some(bytes) => bytes,
            None => self
                .source
                .read(&self.path)
                .await
                .map_err(|e: SourceError| PipelineError::Source(e))?,
        };
        let model = load_causal_lm_on(backend, ModelBytes::new(bytes))?;
        Ok(TextGeneration::from_model(model)?)
    }
}

/// Errors of text generation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GenerationError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(
        "the prompt ({prompt_tokens} tokens) and up to {max_tokens} new tokens do not fit the context window of {context} tokens"
    )]
    ContextOverflow {
        prompt_tokens: usize,
        max_tokens: usize,
        context: usize,
    },
    #[error("the prompt is empty")]
    EmptyPrompt,
}

impl GenerationError {
    /// A short stable name for UIs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            GenerationError::Model(e) => e.code(),
            GenerationError::Tokenizer(e) => e.code(),
            GenerationError::Template(e) => e.code(),
            GenerationError::ContextOverflow { .. } => "context_overflow",
            GenerationError::EmptyPrompt => "empty_prompt",
        }
    }
}

pub type Result<T, E = GenerationError> = std::result::Result<T, E>;

/// What to generate from.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// Messages, put through the model's chat template with the generation prompt added.
    Chat(Vec<ChatMessage>),
    /// Text tokenized as it is (special tokens written in it are parsed).
    Raw(String),
}

/// What to do when the prompt and `max_tokens` do not fit the context window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Refuse with [`GenerationError::ContextOverflow`].
    #[default]
    Error,
    /// Drop tokens from the start of the prompt until they fit.
    TruncateStart,
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// An end-of-generation token (EOS, end of turn).
    Eos,
    /// A stop string.
    Stop,
    /// `max_tokens`, or the end of the context window.
    MaxTokens,
    Cancelled,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Eos => "eos",
            StopReason::Stop => "stop",
            StopReason::MaxTokens => "max_tokens",
            StopReason::Cancelled => "cancelled",
        }
    }
}

/// A finished generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub text: String,
    /// Generated token ids (the end-of-generation token is not included).
    pub tokens: Vec<u32>,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    /// Prompt tokens run through the model per second (tokens found in the cache from the
    /// previous turn are not run again and not counted).
    pub prefill_tok_s: f64,
    /// Decode steps per second.
    pub decode_tok_s: f64,
    pub prefill_ms: f64,
    pub decode_ms: f64,
    pub stop_reason: StopReason,
    pub backend: String,
}

impl Generation {
    pub fn stats(&self) -> GenerationStats {
        GenerationStats {
            prompt_tokens: self.prompt_tokens,
            generated_tokens: self.generated_tokens,
            prefill_tok_s: self.prefill_tok_s,
            decode_tok_s: self.decode_tok_s,
            backend: self.backend.clone(),
            stop_reason: self.stop_reason.as_str().to_owned(),
        }
    }
}

/// The text-generation pipeline: a model, its tokenizer and chat template.
#[derive(Debug)]
pub struct TextGeneration {
    model: Box<dyn CausalLm>,
    tokenizer: Tokenizer,
    template: Option<ChatTemplate>,
    overflow: Overflow,
    /// Tokens whose keys and values the model holds, in order (reused by the next prompt
    /// that starts with them).
    cached: Vec<u32>,
}

impl TextGeneration {
    /// From a GGUF file's bytes: the model, and the tokenizer and chat template of its
    /// metadata.
    pub fn from_gguf(bytes: ModelBytes) -> Result<Self> {
        Self::from_model(load_causal_lm(bytes)?)
    }

    /// From a loaded model (on any backend): the tokenizer and chat template of its metadata.
    pub fn from_model(model: Box<dyn CausalLm>) -> Result<Self> {
        let tokenizer = Tokenizer::from_gguf(model.metadata())?;
        let template = model
            .metadata()
            .opt_str("tokenizer.chat_template")?
            .map(|src| {
                let text =
                    |id: Option<u32>| id.and_then(|i| tokenizer.token_text(i)).unwrap_or_default();
                ChatTemplate::new(src, text(tokenizer.bos()), text(tokenizer.eos()))
            });
        Ok(Self::new(model, tokenizer, template))
    }

    pub fn new(
        model: Box<dyn CausalLm>,
        tokenizer: Tokenizer,
        template: Option<ChatTemplate>,
    ) -> Self {
        TextGeneration {
            model,
            tokenizer,
            template,
            overflow: Overflow::Error,
            cached: Vec::new(),
        }
    }

    pub fn set_overflow(&mut self, overflow: Overflow) {
        self.overflow = overflow;
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn chat_template(&self) -> Option<&ChatTemplate> {
        self.template.as_ref()
    }

    pub fn model(&self) -> &dyn CausalLm {
        self.model.as_ref()
    }

    /// Forgets the cached positions: the next prompt runs in full (benchmarks, or a caller
    /// that wants no reuse between turns).
    pub fn clear_cache(&mut self) {
        self.cached.clear();
        self.model.clear_cache();
    }

    /// The prompt's token ids.
    pub fn prompt_tokens(&self, prompt: &Prompt) -> Result<Vec<u32>> {
        let ids = match prompt {
            Prompt::Chat(messages) => {
                let t = self.template.as_ref().ok_or(TemplateError::Missing)?;
                let text = t.render(messages, true)?;
                // The template writes BOS itself where the model wants it.
                self.tokenizer.encode(&text, false)?
            }
            Prompt::Raw(text) => self.tokenizer.encode(text, true)?,
        };
        if ids.is_empty() {
            return Err(GenerationError::EmptyPrompt);
        }
        Ok(ids)
    }

    /// Runs the prompt through the model and returns a session that generates the reply.
    pub fn start(&mut self, prompt: &Prompt, params: &SamplingParams) -> Result<Session<'_>> {
        let (ids, prompt_tokens, common) = self.prepare(prompt, params)?;
        let started = Instant::now();
        let logits = self.model.forward(&ids[common..], common, Logits::Last)?;
        Ok(self.session(
            params,
            ids,
            prompt_tokens,
            common,
            Next::Logits(logits),
            started,
        ))
    }

    /// [`TextGeneration::start`] with the model's readback awaited (what the browser worker
    /// calls: a WebGPU readback cannot block there). A plain greedy generation asks the model
    /// for the argmax only, so a GPU backend reads back one id per step, not the logits.
    pub async fn start_async(
        &mut self,
        prompt: &Prompt,
        params: &SamplingParams,
    ) -> Result<Session<'_>> {
        let (ids, prompt_tokens, common) = self.prepare(prompt, params)?;
        let started = Instant::now();
        let tokens = &ids[common..];
        let next = if greedy_on_model(params) {
            Next::Token(self.model.forward_argmax_async(tokens, common).await?)
        } else {
            Next::Logits(
                self.model
                    .forward_async(tokens, common, Logits::Last)
                    .await?,
            )
        };
        Ok(self.session(params, ids, prompt_tokens, common, next, started))
    }

    /// Continues a generation taken off another pipeline ([`Session::suspend`]; the worker
    /// does this when the GPU fails): the prompt and every token generated so far are run
    /// through this pipeline's model, then generation goes on with the same sampler, stop
    /// filter and text decoder, as if nothing had happened.
    pub async fn resume_async(&mut self, s: Suspended) -> Result<Session<'_>> {
        let mut state = s.0;
        self.clear_cache();
        let started = Instant::now();
        let next = if state.greedy {
            Next::Token(self.model.forward_argmax_async(&state.history, 0).await?)
        } else {
            Next::Logits(
                self.model
                    .forward_async(&state.history, 0, Logits::Last)
                    .await?,
            )
        };
        state.prefill_ms += started.elapsed().as_secs_f64() * 1e3;
        state.prefilled += state.history.len();
        self.cached.clone_from(&state.history);
        let TextGeneration {
            model,
            tokenizer,
            cached,
            ..
        } = self;
        Ok(Session {
            model: model.as_mut(),
            tokenizer,
            cached,
            next,
            state,
        })
    }

    /// The prompt's ids (truncated if allowed) and how many of them are cached already.
    fn prepare(
        &mut self,
        prompt: &Prompt,
        params: &SamplingParams,
    ) -> Result<(Vec<u32>, usize, usize)> {
        let mut ids = self.prompt_tokens(prompt)?;
        let prompt_tokens = ids.len();
        let context = self.model.context_length();
        if prompt_tokens + params.max_tokens > context {
            match self.overflow {
                Overflow::TruncateStart if params.max_tokens < context => {
                    ids.drain(..prompt_tokens + params.max_tokens - context);
                }
                _ => {
                    return Err(GenerationError::ContextOverflow {
                        prompt_tokens,
                        max_tokens: params.max_tokens,
                        context,
                    });
                }
            }
        }
        // Reuse the cached prefix the new prompt shares (a chat's earlier turns), but run at
        // least the last prompt token to get its logits.
        let common = self
            .cached
            .iter()
            .zip(&ids)
            .take_while(|(a, b)| a == b)
            .count()
            .min(ids.len() - 1);
        self.cached.truncate(common);
        Ok((ids, prompt_tokens, common))
    }

    /// The session after a prefill that started at `started`.
    fn session(
        &mut self,
        params: &SamplingParams,
        ids: Vec<u32>,
        prompt_tokens: usize,
        common: usize,
        next: Next,
        started: Instant,
    ) -> Session<'_> {
        let prefill_ms = started.elapsed().as_secs_f64() * 1e3;
        self.cached.extend_from_slice(&ids[common..]);
        let prefilled = ids.len() - common;
        let TextGeneration {
            model,
            tokenizer,
            cached,
            ..
        } = self;
        Session {
            model: model.as_mut(),
            tokenizer,
            cached,
            next,
            state: State {
                decoder: DecoderState::new(true),
                stop: StopFilter::new(&params.stop),
                sampler: Sampler::new(params),
                max_tokens: params.max_tokens,
                ignore_eos: params.ignore_eos,
                greedy: greedy_on_model(params),
                history: ids,
                text: String::new(),
                tokens: Vec::new(),
                prompt_tokens,
                prefilled,
                prefill_ms,
                decode_ms: 0.0,
                decode_steps: 0,
                finished: None,
            },
        }
    }

    /// Generates a whole reply, calling `on_text` with each piece of text and checking
    /// `cancelled` between steps.
    pub fn generate(
        &mut self,
        prompt: &Prompt,
        params: &SamplingParams,
        on_text: &mut dyn FnMut(&str),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Generation> {
        let mut session = self.start(prompt, params)?;
        loop {
            if cancelled() {
                session.cancel();
            }
            match session.step()? {
                Some(text) => {
                    if !text.is_empty() {
                        on_text(&text);
                    }
                }
                None => break,
            }
        }
        Ok(session.finish())
    }
}

/// Whether the next token is the argmax of the logits and nothing else (no penalty, no masked
/// end-of-generation tokens): then the model may choose it where the logits are (on the GPU)
/// and return only its id. The same rule as [`Sampler::sample`]'s greedy case.
fn greedy_on_model(p: &SamplingParams) -> bool {
    let penalty = p.repetition_penalty != 1.0 && p.repetition_penalty > 0.0;
    (p.temperature <= 0.0 || p.top_k == 1) && !penalty && !p.ignore_eos
}

/// What the next token is chosen from.
#[derive(Debug)]
enum Next {
    /// The logits of the last position, for the sampler.
    Logits(Vec<f32>),
    /// The token itself, chosen by the model (a greedy step on the GPU).
    Token(u32),
    /// The forward pass that was to give it failed. The failing step still returned its
    /// text (the token was chosen before); the next step returns the error, and the session
    /// can be [suspended](Session::suspend) and resumed on another model.
    Failed(GenerationError),
}

/// Everything a generation has chosen and measured, apart from the model it runs on: held
/// once, by a [`Session`] while it runs and by a [`Suspended`] generation between models.
#[derive(Debug)]
struct State {
    decoder: DecoderState,
    stop: StopFilter,
    sampler: Sampler,
    max_tokens: usize,
    ignore_eos: bool,
    /// Whether the model picks greedy tokens itself ([`greedy_on_model`]; async steps only).
    greedy: bool,
    /// Prompt and generated tokens (for the repetition penalty, and what another model must
    /// run to continue).
    history: Vec<u32>,
    text: String,
    tokens: Vec<u32>,
    prompt_tokens: usize,
    prefilled: usize,
    prefill_ms: f64,
    decode_ms: f64,
    decode_steps: usize,
    finished: Option<StopReason>,
}

/// A generation taken off its model by [`Session::suspend`], to be continued by
/// [`TextGeneration::resume_async`] on another one.
#[derive(Debug)]
pub struct Suspended(State);

impl Suspended {
    /// Tokens generated before the suspension.
    pub fn tokens(&self) -> &[u32] {
        &self.0.tokens
    }
}

/// One step: the token chosen and the text it releases, with the forward pass still to run.
enum Advance {
    Finished(Option<String>),
    Run {
        token: u32,
        position: usize,
        out: String,
    },
}

/// One generation in progress.
#[derive(Debug)]
pub struct Session<'a> {
    model: &'a mut dyn CausalLm,
    tokenizer: &'a Tokenizer,
    cached: &'a mut Vec<u32>,
    /// What the next token comes from.
    next: Next,
    state: State,
}

impl Session<'_> {
    /// Generates one token. Returns the text it releases (possibly empty: part of a
    /// character, or text that may start a stop string), or `None` once finished.
    pub fn step(&mut self) -> Result<Option<String>> {
        let (token, position, out) = match self.advance()? {
            Advance::Finished(rest) => return Ok(rest),
            Advance::Run {
                token,
                position,
                out,
            } => (token, position, out),
        };
        let started = Instant::now();
        self.next = match self.model.forward(&[token], position, Logits::Last) {
            Ok(logits) => Next::Logits(logits),
            Err(e) => Next::Failed(e.into()),
        };
        self.ran(token, started);
        Ok(Some(out))
    }

    /// [`Session::step`] with the model's readback awaited (see
    /// [`TextGeneration::start_async`]).
    pub async fn step_async(&mut self) -> Result<Option<String>> {
        let (token, position, out) = match self.advance()? {
            Advance::Finished(rest) => return Ok(rest),
            Advance::Run {
                token,
                position,
                out,
            } => (token, position, out),
        };
        let started = Instant::now();
        let result = if self.state.greedy {
            self.model
                .forward_argmax_async(&[token], position)
                .await
                .map(Next::Token)
        } else {
            self.model
                .forward_async(&[token], position, Logits::Last)
                .await
                .map(Next::Logits)
        };
        self.next = result.unwrap_or_else(|e| Next::Failed(e.into()));
        self.ran(token, started);
        Ok(Some(out))
    }

    /// Accounts for a forward pass of `token` that started at `started`.
    fn ran(&mut self, token: u32, started: Instant) {
        if !matches!(self.next, Next::Failed(_)) {
            self.state.decode_ms += started.elapsed().as_secs_f64() * 1e3;
            self.state.decode_steps += 1;
            self.cached.push(token);
        }
    }

    /// Chooses the next token and decodes its text, or ends the generation.
    fn advance(&mut self) -> Result<Advance> {
        let st = &mut self.state;
        if st.finished.is_some() {
            return Ok(Advance::Finished(None));
        }
        if st.tokens.len() >= st.max_tokens {
            return Ok(Advance::Finished(st.end(StopReason::MaxTokens)));
        }
        let token = match &mut self.next {
            Next::Token(token) => *token,
            Next::Logits(logits) => {
                if st.ignore_eos {
                    for &id in self.tokenizer.end_of_generation() {
                        if let Some(l) = logits.get_mut(id as usize) {
                            *l = f32::NEG_INFINITY;
                        }
                    }
                }
                st.sampler.sample(logits, &st.history)
            }
            Next::Failed(e) => return Err(e.clone()),
        };
        if self.tokenizer.is_end_of_generation(token) {
            return Ok(Advance::Finished(st.end(StopReason::Eos)));
        }
        st.tokens.push(token);
        st.history.push(token);
        let piece = st
            .decoder
            .step(self.tokenizer.inner(), token)?
            .unwrap_or_default();
        let (out, hit) = st.stop.push(&piece);
        st.text.push_str(&out);
        if hit {
            st.finished = Some(StopReason::Stop);
            return Ok(Advance::Finished(Some(out)));
        }
        let position = self.cached.len();
        if st.tokens.len() >= st.max_tokens || position >= self.model.context_length() {
            let rest = st.end(StopReason::MaxTokens).unwrap_or_default();
            return Ok(Advance::Finished(Some(out + &rest)));
        }
        Ok(Advance::Run {
            token,
            position,
            out,
        })
    }

    /// Takes the generation off its model, to continue it on another one
    /// ([`TextGeneration::resume_async`]): after a GPU failure, the worker resumes it on the
    /// CPU. Everything chosen so far is kept, including a token whose forward pass failed.
    pub fn suspend(self) -> Suspended {
        Suspended(self.state)
    }

    /// Stops at the next step.
    pub fn cancel(&mut self) {
        if self.state.finished.is_none() {
            self.state.finished = Some(StopReason::Cancelled);
        }
    }

    /// Tokens generated so far.
    pub fn tokens(&self) -> &[u32] {
        &self.state.tokens
    }

    pub fn finish(self) -> Generation {
        let st = self.state;
        let rate = |n: usize, ms: f64| if ms > 0.0 { n as f64 * 1e3 / ms } else { 0.0 };
        Generation {
            generated_tokens: st.tokens.len(),
            text: st.text,
            tokens: st.tokens,
            prompt_tokens: st.prompt_tokens,
            prefill_tok_s: rate(st.prefilled, st.prefill_ms),
            decode_tok_s: rate(st.decode_steps, st.decode_ms),
            prefill_ms: st.prefill_ms,
            decode_ms: st.decode_ms,
            stop_reason: st.finished.unwrap_or(StopReason::Cancelled),
            backend: self.model.backend_name(),
        }
    }
}

impl State {
    fn end(&mut self, reason: StopReason) -> Option<String> {
        self.finished = Some(reason);
        let rest = self.stop.flush();
        self.text.push_str(&rest);
        (!rest.is_empty()).then_some(rest)
    }
}
