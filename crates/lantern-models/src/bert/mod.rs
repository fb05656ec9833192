//! BERT-family encoders: BERT, MiniLM, and the BGE / E5 / GTE checkpoints that are BERTs.
//!
//! ```no_run
//! # fn demo(config_json: &[u8], safetensors: &[u8]) -> lantern_models::Result<()> {
//! use lantern_models::bert::{Config, Model, Quantization};
//!
//! let cfg = Config::from_json(config_json)?;
//! let model = Model::from_safetensors(&cfg, safetensors, Quantization::None)?;
//! // [CLS] hello [SEP] and [CLS] hello world [SEP], padded into one batch.
//! let hidden = model.forward(&[&[101, 7592, 102], &[101, 7592, 2088, 102]])?;
//! assert_eq!(hidden[1].len(), 4 * cfg.hidden_size);
//! # Ok(()) }
//! ```

mod config;
mod model;

pub use config::{Activation, Config};
pub use model::{Model, Quantization};
