//! Loading an embedding model from a folder (a snapshot in the huggingface_hub cache).

use std::path::Path;

use super::embedder::{Embedder, EmbedderFiles, EmbedderOptions};
use super::error::{EmbeddingsError, Result};
use super::recipe::{RecipeFiles, pooling_config_path};

fn read(dir: &Path, name: &str) -> Result<Vec<u8>> {
    std::fs::read(dir.join(name)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EmbeddingsError::MissingFile(name.to_owned()),
        _ => EmbeddingsError::Model(lantern_models::ModelError::Io {
            path: dir.join(name).display().to_string(),
            message: e.to_string(),
        }),
    })
}

fn read_optional(dir: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    match read(dir, name) {
        Ok(b) => Ok(Some(b)),
        Err(EmbeddingsError::MissingFile(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Embedder {
    /// Loads from a folder holding the repository's files (`config.json`, `tokenizer.json`,
    /// `model.safetensors`, and the sentence-transformers files where the repo has them).
    pub fn from_dir(dir: &Path, options: &EmbedderOptions) -> Result<Self> {
        let modules = read_optional(dir, "modules.json")?;
        let pooling = match &modules {
            Some(m) => match pooling_config_path(m)? {
                Some(p) => read_optional(dir, &p)?,
                None => None,
            },
            None => None,
        };
        let sbert = read_optional(dir, "sentence_bert_config.json")?;
        let config = read(dir, "config.json")?;
        let tokenizer = read(dir, "tokenizer.json")?;
        let weights = read(dir, "model.safetensors")?;
        Embedder::load(
            &EmbedderFiles {
                config_json: &config,
                tokenizer_json: &tokenizer,
                safetensors: &weights,
                recipe: RecipeFiles {
                    modules_json: modules.as_deref(),
                    pooling_config: pooling.as_deref(),
                    sentence_bert_config: sbert.as_deref(),
                },
            },
            options,
        )
    }
}
