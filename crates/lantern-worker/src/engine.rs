//! The worker's loop, written once: requests in, events out. The platform files (`web.rs`,
//! `native.rs`) only move messages and read cached files.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_channel::mpsc::UnboundedReceiver;
use futures_util::StreamExt;
use lantern_core::protocol::{
    BackendChoice, ErrorCode, ErrorReport, Event, GenerationStats, Request,
};
use lantern_core::{ChatMessage, DemoConfig, ModelRef, Progress, SamplingParams, Task};
use lantern_hub::{Cache, CancelToken, HubClient, HubError};
use lantern_models::ModelBytes;
use lantern_pipelines::embeddings::RecipeFiles;
use lantern_pipelines::embeddings::{Embedder, EmbedderFiles, EmbedderOptions, EmbeddingsError};
use lantern_pipelines::text_generation::{GenerationError, Prompt, TextGeneration};
use web_time::Instant;

use crate::platform;

/// The id `Cancel` uses for the model download (generations use the page's ids, from 1).
pub const LOAD_ID: u64 = 0;

/// Cancel tokens of the requests in flight, shared with whoever receives `Cancel` (which must
/// not wait behind the request it cancels).
#[derive(Debug, Clone, Default)]
pub struct Cancels(Arc<Mutex<HashMap<u64, CancelToken>>>);

impl Cancels {
    /// The token for request `id` (created on first use, so a cancel may arrive first).
    pub fn token(&self, id: u64) -> CancelToken {
        match self.0.lock() {
            Ok(mut map) => map.entry(id).or_default().clone(),
            Err(poisoned) => poisoned.into_inner().entry(id).or_default().clone(),
        }
    }

    pub fn cancel(&self, id: u64) {
        self.token(id).cancel();
    }

    fn done(&self, id: u64) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&id);
        }
    }
}

/// A loaded model.
enum Loaded {
    Chat(Box<TextGeneration>),
    Embeddings(Box<Embedder>),
}

/// What the worker needs from its host.
pub struct Context {
    pub cache: Cache,
    /// Threads available to the CPU kernels (1 without cross-origin isolation).
    pub threads: usize,
    pub emit: Box<dyn Fn(Event)>,
}

/// Runs until the request channel closes.
pub async fn run(mut requests: UnboundedReceiver<Request>, cancels: Cancels, ctx: Context) {
    (ctx.emit)(Event::Started {
        threads: ctx.threads,
    });
    let mut model: Option<Loaded> = None;
    while let Some(request) = requests.next().await {
        match request {
            Request::Load { demo, backend } => {
                // The previous model goes first: holding it while the next one loads would
                // double the peak memory (and wasm memory never shrinks back).
                model = None;
                let token = cancels.token(LOAD_ID);
                match load(&ctx, &demo, backend, &token).await {
                    Ok(m) => model = Some(m),
                    Err(report) => (ctx.emit)(Event::Error(report)),
                }
                cancels.done(LOAD_ID);
            }
            Request::Generate {
                id,
                messages,
                params,
            } => {
                let token = cancels.token(id);
                let result = match &mut model {
                    Some(Loaded::Chat(pipe)) => {
                        generate(&ctx, pipe, id, messages, &params, &token).await
                    }
                    _ => Err(not_loaded("a chat model")),
                };
                if let Err(mut report) = result {
                    report.request = Some(id);
                    (ctx.emit)(Event::Error(report));
                }
                cancels.done(id);
            }
            Request::Embed { id, sentences } => {
                let result = match &model {
                    Some(Loaded::Embeddings(e)) => e
                        .embed(&sentences)
                        .map(|vectors| Event::Embeddings {
                            id,
                            dim: e.dim(),
                            vectors,
                        })
                        .map_err(embeddings_error),
                    _ => Err(not_loaded("an embedding model")),
                };
                match result {
                    Ok(event) => (ctx.emit)(event),
                    Err(mut report) => {
                        report.request = Some(id);
                        (ctx.emit)(Event::Error(report));
                    }
                }
                cancels.done(id);
            }
            // Cancels are handled where messages arrive; one that reaches the queue is late.
            Request::Cancel { .. } => {}
            Request::CacheStatus => (ctx.emit)(cache_status(&ctx).await),
            Request::ClearCache => match platform::clear_cache(&ctx.cache).await {
                Ok(()) => (ctx.emit)(cache_status(&ctx).await),
                Err(e) => (ctx.emit)(Event::Error(hub_error(&e))),
            },
        }
    }
}

async fn cache_status(ctx: &Context) -> Event {
    match platform::cache_status(&ctx.cache).await {
        Ok((entries, usage, quota)) => Event::Cache {
            entries,
            usage,
            quota,
        },
        Err(e) => Event::Error(hub_error(&e)),
    }
}

async fn load(
    ctx: &Context,
    demo: &DemoConfig,
    backend: BackendChoice,
    cancel: &CancelToken,
) -> Result<Loaded, ErrorReport> {
    let started = Instant::now();
    if backend == BackendChoice::Webgpu {
        return Err(ErrorReport::new(
            ErrorCode::GpuFailed,
            "this build of the worker has no WebGPU backend; use the CPU",
        ));
    }
    (ctx.emit)(Event::Backend {
        name: "cpu".into(),
        threads: ctx.threads,
        detail: if ctx.threads > 1 {
            format!("wasm SIMD, {} threads", ctx.threads)
        } else {
            "wasm SIMD, 1 thread (the page is not cross-origin isolated)".into()
        },
    });
    let client = HubClient::builder()
        .endpoint(platform::absolute_endpoint(&demo.endpoint))
        .build()
        .map_err(|e| hub_error(&e))?;
    let mut throttle = ProgressThrottle::default();
    let files = client
        .download(
            &demo.model,
            &ctx.cache,
            &mut |p: &Progress| {
                if throttle.should_emit(p) {
                    (ctx.emit)(Event::Progress(p.clone()))
                }
            },
            cancel,
        )
        .await
        .map_err(|e| hub_error(&e))?;
    let file = |name: &str| -> Result<&lantern_hub::CachedFile, ErrorReport> {
        demo.model
            .files
            .iter()
            .position(|f| f.path.as_str() == name)
            .and_then(|i| files.get(i))
            .ok_or_else(|| {
                ErrorReport::new(
                    ErrorCode::UnsupportedModel,
                    format!("the demo's model has no {name}"),
                )
            })
    };
    let loaded = match demo.task {
        Task::TextGeneration => {
            let gguf = gguf_path(&demo.model)?;
            let bytes = platform::read(file(gguf)?)
                .await
                .map_err(|e| hub_error(&e))?;
            let pipe =
                TextGeneration::from_gguf(ModelBytes::new(bytes)).map_err(generation_error)?;
            Loaded::Chat(Box::new(pipe))
        }
        Task::FeatureExtraction | Task::SentenceSimilarity => {
            let read_opt = |name: &str| {
                let found = file(name).ok();
                async move {
                    match found {
                        Some(f) => platform::read(f).await.map(Some),
                        None => Ok(None),
                    }
                }
            };
            let config = platform::read(file("config.json")?)
                .await
                .map_err(|e| hub_error(&e))?;
            let tokenizer = platform::read(file("tokenizer.json")?)
                .await
                .map_err(|e| hub_error(&e))?;
            let weights = platform::read(file("model.safetensors")?)
                .await
                .map_err(|e| hub_error(&e))?;
            let modules = read_opt("modules.json").await.map_err(|e| hub_error(&e))?;
            let pooling_path = match &modules {
                Some(m) => lantern_pipelines::embeddings::pooling_config_path(m)
                    .map_err(embeddings_error)?,
                None => None,
            };
            let pooling = match pooling_path {
                Some(p) => read_opt(&p).await.map_err(|e| hub_error(&e))?,
                None => None,
            };
            let sbert = read_opt("sentence_bert_config.json")
                .await
                .map_err(|e| hub_error(&e))?;
            let embedder = Embedder::load(
                &EmbedderFiles {
                    config_json: &config,
                    tokenizer_json: &tokenizer,
                    safetensors: &weights,
                    recipe: RecipeFiles {
                        modules_json: modules.as_deref(),
                        pooling_config: pooling.as_deref(),
                        sentence_bert_config: sbert.as_deref(),
                    },
                },
                &EmbedderOptions::default(),
            )
            .map_err(embeddings_error)?;
            Loaded::Embeddings(Box::new(embedder))
        }
    };
    (ctx.emit)(Event::Ready {
        backend: "cpu".into(),
        threads: ctx.threads,
        load_ms: started.elapsed().as_secs_f64() * 1e3,
    });
    Ok(loaded)
}

fn gguf_path(model: &ModelRef) -> Result<&str, ErrorReport> {
    model
        .files
        .iter()
        .map(|f| f.path.as_str())
        .find(|p| p.ends_with(".gguf"))
        .ok_or_else(|| {
            ErrorReport::new(
                ErrorCode::UnsupportedModel,
                "a text-generation demo needs a .gguf file",
            )
        })
}

async fn generate(
    ctx: &Context,
    pipe: &mut TextGeneration,
    id: u64,
    messages: Vec<ChatMessage>,
    params: &SamplingParams,
    cancel: &CancelToken,
) -> Result<(), ErrorReport> {
    let prompt = Prompt::Chat(messages);
    let mut session = pipe.start(&prompt, params).map_err(generation_error)?;
    loop {
        if cancel.is_cancelled() {
            session.cancel();
        }
        match session.step().map_err(generation_error)? {
            Some(text) if !text.is_empty() => (ctx.emit)(Event::Token { id, text }),
            Some(_) => {}
            None => break,
        }
        // Lets the host deliver a `Cancel` between two steps (a Web Worker only reads its
        // messages when the wasm yields).
        platform::yield_now().await;
    }
    let stats: GenerationStats = session.finish().stats();
    (ctx.emit)(Event::Done { id, stats });
    Ok(())
}

/// Sends progress when something visible changed: a new file, another 0.5 %, or the end.
#[derive(Default)]
struct ProgressThrottle {
    last_file: String,
    last_permille: u64,
}

impl ProgressThrottle {
    fn should_emit(&mut self, p: &Progress) -> bool {
        let permille = p
            .done
            .saturating_mul(1000)
            .checked_div(p.total)
            .unwrap_or(1000);
        let emit = p.file != self.last_file
            || permille >= self.last_permille + 5
            || p.done == p.total
            || p.file_done == p.file_total;
        if emit {
            self.last_file = p.file.clone();
            self.last_permille = permille;
        }
        emit
    }
}

fn not_loaded(what: &str) -> ErrorReport {
    ErrorReport::new(
        ErrorCode::InvalidInput,
        format!("no model is loaded: load {what} first"),
    )
}

pub(crate) fn hub_error(e: &HubError) -> ErrorReport {
    let code = match e {
        HubError::RepoNotFound { .. }
        | HubError::RevisionNotFound { .. }
        | HubError::EntryNotFound { .. }
        | HubError::NotCached { .. } => ErrorCode::NotFound,
        HubError::Unauthorized { .. } | HubError::Gated { .. } => ErrorCode::Unauthorized,
        HubError::HashMismatch { .. } | HubError::SizeMismatch { .. } => ErrorCode::HashMismatch,
        HubError::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
        HubError::Storage { .. } => ErrorCode::Storage,
        HubError::Cancelled => ErrorCode::Cancelled,
        HubError::Invalid(_) => ErrorCode::InvalidInput,
        _ => ErrorCode::Network,
    };
    ErrorReport::new(code, e.to_string())
}

fn generation_error(e: GenerationError) -> ErrorReport {
    let code = match &e {
        GenerationError::ContextOverflow { .. } => ErrorCode::ContextOverflow,
        GenerationError::EmptyPrompt => ErrorCode::InvalidInput,
        _ => match e.code() {
            // The file is not a model we can run: wrong format, damaged, or unsupported.
            "bad_magic"
            | "unsupported_version"
            | "truncated"
            | "limit_exceeded"
            | "malformed"
            | "missing_metadata"
            | "metadata_type"
            | "unsupported_architecture"
            | "unsupported_tensor_type"
            | "missing_tensor"
            | "tensor_shape"
            | "invalid_config" => ErrorCode::UnsupportedModel,
            "context_overflow" => ErrorCode::ContextOverflow,
            _ => ErrorCode::Internal,
        },
    };
    ErrorReport::new(code, e.to_string())
}

fn embeddings_error(e: EmbeddingsError) -> ErrorReport {
    ErrorReport::new(ErrorCode::InvalidInput, e.to_string())
}
