//! The worker protocol end to end on a native thread: the same loop the browser runs, with the
//! real model files served by the mirror.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lantern_core::protocol::{
    BackendChoice, Binary, ErrorCode, Event, Request, TaskInput, TaskOutput, wire,
};
use lantern_core::{ChatMessage, DemoConfig, ModelRef, Role, SamplingParams, Task};
use lantern_hub::{HfCache, HubClient};
use lantern_mirror::testing::{EMBEDDING_REPO, GGUF_FILE, GGUF_REPO, start_fixture_mirror};
use lantern_pipelines::text_generation::{Prompt, TextGeneration};
use lantern_worker::NativeWorker;

const WAIT: Duration = Duration::from_secs(300);

async fn pin(endpoint: &str, repo: &str, files: &[&str]) -> ModelRef {
    HubClient::builder()
        .endpoint(endpoint)
        .build()
        .unwrap()
        .pin(&repo.parse().unwrap(), files)
        .await
        .unwrap()
}

fn demo(task: Task, model: ModelRef, endpoint: &str) -> DemoConfig {
    DemoConfig {
        title: "test".into(),
        emoji: String::new(),
        description: String::new(),
        task,
        model,
        endpoint: endpoint.into(),
        license: None,
        quantization: None,
        chat: Default::default(),
        sentences: Vec::new(),
        examples: Vec::new(),
        text2text: Default::default(),
    }
}

fn next(worker: &NativeWorker) -> Event {
    worker.recv_timeout(WAIT).expect("the worker went silent")
}

/// Loads and returns every event up to `Ready` (or the first error).
fn load(worker: &NativeWorker, demo: &DemoConfig) -> Vec<Event> {
    worker.send(Request::Load {
        demo: Box::new(demo.clone()),
        backend: BackendChoice::Auto,
        gpu_fail_after: None,
    });
    let mut events = Vec::new();
    loop {
        let e = next(worker);
        let end = matches!(e, Event::Ready { .. } | Event::Error(_));
        events.push(e);
        if end {
            return events;
        }
    }
}

/// Events of request `id` up to its `Done` or error.
fn until_done(worker: &NativeWorker, id: u64, mut on_token: impl FnMut(&str)) -> Event {
    loop {
        match next(worker) {
            Event::Token { id: i, text } if i == id => on_token(&text),
            e @ (Event::Done { .. } | Event::Error(_)) => return e,
            _ => {}
        }
    }
}

fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams {
        max_tokens,
        ..SamplingParams::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_streams_the_same_answer_as_the_pipeline_and_cancels() {
    let mirror = start_fixture_mirror();
    let model = pin(&mirror.url(), GGUF_REPO, &[GGUF_FILE]).await;
    let demo = demo(Task::TextGeneration, model.clone(), &mirror.url());
    let cache_dir = tempfile::tempdir().unwrap();
    let worker = NativeWorker::spawn(HfCache::new(cache_dir.path()), 1);
    assert_eq!(next(&worker), Event::Started { threads: 1 });

    let events = load(&worker, &demo);
    assert!(
        matches!(events.last(), Some(Event::Ready { .. })),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Backend { name, .. } if name == "cpu"))
    );
    let last = events
        .iter()
        .rev()
        .filter_map(|e| match e {
            Event::Progress(p) => Some(p),
            _ => None,
        })
        .next()
        .unwrap();
    assert_eq!(
        (last.done, last.total),
        (model.total_size(), model.total_size())
    );

    let messages = vec![ChatMessage::new(
        Role::User,
        "What is the capital of France?",
    )];
    worker.send(Request::Generate {
        id: 1,
        messages: messages.clone(),
        params: greedy(24),
    });
    let mut streamed = String::new();
    let done = until_done(&worker, 1, |t| streamed.push_str(t));
    let Event::Done { stats, .. } = done else {
        panic!("{done:?}")
    };
    assert!(
        stats.generated_tokens > 0 && stats.decode_tok_s > 0.0,
        "{stats:?}"
    );

    // The same messages through the pipeline directly give the same text.
    let path = cache_dir
        .path()
        .join("models--lantern-fixtures--SmolLM2-135M-Instruct-GGUF/snapshots")
        .join(&model.commit)
        .join(GGUF_FILE);
    let mut pipe = TextGeneration::from_gguf(std::fs::read(path).unwrap().into()).unwrap();
    let direct = pipe
        .generate(
            &Prompt::Chat(messages.clone()),
            &greedy(24),
            &mut |_| {},
            &|| false,
        )
        .unwrap();
    assert_eq!(streamed, direct.text);
    assert_eq!(stats.generated_tokens, direct.generated_tokens);

    // Cancel after the first token: the generation stops with reason "cancelled".
    worker.send(Request::Generate {
        id: 2,
        messages,
        params: greedy(200),
    });
    let mut first = true;
    let done = until_done(&worker, 2, |_| {
        if std::mem::take(&mut first) {
            worker.send(Request::Cancel { id: 2 });
        }
    });
    let Event::Done { stats, .. } = done else {
        panic!("{done:?}")
    };
    assert_eq!(stats.stop_reason, "cancelled");
    assert!(stats.generated_tokens < 200);

    // A second worker on the same cache loads without downloading.
    drop(worker);
    let worker = NativeWorker::spawn(HfCache::new(cache_dir.path()), 1);
    next(&worker);
    let events = load(&worker, &demo);
    let reused = events.iter().all(|e| match e {
        Event::Progress(p) => p.reused == p.done,
        _ => true,
    });
    assert!(reused, "{events:?}");
}

#[test]
fn ping_echoes_the_size_and_checksum_of_its_binary_payload() {
    let cache_dir = tempfile::tempdir().unwrap();
    let worker = NativeWorker::spawn(HfCache::new(cache_dir.path()), 1);
    next(&worker);
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    // Through the wire form the browser uses: JSON beside one attachment.
    let wire = wire::encode(&Request::Ping {
        id: 9,
        payload: Binary::Bytes(payload.clone()),
    })
    .unwrap();
    assert!(wire.json.len() < 100, "{}", wire.json);
    worker.send(wire::decode(&wire.json, wire.attachments).unwrap());
    assert_eq!(
        next(&worker),
        Event::Pong {
            id: 9,
            bytes: payload.len() as u64,
            checksum: wire::fnv1a(&payload),
        }
    );
    // An attachment that never came is a typed error for that request.
    worker.send(Request::Ping {
        id: 10,
        payload: Binary::Attached(0),
    });
    let Event::Error(report) = next(&worker) else {
        panic!("expected an error")
    };
    assert_eq!(
        (report.code, report.request),
        (ErrorCode::InvalidInput, Some(10))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn embeddings_and_typed_errors() {
    let mirror = start_fixture_mirror();
    let cache_dir = tempfile::tempdir().unwrap();
    let worker = NativeWorker::spawn(HfCache::new(cache_dir.path()), 1);
    next(&worker);

    // Nothing loaded yet.
    worker.send(Request::Run {
        id: 1,
        input: TaskInput::Embeddings {
            sentences: vec!["hi".into()],
        },
    });
    let Event::Error(report) = next(&worker) else {
        panic!("expected an error")
    };
    assert_eq!(
        (report.code, report.request),
        (ErrorCode::InvalidInput, Some(1))
    );

    let files = [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
    ];
    let model = pin(&mirror.url(), EMBEDDING_REPO, &files).await;

    // A flipped byte: a hash mismatch, reported as such.
    let faulty = format!("{}/_faults/id=worker-flip,flip=100", mirror.url());
    let events = load(
        &worker,
        &demo(Task::FeatureExtraction, model.clone(), &faulty),
    );
    let Some(Event::Error(report)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(report.code, ErrorCode::HashMismatch, "{report:?}");

    // A model that is not there.
    let mut missing = model.clone();
    missing.repo = "lantern-fixtures/no-such-model".parse().unwrap();
    let events = load(
        &worker,
        &demo(Task::FeatureExtraction, missing, &mirror.url()),
    );
    let Some(Event::Error(report)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(report.code, ErrorCode::NotFound, "{report:?}");

    let events = load(
        &worker,
        &demo(Task::FeatureExtraction, model, &mirror.url()),
    );
    assert!(
        matches!(events.last(), Some(Event::Ready { .. })),
        "{events:?}"
    );
    worker.send(Request::Run {
        id: 2,
        input: TaskInput::Embeddings {
            sentences: vec!["A man is eating food.".into(), "Someone eats.".into()],
        },
    });
    let Event::Output {
        id,
        output: TaskOutput::Embeddings { vectors, dim },
    } = next(&worker)
    else {
        panic!("expected embeddings")
    };
    assert_eq!((id, dim, vectors.len()), (2, 384, 2));
    let norm: f32 = vectors[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "{norm}");

    worker.send(Request::CacheStatus);
    let Event::Cache { entries, usage, .. } = next(&worker) else {
        panic!("expected the cache status")
    };
    assert_eq!(entries.len(), files.len());
    assert!(usage > 90_000_000);
    worker.send(Request::ClearCache);
    let Event::Cache { entries, .. } = next(&worker) else {
        panic!("expected the cache status")
    };
    assert!(entries.is_empty());
}
