//! `config.json` of an encoder (transformers' `BertConfig`, `DistilBertConfig`,
//! `RobertaConfig`, `XLMRobertaConfig`), checked field by field into one [`Config`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{ModelError, Result};
use crate::ops::Activation;

/// The encoder families Lantern runs: they differ in tensor names, positions, token types and
/// classification head (`model::Names`), not in the layers' arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Architecture {
    /// `bert`: BERT, MiniLM, and the BGE / E5 / GTE checkpoints that are BERTs.
    Bert,
    /// `distilbert`: no token types; `dim`, `n_layers`, ... in its config.
    DistilBert,
    /// `roberta`: positions offset by `pad_token_id + 1`.
    Roberta,
    /// `xlm-roberta`: RoBERTa's architecture with a larger vocabulary.
    XlmRoberta,
}

impl Architecture {
    /// The `model_type` of its config.
    pub fn model_type(self) -> &'static str {
        match self {
            Architecture::Bert => "bert",
            Architecture::DistilBert => "distilbert",
            Architecture::Roberta => "roberta",
            Architecture::XlmRoberta => "xlm-roberta",
        }
    }
}

/// The hyperparameters an encoder needs, under transformers' `BertConfig` names whatever the
/// family's own (DistilBERT's `dim` is `hidden_size` here).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub architecture: Architecture,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: Activation,
    pub max_position_embeddings: usize,
    /// Rows of the token-type table; 0 for DistilBERT, which has none.
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub pad_token_id: u32,
    /// The classification labels (`id2label`) in id order; `LABEL_0`, `LABEL_1` where the
    /// config has none, as transformers defaults.
    pub labels: Vec<String>,
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
    id2label: Option<BTreeMap<String, String>>,
    num_labels: Option<usize>,
    // DistilBERT's own names.
    dim: Option<usize>,
    n_layers: Option<usize>,
    n_heads: Option<usize>,
    hidden_dim: Option<usize>,
    activation: Option<String>,
    sinusoidal_pos_embds: Option<bool>,
}

/// Upper bounds against a hostile or corrupt file: each is far above any released encoder
/// (XLM-R large: 1024 hidden, 24 layers, 16 heads, 4096 intermediate, 514 positions, a
/// 250k vocabulary).
pub(crate) const MAX_HIDDEN: usize = 1 << 14;
pub(crate) const MAX_LAYERS: usize = 256;
const MAX_VOCAB: usize = 1 << 22;
const MAX_POSITIONS: usize = 1 << 16;
const MAX_TYPES: usize = 1 << 10;
const MAX_LABELS: usize = 1 << 16;

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> ModelError {
    ModelError::InvalidConfig {
        name,
        reason: reason.into(),
    }
}

impl Config {
    /// Parses and validates `config.json`.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let raw: Raw =
            serde_json::from_slice(json).map_err(|e| invalid("config.json", e.to_string()))?;
        // A config without `model_type` (old BERT checkpoints) is a BERT.
        let architecture = match raw.model_type.as_deref().unwrap_or("bert") {
            "bert" => Architecture::Bert,
            "distilbert" => Architecture::DistilBert,
            "roberta" => Architecture::Roberta,
            "xlm-roberta" => Architecture::XlmRoberta,
            // Other families differ in ways (positions, norms, heads) that would give wrong
            // vectors without an error if they were run as one of these.
            other => return Err(ModelError::UnsupportedArchitecture(other.to_owned())),
        };
        if let Some(p) = raw.position_embedding_type.as_deref()
            && p != "absolute"
        {
            return Err(invalid(
                "position_embedding_type",
                format!("{p:?} is not supported (only \"absolute\")"),
            ));
        }
        if raw.is_decoder == Some(true) {
            return Err(invalid("is_decoder", "a decoder is not an encoder"));
        }
        let distil = architecture == Architecture::DistilBert;
        if distil && raw.sinusoidal_pos_embds == Some(true) {
            return Err(invalid(
                "sinusoidal_pos_embds",
                "sinusoidal position embeddings are not supported",
            ));
        }
        let act_field = if distil { "activation" } else { "hidden_act" };
        let act = if distil {
            &raw.activation
        } else {
            &raw.hidden_act
        };
        let hidden_act = activation(act.as_deref(), act_field)?;
        // DistilBERT's names first; transformers maps the BERT names onto them too.
        let (hidden, layers, heads, inter) = if distil {
            (
                ("dim", raw.dim.or(raw.hidden_size)),
                ("n_layers", raw.n_layers.or(raw.num_hidden_layers)),
                ("n_heads", raw.n_heads.or(raw.num_attention_heads)),
                ("hidden_dim", raw.hidden_dim.or(raw.intermediate_size)),
            )
        } else {
            (
                ("hidden_size", raw.hidden_size),
                ("num_hidden_layers", raw.num_hidden_layers),
                ("num_attention_heads", raw.num_attention_heads),
                ("intermediate_size", raw.intermediate_size),
            )
        };
        let roberta = matches!(
            architecture,
            Architecture::Roberta | Architecture::XlmRoberta
        );
        let cfg = Config {
            architecture,
            vocab_size: required(raw.vocab_size, "vocab_size", MAX_VOCAB)?,
            hidden_size: required(hidden.1, hidden.0, MAX_HIDDEN)?,
            num_hidden_layers: required(layers.1, layers.0, MAX_LAYERS)?,
            num_attention_heads: required(heads.1, heads.0, MAX_HIDDEN)?,
            intermediate_size: required(inter.1, inter.0, 4 * MAX_HIDDEN)?,
            hidden_act,
            max_position_embeddings: required(
                raw.max_position_embeddings,
                "max_position_embeddings",
                MAX_POSITIONS,
            )?,
            type_vocab_size: if distil {
                0
            } else {
                required(
                    Some(raw.type_vocab_size.unwrap_or(2)),
                    "type_vocab_size",
                    MAX_TYPES,
                )?
            },
            // DistilBERT's layer norms have a fixed eps (its config has no field for it).
            layer_norm_eps: if distil {
                1e-12
            } else {
                raw.layer_norm_eps.unwrap_or(1e-12)
            },
            pad_token_id: raw.pad_token_id.unwrap_or(if roberta { 1 } else { 0 }),
            labels: labels(raw.id2label, raw.num_labels)?,
        };
        if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return Err(invalid(
                heads.0,
                format!(
                    "{} {} is not a multiple of {} heads",
                    hidden.0, cfg.hidden_size, cfg.num_attention_heads
                ),
            ));
        }
        if !(cfg.layer_norm_eps.is_finite() && cfg.layer_norm_eps > 0.0 && cfg.layer_norm_eps < 1.0)
        {
            return Err(invalid(
                "layer_norm_eps",
                format!("{} is not a positive number below 1", cfg.layer_norm_eps),
            ));
        }
        // Padding rows are looked up with this id.
        if cfg.pad_token_id as usize >= cfg.vocab_size {
            return Err(invalid(
                "pad_token_id",
                format!(
                    "{} is outside the vocabulary of {}",
                    cfg.pad_token_id, cfg.vocab_size
                ),
            ));
        }
        if cfg.max_tokens() == 0 {
            return Err(invalid(
                "max_position_embeddings",
                format!(
                    "{} positions leave no room for a token after the offset {}",
                    cfg.max_position_embeddings,
                    cfg.position_offset()
                ),
            ));
        }
        Ok(cfg)
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    pub fn num_labels(&self) -> usize {
        self.labels.len()
    }

    /// Position of a text's first token: RoBERTa counts positions from `pad_token_id + 1`
    /// (transformers' `create_position_ids_from_input_ids`), the others from 0.
    pub fn position_offset(&self) -> usize {
        match self.architecture {
            Architecture::Roberta | Architecture::XlmRoberta => self.pad_token_id as usize + 1,
            Architecture::Bert | Architecture::DistilBert => 0,
        }
    }

    /// The longest input, in tokens (RoBERTa's 514 positions hold 512 tokens).
    pub fn max_tokens(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.position_offset())
    }
}

/// transformers' activation of this name (`gelu` when absent).
pub(crate) fn activation(name: Option<&str>, field: &'static str) -> Result<Activation> {
    Ok(match name.unwrap_or("gelu") {
        "gelu" => Activation::Gelu,
        "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
        "relu" => Activation::Relu,
        other => return Err(invalid(field, format!("{other:?} is not supported"))),
    })
}

pub(crate) fn required(v: Option<usize>, name: &'static str, max: usize) -> Result<usize> {
    match v {
        None => Err(invalid(name, "missing")),
        Some(0) => Err(invalid(name, "must not be 0")),
        Some(n) if n > max => Err(ModelError::LimitExceeded {
            what: name,
            value: n as u64,
            limit: max as u64,
        }),
        Some(n) => Ok(n),
    }
}

/// `id2label` as a list in id order (its keys must be `0..n`); without it, `num_labels`
/// (default 2) labels `LABEL_i`, as transformers' `PretrainedConfig` makes them.
pub(crate) fn labels(
    id2label: Option<BTreeMap<String, String>>,
    num_labels: Option<usize>,
) -> Result<Vec<String>> {
    let Some(map) = id2label else {
        let n = num_labels.unwrap_or(2);
        if n == 0 || n > MAX_LABELS {
            return Err(invalid(
                "num_labels",
                format!("{n} is not between 1 and {MAX_LABELS}"),
            ));
        }
        return Ok((0..n).map(|i| format!("LABEL_{i}")).collect());
    };
    if map.is_empty() || map.len() > MAX_LABELS {
        return Err(invalid(
            "id2label",
            format!("{} labels (1 to {MAX_LABELS} are supported)", map.len()),
        ));
    }
    let n = map.len();
    let mut labels = vec![None; n];
    for (key, label) in map {
        let slot = key
            .parse::<usize>()
            .ok()
            .and_then(|i| labels.get_mut(i))
            .ok_or_else(|| invalid("id2label", format!("key {key:?} is not an id below {n}")))?;
        *slot = Some(label);
    }
    // n keys that all parse to ids below n fill every slot unless two name the same id.
    labels
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| invalid("id2label", "two keys name the same id"))
}
