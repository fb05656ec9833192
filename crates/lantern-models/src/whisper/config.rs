//! `config.json` of a Whisper model (transformers' `WhisperConfig`), checked field by field.

use serde::Deserialize;

use crate::error::{ModelError, Result};
use crate::ops::Activation;

/// The hyperparameters of a Whisper model, under transformers' `WhisperConfig` names.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub vocab_size: usize,
    /// Mel bands of the input features (80; 128 for large-v3).
    pub num_mel_bins: usize,
    pub d_model: usize,
    pub encoder_layers: usize,
    pub encoder_attention_heads: usize,
    pub encoder_ffn_dim: usize,
    pub decoder_layers: usize,
    pub decoder_attention_heads: usize,
    pub decoder_ffn_dim: usize,
    /// Positions of the encoder's output (1500): the input has twice as many mel frames
    /// (3000, 30 s at 100 frames a second), halved by the second convolution's stride.
    pub max_source_positions: usize,
    /// Positions the decoder can hold (448).
    pub max_target_positions: usize,
    /// The feed-forward layers' activation (the convolutions' is always the exact GELU).
    pub activation_function: Activation,
    /// `<|startoftranscript|>`.
    pub decoder_start_token_id: u32,
    /// `<|endoftext|>`.
    pub eos_token_id: u32,
    pub bos_token_id: Option<u32>,
    pub pad_token_id: Option<u32>,
    /// Tokens never generated and tokens not generated first, where `config.json` has them
    /// (older repositories; newer ones keep them in `generation_config.json`), as written: not
    /// checked against the vocabulary, since the model does not use them.
    pub suppress_tokens: Option<Vec<u32>>,
    pub begin_suppress_tokens: Option<Vec<u32>>,
}

/// `config.json` as written, every field optional so a missing one is reported by name.
#[derive(Debug, Deserialize)]
struct Raw {
    model_type: Option<String>,
    vocab_size: Option<usize>,
    num_mel_bins: Option<usize>,
    d_model: Option<usize>,
    encoder_layers: Option<usize>,
    encoder_attention_heads: Option<usize>,
    encoder_ffn_dim: Option<usize>,
    decoder_layers: Option<usize>,
    decoder_attention_heads: Option<usize>,
    decoder_ffn_dim: Option<usize>,
    max_source_positions: Option<usize>,
    max_target_positions: Option<usize>,
    activation_function: Option<String>,
    scale_embedding: Option<bool>,
    decoder_start_token_id: Option<u32>,
    eos_token_id: Option<u32>,
    bos_token_id: Option<u32>,
    pad_token_id: Option<u32>,
    suppress_tokens: Option<Vec<u32>>,
    begin_suppress_tokens: Option<Vec<u32>>,
}

/// Upper bounds against a hostile or corrupt file, each far above any released Whisper
/// (large-v3: d_model 1280, 32 + 32 layers, 20 heads, ffn 5120, 128 mel bins, 1500 source and
/// 448 target positions, 51866 tokens).
const MAX_D_MODEL: usize = 1 << 13;
const MAX_LAYERS: usize = 256;
const MAX_FFN: usize = 1 << 15;
const MAX_MELS: usize = 1 << 10;
const MAX_POSITIONS: usize = 1 << 13;
const MAX_VOCAB: usize = 1 << 20;
/// Values of the largest activation the encoder makes: the second convolution's windows,
/// `max_source_positions x 3 d_model` (large-v3: 5.8M), so that a config cannot make one
/// encoder pass ask for gigabytes whatever its weights.
const MAX_ACTIVATION: usize = 1 << 25;

fn invalid(name: &'static str, reason: impl Into<String>) -> ModelError {
    ModelError::InvalidConfig {
        name,
        reason: reason.into(),
    }
}

fn required(v: Option<usize>, name: &'static str, max: usize) -> Result<usize> {
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

impl Config {
    /// Parses and validates `config.json`.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let raw: Raw =
            serde_json::from_slice(json).map_err(|e| invalid("config.json", e.to_string()))?;
        if let Some(t) = raw.model_type.as_deref()
            && t != "whisper"
        {
            return Err(ModelError::UnsupportedArchitecture(t.to_owned()));
        }
        // Every released Whisper has it off; on, the tied output projection would need an
        // unscaled copy of the embedding table.
        if raw.scale_embedding == Some(true) {
            return Err(invalid("scale_embedding", "true is not supported"));
        }
        let activation_function = match raw.activation_function.as_deref().unwrap_or("gelu") {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => {
                return Err(invalid(
                    "activation_function",
                    format!("{other:?} is not supported"),
                ));
            }
        };
        let vocab_size = required(raw.vocab_size, "vocab_size", MAX_VOCAB)?;
        let token = |v: Option<u32>, name: &'static str| -> Result<Option<u32>> {
            match v {
                Some(id) if id as usize >= vocab_size => Err(invalid(
                    name,
                    format!("{id} is outside the vocabulary of {vocab_size}"),
                )),
                v => Ok(v),
            }
        };
        let cfg = Config {
            vocab_size,
            num_mel_bins: required(raw.num_mel_bins, "num_mel_bins", MAX_MELS)?,
            d_model: required(raw.d_model, "d_model", MAX_D_MODEL)?,
            encoder_layers: required(raw.encoder_layers, "encoder_layers", MAX_LAYERS)?,
            encoder_attention_heads: required(
                raw.encoder_attention_heads,
                "encoder_attention_heads",
                MAX_D_MODEL,
            )?,
            encoder_ffn_dim: required(raw.encoder_ffn_dim, "encoder_ffn_dim", MAX_FFN)?,
            decoder_layers: required(raw.decoder_layers, "decoder_layers", MAX_LAYERS)?,
            decoder_attention_heads: required(
                raw.decoder_attention_heads,
                "decoder_attention_heads",
                MAX_D_MODEL,
            )?,
            decoder_ffn_dim: required(raw.decoder_ffn_dim, "decoder_ffn_dim", MAX_FFN)?,
            max_source_positions: required(
                raw.max_source_positions,
                "max_source_positions",
                MAX_POSITIONS,
            )?,
            max_target_positions: required(
                raw.max_target_positions,
                "max_target_positions",
                MAX_POSITIONS,
            )?,
            activation_function,
            decoder_start_token_id: token(raw.decoder_start_token_id, "decoder_start_token_id")?
                .ok_or_else(|| invalid("decoder_start_token_id", "missing"))?,
            eos_token_id: token(raw.eos_token_id, "eos_token_id")?
                .ok_or_else(|| invalid("eos_token_id", "missing"))?,
            bos_token_id: token(raw.bos_token_id, "bos_token_id")?,
            pad_token_id: token(raw.pad_token_id, "pad_token_id")?,
            suppress_tokens: raw.suppress_tokens,
            begin_suppress_tokens: raw.begin_suppress_tokens,
        };
        for (name, heads) in [
            ("encoder_attention_heads", cfg.encoder_attention_heads),
            ("decoder_attention_heads", cfg.decoder_attention_heads),
        ] {
            if !cfg.d_model.is_multiple_of(heads) {
                return Err(invalid(
                    name,
                    format!("d_model {} is not a multiple of {heads} heads", cfg.d_model),
                ));
            }
        }
        let windows = cfg.max_source_positions * 3 * cfg.d_model.max(cfg.num_mel_bins);
        if windows > MAX_ACTIVATION {
            return Err(ModelError::LimitExceeded {
                what: "max_source_positions x 3 d_model",
                value: windows as u64,
                limit: MAX_ACTIVATION as u64,
            });
        }
        Ok(cfg)
    }

    /// Mel frames of one segment, the encoder's input length (3000).
    pub fn n_frames(&self) -> usize {
        2 * self.max_source_positions
    }

    pub fn encoder_head_dim(&self) -> usize {
        self.d_model / self.encoder_attention_heads
    }

    pub fn decoder_head_dim(&self) -> usize {
        self.d_model / self.decoder_attention_heads
    }
}
