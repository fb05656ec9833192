//! Hyperparameters of the llama family, from GGUF metadata (llama.cpp's key names:
//! `{arch}.block_count`, `{arch}.attention.head_count`, ...).

use crate::error::{ModelError, Result};
use crate::gguf::Metadata;
use crate::ops::RopeStyle;

/// Upper bounds that no real model comes near; they turn an absurd header into an error
/// before any loop or allocation is sized by it.
const MAX_LAYERS: usize = 1 << 12;
const MAX_HEADS: usize = 1 << 12;
const MAX_WIDTH: usize = 1 << 20;

/// The architectures (`general.architecture`) this family covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Architecture {
    /// Llama 1-3, SmolLM/SmolLM2, Mistral and the other models converted as `llama`.
    Llama,
    /// Qwen2 / Qwen2.5: biases on q, k and v; NEOX rotary.
    Qwen2,
    /// Qwen3: RMS norm of each q and k head; NEOX rotary.
    Qwen3,
}

impl Architecture {
    pub fn from_name(name: &str) -> Result<Architecture> {
        match name {
            "llama" => Ok(Architecture::Llama),
            "qwen2" => Ok(Architecture::Qwen2),
            "qwen3" => Ok(Architecture::Qwen3),
            other => Err(ModelError::UnsupportedArchitecture(other.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
            Architecture::Qwen3 => "qwen3",
        }
    }

    /// llama.cpp's `llama_model_rope_type`.
    pub fn rope_style(self) -> RopeStyle {
        match self {
            Architecture::Llama => RopeStyle::Interleaved,
            Architecture::Qwen2 | Architecture::Qwen3 => RopeStyle::Neox,
        }
    }
}

/// Hyperparameters of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub architecture: Architecture,
    pub layers: usize,
    pub hidden: usize,
    pub ffn: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub context_length: usize,
    pub rms_eps: f32,
    pub rope_base: f32,
    pub rope_dims: usize,
    /// `Some(factor)` for linear rope scaling.
    pub rope_linear_factor: Option<f32>,
}

impl Config {
    pub fn from_metadata(md: &Metadata) -> Result<Config> {
        let architecture = Architecture::from_name(md.str("general.architecture")?)?;
        let a = architecture.name();
        let key = |k: &str| format!("{a}.{k}");
        let layers = md.usize(&key("block_count"))?;
        let hidden = md.usize(&key("embedding_length"))?;
        let ffn = md.usize(&key("feed_forward_length"))?;
        let heads = md.usize(&key("attention.head_count"))?;
        let kv_heads = md
            .opt_usize(&key("attention.head_count_kv"))?
            .unwrap_or(heads);
        let bad = |name: &'static str, reason: String| ModelError::InvalidConfig { name, reason };
        if layers == 0 || layers > MAX_LAYERS {
            return Err(bad("block_count", format!("{layers}")));
        }
        if heads == 0 || heads > MAX_HEADS || kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
            return Err(bad(
                "attention.head_count",
                format!("{heads} heads, {kv_heads} kv heads"),
            ));
        }
        if hidden == 0 || hidden > MAX_WIDTH || ffn == 0 || ffn > MAX_WIDTH {
            return Err(bad(
                "embedding_length",
                format!("{hidden} (feed forward {ffn})"),
            ));
        }
        let head_dim = match md.opt_usize(&key("attention.key_length"))? {
            Some(d) => d,
            None if hidden.is_multiple_of(heads) => hidden / heads,
            None => {
                return Err(bad(
                    "attention.head_count",
                    format!("{heads} does not divide {hidden}"),
                ));
            }
        };
        if let Some(v) = md.opt_usize(&key("attention.value_length"))?
            && v != head_dim
        {
            return Err(bad(
                "attention.value_length",
                format!("{v} differs from the key length {head_dim}"),
            ));
        }
        if head_dim == 0 || head_dim > MAX_WIDTH || !head_dim.is_multiple_of(2) {
            return Err(bad("attention.key_length", format!("{head_dim}")));
        }
        let context_length = md.usize(&key("context_length"))?;
        if context_length == 0 {
            return Err(bad("context_length", "0".into()));
        }
        let rms_eps = md.f32(&key("attention.layer_norm_rms_epsilon"))?;
        if !(rms_eps.is_finite() && rms_eps >= 0.0) {
            return Err(bad(
                "attention.layer_norm_rms_epsilon",
                format!("{rms_eps}"),
            ));
        }
        let rope_base = md.opt_f32(&key("rope.freq_base"))?.unwrap_or(10_000.0);
        let rope_dims = md
            .opt_usize(&key("rope.dimension_count"))?
            .unwrap_or(head_dim);
        if rope_dims == 0 || rope_dims > head_dim || !rope_dims.is_multiple_of(2) {
            return Err(bad(
                "rope.dimension_count",
                format!("{rope_dims} for heads of {head_dim}"),
            ));
        }
        let rope_linear_factor = match md.opt_str(&key("rope.scaling.type"))? {
            None | Some("none") => None,
            Some("linear") => Some(md.f32(&key("rope.scaling.factor"))?),
            Some(other) => {
                return Err(bad(
                    "rope.scaling.type",
                    format!("{other:?} is not supported (none, linear)"),
                ));
            }
        };
        Ok(Config {
            architecture,
            layers,
            hidden,
            ffn,
            heads,
            kv_heads,
            head_dim,
            context_length,
            rms_eps,
            rope_base,
            rope_dims,
            rope_linear_factor,
        })
    }
}
