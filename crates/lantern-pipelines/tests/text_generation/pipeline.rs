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

/// Runs a future that must complete at its first poll: the CPU backend's awaited forward
/// passes never wait (only a browser's GPU readback does).
fn now<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("a CPU forward pass waited"),
    }
}

/// A model whose forward passes fail once `left` of them have run, as a lost GPU does.
#[derive(Debug)]
struct FailAfter {
    inner: Box<dyn lantern_models::CausalLm>,
    left: usize,
}

impl lantern_models::CausalLm for FailAfter {
    fn forward(
        &mut self,
        tokens: &[u32],
        start_pos: usize,
        which: lantern_models::Logits,
    ) -> lantern_models::Result<Vec<f32>> {
        if self.left == 0 {
            return Err(lantern_models::ModelError::Backend(
                "gpu_device_lost: lost in a test".into(),
            ));
        }
        self.left -= 1;
        self.inner.forward(tokens, start_pos, which)
    }
    fn clear_cache(&mut self) {
        self.inner.clear_cache()
    }
    fn cached_positions(&self) -> usize {
        self.inner.cached_positions()
    }
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }
    fn context_length(&self) -> usize {
        self.inner.context_length()
    }
    fn metadata(&self) -> &lantern_models::gguf::Metadata {
        self.inner.metadata()
    }
    fn backend_name(&self) -> String {
        "failing".into()
    }
    fn file_size(&self) -> usize {
        self.inner.file_size()
    }
}

/// Steps to the end (or the first error), returning the streamed text.
fn run_async(
    session: &mut lantern_pipelines::text_generation::Session<'_>,
) -> (String, Option<GenerationError>) {
    let mut text = String::new();
    loop {
        match now(session.step_async()) {
            Ok(Some(t)) => text.push_str(&t),
            Ok(None) => return (text, None),
            Err(e) => return (text, Some(e)),
        }
    }
}

#[test]
fn async_steps_match_sync_steps() {
    let prompt = chat("What is the capital of France?");
    for params in [
        greedy(12),
        SamplingParams {
            temperature: 0.8,
            seed: 3,
            max_tokens: 12,
            ..Default::default()
        },
    ] {
        let want = pipeline()
            .generate(&prompt, &params, &mut |_| {}, &|| false)
            .unwrap();
        let mut p = pipeline();
        let mut session = now(p.start_async(&prompt, &params)).unwrap();
        let (text, err) = run_async(&mut session);
        assert!(err.is_none(), "{err:?}");
        let got = session.finish();
        assert_eq!((got.tokens, got.text), (want.tokens, want.text.clone()));
        assert_eq!(text, want.text);
    }
}

#[test]
fn a_generation_whose_model_fails_resumes_on_another_model_unchanged() {
    let prompt = chat("What is the capital of France?");
    let bytes = smollm_bytes();
    for params in [
        greedy(16),
        SamplingParams {
            temperature: 0.8,
            top_k: 40,
            seed: 9,
            max_tokens: 16,
            ..Default::default()
        },
    ] {
        let want = pipeline()
            .generate(&prompt, &params, &mut |_| {}, &|| false)
            .unwrap();
        assert_eq!(want.generated_tokens, 16, "the test needs a long answer");
        // The prefill and 5 decode steps run; the forward pass of the 6th token fails.
        let model = FailAfter {
            inner: lantern_models::load_causal_lm(bytes.clone().into()).unwrap(),
            left: 6,
        };
        let mut failing = TextGeneration::from_model(Box::new(model)).unwrap();
        let mut session = now(failing.start_async(&prompt, &params)).unwrap();
        let (before, err) = run_async(&mut session);
        let err = err.expect("the model failed");
        assert!(err.to_string().contains("gpu_device_lost"), "{err}");
        let suspended = session.suspend();
        assert_eq!(suspended.tokens(), &want.tokens[..6]);

        let mut cpu = pipeline();
        let mut session = now(cpu.resume_async(suspended)).unwrap();
        let (after, err) = run_async(&mut session);
        assert!(err.is_none(), "{err:?}");
        let got = session.finish();
        assert_eq!(got.tokens, want.tokens);
        assert_eq!(got.text, want.text);
        assert_eq!(before + &after, want.text, "streamed text lost or repeated");
        assert_eq!(got.backend, "cpu");
        // The continued conversation's tokens are the new pipeline's cache: a next turn
        // reuses them.
        assert_eq!(got.prompt_tokens, want.prompt_tokens);
    }
}
