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
    TextClassification,
    AutomaticSpeechRecognition,
    ImageClassification,
    ObjectDetection,
    Translation,
    Summarization,
}

impl Task {
    /// Every task this version of Lantern runs.
    pub const ALL: [Task; 9] = [
        Task::TextGeneration,
        Task::FeatureExtraction,
        Task::SentenceSimilarity,
        Task::TextClassification,
        Task::AutomaticSpeechRecognition,
        Task::ImageClassification,
        Task::ObjectDetection,
        Task::Translation,
        Task::Summarization,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Task::TextGeneration => "text-generation",
            Task::FeatureExtraction => "feature-extraction",
            Task::SentenceSimilarity => "sentence-similarity",
            Task::TextClassification => "text-classification",
            Task::AutomaticSpeechRecognition => "automatic-speech-recognition",
            Task::ImageClassification => "image-classification",
            Task::ObjectDetection => "object-detection",
            Task::Translation => "translation",
            Task::Summarization => "summarization",
        }
    }

    /// The names of [`Task::ALL`], comma-separated (for messages).
    pub fn names() -> String {
        Task::ALL.map(Task::as_str).join(", ")
    }

    /// Both embedding tasks use the same page (similarity matrix and search).
    pub fn is_embeddings(self) -> bool {
        matches!(self, Task::FeatureExtraction | Task::SentenceSimilarity)
    }

    /// Both text-to-text tasks run one encoder-decoder pipeline (their pages differ).
    pub fn is_text2text(self) -> bool {
        matches!(self, Task::Translation | Task::Summarization)
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
        Task::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| crate::CoreError::UnknownTask(s.to_owned()))
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
    /// Example inputs the page offers (text classification's texts).
    #[serde(default)]
    pub examples: Vec<String>,
    /// What the translation and summarization pages show and start from.
    #[serde(default, skip_serializing_if = "Text2TextDefaults::is_empty")]
    pub text2text: Text2TextDefaults,
}

/// The translation and summarization pages' facts about the model and the author's defaults.
/// `lantern build` reads the languages from the model (its name, `config.json`, its card) so the
/// page, which only has `demo.json` before the model is loaded, can show the pair at once; the
/// manifest's `[text2text]` section overrides each field.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Text2TextDefaults {
    /// The language translated from, a code as the model names it (`en`), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_language: Option<String>,
    /// The language translated into (`de`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_language: Option<String>,
    /// Where the pair was read ("the model's name opus-mt-en-de"), shown beside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub languages_from: Option<String>,
    /// The model card's `language:` list, shown when no direction is known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub card_languages: Vec<String>,
    /// T5's `task_specific_params` keys for this task (`translation_en_to_de`,
    /// `summarization`), the default first: the page offers them as a choice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub task_params: Vec<String>,
    /// The page's starting beam count (`None`: the model's `generation_config.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_beams: Option<usize>,
    /// The page's starting limit on new tokens (`None`: the model's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_new_tokens: Option<usize>,
    /// The page's starting minimum length (summarization; `None`: the model's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
}

impl Text2TextDefaults {
    /// Nothing known and nothing chosen (every other task's demo): left out of `demo.json`.
    pub fn is_empty(&self) -> bool {
        self == &Text2TextDefaults::default()
    }
}

impl DemoConfig {
    /// Parses `demo.json`. A task this runtime does not know (a Space built by a newer
    /// `lantern`, or an edited file) is [`CoreError::UnknownTask`] naming it, rather than a
    /// generic "unknown variant" error, so the page can say which task it cannot run.
    ///
    /// [`CoreError::UnknownTask`]: crate::CoreError::UnknownTask
    pub fn from_json(text: &str) -> Result<DemoConfig, crate::CoreError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| crate::CoreError::InvalidDemo(e.to_string()))?;
        match value.get("task") {
            Some(serde_json::Value::String(task)) => {
                task.parse::<Task>()?;
            }
            Some(other) => {
                return Err(crate::CoreError::InvalidDemo(format!(
                    "\"task\" is {other}, not a task name"
                )));
            }
            None => {
                return Err(crate::CoreError::InvalidDemo(
                    "it names no \"task\"".to_owned(),
                ));
            }
        }
        serde_json::from_value(value).map_err(|e| crate::CoreError::InvalidDemo(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_json(task: &str) -> String {
        format!(
            r#"{{"title":"t","task":{task},"endpoint":"https://huggingface.co",
               "model":{{"repo":"org/name","revision":"main","commit":"0123456789abcdef0123456789abcdef01234567","files":[]}}}}"#
        )
    }

    #[test]
    fn every_task_round_trips_by_name() {
        for task in Task::ALL {
            assert_eq!(task.as_str().parse::<Task>().unwrap(), task);
            let json = serde_json::to_string(&task).unwrap();
            assert_eq!(json, format!("\"{}\"", task.as_str()));
        }
    }

    #[test]
    fn an_unknown_task_in_demo_json_is_named() {
        let err = DemoConfig::from_json(&demo_json("\"image-to-3d\"")).unwrap_err();
        assert_eq!(err, crate::CoreError::UnknownTask("image-to-3d".into()));
        assert!(err.to_string().contains("image-to-3d"), "{err}");
        assert!(matches!(
            DemoConfig::from_json(&demo_json("7")),
            Err(crate::CoreError::InvalidDemo(_))
        ));
        assert!(matches!(
            DemoConfig::from_json("{"),
            Err(crate::CoreError::InvalidDemo(_))
        ));
        let ok = DemoConfig::from_json(&demo_json("\"text-classification\"")).unwrap();
        assert_eq!(ok.task, Task::TextClassification);
    }
}
