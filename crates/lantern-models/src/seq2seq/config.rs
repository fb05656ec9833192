//! `config.json` of a text-to-text model (transformers' `MarianConfig`, `BartConfig`,
//! `T5Config`), checked field by field.
//!
//! A field the file leaves out takes transformers' default for that class (what
//! `from_pretrained` would use), except the sizes that shape the weights (vocabulary, width,
//! layers, heads, feed-forward width), which must be there, and `decoder_start_token_id`,
//! which stays `None` when absent (the pipeline decides, from `generation_config.json`).

use serde_json::{Map, Value};

use crate::error::{ModelError, Result};
use crate::ops::Activation;

/// The three architectures, which differ in a few places (module [`super`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `MarianMTModel` (Opus-MT): sinusoidal positions, embeddings scaled by `sqrt(d_model)`.
    Marian,
    /// `BartForConditionalGeneration` (BART, DistilBART): learned positions offset by 2, a
    /// layer norm on the embeddings.
    Bart,
    /// `T5ForConditionalGeneration` (T5, T5 v1.1, Flan-T5): relative position buckets, RMS
    /// norms before each block.
    T5,
}

/// T5's relative position buckets (`relative_attention_num_buckets`,
/// `relative_attention_max_distance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelativeAttention {
    pub num_buckets: usize,
    pub max_distance: usize,
}

/// The hyperparameters of a text-to-text model.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub family: Family,
    pub vocab_size: usize,
    pub d_model: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    /// Attention heads, the same in the encoder and the decoder.
    pub heads: usize,
    /// Width of one head: `d_model / heads` (Marian, BART), `d_kv` (T5, where
    /// `heads * head_dim` need not be `d_model`).
    pub head_dim: usize,
    pub encoder_ffn_dim: usize,
    pub decoder_ffn_dim: usize,
    /// The feed-forward layers' activation.
    pub activation: Activation,
    /// T5 v1.1's gated feed-forward layer, `act(wi_0 x) * wi_1 x` (`feed_forward_proj`
    /// `gated-*`).
    pub gated_ffn: bool,
    /// Layer norms' epsilon: 1e-5 (`nn.LayerNorm`'s) for Marian and BART, `layer_norm_epsilon`
    /// for T5's RMS norms.
    pub layer_norm_eps: f32,
    /// Token embeddings multiplied by `sqrt(d_model)` (Marian's `scale_embedding`).
    pub scale_embedding: bool,
    /// The output projection is the token embedding (T5 then scales the decoder's output by
    /// `d_model^-0.5`); else the file has its own `lm_head.weight`.
    pub tie_word_embeddings: bool,
    /// Longest input and output (learned/sinusoidal positions); None for T5 (relative
    /// positions: see [`Config::max_positions`]).
    pub max_position_embeddings: Option<usize>,
    /// T5's position buckets; None for the others.
    pub relative_attention: Option<RelativeAttention>,
    pub pad_token_id: u32,
    pub eos_token_id: u32,
    pub bos_token_id: Option<u32>,
    pub decoder_start_token_id: Option<u32>,
    pub forced_bos_token_id: Option<u32>,
    pub forced_eos_token_id: Option<u32>,
}

/// Upper bounds against a hostile or corrupt file, each far above any released model of these
/// families (t5-11b: d_model 1024, d_ff 65536, 128 heads of 128, 24 + 24 layers; Opus-MT big:
/// 6 + 6 layers of 1024; bart-large: 12 + 12 layers of 1024, 1024 positions; mT5: 250112
/// tokens).
const MAX_D_MODEL: usize = 1 << 13;
const MAX_LAYERS: usize = 256;
const MAX_FFN: usize = 1 << 17;
const MAX_POSITIONS: usize = 1 << 14;
const MAX_VOCAB: usize = 1 << 20;
const MAX_BUCKETS: usize = 1 << 10;
/// The longest input or output of a T5, whose relative positions have no end: the position
/// bias of an encoder pass is `heads x n x n` values (12 heads at 2048 tokens: 200 MB), so
/// longer inputs are refused as a context overflow instead of asking for gigabytes. Released
/// T5s were trained on 512 input tokens.
pub const T5_MAX_POSITIONS: usize = 2048;

fn invalid(name: &'static str, reason: impl Into<String>) -> ModelError {
    ModelError::InvalidConfig {
        name,
        reason: reason.into(),
    }
}

/// The fields of `config.json`, read one at a time so a missing or wrong one is reported by
/// name. `null` is the same as absent, as in transformers.
struct Fields(Map<String, Value>);

impl Fields {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn has_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    fn usize(&self, name: &'static str) -> Result<Option<usize>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| invalid(name, format!("{v} is not a non-negative integer"))),
        }
    }

    /// A size the weights' shapes come from: required, not 0, at most `max`.
    fn size(&self, name: &'static str, max: usize) -> Result<usize> {
        match self.usize(name)? {
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

    fn bool(&self, name: &'static str, default: bool) -> Result<bool> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| invalid(name, format!("{v} is not true or false"))),
        }
    }

    fn str(&self, name: &'static str) -> Result<Option<&str>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| invalid(name, format!("{v} is not a string"))),
        }
    }

    fn f32(&self, name: &'static str, default: f32) -> Result<f32> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .map(|x| x as f32)
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| invalid(name, format!("{v} is not a non-negative number"))),
        }
    }

    /// A token id: absent (or `null`) is `None`; a list (newer files' `eos_token_id`) gives
    /// its first id.
    fn id(&self, name: &'static str) -> Result<Option<u32>> {
        let bad = |v: &Value| invalid(name, format!("{v} is not a token id"));
        let one = |v: &Value| {
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad(v))
        };
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(ids)) => match ids.first() {
                Some(v) => one(v).map(Some),
                None => Err(invalid(name, "an empty list")),
            },
            Some(v) => one(v).map(Some),
        }
    }
}

/// transformers' activation names.
fn activation(name: &'static str, value: &str) -> Result<Activation> {
    Ok(match value {
        "gelu" => Activation::Gelu,
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
        "relu" => Activation::Relu,
        "swish" | "silu" => Activation::Silu,
        "tanh" => Activation::Tanh,
        other => return Err(invalid(name, format!("{other:?} is not supported"))),
    })
}

/// transformers' defaults of the token ids for each class (`MarianConfig`, `BartConfig`,
/// `T5Config`). Their `decoder_start_token_id` defaults are not taken: where the file has
/// none, the pipeline decides (`generation_config.json`, or the family's rule).
struct Defaults {
    pad: u32,
    eos: u32,
    bos: Option<u32>,
    forced_eos: Option<u32>,
}

impl Config {
    /// Parses and validates `config.json`.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let value: Value =
            serde_json::from_slice(json).map_err(|e| invalid("config.json", e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(invalid("config.json", "not a JSON object"));
        };
        let f = Fields(map);
        let family = match f.str("model_type")? {
            Some("marian") => Family::Marian,
            Some("bart") => Family::Bart,
            Some("t5") => Family::T5,
            // mBART normalises before each block and after each stack: another arithmetic
            // than BART's, under BART's names.
            Some(other) => return Err(ModelError::UnsupportedArchitecture(other.to_owned())),
            None => return Err(invalid("model_type", "missing")),
        };
        let vocab_size = f.size("vocab_size", MAX_VOCAB)?;
        let d_model = f.size("d_model", MAX_D_MODEL)?;
        let defaults = match family {
            Family::Marian => Defaults {
                pad: 58100,
                eos: 0,
                bos: None,
                forced_eos: Some(0),
            },
            Family::Bart => Defaults {
                pad: 1,
                eos: 2,
                bos: Some(0),
                forced_eos: Some(2),
            },
            Family::T5 => Defaults {
                pad: 0,
                eos: 1,
                bos: None,
                forced_eos: None,
            },
        };
        // An id the file gives must be in the vocabulary; a class default outside it (Marian's
        // 58100 for a smaller vocabulary) is as if there were none.
        let token = |name: &'static str, default: Option<u32>| -> Result<Option<u32>> {
            let given = f.id(name)?;
            match given {
                Some(id) if id as usize >= vocab_size => Err(invalid(
                    name,
                    format!("{id} is outside the vocabulary of {vocab_size}"),
                )),
                Some(id) => Ok(Some(id)),
                // `null` written out means none, whatever the class's default.
                None if f.has_key(name) => Ok(None),
                None => Ok(default.filter(|&id| (id as usize) < vocab_size)),
            }
        };
        let required = |name: &'static str, default: u32| -> Result<u32> {
            token(name, Some(default))?.ok_or_else(|| {
                invalid(
                    name,
                    format!(
                        "missing, and transformers' default {default} is not in the vocabulary"
                    ),
                )
            })
        };
        let pad_token_id = required("pad_token_id", defaults.pad)?;
        let eos_token_id = required("eos_token_id", defaults.eos)?;
        let bos_token_id = token("bos_token_id", defaults.bos)?;
        let decoder_start_token_id = token("decoder_start_token_id", None)?;
        let mut forced_bos_token_id = token("forced_bos_token_id", None)?;
        // BartConfig's old spelling of the same thing.
        if family == Family::Bart
            && forced_bos_token_id.is_none()
            && f.bool("force_bos_token_to_be_generated", false)?
        {
            forced_bos_token_id = bos_token_id;
        }
        let forced_eos_token_id = token("forced_eos_token_id", defaults.forced_eos)?;

        let cfg = match family {
            Family::Marian | Family::Bart => {
                let heads = f.size("encoder_attention_heads", MAX_D_MODEL)?;
                let decoder_heads = f.size("decoder_attention_heads", MAX_D_MODEL)?;
                for (name, n) in [
                    ("encoder_attention_heads", heads),
                    ("decoder_attention_heads", decoder_heads),
                ] {
                    if !d_model.is_multiple_of(n) {
                        return Err(invalid(
                            name,
                            format!("d_model {d_model} is not a multiple of {n} heads"),
                        ));
                    }
                }
                // Every released model has as many in both; one width per model keeps the
                // config and the states simple.
                if heads != decoder_heads {
                    return Err(invalid(
                        "decoder_attention_heads",
                        format!("{decoder_heads}, the encoder has {heads}: not supported"),
                    ));
                }
                if family == Family::Marian {
                    // Opus-MT shares one vocabulary; a separate target vocabulary would need
                    // its own embedding and head.
                    if !f.bool("share_encoder_decoder_embeddings", true)? {
                        return Err(invalid(
                            "share_encoder_decoder_embeddings",
                            "false (a separate target vocabulary) is not supported",
                        ));
                    }
                    if let Some(n) = f.usize("decoder_vocab_size")?
                        && n != vocab_size
                    {
                        return Err(invalid(
                            "decoder_vocab_size",
                            format!("{n}, not the vocabulary's {vocab_size}: not supported"),
                        ));
                    }
                }
                let positions = match f.usize("max_position_embeddings")? {
                    None => 1024,
                    Some(0) => return Err(invalid("max_position_embeddings", "must not be 0")),
                    Some(n) if n > MAX_POSITIONS => {
                        return Err(ModelError::LimitExceeded {
                            what: "max_position_embeddings",
                            value: n as u64,
                            limit: MAX_POSITIONS as u64,
                        });
                    }
                    Some(n) => n,
                };
                if family == Family::Marian && !d_model.is_multiple_of(2) {
                    return Err(invalid(
                        "d_model",
                        format!("{d_model}: the sinusoidal positions need an even width"),
                    ));
                }
                Config {
                    family,
                    vocab_size,
                    d_model,
                    encoder_layers: f.size("encoder_layers", MAX_LAYERS)?,
                    decoder_layers: f.size("decoder_layers", MAX_LAYERS)?,
                    heads,
                    head_dim: d_model / heads,
                    encoder_ffn_dim: f.size("encoder_ffn_dim", MAX_FFN)?,
                    decoder_ffn_dim: f.size("decoder_ffn_dim", MAX_FFN)?,
                    activation: activation(
                        "activation_function",
                        f.str("activation_function")?.unwrap_or("gelu"),
                    )?,
                    gated_ffn: false,
                    layer_norm_eps: 1e-5,
                    scale_embedding: f.bool("scale_embedding", false)?,
                    tie_word_embeddings: f.bool("tie_word_embeddings", true)?,
                    max_position_embeddings: Some(positions),
                    relative_attention: None,
                    pad_token_id,
                    eos_token_id,
                    bos_token_id,
                    decoder_start_token_id,
                    forced_bos_token_id,
                    forced_eos_token_id,
                }
            }
            Family::T5 => {
                let proj = f.str("feed_forward_proj")?.unwrap_or("relu");
                // `T5Config`'s rule: `act` or `gated-act`, and `gated-gelu` is the tanh GELU.
                let (gated_ffn, act) = match proj.split_once('-') {
                    None => (false, proj),
                    Some(("gated", "gelu")) => (true, "gelu_new"),
                    Some(("gated", act)) if !act.contains('-') => (true, act),
                    Some(_) => {
                        return Err(invalid(
                            "feed_forward_proj",
                            format!("{proj:?} is not `act` or `gated-act`"),
                        ));
                    }
                };
                let encoder_layers = f.size("num_layers", MAX_LAYERS)?;
                let decoder_layers = match f.usize("num_decoder_layers")? {
                    None => encoder_layers,
                    Some(_) => f.size("num_decoder_layers", MAX_LAYERS)?,
                };
                let num_buckets = match f.usize("relative_attention_num_buckets")? {
                    None => 32,
                    Some(_) => f.size("relative_attention_num_buckets", MAX_BUCKETS)?,
                };
                // The decoder's buckets are halved for the encoder's two directions; each
                // half is split again into exact and logarithmic ones.
                if num_buckets < 4 {
                    return Err(invalid(
                        "relative_attention_num_buckets",
                        format!("{num_buckets}: at least 4 are needed"),
                    ));
                }
                let max_distance = match f.usize("relative_attention_max_distance")? {
                    None => 128,
                    Some(_) => f.size("relative_attention_max_distance", MAX_POSITIONS)?,
                };
                let d_ff = f.size("d_ff", MAX_FFN)?;
                let heads = f.size("num_heads", MAX_D_MODEL)?;
                let head_dim = f.size("d_kv", MAX_D_MODEL)?;
                if heads.saturating_mul(head_dim) > MAX_D_MODEL * 16 {
                    return Err(ModelError::LimitExceeded {
                        what: "num_heads x d_kv",
                        value: heads.saturating_mul(head_dim) as u64,
                        limit: (MAX_D_MODEL * 16) as u64,
                    });
                }
                Config {
                    family,
                    vocab_size,
                    d_model,
                    encoder_layers,
                    decoder_layers,
                    heads,
                    head_dim,
                    encoder_ffn_dim: d_ff,
                    decoder_ffn_dim: d_ff,
                    activation: activation("feed_forward_proj", act)?,
                    gated_ffn,
                    layer_norm_eps: f.f32("layer_norm_epsilon", 1e-6)?,
                    scale_embedding: false,
                    tie_word_embeddings: f.bool("tie_word_embeddings", true)?,
                    max_position_embeddings: None,
                    relative_attention: Some(RelativeAttention {
                        num_buckets,
                        max_distance,
                    }),
                    pad_token_id,
                    eos_token_id,
                    bos_token_id,
                    decoder_start_token_id,
                    forced_bos_token_id,
                    forced_eos_token_id,
                }
            }
        };
        Ok(cfg)
    }

    /// The longest input, and the longest output (decoder start token included), this model
    /// takes: `max_position_embeddings`, or [`T5_MAX_POSITIONS`] for T5.
    pub fn max_positions(&self) -> usize {
        self.max_position_embeddings.unwrap_or(T5_MAX_POSITIONS)
    }

    /// Width of the attention's queries, keys and values: `heads * head_dim`.
    pub fn inner_dim(&self) -> usize {
        self.heads * self.head_dim
    }
}
