//! Whisper's special tokens, found by their text in the repository's `tokenizer.json` (the ids
//! differ between the English-only and the multilingual vocabularies), and what
//! `generation_config.json` adds: the tokens never sampled, the tokens not sampled first, the
//! latest first timestamp.

use serde::Deserialize;
use tokenizers::Tokenizer;

use super::SpeechError;
use super::languages;

/// Seconds per timestamp token (`<|0.02|>` is one step after `<|0.00|>`).
pub const TIME_PRECISION: f64 = 0.02;
/// Mel frames per encoder position (the second convolution has stride 2), i.e. per timestamp
/// step.
pub const FRAMES_PER_POSITION: usize = 2;

/// The special tokens of one Whisper vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialTokens {
    pub eot: u32,
    pub sot: u32,
    pub sot_prev: u32,
    pub sot_lm: Option<u32>,
    pub transcribe: Option<u32>,
    pub translate: Option<u32>,
    pub no_timestamps: u32,
    /// `<|nocaptions|>` (English-only) or `<|nospeech|>`: its probability after `<|startoftranscript|>`
    /// says whether the window holds speech at all.
    pub no_speech: Option<u32>,
    /// `<|0.00|>`; every id from here up is a timestamp.
    pub timestamp_begin: u32,
    /// Language tokens: (code, id), in the vocabulary's order.
    pub languages: Vec<(String, u32)>,
    /// Ids below this are text (the first special token is `<|endoftext|>`).
    pub text_end: u32,
    /// Whether the model knows languages other than English. English-only vocabularies hold
    /// the language tokens too, unused: `generation_config.json`'s `is_multilingual` says,
    /// or, as OpenAI decides it, the vocabulary's size (51865 and up).
    pub multilingual: bool,
}

impl SpecialTokens {
    pub fn from_tokenizer(tokenizer: &Tokenizer, multilingual: bool) -> Result<Self, SpeechError> {
        let id = |text: &str| tokenizer.token_to_id(text);
        let need = |text: &'static str| {
            id(text).ok_or(SpeechError::Vocabulary(format!(
                "tokenizer.json has no {text}: not a Whisper tokenizer"
            )))
        };
        let eot = need("<|endoftext|>")?;
        let sot = need("<|startoftranscript|>")?;
        let no_timestamps = need("<|notimestamps|>")?;
        let timestamp_begin = need("<|0.00|>")?;
        let sot_prev = need("<|startofprev|>")?;
        if timestamp_begin <= no_timestamps || sot <= eot {
            return Err(SpeechError::Vocabulary(format!(
                "tokenizer.json's special tokens are out of Whisper's order (<|endoftext|> \
                 {eot}, <|startoftranscript|> {sot}, <|notimestamps|> {no_timestamps}, \
                 <|0.00|> {timestamp_begin})"
            )));
        }
        let languages = languages::CODES
            .iter()
            .filter_map(|(code, _)| id(&format!("<|{code}|>")).map(|t| ((*code).to_owned(), t)))
            .collect();
        Ok(SpecialTokens {
            eot,
            sot,
            sot_prev,
            sot_lm: id("<|startoflm|>"),
            transcribe: id("<|transcribe|>"),
            translate: id("<|translate|>"),
            no_timestamps,
            no_speech: id("<|nospeech|>").or_else(|| id("<|nocaptions|>")),
            timestamp_begin,
            languages,
            text_end: eot,
            multilingual,
        })
    }

    pub fn is_timestamp(&self, token: u32) -> bool {
        token >= self.timestamp_begin
    }

    /// Seconds of a timestamp token, from the window's start.
    pub fn seconds(&self, token: u32) -> f64 {
        f64::from(token.saturating_sub(self.timestamp_begin)) * TIME_PRECISION
    }

    pub fn language_token(&self, code: &str) -> Option<u32> {
        self.languages
            .iter()
            .find(|(c, _)| c == code)
            .map(|&(_, t)| t)
    }

    pub fn language_code(&self, token: u32) -> Option<&str> {
        self.languages
            .iter()
            .find(|&&(_, t)| t == token)
            .map(|(c, _)| c.as_str())
    }

    pub fn multilingual(&self) -> bool {
        self.multilingual && !self.languages.is_empty()
    }
}

/// What `generation_config.json` says about decoding (every field optional: an old repository
/// has none of it, and OpenAI's defaults apply).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GenerationConfig {
    #[serde(default)]
    pub suppress_tokens: Vec<i64>,
    #[serde(default)]
    pub begin_suppress_tokens: Vec<i64>,
    /// The latest timestamp the first token may be, in steps of [`TIME_PRECISION`].
    #[serde(default)]
    pub max_initial_timestamp_index: Option<u32>,
    #[serde(default)]
    pub is_multilingual: Option<bool>,
    /// The model's longest token sequence (prompt and answer).
    #[serde(default)]
    pub max_length: Option<usize>,
}

/// OpenAI's: the first timestamp is at most 1 s into the window.
const MAX_INITIAL_TIMESTAMP_INDEX: u32 = 50;

impl GenerationConfig {
    pub fn from_json(json: &[u8]) -> Result<Self, SpeechError> {
        serde_json::from_slice(json).map_err(|e| SpeechError::InvalidConfig {
            file: "generation_config.json",
            reason: e.to_string(),
        })
    }

    pub fn max_initial_timestamp_index(&self) -> u32 {
        self.max_initial_timestamp_index
            .unwrap_or(MAX_INITIAL_TIMESTAMP_INDEX)
    }
}

/// The token lists the logit rules use, resolved against the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// Never sampled: the non-speech symbols `generation_config.json` lists, and the task and
    /// prompt tokens (as OpenAI's decoder adds them: the model must not start a new prompt).
    pub always: Vec<u32>,
    /// Not sampled as the first token: a blank and `<|endoftext|>`.
    pub at_begin: Vec<u32>,
}

impl Suppression {
    pub fn new(config: &GenerationConfig, special: &SpecialTokens, vocab: usize) -> Self {
        let in_vocab = |ids: &[i64]| -> Vec<u32> {
            ids.iter()
                .filter_map(|&i| u32::try_from(i).ok())
                .filter(|&i| (i as usize) < vocab)
                .collect()
        };
        let mut always = in_vocab(&config.suppress_tokens);
        always.extend(
            [
                special.transcribe,
                special.translate,
                Some(special.sot),
                Some(special.sot_prev),
                special.sot_lm,
                special.no_speech,
            ]
            .into_iter()
            .flatten()
            .filter(|&t| (t as usize) < vocab),
        );
        always.sort_unstable();
        always.dedup();
        let mut at_begin = in_vocab(&config.begin_suppress_tokens);
        if at_begin.is_empty() {
            // OpenAI's blank suppression: " " (220 in both vocabularies) and the end.
            at_begin = vec![220, special.eot];
        }
        at_begin.retain(|&t| (t as usize) < vocab);
        Suppression { always, at_begin }
    }
}
