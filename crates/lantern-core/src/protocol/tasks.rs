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
    Embeddings { sentences: Vec<String> },
}

impl TaskInput {
    /// Whether a model loaded for `task` takes this input.
    pub fn fits(&self, task: Task) -> bool {
        match self {
            TaskInput::Embeddings { .. } => {
                matches!(task, Task::FeatureExtraction | Task::SentenceSimilarity)
            }
        }
    }
}

/// What a one-shot task gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "kebab-case")]
pub enum TaskOutput {
    Embeddings { vectors: Vec<Vec<f32>>, dim: usize },
}
