//! The pipeline on the SmolLM2 fixture: chat template, streaming, stop strings, cancel,
//! context overflow, counts.

use lantern_core::{ChatMessage, Role, SamplingParams};
use lantern_pipelines::text_generation::{
    GenerationError, Overflow, Prompt, StopReason, TextGeneration,
};

use crate::fixtures::smollm_bytes;

fn pipeline() -> TextGeneration {
    TextGeneration::from_gguf(smollm_bytes().into()).unwrap()
}

fn chat(text: &str) -> Prompt {
    Prompt::Chat(vec![ChatMessage::new(Role::User, text)])
}

fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams {
        max_tokens,
        ..SamplingParams::default()
    }
}

#[test]
fn chat_template_renders_the_gguf_template() {
    let p = pipeline();
    let t = p.chat_template().unwrap();
    let text = t
        .render(&[ChatMessage::new(Role::User, "Hi")], true)
        .unwrap();
    assert_eq!(
        text,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    let ids = p.prompt_tokens(&chat("Hi")).unwrap();
    assert_eq!(ids[0], 1, "starts with <|im_start|> as one token");
    assert_eq!(p.tokenizer().decode(&ids, false).unwrap(), text);
}

#[test]
fn streams_chunks_that_add_up_to_the_text_and_stops_at_max_tokens() {
    let mut p = pipeline();
    let mut chunks = Vec::new();
    let out = p
        .generate(
            &chat("What is the capital of France?"),
            &greedy(12),
            &mut |c| chunks.push(c.to_owned()),
            &|| false,
        )
        .unwrap();
    assert_eq!(out.generated_tokens, 12);
    assert_eq!(out.tokens.len(), 12);
    assert_eq!(out.stop_reason, StopReason::MaxTokens);
    assert_eq!(chunks.concat(), out.text);
    assert_eq!(out.text, p.tokenizer().decode(&out.tokens, true).unwrap());
    assert!(out.prompt_tokens > 30 && out.prefill_tok_s > 0.0 && out.decode_tok_s > 0.0);
    assert_eq!(out.backend, "cpu");
}

#[test]
fn greedy_is_reproducible_and_a_second_turn_reuses_the_cache() {
    let mut p = pipeline();
    let a = p
        .generate(&chat("Name a color."), &greedy(8), &mut |_| {}, &|| false)
        .unwrap();
    // Same prompt again: all but the last prompt token come from the cache.
    let b = p
        .generate(&chat("Name a color."), &greedy(8), &mut |_| {}, &|| false)
        .unwrap();
    assert_eq!(a.tokens, b.tokens);
    let mut fresh = pipeline();
    let c = fresh
        .generate(&chat("Name a color."), &greedy(8), &mut |_| {}, &|| false)
        .unwrap();
    assert_eq!(a.tokens, c.tokens);
}

#[test]
fn seeded_sampling_is_reproducible() {
    let params = SamplingParams {
        temperature: 0.9,
        top_k: 40,
        top_p: 0.95,
        min_p: 0.05,
        seed: 42,
        max_tokens: 16,
        ..Default::default()
    };
    let mut p = pipeline();
    let a = p
        .generate(&chat("Tell me a story."), &params, &mut |_| {}, &|| false)
        .unwrap();
    let b = p
        .generate(&chat("Tell me a story."), &params, &mut |_| {}, &|| false)
        .unwrap();
    assert_eq!(a.tokens, b.tokens);
    let other = SamplingParams { seed: 43, ..params };
    let c = p
        .generate(&chat("Tell me a story."), &other, &mut |_| {}, &|| false)
        .unwrap();
    assert_ne!(
        a.tokens, c.tokens,
        "a different seed should sample differently"
    );
}

#[test]
fn stop_strings_end_the_text_before_them() {
    let mut p = pipeline();
    let free = p
        .generate(
            &chat("What is the capital of France?"),
            &greedy(20),
            &mut |_| {},
            &|| false,
        )
        .unwrap();
    // Stop at the second word of the free-running answer.
    let word = free.text.split(' ').nth(1).unwrap().to_owned();
    let params = SamplingParams {
        stop: vec![word.clone()],
        ..greedy(20)
    };
    let mut streamed = String::new();
    let out = p
        .generate(
            &chat("What is the capital of France?"),
            &params,
            &mut |c| streamed.push_str(c),
            &|| false,
        )
        .unwrap();
    assert_eq!(out.stop_reason, StopReason::Stop);
    assert_eq!(out.text, free.text[..free.text.find(&word).unwrap()]);
    assert_eq!(streamed, out.text, "the stop string was never streamed");
}

#[test]
fn eos_ends_generation() {
    // Raw text ending the assistant turn early: the model answers and closes its turn.
    let mut p = pipeline();
    let out = p
        .generate(
            &chat("Say only the word yes."),
            &greedy(200),
            &mut |_| {},
            &|| false,
        )
        .unwrap();
    assert_eq!(out.stop_reason, StopReason::Eos, "{:?}", out.text);
    assert!(!out.tokens.contains(&2));
}

#[test]
fn cancel_stops_between_steps() {
    let mut p = pipeline();
    let calls = std::cell::Cell::new(0);
    let out = p
        .generate(
            &chat("Count to one hundred."),
            &greedy(100),
            &mut |_| {},
            &|| {
                calls.set(calls.get() + 1);
                calls.get() > 3
            },
        )
        .unwrap();
    assert_eq!(out.stop_reason, StopReason::Cancelled);
    assert_eq!(out.generated_tokens, 3);
}

#[test]
fn context_overflow_is_a_typed_error_or_truncates() {
    let mut p = pipeline();
    let ctx = p.model().context_length();
    let long = "word ".repeat(ctx);
    let err = p
        .generate(&Prompt::Raw(long.clone()), &greedy(8), &mut |_| {}, &|| {
            false
        })
        .unwrap_err();
    assert!(
        matches!(err, GenerationError::ContextOverflow { context, .. } if context == ctx),
        "{err:?}"
    );
    assert_eq!(err.code(), "context_overflow");
    let short = "word ".repeat(100);
    let err = p
        .generate(&Prompt::Raw(short), &greedy(ctx), &mut |_| {}, &|| false)
        .unwrap_err();
    assert!(matches!(err, GenerationError::ContextOverflow { .. }));

    p.set_overflow(Overflow::TruncateStart);
    // Keep 12 prompt tokens (ctx - max_tokens), generate 2 of the allowed ctx - 12, cancel.
    let long = "word ".repeat(200);
    let n = p.prompt_tokens(&Prompt::Raw(long.clone())).unwrap().len();
    let steps = std::cell::Cell::new(0);
    let out = p
        .generate(&Prompt::Raw(long), &greedy(ctx - 12), &mut |_| {}, &|| {
            steps.set(steps.get() + 1);
            steps.get() > 2
        })
        .unwrap();
    assert_eq!(out.prompt_tokens, n);
    assert_eq!(out.generated_tokens, 2);
    assert_eq!(out.stop_reason, StopReason::Cancelled);
}

#[test]
fn streaming_never_splits_a_character() {
    let p = pipeline();
    let tok = p.tokenizer();
    let text = "Émoji 🌊🦙 and 漢字 — done";
    let ids = tok.encode(text, false).unwrap();
    assert!(
        ids.len() > text.chars().count() / 2,
        "multi-byte characters span several tokens"
    );
    let mut stream = tok.stream(true);
    let mut out = String::new();
    for id in ids {
        if let Some(piece) = stream.step(id).unwrap() {
            assert!(!piece.contains('\u{FFFD}'), "{piece:?}");
            out.push_str(&piece);
        }
    }
    assert_eq!(out, text);
}

#[test]
fn a_template_that_raises_is_a_typed_error() {
    use lantern_pipelines::chat_template::{ChatTemplate, TemplateError};
    let t = ChatTemplate::new(
        "{% if messages[0]['role'] != 'system' %}{{ raise_exception('Conversations must start with a system message') }}{% endif %}",
        "",
        "",
    );
    let err = t
        .render(&[ChatMessage::new(Role::User, "hi")], true)
        .unwrap_err();
    assert_eq!(
        err,
        TemplateError::Raised("Conversations must start with a system message".into())
    );
    let bad = ChatTemplate::new("{% for %}", "", "");
    assert!(matches!(
        bad.render(&[], true),
        Err(TemplateError::Render(_))
    ));
}
