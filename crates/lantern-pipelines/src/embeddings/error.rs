//! Errors of the embedding pipelines.

use lantern_models::ModelError;

/// Everything that can go wrong loading an embedding model or embedding text. Bad files and
/// bad input are always one of these, never a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbeddingsError {
    #[error("{file} is not valid: {reason}")]
    InvalidConfig { file: &'static str, reason: String },
    #[error("unsupported sentence-transformers recipe: {0}")]
    UnsupportedRecipe(String),
    #[error("{0} is missing")]
    MissingFile(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("vectors of different lengths ({0} and {1}) cannot be compared")]
    DimensionMismatch(usize, usize),
}

impl EmbeddingsError {
    /// A short stable name for UIs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            EmbeddingsError::InvalidConfig { .. } => "invalid_config",
            EmbeddingsError::UnsupportedRecipe(_) => "unsupported_recipe",
            EmbeddingsError::MissingFile(_) => "missing_file",
            EmbeddingsError::Tokenizer(_) => "tokenizer",
            EmbeddingsError::Model(e) => e.code(),
            EmbeddingsError::DimensionMismatch(..) => "dimension_mismatch",
        }
    }

    pub(crate) fn config(file: &'static str, e: impl std::fmt::Display) -> Self {
        EmbeddingsError::InvalidConfig {
            file,
            reason: e.to_string(),
        }
    }
}

pub type Result<T, E = EmbeddingsError> = std::result::Result<T, E>;
