//! A BERT tokenizer from `vocab.txt`, for repositories that ship no `tokenizer.json` (older BERT
//! and DistilBERT checkpoints, `distilbert-base-uncased-finetuned-sst-2-english` among them):
//! the same `tokenizer.json` transformers' `BertTokenizerFast` converter writes — BERT's
//! normalizer (lower-casing and accent stripping as `tokenizer_config.json`'s `do_lower_case`
//! says, CJK characters split, control characters removed), BERT's pre-tokenizer, WordPiece
//! with `##` continuations, and `[CLS] A [SEP] B [SEP]` with token types 0 and 1.

use serde::Deserialize;
use serde_json::{Value, json};

use super::ClassificationError;

#[derive(Deserialize, Default)]
struct TokenizerConfig {
    #[serde(default)]
    do_lower_case: Option<bool>,
    #[serde(default)]
    strip_accents: Option<bool>,
    #[serde(default)]
    tokenize_chinese_chars: Option<bool>,
}

fn invalid(reason: impl Into<String>) -> ClassificationError {
    ClassificationError::InvalidConfig {
        file: "vocab.txt",
        reason: reason.into(),
    }
}

/// `tokenizer.json` text for a WordPiece vocabulary (one token per line, the line number is
/// its id).
pub fn tokenizer_json(
    vocab_txt: &[u8],
    tokenizer_config: Option<&[u8]>,
) -> Result<String, ClassificationError> {
    let text = std::str::from_utf8(vocab_txt).map_err(|_| invalid("not UTF-8 text"))?;
    let mut vocab = serde_json::Map::new();
    for (id, token) in text.lines().enumerate() {
        // transformers strips the line end only; a token may hold other spaces.
        let token = token.strip_suffix('\r').unwrap_or(token);
        if token.is_empty() {
            continue;
        }
        vocab.insert(token.to_owned(), json!(id));
    }
    let config: TokenizerConfig = tokenizer_config
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    let id = |t: &str| -> Result<u64, ClassificationError> {
        vocab
            .get(t)
            .and_then(Value::as_u64)
            .ok_or_else(|| invalid(format!("the vocabulary has no {t}")))
    };
    let (cls, sep, pad, unk, mask) = (
        id("[CLS]")?,
        id("[SEP]")?,
        id("[PAD]")?,
        id("[UNK]")?,
        id("[MASK]")?,
    );
    let added = |content: &str, id: u64| {
        json!({"id": id, "content": content, "single_word": false, "lstrip": false,
               "rstrip": false, "normalized": false, "special": true})
    };
    let special = |name: &str, id: u64| json!({"id": name, "ids": [id], "tokens": [name]});
    let lowercase = config.do_lower_case.unwrap_or(true);
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [
            added("[PAD]", pad), added("[UNK]", unk), added("[CLS]", cls),
            added("[SEP]", sep), added("[MASK]", mask),
        ],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": true,
            "handle_chinese_chars": config.tokenize_chinese_chars.unwrap_or(true),
            "strip_accents": config.strip_accents,
            "lowercase": lowercase,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 1}},
            ],
            "special_tokens": {
                "[CLS]": special("[CLS]", cls),
                "[SEP]": special("[SEP]", sep),
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": vocab,
        },
    })
    .to_string())
}
