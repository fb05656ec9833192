//! Sentence embeddings with encoders (BERT, DistilBERT, RoBERTa, XLM-R), the way
//! sentence-transformers computes them: `feature-extraction` (one vector per text), `sentence-similarity` (a cosine matrix) and
//! semantic search (documents ranked against a query).
//!
//! ```no_run
//! # fn demo(dir: &std::path::Path) -> Result<(), lantern_pipelines::PipelineError> {
//! use lantern_pipelines::embeddings::{Embedder, EmbedderOptions};
//!
//! let embedder = Embedder::from_dir(dir, &EmbedderOptions::default())?;
//! let v = embedder.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
//! assert_eq!(v[0].len(), embedder.dim());
//! let hits = embedder.search("Someone is having lunch", &["A cat sleeps.", "A man eats."], 1)?;
//! assert_eq!(hits[0].index, 1);
//! # Ok(()) }
//! ```

mod embedder;
mod error;
#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
mod native;
mod pooling;
mod recipe;
mod similarity;
mod task;

pub use embedder::{Embedder, EmbedderFiles, EmbedderOptions};
pub use error::{EmbeddingsError, Result};
pub use lantern_models::encoder::Quantization;
pub use pooling::{normalize, pool};
pub use recipe::{Pooling, Recipe, RecipeFiles, pooling_config_path};
pub use similarity::{Hit, cosine, rank, similarity_matrix};
pub use task::{REQUIRED, files, load};
