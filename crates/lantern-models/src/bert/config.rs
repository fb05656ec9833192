//! `config.json` of a BERT-family encoder (transformers' `BertConfig`), checked field by field.

use serde::Deserialize;

use crate::error::{ModelError, Result};

/// The activation of the feed-forward block (`hidden_act`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Activation {
    /// `gelu`: the exact GELU, x·Φ(x) with the error function (what BERT was trained with).
    Gelu,
    /// `gelu_new` / `gelu_pytorch_tanh`: the tanh approximation.
    GeluTanh,
    Relu,
}

/// The hyperparameters the encoder needs. Names and defaults follow transformers' `BertConfig`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: Activation,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub pad_token_id: u32,
}

/// `config.json` as written, every field optional so a missing one is reported by name.
#[derive(Debug, Deserialize)]
struct Raw {
    model_type: Option<String>,
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    intermediate_size: Option<usize>,
    hidden_act: Option<String>,
    max_position_embeddings: Option<usize>,
    type_vocab_size: Option<usize>,
    layer_norm_eps: Option<f64>,
    pad_token_id: Option<u32>,
    position_embedding_type: Option<String>,
    is_decoder: Option<bool>,
}

/// Upper bounds against a hostile or corrupt file: each is far above any released BERT
/// (BERT-large: 1024 hidden, 24 layers, 16 heads, 4096 intermediate, 512 positions).
const MAX_HIDDEN: usize = 1 << 14;
const MAX_LAYERS: usize = 256;
const MAX_VOCAB: usize = 1 << 22;
const MAX_POSITIONS: usize = 1 << 16;

impl Config {
    /// Parses and validates `config.json`.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| ModelError::InvalidConfig {
            name: "config.json",
            reason: e.to_string(),
        })?;
        if let Some(t) = raw.model_type.as_deref() {
            // RoBERTa-style models offset positions by pad_token_id + 1, and other families
            // differ further; accepting them would give wrong vectors without an error.
            if t != "bert" {
                return Err(ModelError::UnsupportedArchitecture(t.to_owned()));
            }
        }
        if let Some(p) = raw.position_embedding_type.as_deref()
            && p != "absolute"
        {
            return Err(ModelError::InvalidConfig {
                name: "position_embedding_type",
                reason: format!("{p:?} is not supported (only \"absolute\")"),
            });
        }
        if raw.is_decoder == Some(true) {
            return Err(ModelError::InvalidConfig {
                name: "is_decoder",
                reason: "a decoder BERT is not an encoder".into(),
            });
        }
        let hidden_act = match raw.hidden_act.as_deref().unwrap_or("gelu") {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => {
                return Err(ModelError::InvalidConfig {
                    name: "hidden_act",
                    reason: format!("{other:?} is not supported"),
                });
            }
        };
        let cfg = Config {
            vocab_size: required(raw.vocab_size, "vocab_size", MAX_VOCAB)?,
            hidden_size: required(raw.hidden_size, "hidden_size", MAX_HIDDEN)?,
            num_hidden_layers: required(raw.num_hidden_layers, "num_hidden_layers", MAX_LAYERS)?,
            num_attention_heads: required(
                raw.num_attention_heads,
                "num_attention_heads",
                MAX_HIDDEN,
            )?,
            intermediate_size: required(
                raw.intermediate_size,
                "intermediate_size",
                4 * MAX_HIDDEN,
            )?,
            hidden_act,
            max_position_embeddings: required(
                raw.max_position_embeddings,
                "max_position_embeddings",
                MAX_POSITIONS,
            )?,
            type_vocab_size: raw.type_vocab_size.unwrap_or(2),
            layer_norm_eps: raw.layer_norm_eps.unwrap_or(1e-12),
            pad_token_id: raw.pad_token_id.unwrap_or(0),
        };
        if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return Err(ModelError::InvalidConfig {
                name: "num_attention_heads",
                reason: format!(
                    "hidden_size {} is not a multiple of {} heads",
                    cfg.hidden_size, cfg.num_attention_heads
                ),
            });
        }
        if cfg.type_vocab_size == 0 {
            return Err(ModelError::InvalidConfig {
                name: "type_vocab_size",
                reason: "must be at least 1".into(),
            });
        }
        if !(cfg.layer_norm_eps.is_finite() && cfg.layer_norm_eps > 0.0) {
            return Err(ModelError::InvalidConfig {
                name: "layer_norm_eps",
                reason: format!("{} is not a positive number", cfg.layer_norm_eps),
            });
        }
        Ok(cfg)
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

fn required(v: Option<usize>, name: &'static str, max: usize) -> Result<usize> {
    match v {
        None => Err(ModelError::InvalidConfig {
            name,
            reason: "missing".into(),
        }),
        Some(0) => Err(ModelError::InvalidConfig {
            name,
            reason: "must not be 0".into(),
        }),
        Some(n) if n > max => Err(ModelError::LimitExceeded {
            what: name,
            value: n as u64,
            limit: max as u64,
        }),
        Some(n) => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{"architectures":["BertModel"],"hidden_act":"gelu","hidden_size":384,
        "intermediate_size":1536,"layer_norm_eps":1e-12,"max_position_embeddings":512,"model_type":"bert",
        "num_attention_heads":12,"num_hidden_layers":6,"pad_token_id":0,"position_embedding_type":"absolute",
        "type_vocab_size":2,"vocab_size":30522}"#;

    #[test]
    fn parses_minilm() -> Result<()> {
        let c = Config::from_json(MINILM.as_bytes())?;
        assert_eq!(
            (c.hidden_size, c.num_hidden_layers, c.head_dim()),
            (384, 6, 32)
        );
        assert_eq!(c.hidden_act, Activation::Gelu);
        Ok(())
    }

    #[test]
    fn rejects_bad_configs_by_name() {
        let cases = [
            (MINILM.replace(r#""hidden_size":384,"#, ""), "hidden_size"),
            (
                MINILM.replace(r#""num_attention_heads":12"#, r#""num_attention_heads":7"#),
                "num_attention_heads",
            ),
            (MINILM.replace(r#""gelu""#, r#""swish""#), "hidden_act"),
            (
                MINILM.replace(r#""absolute""#, r#""relative_key""#),
                "position_embedding_type",
            ),
            (
                MINILM.replace(r#""num_hidden_layers":6"#, r#""num_hidden_layers":0"#),
                "num_hidden_layers",
            ),
            (MINILM.replace("1e-12", "-1"), "layer_norm_eps"),
            ("[1,2".to_owned(), "config.json"),
        ];
        for (json, field) in cases {
            match Config::from_json(json.as_bytes()) {
                Err(ModelError::InvalidConfig { name, .. }) => assert_eq!(name, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let roberta = MINILM.replace(r#""model_type":"bert""#, r#""model_type":"xlm-roberta""#);
        assert!(matches!(
            Config::from_json(roberta.as_bytes()),
            Err(ModelError::UnsupportedArchitecture(_))
        ));
        let huge = MINILM.replace(r#""vocab_size":30522"#, r#""vocab_size":99999999999"#);
        assert!(matches!(
            Config::from_json(huge.as_bytes()),
            Err(ModelError::LimitExceeded { .. })
        ));
    }
}
