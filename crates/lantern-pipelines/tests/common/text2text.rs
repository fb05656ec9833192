//! The translation and summarization checks, written once and run natively
//! (`tests/text2text.rs`, CPU; `tests/gpu.rs`, lavapipe) and in headless Chromium
//! (`tests/web_text2text.rs`, CPU and SwiftShader): the tiny random Marian, T5, Flan-T5 and BART
//! models of `tests/fixtures/text2text/` against what transformers' pipelines gave for them
//! (`scripts/reference/text2text.py`): input ids, generated ids and texts exactly.

use lantern_core::protocol::{
    EarlyStopping, ErrorCode, Never, Partial, Text2TextInput, Text2TextOptions,
};
use lantern_pipelines::PipelineError;
use lantern_pipelines::device::Device;
use lantern_pipelines::generation::{Overrides, SearchError, Stopping};
use lantern_pipelines::source::{FileSource, MemorySource};
use lantern_pipelines::text2text::{self, Text2Text, Text2TextError, Text2TextTask};

pub const GOLDEN: &str = include_str!("../data/text2text.golden.json");
/// The fixture repositories (folders of the fixture mirror and of tests/fixtures/text2text/).
pub const MODELS: [&str; 4] = [
    "tiny-marian-en-de",
    "tiny-t5",
    "tiny-flan-t5",
    "tiny-bart-cnn",
];
/// Every file of a fixture repository the pipeline may read.
pub const FILES: [&str; 5] = [
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "model.safetensors",
];

fn golden(model: &str) -> serde_json::Value {
    let all: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    all["models"][model].clone()
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn task(case: &serde_json::Value) -> Text2TextTask {
    match case["task"].as_str().unwrap() {
        "translation" => Text2TextTask::Translation,
        "summarization" => Text2TextTask::Summarization,
        other => panic!("task {other}"),
    }
}

/// The pipeline call's keyword arguments as a request's options (`max_length`, which requests
/// do not take, apart).
fn request(case: &serde_json::Value) -> (Text2TextInput, Option<usize>) {
    let kw = &case["generate_kwargs"];
    let count = |k: &str| kw.get(k).and_then(|v| v.as_u64()).map(|n| n as usize);
    let float = |k: &str| kw.get(k).and_then(|v| v.as_f64()).map(|f| f as f32);
    let early_stopping = kw.get("early_stopping").map(|v| match v {
        serde_json::Value::Bool(b) => EarlyStopping::Bool(*b),
        _ => EarlyStopping::Never(Never::Never),
    });
    for key in kw.as_object().unwrap().keys() {
        assert!(
            [
                "num_beams",
                "max_new_tokens",
                "max_length",
                "min_length",
                "length_penalty",
                "no_repeat_ngram_size",
                "repetition_penalty",
                "early_stopping"
            ]
            .contains(&key.as_str()),
            "a generate argument the test does not pass on: {key}"
        );
    }
    let options = Text2TextOptions {
        num_beams: count("num_beams"),
        max_new_tokens: count("max_new_tokens"),
        min_length: count("min_length"),
        length_penalty: float("length_penalty"),
        no_repeat_ngram_size: count("no_repeat_ngram_size"),
        repetition_penalty: float("repetition_penalty"),
        early_stopping,
        task_params: None,
    };
    let input = Text2TextInput {
        text: case["text"].as_str().unwrap().to_owned(),
        options,
    };
    (input, count("max_length"))
}

/// Which golden cases a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cases {
    /// Every case of the model.
    All,
    /// One greedy and one beam-search case (a software GPU in the browser takes seconds per
    /// case; the op layer's own tests hold the forward pass there to the goldens).
    Few,
}

/// The cases [`Cases::Few`] runs (every model has them).
const FEW: [&str; 2] = ["greedy_1", "beam4_ngram3"];

/// Loads `model` from `source` on `device` and holds the golden cases to transformers: the
/// prefixed text and input ids, the effective generation settings, the generated ids and the
/// text exactly, the truncation warning, and the streamed text. Returns the backend.
pub async fn check_model<S: FileSource>(
    model: &str,
    source: &S,
    device: Device,
    cases: Cases,
) -> String {
    let g = golden(model);
    let t2t = text2text::load(source, device).await.unwrap().pipeline;
    let mut checked = 0;
    for (i, case) in g["cases"].as_array().unwrap().iter().enumerate() {
        if cases == Cases::Few && !FEW.contains(&case["name"].as_str().unwrap()) {
            continue;
        }
        // The request's own path once per model (the rest go through the parts it is made of).
        check_case(model, &t2t, case, i == 0 || cases == Cases::Few).await;
        checked += 1;
    }
    assert!(checked >= FEW.len(), "{model}: {checked} cases");
    t2t.backend_name()
}

async fn check_case(model: &str, t2t: &Text2Text, case: &serde_json::Value, whole: bool) {
    let name = format!("{model} {}", case["name"].as_str().unwrap());
    let task = task(case);
    let (input, max_length) = request(case);
    let prepared = t2t.prepare(task, &input).unwrap();
    assert_eq!(
        prepared.text,
        case["prefixed_text"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(prepared.ids, ids(&case["input_ids"]), "{name}: input ids");
    assert_eq!(
        prepared.cut > 0,
        case["truncation"].as_bool().unwrap(),
        "{name}: truncation"
    );
    let config = t2t
        .generation_config(task, &input)
        .unwrap()
        .with(&Overrides {
            max_length,
            ..Overrides::default()
        });
    // The settings transformers ran generate() with.
    let want = &case["generation_config"];
    let lengths = config.lengths(None).unwrap();
    assert_eq!(
        lengths.max_length as u64,
        want["max_length"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        lengths.min_length as u64,
        want["min_length"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        config.num_beams as u64,
        want["num_beams"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        config.length_penalty,
        want["length_penalty"].as_f64().unwrap(),
        "{name}"
    );
    assert_eq!(
        config.repetition_penalty,
        want["repetition_penalty"].as_f64().unwrap(),
        "{name}"
    );
    assert_eq!(
        config.no_repeat_ngram_size as u64,
        want["no_repeat_ngram_size"].as_u64().unwrap(),
        "{name}"
    );
    let early = match &want["early_stopping"] {
        serde_json::Value::Bool(true) => Stopping::Early,
        serde_json::Value::Bool(false) => Stopping::Heuristic,
        _ => Stopping::Never,
    };
    assert_eq!(config.early_stopping, early, "{name}");
    assert_eq!(
        config.renormalize_logits,
        want["renormalize_logits"].as_bool().unwrap(),
        "{name}"
    );

    let mut partials: Vec<(String, usize)> = Vec::new();
    let out = t2t
        .run_async(
            &prepared,
            &config,
            &mut |p| {
                if let Partial::GeneratedText { text, tokens } = p {
                    partials.push((text, tokens));
                }
            },
            &|| false,
        )
        .await
        .unwrap();
    assert_eq!(out.tokens, ids(&case["output_ids"]), "{name}: output ids");
    assert_eq!(out.text, case["text_out"].as_str().unwrap(), "{name}: text");
    assert_eq!(out.text, case["pipeline_text"].as_str().unwrap(), "{name}");
    assert_eq!(out.input_tokens, prepared.ids.len(), "{name}");
    assert_eq!(out.generated_tokens, out.tokens.len() - 1, "{name}");
    assert_eq!(
        out.warnings.iter().any(|w| w.contains("cut")),
        case["truncation"].as_bool().unwrap(),
        "{name}: {:?}",
        out.warnings
    );
    // The text streamed: one partial per step, the best sequence growing a token at a time
    // (greedy: the final text, without a character still incomplete).
    assert!(!partials.is_empty(), "{name}: nothing streamed");
    if config.num_beams == 1 {
        let tokens: Vec<usize> = partials.iter().map(|p| p.1).collect();
        assert_eq!(
            tokens,
            (1..=out.generated_tokens).collect::<Vec<_>>(),
            "{name}"
        );
        let last = &partials.last().unwrap().0;
        assert_eq!(last, out.text.trim_end_matches('\u{FFFD}'), "{name}");
    }

    // The same through the request's own path, where the request can say it.
    if whole && max_length.is_none() {
        let again = t2t
            .generate_async(task, &input, &mut |_| {}, &|| false)
            .await
            .unwrap();
        assert_eq!(again.tokens, out.tokens, "{name}: generate_async");
    }
}

/// A fixture's files with `config.json` and `generation_config.json` edited.
pub fn edit_configs(
    files: &[(&str, Vec<u8>)],
    edit: impl Fn(&str, &mut serde_json::Value),
) -> MemorySource {
    let mut source = MemorySource::new();
    for (path, bytes) in files {
        let bytes = if *path == "config.json" || *path == "generation_config.json" {
            let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            edit(path, &mut v);
            serde_json::to_vec(&v).unwrap()
        } else {
            bytes.clone()
        };
        source = source.with(path, bytes);
    }
    source
}

fn source(files: &[(&str, Vec<u8>)]) -> MemorySource {
    edit_configs(files, |_, _| {})
}

fn err_of(r: Result<lantern_core::protocol::GeneratedText, Text2TextError>) -> PipelineError {
    PipelineError::from(r.unwrap_err())
}

/// Bad input and bad repositories, on the T5 fixture's files (`t5`) and the Marian one's
/// (`marian`, a Unigram tokenizer with an unknown token and learned length limits): typed
/// errors with the page's codes, or the documented handling.
pub async fn check_bad_input(t5: &[(&str, Vec<u8>)], marian: &[(&str, Vec<u8>)]) {
    let translator = text2text::load(&source(marian), Device::Cpu)
        .await
        .unwrap()
        .pipeline;
    let tr = Text2TextTask::Translation;

    // Empty input: refused, not translated into whatever the model says to nothing.
    for text in ["", "   \n"] {
        let e = err_of(
            translator
                .generate_async(tr, &Text2TextInput::new(text), &mut |_| {}, &|| false)
                .await,
        );
        assert!(e.to_string().contains("empty"), "{e}");
        assert_eq!(e.error_code(), ErrorCode::InvalidInput);
    }

    // Longer than the model's 64 positions: the end is cut, with a warning.
    let long = "The house is wonderful. ".repeat(60);
    let out = translator
        .generate_async(
            tr,
            &Text2TextInput {
                text: long,
                options: Text2TextOptions {
                    max_new_tokens: Some(4),
                    num_beams: Some(1),
                    ..Text2TextOptions::default()
                },
            },
            &mut |_| {},
            &|| false,
        )
        .await
        .unwrap();
    assert_eq!(out.input_tokens, 64);
    assert!(
        out.warnings.iter().any(|w| w.contains("64 tokens")),
        "{:?}",
        out.warnings
    );

    // Characters the tokenizer has no piece for: read as its unknown token (as transformers
    // reads them), with a warning.
    let out = translator
        .generate_async(
            tr,
            &Text2TextInput {
                text: "Ψ ☃ 漢".into(),
                options: Text2TextOptions {
                    max_new_tokens: Some(4),
                    ..Text2TextOptions::default()
                },
            },
            &mut |_| {},
            &|| false,
        )
        .await
        .unwrap();
    assert!(
        out.warnings.iter().any(|w| w.contains("does not know")),
        "{:?}",
        out.warnings
    );

    // More beams than the search allows (each is a decoder state).
    let e = err_of(
        translator
            .generate_async(
                tr,
                &Text2TextInput {
                    text: "Hello".into(),
                    options: Text2TextOptions {
                        num_beams: Some(1000),
                        ..Text2TextOptions::default()
                    },
                },
                &mut |_| {},
                &|| false,
            )
            .await,
    );
    assert!(
        matches!(
            e,
            PipelineError::Text2Text(Text2TextError::Search(SearchError::Beams { .. }))
        ),
        "{e:?}"
    );
    assert_eq!(e.error_code(), ErrorCode::InvalidInput);
    // No new tokens at all.
    let e = err_of(
        translator
            .generate_async(
                tr,
                &Text2TextInput {
                    text: "Hello".into(),
                    options: Text2TextOptions {
                        max_new_tokens: Some(0),
                        ..Text2TextOptions::default()
                    },
                },
                &mut |_| {},
                &|| false,
            )
            .await,
    );
    assert_eq!(e.error_code(), ErrorCode::InvalidInput, "{e}");

    // A task_specific_params entry the model does not have.
    let e = err_of(
        translator
            .generate_async(
                tr,
                &Text2TextInput {
                    text: "Hello".into(),
                    options: Text2TextOptions {
                        task_params: Some("translation_en_to_fr".into()),
                        ..Text2TextOptions::default()
                    },
                },
                &mut |_| {},
                &|| false,
            )
            .await,
    );
    assert!(e.to_string().contains("translation_en_to_fr"), "{e}");
    assert_eq!(e.error_code(), ErrorCode::InvalidInput);

    // Cancel mid-generation: the search stops between two steps, after streaming some text.
    let asked = std::cell::Cell::new(0);
    let mut streamed = 0;
    let e = err_of(
        translator
            .generate_async(
                tr,
                &Text2TextInput {
                    text: "The house is wonderful.".into(),
                    options: Text2TextOptions {
                        num_beams: Some(4),
                        max_new_tokens: Some(20),
                        early_stopping: Some(EarlyStopping::Never(Never::Never)),
                        ..Text2TextOptions::default()
                    },
                },
                &mut |_| streamed += 1,
                &|| {
                    asked.set(asked.get() + 1);
                    asked.get() > 4
                },
            )
            .await,
    );
    assert_eq!(e.error_code(), ErrorCode::Cancelled, "{e}");
    assert!(streamed >= 2, "{streamed}");

    // T5: the translation pair named by the request (its prefix), and summarization's.
    let t5_model = text2text::load(&source(t5), Device::Cpu)
        .await
        .unwrap()
        .pipeline;
    assert_eq!(
        t5_model.task_params(),
        [
            "summarization",
            "translation_en_to_de",
            "translation_en_to_fr",
            "translation_en_to_ro"
        ]
    );
    let fr = Text2TextInput {
        text: "Hello".into(),
        options: Text2TextOptions {
            task_params: Some("translation_en_to_fr".into()),
            ..Text2TextOptions::default()
        },
    };
    let p = t5_model.prepare(tr, &fr).unwrap();
    assert_eq!(p.text, "translate English to French: Hello");
    assert_eq!(p.params.as_deref(), Some("translation_en_to_fr"));
    let p = t5_model
        .prepare(Text2TextTask::Summarization, &Text2TextInput::new("Hello"))
        .unwrap();
    assert_eq!(p.text, "summarize: Hello");

    // No decoder_start_token_id anywhere: bos_token_id starts the decoder, as in transformers.
    let no_start = edit_configs(marian, |_, c| {
        c.as_object_mut().unwrap().remove("decoder_start_token_id");
    });
    let m = text2text::load(&no_start, Device::Cpu)
        .await
        .unwrap()
        .pipeline;
    let bos = 0;
    let out = m
        .generate_async(
            tr,
            &Text2TextInput {
                text: "Hello".into(),
                options: Text2TextOptions {
                    max_new_tokens: Some(3),
                    ..Text2TextOptions::default()
                },
            },
            &mut |_| {},
            &|| false,
        )
        .await
        .unwrap();
    assert_eq!(out.tokens[0], bos);
    // ...and without bos_token_id either: the decoder has no first token.
    let neither = edit_configs(marian, |_, c| {
        let c = c.as_object_mut().unwrap();
        c.remove("decoder_start_token_id");
        c.remove("bos_token_id");
    });
    match text2text::load(&neither, Device::Cpu).await {
        Err(e) => {
            // The model's own config may already refuse it.
            assert_eq!(e.error_code(), ErrorCode::UnsupportedModel, "{e}");
        }
        Ok(m) => {
            let e = err_of(
                m.pipeline
                    .generate_async(tr, &Text2TextInput::new("Hello"), &mut |_| {}, &|| false)
                    .await,
            );
            assert!(e.to_string().contains("decoder_start_token_id"), "{e}");
            assert_eq!(e.error_code(), ErrorCode::UnsupportedModel);
        }
    }

    // A broken generation_config.json is the model's fault, found when loading.
    let broken = edit_configs(marian, |path, c| {
        if path == "generation_config.json" {
            c["num_beams"] = "four".into();
        }
    });
    let e = text2text::load(&broken, Device::Cpu).await.unwrap_err();
    assert!(e.to_string().contains("num_beams"), "{e}");
    assert_eq!(e.error_code(), ErrorCode::UnsupportedModel);
}
