//! Each task's payload in the protocol: what a [`Request::Run`] carries in, and what an
//! [`Event::Output`] carries back. Text generation streams instead (`Generate`, `Token`, `Done`).
//!
//! The shapes follow transformers' pipelines where one exists (a list of `{label, score}` per
//! input, best first), so a script reads Lantern's JSON and transformers' alike.
//!
//! [`Request::Run`]: super::Request::Run
//! [`Event::Output`]: super::Event::Output

use serde::{Deserialize, Serialize};

use super::wire::Binary;
use crate::Task;

/// What a one-shot task runs on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "kebab-case")]
pub enum TaskInput {
    /// `feature-extraction` / `sentence-similarity`: one vector per sentence.
    Embeddings {
        sentences: Vec<String>,
    },
    TextClassification(ClassifyInput),
    SpeechRecognition(TranscribeInput),
}

impl TaskInput {
    /// Whether a model loaded for `task` takes this input.
    pub fn fits(&self, task: Task) -> bool {
        match self {
            TaskInput::Embeddings { .. } => {
                matches!(task, Task::FeatureExtraction | Task::SentenceSimilarity)
            }
            TaskInput::TextClassification(_) => task == Task::TextClassification,
            TaskInput::SpeechRecognition(_) => task == Task::AutomaticSpeechRecognition,
        }
    }
}

/// Texts (or text pairs) to classify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassifyInput {
    pub inputs: Vec<TextInput>,
    /// The best `k` labels per input; `None`: every label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
}

/// One text, or a pair (NLI premise and hypothesis; a query and a passage for a cross-encoder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextInput {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_pair: Option<String>,
}

impl TextInput {
    pub fn new(text: impl Into<String>) -> Self {
        TextInput {
            text: text.into(),
            text_pair: None,
        }
    }

    pub fn pair(text: impl Into<String>, text_pair: impl Into<String>) -> Self {
        TextInput {
            text: text.into(),
            text_pair: Some(text_pair.into()),
        }
    }
}

/// What a one-shot task gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "kebab-case")]
pub enum TaskOutput {
    Embeddings { vectors: Vec<Vec<f32>>, dim: usize },
    TextClassification(Labels),
    SpeechRecognition(Transcript),
}

/// Labels per input, best first: `results[i]` belongs to input `i`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    pub results: Vec<Vec<LabelScore>>,
    /// Things the user should know about the result (an input cut to the model's length).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
}

/// Audio to transcribe: samples as the page decoded them (any rate, channels interleaved), as
/// one buffer of little-endian `f32` that the page transfers to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscribeInput {
    pub samples: Binary,
    pub sample_rate: u32,
    #[serde(default = "one_channel")]
    pub channels: u16,
    #[serde(default)]
    pub options: TranscribeOptions,
}

fn one_channel() -> u16 {
    1
}

impl TranscribeInput {
    /// Mono samples as a payload.
    pub fn mono(samples: &[f32], sample_rate: u32, options: TranscribeOptions) -> Self {
        TranscribeInput {
            samples: Binary::Bytes(samples.iter().flat_map(|s| s.to_le_bytes()).collect()),
            sample_rate,
            channels: 1,
            options,
        }
    }
}

/// How to transcribe; every field has OpenAI's and transformers' default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscribeOptions {
    /// A code (`en`) or an English name (`english`); `None`: detected by a multilingual model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default)]
    pub task: SpeechTask,
    /// Segment timestamps (`chunks`).
    #[serde(default)]
    pub timestamps: bool,
    /// Beam search width; `None` or 1: greedy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_beams: Option<usize>,
}

/// Transcribe in the spoken language, or translate into English.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpeechTask {
    #[default]
    Transcribe,
    Translate,
}

/// A transcript: the shape of transformers' ASR pipeline with `return_timestamps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub text: String,
    /// Segments with their start and end in seconds (empty without timestamps).
    pub chunks: Vec<Chunk>,
    /// The language's code (detected, or the one asked for).
    pub language: Option<String>,
    /// Seconds of audio heard.
    pub audio_s: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One segment of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// `[start, end]` in seconds.
    pub timestamp: (f64, f64),
    pub text: String,
}
