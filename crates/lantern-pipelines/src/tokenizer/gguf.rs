//! A `tokenizers` pipeline equivalent to llama.cpp's tokenizer for a GGUF vocabulary
//! (`llama-vocab.cpp`), built with `tokenizers`' API (the components as their tokenizer.json
//! forms, the BPE model directly):
//!
//! - `gpt2` (byte-level BPE): the merges of `tokenizer.ggml.merges`, and the pre-tokenizer
//!   regexes llama.cpp uses for the `tokenizer.ggml.pre` name, applied in sequence;
//! - `llama` (SentencePiece): BPE over the vocabulary with merges ranked by the merged piece's
//!   score (llama.cpp's `llm_tokenizer_spm` merges the best-scoring pair first), byte fallback
//!   to `<0xXX>` tokens, and a space prefix (`tokenizer.ggml.add_space_prefix`).
//!
//! Control and user-defined tokens (token types 3 and 4) are added tokens, so `<|im_start|>`
//! written in a prompt is one token, as with llama.cpp's `parse_special`.

use std::collections::HashMap;

use lantern_models::gguf::Metadata;
use serde_json::{Value, json};
use tokenizers::models::bpe::{BPE, Merges, Vocab};
use tokenizers::{AddedToken, DecoderWrapper, NormalizerWrapper, PreTokenizerWrapper};

use super::{Tokenizer, TokenizerError, tk_err};

/// llama.cpp's token types (`llama_token_type`).
const TYPE_CONTROL: i64 = 3;
const TYPE_USER_DEFINED: i64 = 4;

/// Names llama.cpp treats as end of generation whatever the metadata says (`special_eog_ids`).
const END_OF_GENERATION: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "<|end_of_text|>",
    "<end_of_utterance>",
];

const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The regexes llama.cpp splits with for a `tokenizer.ggml.pre` name (`llm_tokenizer_bpe`),
/// and whether it ignores merges for words already in the vocabulary.
fn pre_tokenizer(pre: &str) -> Result<(Vec<&'static str>, bool), TokenizerError> {
    Ok(match pre {
        "default" | "gpt-2" | "phi-2" | "mpt" | "olmo" | "jais" | "exaone4" | "jina-es"
        | "jina-de" | "roberta-bpe" => (vec![GPT2], false),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "pixtral" | "dbrx" | "smaug-bpe" => {
            (vec![LLAMA3], pre != "dbrx" && pre != "smaug-bpe")
        }
        "qwen2" | "deepseek-r1-qwen" | "stablelm2" => (vec![QWEN2], false),
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva" => {
            (vec![r"\p{N}", GPT2], false)
        }
        other => return Err(TokenizerError::UnsupportedPreTokenizer(other.to_owned())),
    })
}

pub(super) fn from_gguf(md: &Metadata) -> Result<Tokenizer, TokenizerError> {
    let model = md.str("tokenizer.ggml.model")?;
    let tokens = md.str_array("tokenizer.ggml.tokens")?;
    if tokens.is_empty() {
        return Err(TokenizerError::Metadata(
            "tokenizer.ggml.tokens is empty".into(),
        ));
    }
    let n = tokens.len();
    let types = if md.contains("tokenizer.ggml.token_type") {
        let t = md.i64_array("tokenizer.ggml.token_type")?;
        if t.len() != n {
            return Err(TokenizerError::Metadata(format!(
                "{} token types for {n} tokens",
                t.len()
            )));
        }
        t
    } else {
        vec![1; n]
    };
    let id = |key: &str| -> Result<Option<u32>, TokenizerError> {
        match md.opt_u32(key)? {
            Some(i) if (i as usize) < n => Ok(Some(i)),
            Some(i) => Err(TokenizerError::Metadata(format!(
                "{key} = {i} is not a token (vocabulary of {n})"
            ))),
            None => Ok(None),
        }
    };

    let mut vocab: HashMap<&str, u32> = HashMap::with_capacity(n);
    for (i, t) in tokens.iter().enumerate() {
        // A duplicate spelling keeps its first id, as llama.cpp's `token_to_id` does.
        vocab.entry(t).or_insert(i as u32);
    }
    let added: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .enumerate()
        .filter(|(i, (t, ty))| {
            (**ty == TYPE_CONTROL || **ty == TYPE_USER_DEFINED)
                && vocab.get(**t) == Some(&(*i as u32))
                && !t.is_empty()
        })
        .map(|(_, (t, ty))| {
            AddedToken::from(t.to_string(), *ty == TYPE_CONTROL)
                .single_word(false)
                .lstrip(false)
                .rstrip(false)
                .normalized(false)
        })
        .collect();
    // The BPE model is built directly, not through a tokenizer.json document: parsing one
    // with a 50k-token vocabulary and its merges held ~50 MB of JSON text and serde trees at
    // once, next to the model file, which set the peak memory of loading a model.
    let bpe_vocab = || -> Vocab { vocab.iter().map(|(k, v)| (k.to_string(), *v)).collect() };
    let (mut inner, bos, add_bos_default) = match model {
        "gpt2" => {
            let pre = md.opt_str("tokenizer.ggml.pre")?.unwrap_or("default");
            let (regexes, ignore_merges) = pre_tokenizer(pre)?;
            let merges: Merges = md
                .str_array("tokenizer.ggml.merges")?
                .iter()
                .map(|m| {
                    // llama.cpp splits at the first space after the first byte (a space can only
                    // start a character, so: after the first character).
                    match m
                        .char_indices()
                        .skip(1)
                        .find(|&(_, c)| c == ' ')
                        .map(|(p, _)| p)
                    {
                        Some(p) => Ok((m[..p].to_owned(), m[p + 1..].to_owned())),
                        None => Err(TokenizerError::Metadata(format!(
                            "merge {m:?} has no space"
                        ))),
                    }
                })
                .collect::<Result<_, _>>()?;
            // Every merge must join two tokens into a third of the vocabulary. `tokenizers`
            // checks that only after copying the pair into a buffer as long as the longest
            // token, and panics when the pair is longer (found by the fuzzer:
            // fuzz/regressions/merge-longer-than-any-token.gguf).
            for (a, b) in &merges {
                let joined = format!("{a}{b}");
                if !vocab.contains_key(joined.as_str()) {
                    return Err(TokenizerError::Metadata(format!(
                        "merge {a:?} + {b:?}: {joined:?} is not in the vocabulary"
                    )));
                }
            }
            let bpe = BPE::builder()
                .vocab_and_merges(bpe_vocab(), merges)
                .ignore_merges(ignore_merges)
                .build()
                .map_err(tk_err)?;
            let mut pretok: Vec<Value> = regexes
                .iter()
                .map(|r| json!({"type": "Split", "pattern": {"Regex": r}, "behavior": "Isolated", "invert": false}))
                .collect();
            pretok.push(json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}));
            let mut t = tokenizers::Tokenizer::new(bpe);
            t.with_pre_tokenizer(Some(component::<PreTokenizerWrapper>(
                json!({"type": "Sequence", "pretokenizers": pretok}),
            )?));
            t.with_decoder(Some(component::<DecoderWrapper>(
                json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}),
            )?));
            (t, id("tokenizer.ggml.bos_token_id")?, false)
        }
        "llama" => {
            let scores = md.f32_array("tokenizer.ggml.scores")?;
            if scores.len() != n {
                return Err(TokenizerError::Metadata(format!(
                    "{} scores for {n} tokens",
                    scores.len()
                )));
            }
            let space_prefix = md
                .opt_bool("tokenizer.ggml.add_space_prefix")?
                .unwrap_or(true);
            let unk = id("tokenizer.ggml.unknown_token_id")?.map(|u| tokens[u as usize]);
            let mut builder = BPE::builder()
                .vocab_and_merges(bpe_vocab(), spm_merges(&tokens, &types, &scores, &vocab))
                .fuse_unk(true)
                .byte_fallback(true);
            if let Some(unk) = unk {
                builder = builder.unk_token(unk.to_owned());
            }
            let mut t = tokenizers::Tokenizer::new(builder.build().map_err(tk_err)?);
            t.with_normalizer(Some(component::<NormalizerWrapper>(
                json!({"type": "Sequence", "normalizers": spm_normalizers(space_prefix)}),
            )?))
            .map_err(tk_err)?;
            t.with_decoder(Some(component::<DecoderWrapper>(
                json!({"type": "Sequence", "decoders": spm_decoders(space_prefix)}),
            )?));
            (
                t,
                id("tokenizer.ggml.bos_token_id")?.or(Some(1).filter(|_| n > 1)),
                true,
            )
        }
        other => return Err(TokenizerError::UnsupportedModel(other.to_owned())),
    };
    // Ids of added tokens come from the vocabulary (they are all in it), as when a
    // tokenizer.json with them is parsed.
    inner.add_tokens(added).map_err(tk_err)?;

    let eos = id("tokenizer.ggml.eos_token_id")?;
    let mut end: Vec<u32> = [
        eos,
        id("tokenizer.ggml.eot_token_id")?,
        id("tokenizer.ggml.eom_token_id")?,
    ]
    .into_iter()
    .flatten()
    .collect();
    for name in END_OF_GENERATION {
        if let Some(&i) = vocab.get(name)
            && !end.contains(&i)
        {
            end.push(i);
        }
    }
    Ok(Tokenizer {
        inner,
        bos,
        eos,
        end_of_generation: end,
        add_bos: md
            .opt_bool("tokenizer.ggml.add_bos_token")?
            .unwrap_or(add_bos_default),
    })
}

fn spm_normalizers(space_prefix: bool) -> Vec<Value> {
    let mut n = Vec::new();
    if space_prefix {
        n.push(json!({"type": "Prepend", "prepend": "\u{2581}"}));
    }
    n.push(json!({"type": "Replace", "pattern": {"String": " "}, "content": "\u{2581}"}));
    n
}

fn spm_decoders(space_prefix: bool) -> Vec<Value> {
    let mut d = vec![
        json!({"type": "Replace", "pattern": {"String": "\u{2581}"}, "content": " "}),
        json!({"type": "ByteFallback"}),
        json!({"type": "Fuse"}),
    ];
    if space_prefix {
        d.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
    }
    d
}

/// A tokenizer component (normalizer, pre-tokenizer, decoder) from its tokenizer.json form.
fn component<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, TokenizerError> {
    serde_json::from_value(v).map_err(tk_err)
}

/// Merges for a SentencePiece vocabulary: every split of a normal piece into two pieces of the
/// vocabulary, best score of the merged piece first (ties: lower id first).
fn spm_merges(
    tokens: &[&str],
    types: &[i64],
    scores: &[f32],
    vocab: &HashMap<&str, u32>,
) -> Merges {
    let mut merges: Vec<(f32, u32, &str, &str)> = Vec::new();
    for (i, (t, ty)) in tokens.iter().zip(types).enumerate() {
        // Only normal pieces are the result of merges (control, byte and unused ones are not).
        if *ty != 1 {
            continue;
        }
        for (p, _) in t.char_indices().skip(1) {
            let (a, b) = (&t[..p], &t[p..]);
            if vocab.contains_key(a) && vocab.contains_key(b) {
                merges.push((scores[i], i as u32, a, b));
            }
        }
    }
    merges.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    merges
        .into_iter()
        .map(|(_, _, a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}
