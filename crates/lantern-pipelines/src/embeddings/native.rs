//! Loading an embedding model from a folder (a snapshot in the huggingface_hub cache).

use std::path::Path;

use futures_util::FutureExt;

use super::embedder::{Embedder, EmbedderOptions};
use crate::device::Device;
use crate::error::{PipelineError, Result};
use crate::source::DirSource;

impl Embedder {
    /// Loads from a folder holding the repository's files (`config.json`, `tokenizer.json`,
    /// `model.safetensors`, and the sentence-transformers files where the repo has them), on
    /// the CPU: the same loading as [`super::load`], whose future is ready at once on a folder.
    pub fn from_dir(dir: &Path, options: &EmbedderOptions) -> Result<Self> {
        let source = DirSource::new(dir)?;
        super::load(&source, Device::Cpu, options)
            .now_or_never()
            .ok_or_else(|| PipelineError::UnsupportedModel("loading did not finish".into()))?
            .map(|loaded| loaded.pipeline)
    }
}
