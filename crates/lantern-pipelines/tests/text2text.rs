//! Translation and summarization natively on the CPU: the tiny random Marian, T5, Flan-T5 and
//! BART models against transformers' pipelines (ids and texts exactly), and bad input.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/text2text.rs"]
mod text2text_checks;

use std::path::PathBuf;

use futures_util::FutureExt;
use lantern_core::Task;
use lantern_core::protocol::{ErrorCode, TaskInput, TaskOutput, Text2TextInput};
use lantern_pipelines::device::Device;
use lantern_pipelines::source::DirSource;
use lantern_pipelines::tasks::{self, LoadOptions, Wanted};
use text2text_checks::{Cases, FILES, MODELS, check_bad_input, check_model};

/// The committed fixture (tests/fixtures/text2text/NAME), the folder the mirror serves a copy of.
fn model_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/text2text")
        .join(name)
}

/// Runs a future that needs no event loop (files from a folder, the CPU backend).
fn ready<T>(f: impl Future<Output = T>) -> T {
    f.now_or_never()
        .expect("nothing here waits for an event loop")
}

fn files(model: &str) -> Vec<(&'static str, Vec<u8>)> {
    FILES
        .iter()
        .map(|f| (*f, std::fs::read(model_dir(model).join(f)).unwrap()))
        .collect()
}

#[test]
fn the_models_match_transformers() {
    for model in MODELS {
        let source = DirSource::new(&model_dir(model)).unwrap();
        assert_eq!(
            ready(check_model(model, &source, Device::Cpu, Cases::All)),
            "cpu"
        );
    }
}

#[test]
fn bad_repositories_and_input_are_typed_errors() {
    ready(check_bad_input(
        &files("tiny-t5"),
        &files("tiny-marian-en-de"),
    ));
}

/// Through the one door the worker and the CLI use: the files a task reads, loading for a task,
/// a request for the task, and one for the other task refused.
#[test]
fn both_tasks_run_through_the_task_door() {
    let source = DirSource::new(&model_dir("tiny-t5")).unwrap();
    for task in [Task::Translation, Task::Summarization] {
        let choice = ready(tasks::files_for(task, &source, Wanted::Choose)).unwrap();
        assert_eq!(
            choice.files,
            [
                "config.json",
                "model.safetensors",
                "tokenizer.json",
                "generation_config.json",
                "tokenizer_config.json"
            ]
        );
    }
    let pipeline = ready(tasks::load(
        Task::Summarization,
        &source,
        Device::Cpu,
        &LoadOptions::default(),
    ))
    .unwrap()
    .pipeline;
    let mut partials = 0;
    let out = ready(pipeline.run_with(
        TaskInput::Summarization(Text2TextInput::new("The house is wonderful.")),
        &mut |_| partials += 1,
        &|| false,
    ))
    .unwrap();
    let TaskOutput::Summarization(out) = out else {
        panic!("{out:?}")
    };
    assert!(!out.text.is_empty() && partials > 0);
    let e = ready(pipeline.run(TaskInput::Translation(Text2TextInput::new("Hello")))).unwrap_err();
    assert_eq!(e.error_code(), ErrorCode::InvalidInput, "{e}");
    // A repository without a tokenizer.json is not one the task reads.
    let mut listed = lantern_pipelines::source::MemorySource::new();
    for f in ["config.json", "model.safetensors"] {
        listed = listed.with(f, std::fs::read(model_dir("tiny-t5").join(f)).unwrap());
    }
    let e = ready(tasks::files_for(Task::Translation, &listed, Wanted::Choose)).unwrap_err();
    assert!(e.to_string().contains("tokenizer.json"), "{e}");
}
