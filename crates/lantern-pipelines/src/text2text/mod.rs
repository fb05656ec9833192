//! `translation` and `summarization`: text in, text out, through an encoder-decoder model
//! (Marian, T5 / Flan-T5, BART), as transformers' `pipeline("translation_xx_to_yy")` and
//! `pipeline("summarization")` give it — one module for both, since they differ only in which
//! of the model's `task_specific_params` they read.
//!
//! What the pipeline does around the model ([`lantern_models::seq2seq`]):
//! - the input: the task prefix (T5's `summarize: `, `translate English to German: ` from
//!   `config.json`'s `task_specific_params`, or `config.json`'s own `prefix`) then the text,
//!   tokenized with the repository's `tokenizer.json` (its special tokens added) and cut to the
//!   model's length with a warning (transformers' pipelines would fail instead);
//! - generation: greedy or beam search token for token as transformers ([`crate::generation`]),
//!   its settings from `generation_config.json`, the task's parameters and the request's options;
//!   the best beam's text streamed after each step; Cancel between steps;
//! - the output: the ids decoded without special tokens and without transformers' clean-up of
//!   tokenization spaces (the pipelines turn it off).
//!
//! ```no_run
//! # async fn demo(source: &impl lantern_pipelines::source::FileSource) -> Result<(), lantern_pipelines::PipelineError> {
//! use lantern_core::protocol::Text2TextInput;
//! use lantern_pipelines::device::Device;
//! use lantern_pipelines::text2text::{self, Text2TextTask};
//!
//! let translator = text2text::load(source, Device::Cpu).await?.pipeline;
//! let out = translator
//!     .generate_async(Text2TextTask::Translation, &Text2TextInput::new("The house is wonderful."), &mut |_| {}, &|| false)
//!     .await?;
//! println!("{}", out.text);
//! # Ok(()) }
//! ```

use futures_util::FutureExt;
use lantern_core::Task;
use lantern_core::protocol::{EarlyStopping, GeneratedText, Partial, Text2TextInput};
use lantern_models::ModelError;
use lantern_models::ops::Backend;
use lantern_models::seq2seq::{self, AnyMemory, AnyState, Seq2SeqModel};
use serde_json::{Map, Value};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::device::{Arithmetic, Device, Loaded, Loader, load_on};
use crate::error::PipelineError;
use crate::generation::{self, GenerationConfig, Overrides, SearchError, StepModel, Stopping};
use crate::source::{FileSource, read_optional, read_required};
use crate::steps::Steps;
use crate::tasks::{FileChoice, FileList};

/// What the pipeline cannot run without.
pub const REQUIRED: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];
/// Read where the repository has them: the generation defaults, and the tokenizer's
/// `model_max_length`.
const OPTIONAL: [&str; 2] = ["generation_config.json", "tokenizer_config.json"];

/// tokenizer_config.json's "no limit" (transformers' `VERY_LARGE_INTEGER`, 1e30) and anything
/// else no model could mean.
const NO_LIMIT: u64 = 1 << 40;

/// Which of the two tasks a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text2TextTask {
    Translation,
    Summarization,
}

impl Text2TextTask {
    /// The task of a [`Task`] (`None` for the others).
    pub fn of(task: Task) -> Option<Text2TextTask> {
        match task {
            Task::Translation => Some(Text2TextTask::Translation),
            Task::Summarization => Some(Text2TextTask::Summarization),
            _ => None,
        }
    }

    pub fn task(self) -> Task {
        match self {
            Text2TextTask::Translation => Task::Translation,
            Text2TextTask::Summarization => Task::Summarization,
        }
    }
}

/// Errors of translation and summarization.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Text2TextError {
    #[error("{file} is not valid: {reason}")]
    InvalidConfig { file: &'static str, reason: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("nothing to {0}: the text is empty")]
    EmptyInput(&'static str),
    /// `task_params` names an entry the model's `task_specific_params` does not have.
    #[error("the model has no task_specific_params entry {asked:?} (it has: {available})")]
    UnknownTaskParams { asked: String, available: String },
    /// A request option out of range.
    #[error("{0}")]
    InvalidOption(String),
}

impl Text2TextError {
    /// The model error underneath, if this is one.
    pub fn model_error(&self) -> Option<&ModelError> {
        match self {
            Text2TextError::Model(e) | Text2TextError::Search(SearchError::Model(e)) => Some(e),
            _ => None,
        }
    }
}

/// The files a translation or summarization model is read from.
pub fn files<S: FileSource>(source: &S) -> Result<FileChoice, PipelineError> {
    FileList {
        required: &REQUIRED,
        one_of: &[],
        optional: &OPTIONAL,
        runs: "Lantern's translation and summarization run Marian, T5 and BART models from \
               safetensors with a tokenizer.json, in the layout of the Hub's transformers \
               repositories",
        whose: "the encoder-decoder's",
    }
    .choose(source)
}

/// Loads the model from the source onto `device` (the CPU when the GPU cannot take it).
pub async fn load<S: FileSource>(
    source: &S,
    device: Device,
) -> Result<Loaded<Text2Text>, PipelineError> {
    let config_json = read_required(source, "config.json").await?;
    let config = seq2seq::Config::from_json(&config_json).map_err(Text2TextError::from)?;
    let raw: Map<String, Value> = match serde_json::from_slice(&config_json) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(Text2TextError::InvalidConfig {
                file: "config.json",
                reason: "not a JSON object".into(),
            }
            .into());
        }
    };
    let tokenizer_json = read_required(source, "tokenizer.json").await?;
    let mut tokenizer = Tokenizer::from_bytes(&tokenizer_json)
        .map_err(|e| Text2TextError::Tokenizer(e.to_string()))?;
    // The pipeline decides truncation (below); padding is for batches.
    tokenizer
        .with_truncation(None)
        .map_err(|e| Text2TextError::Tokenizer(e.to_string()))?;
    tokenizer.with_padding(None);
    let model_max_length = match read_optional(source, "tokenizer_config.json").await? {
        Some(bytes) => serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("model_max_length").and_then(Value::as_u64))
            .filter(|&n| n > 0 && n < NO_LIMIT)
            .and_then(|n| usize::try_from(n).ok()),
        None => None,
    };
    let max_input = match (model_max_length, config.max_position_embeddings) {
        (Some(t), Some(p)) => Some(t.min(p)),
        (t, p) => t.or(p),
    };
    let generation_json = read_optional(source, "generation_config.json").await?;
    // Checked now: a broken file is the model's fault, not the request's.
    GenerationConfig::for_pipeline(generation_json.as_deref(), &config_json, None)
        .map_err(Text2TextError::from)?;
    let task_params = task_params(&raw, &String::from_utf8_lossy(&config_json));
    let loader = Seq2SeqLoader {
        source,
        config: &config,
    };
    let largest = largest_buffer(&config, max_input.unwrap_or(512));
    let loaded = load_on(device, largest, &loader).await?;
    Ok(Loaded {
        pipeline: Text2Text {
            model: loaded.pipeline,
            tokenizer,
            config_json,
            generation_json,
            prefix: raw.get("prefix").and_then(Value::as_str).map(String::from),
            task_params,
            max_input,
        },
        fallback: loaded.fallback,
    })
}

/// `task_specific_params`' entries in the file's order (transformers' `pipeline("translation")`
/// takes the first `translation_*` one). serde_json's map here is sorted, so the order is read
/// from where each key first appears in the file's text.
fn task_params(raw: &Map<String, Value>, text: &str) -> Vec<TaskParams> {
    let Some(Value::Object(params)) = raw.get("task_specific_params") else {
        return Vec::new();
    };
    let mut entries: Vec<(usize, String, Map<String, Value>)> = params
        .iter()
        .filter_map(|(k, v)| {
            let at = text.find(&format!("\"{k}\"")).unwrap_or(usize::MAX);
            v.as_object().map(|m| (at, k.clone(), m.clone()))
        })
        .collect();
    entries.sort_by_key(|(at, _, _)| *at);
    entries.into_iter().map(|(_, k, m)| (k, m)).collect()
}

/// Bytes of the largest GPU buffer the model makes: the token table (also the output
/// projection), or one attention's scores at the longest input.
fn largest_buffer(c: &seq2seq::Config, longest: usize) -> u64 {
    let f = 4u64;
    let (vocab, d, heads, n) = (
        c.vocab_size as u64,
        c.d_model as u64,
        c.heads as u64,
        longest as u64,
    );
    (vocab * d * f).max(heads * n * n * f)
}

struct Seq2SeqLoader<'s, S> {
    source: &'s S,
    config: &'s seq2seq::Config,
}

impl<S: FileSource> Loader for Seq2SeqLoader<'_, S> {
    // The ids must equal transformers': f16 products would change tokens where two are close.
    const ARITHMETIC: Arithmetic = Arithmetic::Exact;
    type Output = Box<dyn Seq2SeqModel>;

    async fn load<B: Backend>(&self, backend: B) -> Result<Box<dyn Seq2SeqModel>, PipelineError> {
        let weights = read_required(self.source, "model.safetensors").await?;
        Ok(seq2seq::load_seq2seq_on(backend, self.config, &weights)
            .map_err(Text2TextError::from)?)
    }
}

/// A `task_specific_params` entry: its key and its settings.
type TaskParams = (String, Map<String, Value>);

/// A loaded translation / summarization model.
#[derive(Debug)]
pub struct Text2Text {
    model: Box<dyn Seq2SeqModel>,
    tokenizer: Tokenizer,
    config_json: Vec<u8>,
    generation_json: Option<Vec<u8>>,
    /// config.json's `prefix` (distilbart-cnn's " "): the default of every task.
    prefix: Option<String>,
    /// `task_specific_params`, in the file's order.
    task_params: Vec<TaskParams>,
    /// The most input tokens the model reads (special tokens included).
    max_input: Option<usize>,
}

/// An input as the model reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The task prefix and the text.
    pub text: String,
    /// Token ids, special tokens included, cut to the model's length.
    pub ids: Vec<u32>,
    /// Tokens cut from the end (0: none).
    pub cut: usize,
    /// Input tokens the tokenizer could only read as its unknown token.
    pub unknown: usize,
    /// The `task_specific_params` entry used, if any.
    pub params: Option<String>,
}

/// One input's decoder: the model over that input's encoder output.
struct Decoder<'m> {
    model: &'m dyn Seq2SeqModel,
    memory: &'m AnyMemory,
}

impl StepModel for Decoder<'_> {
    type State = AnyState;

    fn start(&self) -> Result<AnyState, ModelError> {
        self.model.start(self.memory)
    }

    async fn step(&self, state: &mut AnyState, tokens: &[u32]) -> Result<Vec<f32>, ModelError> {
        self.model.step_async(state, tokens).await
    }

    fn fork(&self, state: &AnyState) -> Result<AnyState, ModelError> {
        self.model.fork(state)
    }

    async fn step_beams(
        &self,
        states: &mut [AnyState],
        tokens: &[u32],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        self.model.step_beams_async(states, tokens).await
    }
}

impl Text2Text {
    /// `cpu` or `webgpu`.
    pub fn backend_name(&self) -> String {
        self.model.backend_name()
    }

    /// The most input tokens the model reads (`None`: no limit known, T5 without a
    /// `tokenizer_config.json`).
    pub fn max_input_tokens(&self) -> Option<usize> {
        self.max_input
    }

    /// The names of the model's `task_specific_params` entries (`summarization`,
    /// `translation_en_to_de`, ...), in the file's order.
    pub fn task_params(&self) -> Vec<&str> {
        self.task_params.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The `task_specific_params` entry a request uses: the one it names, else the task's —
    /// `summarization`, or the first `translation_*` (as `pipeline("translation")` picks).
    fn params_for(
        &self,
        task: Text2TextTask,
        asked: Option<&str>,
    ) -> Result<Option<&TaskParams>, Text2TextError> {
        if let Some(asked) = asked {
            return match self.task_params.iter().find(|(k, _)| k == asked) {
                Some(entry) => Ok(Some(entry)),
                None => Err(Text2TextError::UnknownTaskParams {
                    asked: asked.to_owned(),
                    available: if self.task_params.is_empty() {
                        "none".into()
                    } else {
                        self.task_params().join(", ")
                    },
                }),
            };
        }
        Ok(self.task_params.iter().find(|(k, _)| match task {
            Text2TextTask::Summarization => k == "summarization",
            Text2TextTask::Translation => k.starts_with("translation"),
        }))
    }

    /// The input as the model reads it: the task's prefix and the text, tokenized, cut to the
    /// model's length.
    pub fn prepare(
        &self,
        task: Text2TextTask,
        input: &Text2TextInput,
    ) -> Result<Prepared, Text2TextError> {
        if input.text.trim().is_empty() {
            return Err(Text2TextError::EmptyInput(match task {
                Text2TextTask::Translation => "translate",
                Text2TextTask::Summarization => "summarize",
            }));
        }
        let params = self.params_for(task, input.options.task_params.as_deref())?;
        let prefix = params
            .and_then(|(_, p)| p.get("prefix").and_then(Value::as_str))
            .or(self.prefix.as_deref())
            .unwrap_or("");
        let text = format!("{prefix}{}", input.text);
        let tk = |e: tokenizers::Error| Text2TextError::Tokenizer(e.to_string());
        let full = self.tokenizer.encode(text.as_str(), true).map_err(tk)?;
        let (ids, cut) = match self.max_input {
            Some(max) if full.len() > max => {
                // transformers' `truncation=True`: the text's tokens cut at the end, the special
                // tokens kept.
                let mut cutter = self.tokenizer.clone();
                cutter
                    .with_truncation(Some(TruncationParams {
                        max_length: max,
                        strategy: TruncationStrategy::LongestFirst,
                        stride: 0,
                        direction: TruncationDirection::Right,
                    }))
                    .map_err(tk)?;
                let cut = cutter.encode(text.as_str(), true).map_err(tk)?;
                (cut.get_ids().to_vec(), full.len() - cut.len())
            }
            _ => (full.get_ids().to_vec(), 0),
        };
        let unk = self.unknown_token();
        let unknown = match unk {
            Some(u) => ids.iter().filter(|&&t| t == u).count(),
            None => 0,
        };
        Ok(Prepared {
            text,
            ids,
            cut,
            unknown,
            params: params.map(|(k, _)| k.clone()),
        })
    }

    /// The tokenizer's unknown token, if its model has one.
    fn unknown_token(&self) -> Option<u32> {
        let v: Value = serde_json::to_value(self.tokenizer.get_model()).ok()?;
        match v.get("unk_id").and_then(Value::as_u64) {
            Some(id) => u32::try_from(id).ok(),
            None => v
                .get("unk_token")
                .and_then(Value::as_str)
                .and_then(|t| self.tokenizer.token_to_id(t)),
        }
    }

    /// The generation settings of a request: the model's, the task's parameters, the options.
    pub fn generation_config(
        &self,
        task: Text2TextTask,
        input: &Text2TextInput,
    ) -> Result<GenerationConfig, Text2TextError> {
        let params = self.params_for(task, input.options.task_params.as_deref())?;
        let base = GenerationConfig::for_pipeline(
            self.generation_json.as_deref(),
            &self.config_json,
            params.map(|(_, p)| p),
        )?;
        Ok(base.with(&overrides(input)?))
    }

    /// Translates or summarizes `input`. `partial` hears the best beam's text after each step;
    /// `steps` is asked between steps whether to stop.
    pub async fn generate_async(
        &self,
        task: Text2TextTask,
        input: &Text2TextInput,
        partial: &mut dyn FnMut(Partial),
        steps: &dyn Steps,
    ) -> Result<GeneratedText, Text2TextError> {
        let prepared = self.prepare(task, input)?;
        let config = self.generation_config(task, input)?;
        self.run_async(&prepared, &config, partial, steps).await
    }

    /// Generates from a prepared input with the given settings ([`Text2Text::prepare`],
    /// [`Text2Text::generation_config`]).
    pub async fn run_async(
        &self,
        prepared: &Prepared,
        config: &GenerationConfig,
        partial: &mut dyn FnMut(Partial),
        steps: &dyn Steps,
    ) -> Result<GeneratedText, Text2TextError> {
        let model_config = self.model.config();
        let start = config.decoder_start((
            model_config.decoder_start_token_id,
            model_config.bos_token_id,
        ))?;
        let mut warnings = Vec::new();
        if prepared.cut > 0 {
            warnings.push(format!(
                "the input was longer than the model's {} tokens: its last {} tokens were cut",
                prepared.ids.len(),
                prepared.cut
            ));
        }
        if prepared.unknown > 0 {
            warnings.push(format!(
                "the tokenizer does not know {} piece(s) of the input: the model read them as \
                 its unknown token",
                prepared.unknown
            ));
        }
        if crate::steps::stop_here(steps).await {
            return Err(SearchError::Cancelled.into());
        }
        let memory = self.model.encode(&prepared.ids)?;
        let decoder = Decoder {
            model: self.model.as_ref(),
            memory: &memory,
        };
        let mut decode_error = None;
        let mut progress = |ids: &[u32]| {
            let new = ids.get(1..).unwrap_or_default();
            match self.tokenizer.decode(new, true) {
                Ok(text) => partial(Partial::GeneratedText {
                    // A character whose bytes are not all generated yet waits for them.
                    text: text.trim_end_matches('\u{FFFD}').to_owned(),
                    tokens: new.len(),
                }),
                Err(e) => decode_error = Some(e.to_string()),
            }
        };
        let tokens = generation::generate(
            &decoder,
            config,
            start,
            model_config.vocab_size,
            model_config.max_position_embeddings,
            &mut progress,
            steps,
        )
        .await?;
        if let Some(e) = decode_error {
            return Err(Text2TextError::Tokenizer(e));
        }
        let generated = tokens.get(1..).unwrap_or_default();
        let text = self
            .tokenizer
            .decode(generated, true)
            .map_err(|e| Text2TextError::Tokenizer(e.to_string()))?;
        Ok(GeneratedText {
            text,
            generated_tokens: generated.len(),
            tokens,
            input_tokens: prepared.ids.len(),
            warnings,
        })
    }

    /// [`Text2Text::generate_async`] where nothing has to be awaited (the CPU, or a native GPU
    /// whose readbacks block).
    pub fn generate(
        &self,
        task: Text2TextTask,
        input: &Text2TextInput,
        partial: &mut dyn FnMut(Partial),
        steps: &dyn Steps,
    ) -> Result<GeneratedText, Text2TextError> {
        self.generate_async(task, input, partial, steps)
            .now_or_never()
            .unwrap_or_else(|| {
                Err(Text2TextError::Model(ModelError::Backend(
                    "the model's readback cannot be waited for here: use generate_async".into(),
                )))
            })
    }
}

/// The request's options as `generate` arguments, checked.
fn overrides(input: &Text2TextInput) -> Result<Overrides, Text2TextError> {
    let o = &input.options;
    if o.max_new_tokens == Some(0) {
        return Err(Text2TextError::InvalidOption(
            "max_new_tokens must be at least 1".into(),
        ));
    }
    // num_beams is checked against the vocabulary too, by the search (SearchError::Beams).
    // The number the user wrote, as Python reads it (0.1, not f32's 0.100000001490116...):
    // transformers computes `length ** length_penalty` in f64.
    let finite = |name: &str, v: Option<f32>| -> Result<Option<f64>, Text2TextError> {
        match v {
            Some(x) if !x.is_finite() => Err(Text2TextError::InvalidOption(format!(
                "{name} must be a number, not {x}"
            ))),
            Some(x) => Ok(Some(x.to_string().parse::<f64>().unwrap_or(f64::from(x)))),
            None => Ok(None),
        }
    };
    let repetition_penalty = finite("repetition_penalty", o.repetition_penalty)?;
    if repetition_penalty.is_some_and(|p| p <= 0.0) {
        return Err(Text2TextError::InvalidOption(
            "repetition_penalty must be above 0".into(),
        ));
    }
    Ok(Overrides {
        num_beams: o.num_beams,
        max_length: None,
        max_new_tokens: o.max_new_tokens,
        min_length: o.min_length,
        min_new_tokens: None,
        length_penalty: finite("length_penalty", o.length_penalty)?,
        no_repeat_ngram_size: o.no_repeat_ngram_size,
        repetition_penalty,
        early_stopping: o.early_stopping.map(|e| match e {
            EarlyStopping::Bool(true) => Stopping::Early,
            EarlyStopping::Bool(false) => Stopping::Heuristic,
            EarlyStopping::Never(_) => Stopping::Never,
        }),
    })
}
