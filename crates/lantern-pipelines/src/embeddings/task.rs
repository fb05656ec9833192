//! The embeddings task's files and loading, from any [`FileSource`] onto a [`Device`].

use lantern_models::encoder;
use lantern_models::ops::Backend;

use super::embedder::{Embedder, EmbedderFiles, EmbedderOptions};
use super::error::EmbeddingsError;
use super::recipe::{RecipeFiles, pooling_config_path};
use crate::device::{Arithmetic, Device, Loaded, Loader, load_on};
use crate::error::PipelineError;
use crate::source::{FileSource, read_optional, read_required};
use crate::tasks::FileChoice;

/// What the pipeline cannot run without.
pub const REQUIRED: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// The files an embedding model is read from: the encoder's, and the sentence-transformers
/// recipe where the repository has one (`modules.json` is read to find the Pooling module's
/// folder). A repository without the encoder's files is refused, naming them.
pub async fn files<S: FileSource>(source: &S) -> Result<FileChoice, PipelineError> {
    let missing: Vec<&str> = REQUIRED.into_iter().filter(|f| !source.has(f)).collect();
    if !missing.is_empty() {
        return Err(PipelineError::UnsupportedModel(format!(
            "the repository has no {}: Lantern's embeddings run BERT-family encoders from \
             safetensors with a tokenizer.json",
            missing.join(", ")
        )));
    }
    let mut files: Vec<String> = REQUIRED.map(String::from).into();
    let mut report = String::from("the encoder's config, weights and tokenizer");
    if let Some(modules) = read_optional(source, "modules.json").await? {
        files.push("modules.json".into());
        report.push_str(", and the sentence-transformers recipe (modules.json");
        let pooling = pooling_config_path(&modules)?;
        for optional in pooling
            .iter()
            .map(String::as_str)
            .chain(["sentence_bert_config.json"])
        {
            if source.has(optional) {
                files.push(optional.to_owned());
                report.push_str(&format!(", {optional}"));
            }
        }
        report.push(')');
    } else {
        report.push_str(" (no modules.json: mean pooling, L2-normalised)");
    }
    report.push('\n');
    Ok(FileChoice {
        files,
        report,
        picked: false,
    })
}

/// Loads an embedding model from the source onto `device` (the CPU when the GPU cannot take
/// it; [`Loaded::fallback`] says why).
pub async fn load<S: FileSource>(
    source: &S,
    device: Device,
    options: &EmbedderOptions,
) -> Result<Loaded<Embedder>, PipelineError> {
    let config = read_required(source, "config.json").await?;
    let cfg = encoder::Config::from_json(&config).map_err(EmbeddingsError::from)?;
    let loader = EmbedderLoader { source, options };
    load_on(device, largest_buffer(&cfg, options.batch_size), &loader).await
}

/// The largest buffer a forward pass asks a GPU for: the word embedding table, or the
/// feed-forward activations of a full batch of the longest texts, whichever is larger.
pub(crate) fn largest_buffer(cfg: &encoder::Config, batch: usize) -> u64 {
    let table = (cfg.vocab_size * cfg.hidden_size * 4) as u64;
    let ffn = (batch * cfg.max_tokens() * cfg.intermediate_size * 4) as u64;
    table.max(ffn)
}

struct EmbedderLoader<'s, S> {
    source: &'s S,
    options: &'s EmbedderOptions,
}

impl<S: FileSource> Loader for EmbedderLoader<'_, S> {
    const ARITHMETIC: Arithmetic = Arithmetic::Exact;
    type Output = Embedder;

    async fn load<B: Backend>(&self, backend: B) -> Result<Embedder, PipelineError> {
        let s = self.source;
        let modules = read_optional(s, "modules.json").await?;
        let pooling = match &modules {
            Some(m) => match pooling_config_path(m)? {
                Some(p) => read_optional(s, &p).await?,
                None => None,
            },
            None => None,
        };
        let sbert = read_optional(s, "sentence_bert_config.json").await?;
        let config = read_required(s, "config.json").await?;
        let tokenizer = read_required(s, "tokenizer.json").await?;
        let weights = read_required(s, "model.safetensors").await?;
        Ok(Embedder::load_on(
            backend,
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
            self.options,
        )?)
    }
}
