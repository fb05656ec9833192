//! The sentence-transformers recipe, read from the repository's own files rather than
//! hard-coded: which pooling (`1_Pooling/config.json`), whether a `Normalize` module follows
//! (`modules.json`), and how many tokens the model sees (`sentence_bert_config.json`).
//!
//! Reference: sentence-transformers 2.x, `SentenceTransformer._load_sbert_model` (modules.json),
//! `models/Pooling.py` and `models/Transformer.py`.

use serde::Deserialize;

use super::error::{EmbeddingsError, Result};

/// How token vectors become one sentence vector (`sentence_transformers.models.Pooling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pooling {
    /// Average over the tokens of the attention mask (special tokens included, as upstream).
    Mean,
    /// The first token's vector ([CLS]).
    Cls,
    /// Component-wise maximum over the tokens of the attention mask.
    Max,
    /// The sum over the mask divided by the square root of the token count.
    MeanSqrtLen,
}

impl Pooling {
    pub fn as_str(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
            Pooling::Max => "max",
            Pooling::MeanSqrtLen => "mean_sqrt_len_tokens",
        }
    }
}

/// Everything around the encoder that decides what a sentence's vector is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    pub pooling: Pooling,
    /// L2-normalise the pooled vector (a `Normalize` module in modules.json).
    pub normalize: bool,
    /// Longest input in tokens, [CLS] and [SEP] included; longer inputs are truncated.
    pub max_seq_length: usize,
}

impl Recipe {
    /// What DESIGN.md promises for a plain encoder without sentence-transformers files: mean
    /// pooling, L2-normalised, truncated to the model's position table.
    pub fn default_for(max_position_embeddings: usize) -> Self {
        Recipe {
            pooling: Pooling::Mean,
            normalize: true,
            max_seq_length: max_position_embeddings,
        }
    }
}

/// The files the recipe comes from, as found in the repository (`None`: the file is absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecipeFiles<'a> {
    pub modules_json: Option<&'a [u8]>,
    /// The `config.json` inside the Pooling module's folder (see [`pooling_config_path`]).
    pub pooling_config: Option<&'a [u8]>,
    pub sentence_bert_config: Option<&'a [u8]>,
}

/// One entry of `modules.json`.
#[derive(Debug, Clone, Deserialize)]
struct Module {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

const TRANSFORMER: &str = "sentence_transformers.models.Transformer";
const POOLING: &str = "sentence_transformers.models.Pooling";
const NORMALIZE: &str = "sentence_transformers.models.Normalize";

fn modules(modules_json: &[u8]) -> Result<Vec<Module>> {
    serde_json::from_slice(modules_json).map_err(|e| EmbeddingsError::config("modules.json", e))
}

/// Where the Pooling module keeps its config (`1_Pooling/config.json` in most repos), from
/// `modules.json`; `None` when the pipeline has no Pooling module.
pub fn pooling_config_path(modules_json: &[u8]) -> Result<Option<String>> {
    Ok(modules(modules_json)?
        .into_iter()
        .find(|m| m.kind == POOLING)
        .map(|m| {
            let dir = m.path.trim_matches('/');
            if dir.is_empty() {
                "config.json".to_owned()
            } else {
                format!("{dir}/config.json")
            }
        }))
}

#[derive(Debug, Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
    #[serde(default)]
    include_prompt: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
    #[serde(default)]
    do_lower_case: bool,
}

impl Recipe {
    /// Reads the recipe. `max_position_embeddings` (config.json) caps `max_seq_length`: the
    /// encoder has no position vectors beyond it.
    pub fn from_files(files: &RecipeFiles<'_>, max_position_embeddings: usize) -> Result<Self> {
        let mut recipe = Recipe::default_for(max_position_embeddings);
        let Some(modules_json) = files.modules_json else {
            return Ok(recipe);
        };
        let modules = modules(modules_json)?;
        let kinds: Vec<&str> = modules.iter().map(|m| m.kind.as_str()).collect();
        // Upstream runs the modules in order; we implement the common chain only, and say so
        // for anything else (a Dense projection, a CNN, ...) instead of silently skipping it.
        if kinds.first() != Some(&TRANSFORMER) {
            return Err(EmbeddingsError::UnsupportedRecipe(format!(
                "modules.json must start with {TRANSFORMER}, found {kinds:?}"
            )));
        }
        for kind in &kinds[1..] {
            if ![POOLING, NORMALIZE].contains(kind) {
                return Err(EmbeddingsError::UnsupportedRecipe(format!(
                    "module {kind} is not supported (supported: Transformer, Pooling, Normalize)"
                )));
            }
        }
        recipe.normalize = kinds.contains(&NORMALIZE);

        if kinds.contains(&POOLING) {
            let bytes = files.pooling_config.ok_or_else(|| {
                EmbeddingsError::MissingFile("the Pooling module's config.json".into())
            })?;
            let p: PoolingConfig = serde_json::from_slice(bytes)
                .map_err(|e| EmbeddingsError::config("pooling config.json", e))?;
            recipe.pooling = pooling_mode(&p)?;
        } else {
            // A pipeline without Pooling outputs token embeddings; we only do sentence vectors.
            return Err(EmbeddingsError::UnsupportedRecipe(
                "modules.json has no Pooling module (token embeddings are not supported)".into(),
            ));
        }

        if let Some(bytes) = files.sentence_bert_config {
            let s: SentenceBertConfig = serde_json::from_slice(bytes)
                .map_err(|e| EmbeddingsError::config("sentence_bert_config.json", e))?;
            if s.do_lower_case {
                // The tokenizer of every BERT checkpoint we know lowercases itself; an extra
                // lowercasing step upstream would be a no-op for them, but not in general.
                return Err(EmbeddingsError::UnsupportedRecipe(
                    "sentence_bert_config.json has do_lower_case=true".into(),
                ));
            }
            if let Some(n) = s.max_seq_length {
                if n < 2 {
                    return Err(EmbeddingsError::InvalidConfig {
                        file: "sentence_bert_config.json",
                        reason: format!("max_seq_length {n} leaves no room for [CLS] and [SEP]"),
                    });
                }
                recipe.max_seq_length = n.min(max_position_embeddings);
            }
        }
        Ok(recipe)
    }
}

fn pooling_mode(p: &PoolingConfig) -> Result<Pooling> {
    if p.pooling_mode_weightedmean_tokens || p.pooling_mode_lasttoken {
        return Err(EmbeddingsError::UnsupportedRecipe(
            "pooling modes weightedmean and lasttoken are not supported".into(),
        ));
    }
    if p.include_prompt == Some(false) {
        return Err(EmbeddingsError::UnsupportedRecipe(
            "pooling with include_prompt=false is not supported".into(),
        ));
    }
    let modes = [
        (p.pooling_mode_cls_token, Pooling::Cls),
        (p.pooling_mode_mean_tokens, Pooling::Mean),
        (p.pooling_mode_max_tokens, Pooling::Max),
        (p.pooling_mode_mean_sqrt_len_tokens, Pooling::MeanSqrtLen),
    ];
    let on: Vec<Pooling> = modes
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, m)| *m)
        .collect();
    match on.as_slice() {
        [one] => Ok(*one),
        // Upstream concatenates several modes into one longer vector; no model we target does.
        [] => Err(EmbeddingsError::UnsupportedRecipe(
            "the pooling config enables no pooling mode".into(),
        )),
        several => Err(EmbeddingsError::UnsupportedRecipe(format!(
            "several pooling modes at once ({}) are not supported",
            several
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULES: &str = r#"[
      {"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
      {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
      {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#;

    fn pooling(mode: &str) -> String {
        format!(r#"{{"word_embedding_dimension":384,"pooling_mode_{mode}":true}}"#)
    }

    #[test]
    fn reads_minilm_recipe() -> Result<()> {
        let pool = pooling("mean_tokens");
        let files = RecipeFiles {
            modules_json: Some(MODULES.as_bytes()),
            pooling_config: Some(pool.as_bytes()),
            sentence_bert_config: Some(br#"{"max_seq_length": 256, "do_lower_case": false}"#),
        };
        assert_eq!(
            pooling_config_path(MODULES.as_bytes())?.as_deref(),
            Some("1_Pooling/config.json")
        );
        let r = Recipe::from_files(&files, 512)?;
        assert_eq!(
            r,
            Recipe {
                pooling: Pooling::Mean,
                normalize: true,
                max_seq_length: 256
            }
        );
        Ok(())
    }

    #[test]
    fn modes_normalize_and_caps() -> Result<()> {
        let no_norm = r#"[{"path":"","type":"sentence_transformers.models.Transformer"},
                          {"path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"#;
        for (mode, want) in [("cls_token", Pooling::Cls), ("max_tokens", Pooling::Max)] {
            let pool = pooling(mode);
            let files = RecipeFiles {
                modules_json: Some(no_norm.as_bytes()),
                pooling_config: Some(pool.as_bytes()),
                sentence_bert_config: Some(br#"{"max_seq_length": 4096}"#),
            };
            let r = Recipe::from_files(&files, 512)?;
            assert_eq!(
                (r.pooling, r.normalize, r.max_seq_length),
                (want, false, 512)
            );
        }
        // No sentence-transformers files at all: DESIGN.md's default.
        assert_eq!(
            Recipe::from_files(&RecipeFiles::default(), 512)?,
            Recipe::default_for(512)
        );
        Ok(())
    }

    #[test]
    fn bad_recipes_are_typed_errors() {
        let pool = pooling("mean_tokens");
        let dense = r#"[{"path":"","type":"sentence_transformers.models.Transformer"},
                        {"path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                        {"path":"2_Dense","type":"sentence_transformers.models.Dense"}]"#;
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a [u8]>);
        let cases: [Case; 5] = [
            (dense, Some(&pool), None),
            (MODULES, None, None),
            (
                MODULES,
                Some(r#"{"pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":true}"#),
                None,
            ),
            (MODULES, Some(&pool), Some(br#"{"max_seq_length": 1}"#)),
            ("{not json", None, None),
        ];
        for (modules, pooling, sbert) in cases {
            let files = RecipeFiles {
                modules_json: Some(modules.as_bytes()),
                pooling_config: pooling.map(str::as_bytes),
                sentence_bert_config: sbert,
            };
            let err = Recipe::from_files(&files, 512).err();
            assert!(
                matches!(
                    err,
                    Some(
                        EmbeddingsError::UnsupportedRecipe(_)
                            | EmbeddingsError::MissingFile(_)
                            | EmbeddingsError::InvalidConfig { .. }
                    )
                ),
                "{modules} {pooling:?}: {err:?}"
            );
        }
    }
}
