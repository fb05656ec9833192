//! Each task's payload in the protocol: what a [`Request::Run`] carries in, and what an
//! [`Event::Output`] carries back. Text generation streams instead (`Generate`, `Token`, `Done`).
//!
//! The shapes follow transformers' pipelines where one exists (a list of `{label, score}` per
//! input, best first), so a script reads Lantern's JSON and transformers' alike.
//!
//! [`Request::Run`]: super::Request::Run
//! [`Event::Output`]: super::Event::Output

use serde::{Deserialize, Serialize};

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
}

impl TaskInput {
    /// Whether a model loaded for `task` takes this input.
    pub fn fits(&self, task: Task) -> bool {
        match self {
            TaskInput::Embeddings { .. } => {
                matches!(task, Task::FeatureExtraction | Task::SentenceSimilarity)
            }
            TaskInput::TextClassification(_) => task == Task::TextClassification,
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
