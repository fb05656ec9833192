//! The bodies of the fuzz targets in `fuzz/fuzz_targets/`: arbitrary bytes as a GGUF file,
//! through everything that reads a model file's header before any weight is touched. Neither
//! may panic. Shared through `#[path]` with `tests/bad_input.rs`, which replays the seeds and
//! the fuzzer's past crashes (`fuzz/regressions/`) with exactly this code, natively and in the
//! browser.
//!
//! - [`gguf_header`]: the header parser, every typed metadata getter, the llama family's
//!   hyperparameter checks (fast: thousands of inputs a second);
//! - [`gguf_text`]: that, then the tokenizer built from the metadata and the chat template,
//!   and a short text encoded, decoded and streamed (slow: building a tokenizer compiles its
//!   pre-tokenizer regexes, tens of milliseconds under the sanitizer).

use lantern_core::{ChatMessage, Role};
use lantern_models::gguf::GgufFile;
use lantern_models::llama::Config;
use lantern_pipelines::chat_template::ChatTemplate;
use lantern_pipelines::tokenizer::Tokenizer;

/// Whitespace runs, digits, punctuation, non-ASCII, and special tokens written as text.
const TEXT: &str = "Hello,  world!\n\t123 456 — café 🦙 漢字 <|im_start|>user<|im_end|> <s>[INST]";

/// Parses `data`; if it is a GGUF header, checks what the parser promises and reads every
/// metadata value through every typed getter and the llama hyperparameters.
pub fn gguf_header(data: &[u8]) -> Option<GgufFile> {
    let file = GgufFile::parse(data).ok()?;
    // What the parser promises the loader: every tensor lies inside the data section of the
    // bytes it was given, with the length its type and dimensions imply.
    for t in &file.tensors {
        assert!(t.start >= file.data_start, "{t:?}");
        assert!(
            t.start.checked_add(t.len).is_some_and(|e| e <= data.len()),
            "{t:?}"
        );
        assert_eq!(
            t.len,
            t.elements() / t.dtype.block_size() * t.dtype.type_size(),
            "{t:?}"
        );
        assert_eq!((t.start - file.data_start) % file.alignment, 0, "{t:?}");
    }
    let _ = file.architecture();
    let md = &file.metadata;
    for (key, _) in md.iter() {
        let _ = (
            md.usize(key),
            md.u32(key),
            md.f32(key),
            md.bool(key),
            md.str(key),
        );
        let _ = (md.str_array(key), md.i64_array(key), md.f32_array(key));
    }
    let _ = Config::from_metadata(md);
    Some(file)
}

/// [`gguf_header`], then the tokenizer and the chat template of the metadata.
pub fn gguf_text(data: &[u8]) {
    let Some(file) = gguf_header(data) else {
        return;
    };
    let tokenizer = Tokenizer::from_gguf(&file.metadata).ok();
    if let Some(tok) = &tokenizer {
        if let Ok(ids) = tok.encode(TEXT, true) {
            let _ = tok.decode(&ids, false);
            let mut stream = tok.stream(true);
            for &id in &ids {
                let _ = stream.step(id);
            }
        }
        // Ids at and past the end of the vocabulary, as a sampler bug or a hostile caller
        // could pass them.
        let n = u32::try_from(tok.vocab_size()).unwrap_or(u32::MAX);
        let _ = tok.decode(&[0, n.saturating_sub(1), n, u32::MAX], true);
        let mut stream = tok.stream(false);
        for id in [n, 0, u32::MAX] {
            let _ = stream.step(id);
        }
    }

    if let Ok(Some(source)) = file.metadata.opt_str("tokenizer.chat_template") {
        let text = |id: Option<u32>| {
            tokenizer
                .as_ref()
                .and_then(|t| id.and_then(|i| t.token_text(i)))
                .unwrap_or_default()
        };
        let (bos, eos) = match &tokenizer {
            Some(t) => (text(t.bos()), text(t.eos())),
            None => (String::new(), String::new()),
        };
        let template = ChatTemplate::new(source, bos, eos);
        let messages = [
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, TEXT),
            ChatMessage::new(Role::Assistant, "Paris."),
            ChatMessage::new(Role::User, "And  Rome? "),
        ];
        for add_generation_prompt in [true, false] {
            if let Ok(prompt) = template.render(&messages, add_generation_prompt)
                && let Some(tok) = &tokenizer
            {
                let _ = tok.encode(&prompt, false);
            }
        }
    }
}
