//! `demo.json`: what a built Space tells its page — the demo, and the model pinned to a commit.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ModelRef, SamplingParams};

/// A demo's task, named like the Hub's pipeline tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    TextGeneration,
    FeatureExtraction,
    SentenceSimilarity,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::TextGeneration => "text-generation",
            Task::FeatureExtraction => "feature-extraction",
            Task::SentenceSimilarity => "sentence-similarity",
        }
    }

    /// Both embedding tasks use the same page (similarity matrix and search).
    pub fn is_embeddings(self) -> bool {
        matches!(self, Task::FeatureExtraction | Task::SentenceSimilarity)
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Task {
    type Err = crate::CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text-generation" => Ok(Task::TextGeneration),
            "feature-extraction" => Ok(Task::FeatureExtraction),
            "sentence-similarity" => Ok(Task::SentenceSimilarity),
            other => Err(crate::CoreError::UnknownTask(other.to_owned())),
        }
    }
}

/// Chat defaults a demo author chose.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatDefaults {
    pub system_prompt: Option<String>,
    pub params: SamplingParams,
}

/// The content of `demo.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoConfig {
    pub title: String,
    #[serde(default)]
    pub emoji: String,
    #[serde(default)]
    pub description: String,
    pub task: Task,
    /// The model, pinned: commit, and every file's size and hash.
    pub model: ModelRef,
    /// The Hub (or mirror) the page downloads from; a relative URL means the page's origin.
    pub endpoint: String,
    #[serde(default)]
    pub license: Option<String>,
    /// Weight type for display (`Q4_1`, `f32`).
    #[serde(default)]
    pub quantization: Option<String>,
    #[serde(default)]
    pub chat: ChatDefaults,
    /// Example sentences for the embeddings page.
    #[serde(default)]
    pub sentences: Vec<String>,
}
