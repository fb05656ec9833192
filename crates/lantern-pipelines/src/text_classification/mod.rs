//! `text-classification`: texts (or text pairs) in, labels with scores out, as transformers'
//! `pipeline("text-classification", top_k=None)` gives them — sentiment, topic, NLI (a premise
//! and a hypothesis), cross-encoder rerankers (a query and a passage), multi-label tagging.
//!
//! The model is an encoder with a sequence-classification head (`BertForSequenceClassification`,
//! `DistilBertForSequenceClassification`, `RobertaForSequenceClassification`, XLM-R) from
//! safetensors, with the repository's `tokenizer.json`. Labels come from `config.json`'s
//! `id2label`; scores are a softmax over the labels, or a sigmoid per label when `problem_type`
//! is `multi_label_classification` (or there is one label), as transformers decides; inputs
//! longer than the model's maximum are cut (longest side first for pairs), with a warning.
//!
//! ```no_run
//! # async fn demo(source: &impl lantern_pipelines::source::FileSource) -> Result<(), lantern_pipelines::PipelineError> {
//! use lantern_core::protocol::TextInput;
//! use lantern_pipelines::device::Device;
//! use lantern_pipelines::text_classification;
//!
//! let classifier = text_classification::load(source, Device::Cpu).await?.pipeline;
//! let labels = classifier.classify_async(&[TextInput::new("What a lovely day!")], Some(1)).await?;
//! println!("{}: {:.3}", labels.results[0][0].label, labels.results[0][0].score);
//! # Ok(()) }
//! ```

mod config;
pub(crate) mod scores;
mod vocab;

use futures_util::FutureExt;
use lantern_core::protocol::{LabelScore, Labels, TextInput};
use lantern_models::ModelError;
use lantern_models::encoder::{self, Architecture, Encoder, EncoderOptions, Head, Input};
use lantern_models::ops::Backend;
use tokenizers::{
    PostProcessor, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
    truncate_encodings,
};

pub(crate) use config::labels_by_id;
pub use config::{ClassifierConfig, Problem};

use crate::device::{Arithmetic, Device, Loaded, Loader, load_on};
use crate::error::PipelineError;
use crate::source::{FileSource, SourceError, read_optional, read_required};
use crate::tasks::{FileChoice, FileList};

/// What the pipeline cannot run without (and a tokenizer: `tokenizer.json`, or a BERT
/// `vocab.txt`).
pub const REQUIRED: [&str; 2] = ["config.json", "model.safetensors"];
/// Read where the repository has it: `model_max_length` (the truncation length), and
/// `do_lower_case` for a tokenizer made from `vocab.txt`.
const OPTIONAL: [&str; 1] = ["tokenizer_config.json"];
/// The tokenizer, in order of preference.
const TOKENIZERS: [&str; 2] = ["tokenizer.json", "vocab.txt"];

/// Inputs per forward pass (sorted by length first, so a batch pads little).
const BATCH: usize = 16;

/// Errors of text classification.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClassificationError {
    #[error("{file} is not valid: {reason}")]
    InvalidConfig { file: &'static str, reason: String },
    #[error(
        "config.json has no id2label: a text-classification model names its labels there \
         (a base model without a classification head cannot classify)"
    )]
    NoLabels,
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("nothing to classify: give at least one text")]
    EmptyInput,
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// The files a classifier is read from.
pub fn files<S: FileSource>(source: &S) -> Result<FileChoice, PipelineError> {
    FileList {
        required: &REQUIRED,
        one_of: &TOKENIZERS,
        optional: &OPTIONAL,
        runs: "Lantern's text classification runs BERT, DistilBERT, RoBERTa and XLM-R \
               classifiers from safetensors with a tokenizer.json (or a BERT vocab.txt)",
        whose: "the classifier's",
    }
    .choose(source)
}

/// Loads a classifier from the source onto `device` (the CPU when the GPU cannot take it).
pub async fn load<S: FileSource>(
    source: &S,
    device: Device,
) -> Result<Loaded<TextClassifier>, PipelineError> {
    let config_json = read_required(source, "config.json").await?;
    let config = ClassifierConfig::from_json(&config_json)?;
    let tokenizer_config = read_optional(source, "tokenizer_config.json").await?;
    let tokenizer_json = match read_optional(source, "tokenizer.json").await? {
        Some(json) => json,
        None if config.is_bert_family() => {
            let vocab_txt = read_required(source, "vocab.txt").await?;
            vocab::tokenizer_json(&vocab_txt, tokenizer_config.as_deref())?.into_bytes()
        }
        None => return Err(SourceError::missing("tokenizer.json").into()),
    };
    let max_len = config.max_length(tokenizer_config.as_deref());
    let tokenizer = tokenizer(&tokenizer_json)?;
    let loader = ClassifierLoader {
        source,
        config_json: &config_json,
    };
    let largest = config.largest_buffer(BATCH, max_len);
    let loaded = load_on(device, largest, &loader).await?;
    // The head's shape is checked against id2label by the encoder (`classifier.weight`).
    let model = loaded.pipeline;
    Ok(Loaded {
        pipeline: TextClassifier {
            tokenizer,
            model,
            config,
            max_len,
        },
        fallback: loaded.fallback,
    })
}

/// The repository's tokenizer, without its own truncation and padding: inputs are cut by
/// [`TextClassifier::encode`] and batches padded by the encoder.
fn tokenizer(json: &[u8]) -> Result<Tokenizer, ClassificationError> {
    let mut tokenizer =
        Tokenizer::from_bytes(json).map_err(|e| ClassificationError::Tokenizer(e.to_string()))?;
    tokenizer
        .with_truncation(None)
        .map_err(|e| ClassificationError::Tokenizer(e.to_string()))?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

struct ClassifierLoader<'s, S> {
    source: &'s S,
    config_json: &'s [u8],
}

impl<S: FileSource> Loader for ClassifierLoader<'_, S> {
    const ARITHMETIC: Arithmetic = Arithmetic::Exact;
    type Output = Box<dyn Encoder>;

    async fn load<B: Backend>(&self, backend: B) -> Result<Box<dyn Encoder>, PipelineError> {
        let cfg =
            encoder::Config::from_json(self.config_json).map_err(ClassificationError::from)?;
        let weights = read_required(self.source, "model.safetensors").await?;
        let options = EncoderOptions {
            head: Head::SequenceClassification,
            ..EncoderOptions::default()
        };
        Ok(encoder::load_encoder_on(backend, &cfg, &weights, options)
            .map_err(ClassificationError::from)?)
    }
}

/// A loaded classifier.
#[derive(Debug)]
pub struct TextClassifier {
    tokenizer: Tokenizer,
    model: Box<dyn Encoder>,
    config: ClassifierConfig,
    max_len: usize,
}

/// One input, tokenized.
struct Encoded {
    ids: Vec<u32>,
    type_ids: Vec<u32>,
    truncated: bool,
}

impl TextClassifier {
    /// The labels, by id.
    pub fn labels(&self) -> &[String] {
        &self.config.labels
    }

    pub fn problem(&self) -> Problem {
        self.config.problem
    }

    /// The most tokens an input keeps (special tokens included).
    pub fn max_length(&self) -> usize {
        self.max_len
    }

    /// `cpu` or `webgpu`.
    pub fn backend_name(&self) -> String {
        self.model.backend_name()
    }

    /// Token ids (and token type ids) as the model sees an input.
    pub fn tokenize(&self, input: &TextInput) -> Result<(Vec<u32>, Vec<u32>), ClassificationError> {
        self.encode(input).map(|e| (e.ids, e.type_ids))
    }

    /// Tokenizes an input and cuts it to the model's length as transformers' `truncation=True`
    /// does (`longest_first`): each side is tokenized alone, the longer side of a pair is cut
    /// first and an odd budget leaves it the extra token, then the special tokens are added.
    /// (`tokenizers` 0.23's own truncation inside `encode` gives a pair's extra token to the
    /// second side, one id away from transformers on long pairs.)
    fn encode(&self, input: &TextInput) -> Result<Encoded, ClassificationError> {
        let tk = |e: tokenizers::Error| ClassificationError::Tokenizer(e.to_string());
        let first = self
            .tokenizer
            .encode(input.text.as_str(), false)
            .map_err(tk)?;
        let second = match &input.text_pair {
            Some(pair) => Some(self.tokenizer.encode(pair.as_str(), false).map_err(tk)?),
            None => None,
        };
        let is_pair = second.is_some();
        let specials = self
            .tokenizer
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(is_pair));
        let length = |e: &tokenizers::Encoding| e.get_ids().len();
        let before = length(&first) + second.as_ref().map_or(0, length);
        let budget = self.max_len.saturating_sub(specials);
        let (first, second) = truncate_encodings(
            first,
            second,
            &TruncationParams {
                max_length: budget,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            },
        )
        .map_err(tk)?;
        let after = length(&first) + second.as_ref().map_or(0, length);
        let enc = self
            .tokenizer
            .post_process(first, second, true)
            .map_err(tk)?;
        Ok(Encoded {
            truncated: after < before,
            ids: enc.get_ids().to_vec(),
            type_ids: enc.get_type_ids().to_vec(),
        })
    }

    /// The raw logits of each input (one per label), awaiting the GPU's readback.
    pub async fn logits_async(
        &self,
        inputs: &[TextInput],
    ) -> Result<(Vec<Vec<f32>>, Vec<usize>), ClassificationError> {
        if inputs.is_empty() {
            return Err(ClassificationError::EmptyInput);
        }
        let encoded = inputs
            .iter()
            .map(|i| self.encode(i))
            .collect::<Result<Vec<_>, _>>()?;
        let truncated = encoded
            .iter()
            .enumerate()
            .filter(|(_, e)| e.truncated)
            .map(|(i, _)| i)
            .collect();
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        order.sort_by_key(|&i| encoded[i].ids.len());
        let mut logits = vec![Vec::new(); encoded.len()];
        // BERT's segment embeddings (DistilBERT has none; RoBERTa's single row is 0).
        let type_ids = self.model.config().architecture == Architecture::Bert;
        for chunk in order.chunks(BATCH) {
            let batch: Vec<Input<'_>> = chunk
                .iter()
                .map(|&i| Input {
                    ids: &encoded[i].ids,
                    type_ids: type_ids.then_some(encoded[i].type_ids.as_slice()),
                })
                .collect();
            let out = self.model.classify_async(&batch).await?;
            for (&i, l) in chunk.iter().zip(out) {
                logits[i] = l;
            }
        }
        Ok((logits, truncated))
    }

    /// Labels and scores for each input, best first, the best `top_k` (`None`: all).
    pub async fn classify_async(
        &self,
        inputs: &[TextInput],
        top_k: Option<usize>,
    ) -> Result<Labels, ClassificationError> {
        let (logits, truncated) = self.logits_async(inputs).await?;
        let results = logits
            .iter()
            .map(|l| {
                let scores = scores::scores(l, self.config.problem);
                let mut ranked: Vec<LabelScore> = scores
                    .into_iter()
                    .zip(&self.config.labels)
                    .map(|(score, label)| LabelScore {
                        label: label.clone(),
                        score,
                    })
                    .collect();
                // Stable: ties keep the labels' id order, as transformers' sort does.
                ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
                ranked.truncate(top_k.unwrap_or(usize::MAX));
                ranked
            })
            .collect();
        let warnings = truncated
            .iter()
            .map(|i| {
                format!(
                    "input {} was longer than the model's {} tokens; its end was cut",
                    i + 1,
                    self.max_len
                )
            })
            .collect();
        Ok(Labels { results, warnings })
    }

    /// [`TextClassifier::classify_async`] where nothing has to be awaited (the CPU, or a
    /// native GPU whose readbacks block).
    pub fn classify(
        &self,
        inputs: &[TextInput],
        top_k: Option<usize>,
    ) -> Result<Labels, ClassificationError> {
        self.classify_async(inputs, top_k)
            .now_or_never()
            .unwrap_or_else(|| {
                Err(ClassificationError::Model(ModelError::Backend(
                    "the model's readback cannot be waited for here: use classify_async".into(),
                )))
            })
    }
}
