//! What a classifier's `config.json` says beyond the encoder: its labels, how scores are made,
//! and how long an input may be.

use serde::Deserialize;
use std::collections::BTreeMap;

use super::ClassificationError;

/// How logits become scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// One label per input: a softmax over the labels.
    SingleLabel,
    /// Any number of labels per input (`problem_type: multi_label_classification`, or a single
    /// output): a sigmoid per label.
    MultiLabel,
}

/// The parts of `config.json` the pipeline reads (the encoder reads the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierConfig {
    /// Label names by id.
    pub labels: Vec<String>,
    pub problem: Problem,
    /// Positions the encoder can take (after RoBERTa's offset of `pad_token_id + 1`).
    pub max_positions: usize,
    model_type: String,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    id2label: Option<BTreeMap<String, String>>,
    #[serde(default)]
    problem_type: Option<String>,
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    max_position_embeddings: Option<usize>,
    #[serde(default)]
    pad_token_id: Option<usize>,
    #[serde(default)]
    vocab_size: Option<usize>,
    // BERT / RoBERTa names, then DistilBERT's.
    #[serde(default)]
    hidden_size: Option<usize>,
    #[serde(default)]
    dim: Option<usize>,
    #[serde(default)]
    intermediate_size: Option<usize>,
    #[serde(default)]
    hidden_dim: Option<usize>,
}

#[derive(Deserialize)]
struct TokenizerConfig {
    #[serde(default)]
    model_max_length: Option<f64>,
}

/// `id2label`'s names in id order. Keys are ids written as strings ("0", "1", …); every id
/// from 0 must be named once.
pub(crate) fn labels_by_id(id2label: BTreeMap<String, String>) -> Result<Vec<String>, String> {
    let mut labels = vec![None; id2label.len()];
    for (key, label) in id2label {
        let id: usize = key
            .parse()
            .map_err(|_| format!("id2label has a key {key:?} that is not an id"))?;
        let slot = labels
            .get_mut(id)
            .ok_or_else(|| format!("id2label's ids must run from 0 without gaps; it has {id}"))?;
        *slot = Some(label);
    }
    Ok(labels.into_iter().flatten().collect())
}

impl Problem {
    /// As transformers' classification pipelines decide (text and image alike): a sigmoid for
    /// `multi_label_classification` or a single label, otherwise a softmax.
    pub(crate) fn from_config(problem_type: Option<&str>, labels: usize) -> Result<Self, String> {
        Ok(match problem_type {
            Some("regression") => {
                return Err(
                    "problem_type regression: the model predicts a number, not labels".into(),
                );
            }
            Some("multi_label_classification") => Problem::MultiLabel,
            None | Some("single_label_classification") if labels == 1 => Problem::MultiLabel,
            None | Some("single_label_classification") => Problem::SingleLabel,
            Some(other) => return Err(format!("unknown problem_type {other:?}")),
        })
    }
}

fn invalid(reason: impl Into<String>) -> ClassificationError {
    ClassificationError::InvalidConfig {
        file: "config.json",
        reason: reason.into(),
    }
}

impl ClassifierConfig {
    pub fn from_json(json: &[u8]) -> Result<Self, ClassificationError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| invalid(e.to_string()))?;
        let id2label = raw.id2label.ok_or(ClassificationError::NoLabels)?;
        if id2label.is_empty() {
            return Err(ClassificationError::NoLabels);
        }
        let labels = labels_by_id(id2label).map_err(invalid)?;
        let problem =
            Problem::from_config(raw.problem_type.as_deref(), labels.len()).map_err(invalid)?;
        let positions = raw
            .max_position_embeddings
            .ok_or_else(|| invalid("max_position_embeddings is missing"))?;
        let offset = match raw.model_type.as_deref() {
            // RoBERTa's positions start after the padding index (HF's
            // create_position_ids_from_input_ids).
            Some("roberta" | "xlm-roberta") => raw.pad_token_id.unwrap_or(1) + 1,
            _ => 0,
        };
        let max_positions = positions
            .checked_sub(offset)
            .filter(|&p| p > 0)
            .ok_or_else(|| invalid("max_position_embeddings is smaller than the offset"))?;
        Ok(ClassifierConfig {
            labels,
            problem,
            max_positions,
            model_type: raw.model_type.unwrap_or_default(),
            vocab_size: raw.vocab_size.unwrap_or(0),
            hidden_size: raw.hidden_size.or(raw.dim).unwrap_or(0),
            intermediate_size: raw.intermediate_size.or(raw.hidden_dim).unwrap_or(0),
        })
    }

    /// BERT or DistilBERT, whose WordPiece tokenizer can be made from `vocab.txt`.
    pub fn is_bert_family(&self) -> bool {
        matches!(self.model_type.as_str(), "bert" | "distilbert")
    }

    /// The most tokens an input keeps: the tokenizer's `model_max_length` where the
    /// repository has one (transformers writes a huge number when it is unset), capped by the
    /// encoder's positions.
    pub fn max_length(&self, tokenizer_config: Option<&[u8]>) -> usize {
        let from_tokenizer = tokenizer_config
            .and_then(|b| serde_json::from_slice::<TokenizerConfig>(b).ok())
            .and_then(|t| t.model_max_length)
            .filter(|&n| n >= 2.0 && n.is_finite())
            .map(|n| n.min(self.max_positions as f64) as usize);
        from_tokenizer.unwrap_or(self.max_positions)
    }

    /// The largest buffer a forward pass of `batch` inputs of `len` tokens asks a GPU for: the
    /// embedding table or the feed-forward activations, whichever is larger.
    pub fn largest_buffer(&self, batch: usize, len: usize) -> u64 {
        let table = self.vocab_size as u64 * self.hidden_size as u64 * 4;
        let ffn = (batch * len) as u64 * self.intermediate_size as u64 * 4;
        table.max(ffn)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(extra: &str) -> Result<ClassifierConfig, ClassificationError> {
        ClassifierConfig::from_json(
            format!(r#"{{"model_type":"bert","max_position_embeddings":512{extra}}}"#).as_bytes(),
        )
    }

    #[test]
    fn labels_by_id_and_the_problem() {
        let c = config(r#","id2label":{"1":"POSITIVE","0":"NEGATIVE"}"#).unwrap();
        assert_eq!(c.labels, ["NEGATIVE", "POSITIVE"]);
        assert_eq!(c.problem, Problem::SingleLabel);
        let c =
            config(r#","id2label":{"0":"a","1":"b"},"problem_type":"multi_label_classification""#)
                .unwrap();
        assert_eq!(c.problem, Problem::MultiLabel);
        assert_eq!(
            config(r#","id2label":{"0":"relevance"}"#).unwrap().problem,
            Problem::MultiLabel
        );
    }

    #[test]
    fn bad_configs_are_named() {
        assert_eq!(config("").unwrap_err(), ClassificationError::NoLabels);
        assert_eq!(
            config(r#","id2label":{}"#).unwrap_err(),
            ClassificationError::NoLabels
        );
        for bad in [
            r#","id2label":{"0":"a","2":"b"}"#,
            r#","id2label":{"x":"a"}"#,
            r#","id2label":{"0":"a"},"problem_type":"regression""#,
            r#","id2label":[1]"#,
        ] {
            assert!(
                matches!(config(bad), Err(ClassificationError::InvalidConfig { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_length_limit() {
        let c = config(r#","id2label":{"0":"a","1":"b"}"#).unwrap();
        assert_eq!(c.max_length(None), 512);
        assert_eq!(c.max_length(Some(br#"{"model_max_length":128}"#)), 128);
        assert_eq!(
            c.max_length(Some(
                br#"{"model_max_length":1000000000000000019884624838656}"#
            )),
            512
        );
        let roberta = ClassifierConfig::from_json(
            br#"{"model_type":"roberta","max_position_embeddings":514,"pad_token_id":1,"id2label":{"0":"a"}}"#,
        )
        .unwrap();
        assert_eq!(roberta.max_length(None), 512);
    }
}
