//! The generation settings of a model, read and merged as transformers 4.57 merges them: the
//! repository's `generation_config.json` (or, without one, the generation keys of
//! `config.json`), a pipeline's `task_specific_params` on top, then the request's options; and
//! the lengths worked out as `generate()` works them out for an encoder-decoder model.

use serde_json::{Map, Value};

use super::SearchError;

/// transformers' `early_stopping`: when beam search stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stopping {
    /// `false`: stop once no live beam can beat the finished ones, judged by a heuristic that
    /// assumes the best score comes at the current length (transformers' default).
    #[default]
    Heuristic,
    /// `true`: stop as soon as `num_beams` sequences have finished.
    Early,
    /// `"never"`: the canonical beam search, which stops only when no live beam could win.
    Never,
}

/// What a request may change (every field: `None` keeps the model's default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub num_beams: Option<usize>,
    /// transformers' `max_length` argument (the decoder start token counted); a
    /// `max_new_tokens` from anywhere wins over it, as in `generate`.
    pub max_length: Option<usize>,
    pub max_new_tokens: Option<usize>,
    pub min_length: Option<usize>,
    pub min_new_tokens: Option<usize>,
    pub length_penalty: Option<f64>,
    pub no_repeat_ngram_size: Option<usize>,
    pub repetition_penalty: Option<f64>,
    pub early_stopping: Option<Stopping>,
}

/// The generation settings transformers' `GenerationConfig` holds that greedy and beam search
/// read. Keys Lantern does not implement (sampling, constraints, encoder n-grams) are
/// ignored: the models of these tasks ship none of them.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationConfig {
    pub max_length: usize,
    pub max_new_tokens: Option<usize>,
    pub min_length: usize,
    pub min_new_tokens: Option<usize>,
    pub num_beams: usize,
    pub early_stopping: Stopping,
    pub length_penalty: f64,
    pub no_repeat_ngram_size: usize,
    pub repetition_penalty: f64,
    pub bad_words_ids: Vec<Vec<u32>>,
    pub forced_bos_token_id: Option<u32>,
    pub forced_eos_token_id: Vec<u32>,
    pub suppress_tokens: Vec<u32>,
    pub begin_suppress_tokens: Vec<u32>,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Vec<u32>,
    pub pad_token_id: Option<u32>,
    pub decoder_start_token_id: Option<u32>,
    /// `renormalize_logits`: a last `log_softmax` over the processed scores.
    pub renormalize_logits: bool,
    /// Whether the request named `max_length` (transformers counts the default one differently).
    pub max_length_requested: bool,
}

impl Default for GenerationConfig {
    /// `GenerationConfig()`'s defaults.
    fn default() -> Self {
        GenerationConfig {
            max_length: 20,
            max_new_tokens: None,
            min_length: 0,
            min_new_tokens: None,
            num_beams: 1,
            early_stopping: Stopping::Heuristic,
            length_penalty: 1.0,
            no_repeat_ngram_size: 0,
            repetition_penalty: 1.0,
            bad_words_ids: Vec::new(),
            forced_bos_token_id: None,
            forced_eos_token_id: Vec::new(),
            suppress_tokens: Vec::new(),
            begin_suppress_tokens: Vec::new(),
            bos_token_id: None,
            eos_token_id: Vec::new(),
            pad_token_id: None,
            decoder_start_token_id: None,
            renormalize_logits: false,
            max_length_requested: false,
        }
    }
}

/// The pipelines' default `max_new_tokens` (`Text2TextGenerationPipeline`).
const PIPELINE_MAX_NEW_TOKENS: usize = 256;

/// `GenerationConfig()`'s value of the keys this module reads, for transformers' rule that a
/// value left at the global default takes the model's own (`None`: a key it does not read).
fn global_default(key: &str) -> Option<Value> {
    Some(match key {
        "max_length" => Value::from(20),
        "min_length" => Value::from(0),
        "num_beams" => Value::from(1),
        "early_stopping" => Value::from(false),
        "length_penalty" => Value::from(1.0),
        "repetition_penalty" => Value::from(1.0),
        "no_repeat_ngram_size" => Value::from(0),
        "do_sample" => Value::from(false),
        "renormalize_logits" => Value::from(false),
        "max_new_tokens"
        | "min_new_tokens"
        | "bad_words_ids"
        | "forced_bos_token_id"
        | "forced_eos_token_id"
        | "suppress_tokens"
        | "begin_suppress_tokens"
        | "bos_token_id"
        | "eos_token_id"
        | "pad_token_id"
        | "decoder_start_token_id" => Value::Null,
        _ => return None,
    })
}

/// JSON numbers compare by value (`1` equals `1.0`), as Python's `==` does.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Whether a `transformers_version` is 4.50 or later (from then on, `generate` fills a passed
/// configuration's default values from the model's).
fn at_least_4_50(version: Option<&str>) -> bool {
    let Some(v) = version else {
        // Written without a version: today's behaviour.
        return true;
    };
    let mut parts = v.split('.').map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .unwrap_or(0)
    });
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= (4, 50)
}

impl GenerationConfig {
    /// The settings a transformers pipeline (`translation_xx_to_yy`, `summarization`) runs
    /// `generate` with, before the call's own arguments:
    /// 1. the model's: `generation_config.json` when the repository has one (its keys alone,
    ///    over `GenerationConfig()`'s defaults), else the generation keys of `config.json`
    ///    (`GenerationConfig.from_model_config`);
    /// 2. the pipeline's default `max_new_tokens` of 256, dropped when the model's `max_length`
    ///    is not the global default 20;
    /// 3. `task_params`, the task's `task_specific_params` entry of `config.json` (its `prefix`
    ///    left out), laid over;
    /// 4. from transformers 4.50 on (the model's `transformers_version`), `generate` gives a
    ///    value left at `GenerationConfig()`'s default the model's own non-default value again.
    pub fn for_pipeline(
        generation_config: Option<&[u8]>,
        config: &[u8],
        task_params: Option<&Map<String, Value>>,
    ) -> Result<GenerationConfig, SearchError> {
        let parse = |bytes: &[u8], file: &'static str| -> Result<Map<String, Value>, SearchError> {
            match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err(SearchError::InvalidConfig(format!(
                    "{file} is not a JSON object"
                ))),
                Err(e) => Err(SearchError::InvalidConfig(format!("{file}: {e}"))),
            }
        };
        let model = match generation_config {
            Some(bytes) => parse(bytes, "generation_config.json")?,
            None => parse(config, "config.json")?,
        };
        let mut merged = model.clone();
        // 2. The pipeline's own length default.
        let model_max_length = model.get("max_length").and_then(Value::as_u64);
        if model_max_length.is_none_or(|m| m == 20) {
            merged.insert(
                "max_new_tokens".into(),
                Value::from(PIPELINE_MAX_NEW_TOKENS),
            );
        }
        // 3. The task's parameters.
        for (key, value) in task_params.into_iter().flatten() {
            if key != "prefix" {
                merged.insert(key.clone(), value.clone());
            }
        }
        // 4. Defaults give way to the model's own values.
        if at_least_4_50(model.get("transformers_version").and_then(Value::as_str)) {
            for (key, own) in &model {
                let Some(default) = global_default(key) else {
                    continue;
                };
                let current = merged.get(key).unwrap_or(&Value::Null);
                if same(current, &default) && !same(own, &default) {
                    merged.insert(key.clone(), own.clone());
                }
            }
        }
        Self::from_map(&merged)
    }

    /// The model's own settings, as `model.generate()` reads them without a pipeline:
    /// `generation_config.json`, else `config.json`'s generation keys.
    pub fn for_model(
        generation_config: Option<&[u8]>,
        config: &[u8],
    ) -> Result<GenerationConfig, SearchError> {
        let bytes = generation_config.unwrap_or(config);
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Self::from_map(&map),
            Ok(_) => Err(SearchError::InvalidConfig(
                "the generation settings are not a JSON object".into(),
            )),
            Err(e) => Err(SearchError::InvalidConfig(format!(
                "the generation settings: {e}"
            ))),
        }
    }

    fn from_map(map: &Map<String, Value>) -> Result<GenerationConfig, SearchError> {
        let mut c = GenerationConfig::default();
        let bad = |key: &str, v: &Value| {
            SearchError::InvalidConfig(format!("generation setting {key} = {v} is not valid"))
        };
        // `null` is "not set", as transformers reads it.
        let get = |key: &str| map.get(key).filter(|v| !v.is_null());
        let count = |key: &str| -> Result<Option<usize>, SearchError> {
            get(key)
                .map(|v| {
                    v.as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| bad(key, v))
                })
                .transpose()
        };
        let float = |key: &str| -> Result<Option<f64>, SearchError> {
            get(key)
                .map(|v| {
                    v.as_f64()
                        .filter(|f| f.is_finite())
                        .ok_or_else(|| bad(key, v))
                })
                .transpose()
        };
        let token = |key: &str| -> Result<Option<u32>, SearchError> {
            get(key)
                .map(|v| {
                    v.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| bad(key, v))
                })
                .transpose()
        };
        // An id or a list of ids.
        let tokens = |key: &str| -> Result<Vec<u32>, SearchError> {
            match get(key) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(|| bad(key, v))
                    })
                    .collect(),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(|t| vec![t])
                    .ok_or_else(|| bad(key, v)),
            }
        };
        if let Some(n) = count("max_length")? {
            c.max_length = n;
        }
        c.max_new_tokens = count("max_new_tokens")?;
        if let Some(n) = count("min_length")? {
            c.min_length = n;
        }
        c.min_new_tokens = count("min_new_tokens")?;
        if let Some(n) = count("num_beams")? {
            c.num_beams = n;
        }
        if let Some(v) = get("early_stopping") {
            c.early_stopping = match v {
                Value::Bool(false) => Stopping::Heuristic,
                Value::Bool(true) => Stopping::Early,
                Value::String(s) if s == "never" => Stopping::Never,
                other => return Err(bad("early_stopping", other)),
            };
        }
        if let Some(f) = float("length_penalty")? {
            c.length_penalty = f;
        }
        if let Some(n) = count("no_repeat_ngram_size")? {
            c.no_repeat_ngram_size = n;
        }
        if let Some(f) = float("repetition_penalty")? {
            c.repetition_penalty = f;
        }
        if let Some(v) = get("bad_words_ids") {
            let lists = v.as_array().ok_or_else(|| bad("bad_words_ids", v))?;
            for list in lists {
                let ids = list
                    .as_array()
                    .ok_or_else(|| bad("bad_words_ids", v))?
                    .iter()
                    .map(|t| {
                        t.as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(|| bad("bad_words_ids", v))
                    })
                    .collect::<Result<Vec<u32>, _>>()?;
                if !ids.is_empty() {
                    c.bad_words_ids.push(ids);
                }
            }
        }
        c.forced_bos_token_id = token("forced_bos_token_id")?;
        c.forced_eos_token_id = tokens("forced_eos_token_id")?;
        c.suppress_tokens = tokens("suppress_tokens")?;
        c.begin_suppress_tokens = tokens("begin_suppress_tokens")?;
        c.bos_token_id = token("bos_token_id")?;
        c.eos_token_id = tokens("eos_token_id")?;
        c.pad_token_id = token("pad_token_id")?;
        c.decoder_start_token_id = token("decoder_start_token_id")?;
        if let Some(v) = get("renormalize_logits") {
            c.renormalize_logits = v.as_bool().ok_or_else(|| bad("renormalize_logits", v))?;
        }
        if get("do_sample").and_then(Value::as_bool) == Some(true) {
            // Sampling is not what translation and summarization models ship with; Lantern's
            // answer is the deterministic search the same settings give without it.
            tracing::debug!("do_sample is set: greedy or beam search instead");
        }
        Ok(c)
    }

    /// The request's options over the model's settings (`generate(**kwargs)`).
    pub fn with(mut self, o: &Overrides) -> GenerationConfig {
        if let Some(n) = o.num_beams {
            self.num_beams = n;
        }
        if let Some(n) = o.max_length {
            self.max_length = n;
            self.max_length_requested = true;
        }
        if o.max_new_tokens.is_some() {
            self.max_new_tokens = o.max_new_tokens;
        }
        if let Some(n) = o.min_length {
            self.min_length = n;
        }
        if o.min_new_tokens.is_some() {
            self.min_new_tokens = o.min_new_tokens;
        }
        if let Some(f) = o.length_penalty {
            self.length_penalty = f;
        }
        if let Some(n) = o.no_repeat_ngram_size {
            self.no_repeat_ngram_size = n;
        }
        if let Some(f) = o.repetition_penalty {
            self.repetition_penalty = f;
        }
        if let Some(s) = o.early_stopping {
            self.early_stopping = s;
        }
        self
    }

    /// The token the decoder starts from: `decoder_start_token_id`, else `bos_token_id` (as
    /// `generate` falls back for encoder-decoder models); `fallback` is `config.json`'s pair,
    /// asked only when the generation settings name neither.
    pub fn decoder_start(&self, fallback: (Option<u32>, Option<u32>)) -> Result<u32, SearchError> {
        self.decoder_start_token_id
            .or(self.bos_token_id)
            .or(fallback.0)
            .or(fallback.1)
            .ok_or(SearchError::NoDecoderStart)
    }

    /// The lengths `generate` works out from the settings (`_prepare_generated_length`), for a
    /// decoder prompt of one token: `max_new_tokens` wins over `max_length`; the untouched
    /// default `max_length` of 20 counts new tokens (21) and is capped by the model's
    /// `max_position_embeddings`; `min_new_tokens` wins over `min_length`.
    pub fn lengths(&self, max_position_embeddings: Option<usize>) -> Result<Lengths, SearchError> {
        const PROMPT: usize = 1;
        let max_length = match self.max_new_tokens {
            Some(0) => {
                return Err(SearchError::InvalidConfig(
                    "max_new_tokens must be at least 1".into(),
                ));
            }
            Some(n) => n.saturating_add(PROMPT),
            None if !self.max_length_requested
                && self.max_length == GenerationConfig::default().max_length =>
            {
                let n = self.max_length + PROMPT;
                max_position_embeddings.map_or(n, |m| n.min(m))
            }
            None => self.max_length,
        };
        if max_length <= PROMPT {
            return Err(SearchError::InvalidConfig(format!(
                "max_length is {max_length}: nothing could be generated after the decoder's \
                 start token"
            )));
        }
        let min_length = match self.min_new_tokens {
            Some(n) => n.saturating_add(PROMPT),
            None => self.min_length,
        };
        Ok(Lengths {
            max_length,
            min_length,
        })
    }
}

/// Sequence lengths counted as transformers counts them for an encoder-decoder model: the
/// decoder's tokens, its start token included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lengths {
    pub max_length: usize,
    pub min_length: usize,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generation_config_json_wins_and_task_params_lie_over_it() {
        let gen_json = br#"{"max_length": 142, "num_beams": 4, "length_penalty": 2.0,
            "early_stopping": true, "eos_token_id": 2, "forced_eos_token_id": 2,
            "decoder_start_token_id": 2, "transformers_version": "4.57.1"}"#;
        let config = br#"{"num_beams": 9, "vocab_size": 50}"#;
        let c = GenerationConfig::for_pipeline(Some(gen_json), config, None).unwrap();
        assert_eq!(c.num_beams, 4);
        assert_eq!(c.max_length, 142);
        // The model sets max_length: no pipeline default of 256 new tokens.
        assert_eq!(c.max_new_tokens, None);
        assert_eq!(c.early_stopping, Stopping::Early);
        assert_eq!(c.eos_token_id, vec![2]);
        assert_eq!(c.forced_eos_token_id, vec![2]);
        // A task parameter at the global default does not undo the model's own value.
        let params: Map<String, Value> =
            serde_json::from_str(r#"{"num_beams": 1, "min_length": 5, "prefix": "x: "}"#).unwrap();
        let c = GenerationConfig::for_pipeline(Some(gen_json), config, Some(&params)).unwrap();
        assert_eq!(c.num_beams, 4);
        assert_eq!(c.min_length, 5);
        // Without generation_config.json: config.json's keys; the default max_length, so the
        // pipeline's 256 new tokens.
        let c = GenerationConfig::for_pipeline(None, config, None).unwrap();
        assert_eq!(c.num_beams, 9);
        assert_eq!(c.max_new_tokens, Some(256));
    }

    #[test]
    fn lengths_follow_generate() {
        let mut c = GenerationConfig::default();
        assert_eq!(c.lengths(None).unwrap().max_length, 21);
        assert_eq!(c.lengths(Some(16)).unwrap().max_length, 16);
        c.max_length = 30;
        assert_eq!(c.lengths(Some(16)).unwrap().max_length, 30);
        c.max_new_tokens = Some(5);
        c.min_new_tokens = Some(2);
        assert_eq!(
            c.lengths(None).unwrap(),
            Lengths {
                max_length: 6,
                min_length: 3
            }
        );
        c.max_new_tokens = Some(0);
        assert!(c.lengths(None).is_err());
        assert!(matches!(
            GenerationConfig::default().decoder_start((None, None)),
            Err(SearchError::NoDecoderStart)
        ));
    }
}
