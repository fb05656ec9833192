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
use lantern_hub::{Cache, CachedFile, CancelToken, HubClient, HubError};
use lantern_models::ModelBytes;
use lantern_pipelines::embeddings::RecipeFiles;
use lantern_pipelines::embeddings::{Embedder, EmbedderFiles, EmbedderOptions, EmbeddingsError};
use lantern_pipelines::text_generation::{GenerationError, Prompt, Suspended, TextGeneration};
use web_time::Instant;

use crate::gpu::{self, Probe};
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
    Chat(Box<Chat>),
    Embeddings(Box<Embedder>),
}

/// A chat model, and what is needed to load it again on the CPU if the GPU fails.
struct Chat {
    pipe: TextGeneration,
    on_gpu: bool,
    /// The verified GGUF in the cache (the GPU backend keeps no copy of the file's bytes).
    file: CachedFile,
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
            Request::Load {
                demo,
                backend,
                gpu_fail_after,
            } => {
                // The previous model goes first: holding it while the next one loads would
                // double the peak memory (and wasm memory never shrinks back).
                model = None;
                let token = cancels.token(LOAD_ID);
                match load(&ctx, &demo, backend, gpu_fail_after, &token).await {
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
                    Some(Loaded::Chat(chat)) => {
                        generate(&ctx, chat, id, messages, &params, &token).await
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

/// The `Backend` event of the CPU; `why` says why not the GPU, if that was considered.
fn cpu_backend(ctx: &Context, why: Option<&str>) -> Event {
    let mut detail = if ctx.threads > 1 {
        format!("wasm SIMD, {} threads", ctx.threads)
    } else {
        "wasm SIMD, 1 thread".into()
    };
    if let Some(why) = why {
        detail.push_str(&format!(" ({why})"));
    }
    Event::Backend {
        name: "cpu".into(),
        threads: ctx.threads,
        detail,
    }
}

async fn load(
    ctx: &Context,
    demo: &DemoConfig,
    backend: BackendChoice,
    gpu_fail_after: Option<u32>,
    cancel: &CancelToken,
) -> Result<Loaded, ErrorReport> {
    let started = Instant::now();
    // The adapter is looked for before the download, so the page shows the backend while the
    // model arrives (and a forced WebGPU without one fails before 100 MB are fetched). The
    // embedding models run on the CPU only (their encoder is written over candle tensors).
    let probe = match demo.task {
        Task::TextGeneration => gpu::probe(backend).await?,
        Task::FeatureExtraction | Task::SentenceSimilarity => {
            Probe::Cpu("embedding models run on the CPU".into())
        }
    };
    let mut adapter = None;
    match probe {
        Probe::Gpu(a, detail) => {
            (ctx.emit)(Event::Backend {
                name: "webgpu".into(),
                threads: ctx.threads,
                detail,
            });
            adapter = Some(a);
        }
        Probe::Cpu(why) => (ctx.emit)(cpu_backend(ctx, Some(&why))),
    }
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
            let gguf = file(gguf_path(&demo.model)?)?.clone();
            let bytes = platform::read(&gguf).await.map_err(|e| hub_error(&e))?;
            let chat = match adapter {
                Some(adapter) => load_on_gpu(ctx, adapter, bytes, gguf, gpu_fail_after).await?,
                None => load_on_cpu(bytes, gguf)?,
            };
            Loaded::Chat(Box::new(chat))
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
    let backend = match &loaded {
        Loaded::Chat(chat) => chat.pipe.model().backend_name(),
        Loaded::Embeddings(_) => "cpu".into(),
    };
    (ctx.emit)(Event::Ready {
        backend,
        threads: ctx.threads,
        load_ms: started.elapsed().as_secs_f64() * 1e3,
    });
    Ok(loaded)
}

fn load_on_cpu(bytes: Vec<u8>, file: CachedFile) -> Result<Chat, ErrorReport> {
    let pipe = TextGeneration::from_gguf(ModelBytes::new(bytes)).map_err(generation_error)?;
    Ok(Chat {
        pipe,
        on_gpu: false,
        file,
    })
}

/// Opens the device and uploads the model; where the model does not fit or the device fails
/// while loading, the CPU takes over (a `GpuFallback` event says why), unless the page forced
/// WebGPU and the adapter cannot take the model at all.
async fn load_on_gpu(
    ctx: &Context,
    adapter: gpu::Adapter,
    bytes: Vec<u8>,
    file: CachedFile,
    fail_after: Option<u32>,
) -> Result<Chat, ErrorReport> {
    let device = match adapter.open(&bytes, fail_after).await? {
        Ok(device) => device,
        Err(why) => {
            (ctx.emit)(cpu_backend(ctx, Some(&why)));
            return load_on_cpu(bytes, file);
        }
    };
    match gpu::load_chat(device, bytes) {
        Ok(pipe) => Ok(Chat {
            pipe,
            on_gpu: true,
            file,
        }),
        Err(e) if gpu::is_device_failure(&e) => {
            let pipe = reload_on_cpu(ctx, &file, &e, None).await?;
            Ok(Chat {
                pipe,
                on_gpu: false,
                file,
            })
        }
        Err(e) => Err(generation_error(e)),
    }
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

/// Reports a GPU failure (`GpuFallback`, then the CPU's `Backend`) and loads the model again
/// on the CPU from the cached file: reading it again (verified, from OPFS) is cheaper than
/// keeping a second copy of the file in wasm memory for a failure that may never come.
async fn reload_on_cpu(
    ctx: &Context,
    file: &CachedFile,
    error: &GenerationError,
    request: Option<u64>,
) -> Result<TextGeneration, ErrorReport> {
    let mut report = ErrorReport::new(
        ErrorCode::GpuFailed,
        format!("the GPU failed, continuing on the CPU: {error}"),
    );
    report.request = request;
    (ctx.emit)(Event::GpuFallback(report));
    (ctx.emit)(cpu_backend(ctx, Some("after a GPU failure")));
    let bytes = platform::read(file).await.map_err(|e| hub_error(&e))?;
    TextGeneration::from_gguf(ModelBytes::new(bytes)).map_err(generation_error)
}

/// Where a session starts from.
enum Start {
    Prompt(Prompt),
    /// A generation the GPU dropped, to continue on the CPU.
    Resume(Box<Suspended>),
}

/// How a session on one pipeline ended.
enum Outcome {
    Done(GenerationStats),
    /// The GPU failed; `Suspended` holds the generation so far (`None`: the prefill failed).
    DeviceFailed(GenerationError, Option<Box<Suspended>>),
}

async fn generate(
    ctx: &Context,
    chat: &mut Chat,
    id: u64,
    messages: Vec<ChatMessage>,
    params: &SamplingParams,
    cancel: &CancelToken,
) -> Result<(), ErrorReport> {
    let prompt = Prompt::Chat(messages);
    let mut start = Start::Prompt(prompt.clone());
    loop {
        match run_session(ctx, chat, start, params, id, cancel).await? {
            Outcome::Done(stats) => {
                (ctx.emit)(Event::Done { id, stats });
                return Ok(());
            }
            Outcome::DeviceFailed(error, suspended) => {
                // The GPU model goes when the CPU one is in place (its buffers are the
                // device's; its host memory is small). The conversation is not lost: the
                // pipeline on the CPU runs the prompt and every token generated so far again.
                chat.pipe = reload_on_cpu(ctx, &chat.file, &error, Some(id)).await?;
                chat.on_gpu = false;
                start = match suspended {
                    Some(s) => Start::Resume(s),
                    None => Start::Prompt(prompt.clone()),
                };
            }
        }
    }
}

/// Runs one session to its end, streaming its text; a device failure is handed back (with the
/// generation so far) instead of becoming an error.
async fn run_session(
    ctx: &Context,
    chat: &mut Chat,
    start: Start,
    params: &SamplingParams,
    id: u64,
    cancel: &CancelToken,
) -> Result<Outcome, ErrorReport> {
    let on_gpu = chat.on_gpu;
    let failed = |e: &GenerationError| on_gpu && gpu::is_device_failure(e);
    let session = match start {
        Start::Prompt(prompt) => chat.pipe.start_async(&prompt, params).await,
        Start::Resume(suspended) => chat.pipe.resume_async(*suspended).await,
    };
    let mut session = match session {
        Ok(s) => s,
        Err(e) if failed(&e) => return Ok(Outcome::DeviceFailed(e, None)),
        Err(e) => return Err(generation_error(e)),
    };
    loop {
        if cancel.is_cancelled() {
            session.cancel();
        }
        match session.step_async().await {
            Ok(Some(text)) if !text.is_empty() => (ctx.emit)(Event::Token { id, text }),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) if failed(&e) => {
                return Ok(Outcome::DeviceFailed(e, Some(Box::new(session.suspend()))));
            }
            Err(e) => return Err(generation_error(e)),
        }
        // Lets the host deliver a `Cancel` between two steps (a Web Worker only reads its
        // messages when the wasm yields).
        platform::yield_now().await;
    }
    Ok(Outcome::Done(session.finish().stats()))
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
