//! The worker's loop, written once: requests in, events out. The platform files (`web.rs`,
//! `native.rs`) only move messages and read cached files.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_channel::mpsc::UnboundedReceiver;
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use lantern_core::protocol::{
    BackendChoice, ErrorCode, ErrorReport, Event, GenerationStats, Request, TaskInput, TaskOutput,
    wire,
};
use lantern_core::{ChatMessage, DemoConfig, Progress, SamplingParams, Task};
use lantern_hub::{Cache, CachedFile, CancelToken, HubClient, HubError};
use lantern_pipelines::device::{self, Device};
use lantern_pipelines::source::{FileSource, SourceError};
use lantern_pipelines::tasks::{self, LoadOptions, Pipeline};
use lantern_pipelines::text_generation::{Prompt, Suspended, TextGeneration};
use lantern_pipelines::{PipelineError, Steps};
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

/// A loaded model, with the files it was loaded from (read again when the GPU fails and the
/// model moves to the CPU).
struct Model {
    task: Task,
    pipeline: Pipeline,
    source: Pinned,
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
    let mut model: Option<Model> = None;
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
                    Some(m) if m.task == Task::TextGeneration => {
                        generate(&ctx, m, id, messages, &params, &token).await
                    }
                    _ => Err(not_loaded("a chat model")),
                };
                if let Err(mut report) = result {
                    report.request = Some(id);
                    (ctx.emit)(Event::Error(report));
                }
                cancels.done(id);
            }
            Request::Run { id, input } => {
                let token = cancels.token(id);
                let result = match &mut model {
                    Some(m) if input.fits(m.task) => run_task(&ctx, m, input, id, &token).await,
                    Some(m) => Err(ErrorReport::new(
                        ErrorCode::InvalidInput,
                        format!("the loaded model is for {}, not for this request", m.task),
                    )),
                    None => Err(not_loaded("a model")),
                };
                match result {
                    Ok(output) => (ctx.emit)(Event::Output { id, output }),
                    Err(mut report) => {
                        report.request = Some(id);
                        (ctx.emit)(Event::Error(report));
                    }
                }
                cancels.done(id);
            }
            Request::Ping { id, payload } => match payload.into_bytes() {
                Ok(bytes) => (ctx.emit)(Event::Pong {
                    id,
                    bytes: bytes.len() as u64,
                    checksum: wire::fnv1a(&bytes),
                }),
                Err(e) => {
                    let mut report = ErrorReport::new(ErrorCode::InvalidInput, e.to_string());
                    report.request = Some(id);
                    (ctx.emit)(Event::Error(report));
                }
            },
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

/// The demo's pinned files, verified in the cache: the [`FileSource`] its task loads from.
struct Pinned {
    files: Vec<(String, u64, CachedFile)>,
}

impl FileSource for Pinned {
    fn paths(&self) -> Vec<(String, u64)> {
        self.files.iter().map(|(p, s, _)| (p.clone(), *s)).collect()
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let Some((_, _, file)) = self.files.iter().find(|(p, _, _)| p == path) else {
            return Err(SourceError::missing(path));
        };
        platform::read(file).await.map_err(|e| {
            let report = hub_error(&e);
            SourceError {
                path: path.to_owned(),
                code: report.code,
                message: report.message,
            }
        })
    }
}

async fn load(
    ctx: &Context,
    demo: &DemoConfig,
    backend: BackendChoice,
    gpu_fail_after: Option<u32>,
    cancel: &CancelToken,
) -> Result<Model, ErrorReport> {
    let started = Instant::now();
    // The device is chosen before the download, so the page shows the backend while the
    // model arrives (and a forced WebGPU without an adapter fails before 100 MB are fetched).
    let selection = device::select(backend, gpu_fail_after)
        .await
        .map_err(|e| e.report())?;
    match selection.device {
        Device::Gpu(_) => (ctx.emit)(Event::Backend {
            name: selection.name().into(),
            threads: ctx.threads,
            detail: selection.detail.clone(),
        }),
        Device::Cpu => (ctx.emit)(cpu_backend(ctx, Some(&selection.detail))),
    }
    let client = HubClient::builder()
        .endpoint(platform::absolute_endpoint(&demo.endpoint))
        .build()
        .map_err(|e| hub_error(&e))?;
    let mut throttle = ProgressThrottle::default();
    let cached = client
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
    let source = Pinned {
        files: demo
            .model
            .files
            .iter()
            .zip(cached)
            .map(|(f, c)| (f.path.as_str().to_owned(), f.size, c))
            .collect(),
    };
    let loaded = tasks::load(
        demo.task,
        &source,
        selection.device,
        &LoadOptions::default(),
    )
    .await
    .map_err(|e| e.report())?;
    if let Some(why) = &loaded.fallback {
        (ctx.emit)(cpu_backend(ctx, Some(why)));
    }
    (ctx.emit)(Event::Ready {
        backend: loaded.pipeline.backend_name(),
        threads: ctx.threads,
        load_ms: started.elapsed().as_secs_f64() * 1e3,
    });
    Ok(Model {
        task: demo.task,
        pipeline: loaded.pipeline,
        source,
    })
}

/// Reports a GPU failure (`GpuFallback`, then the CPU's `Backend`) and loads the model again
/// on the CPU from the cached files: reading them again (verified, from OPFS) is cheaper than
/// keeping a second copy of the weights in wasm memory for a failure that may never come.
async fn reload_on_cpu(
    ctx: &Context,
    model: &mut Model,
    error: &PipelineError,
    request: Option<u64>,
) -> Result<(), ErrorReport> {
    let mut report = ErrorReport::new(
        ErrorCode::GpuFailed,
        format!("the GPU failed, continuing on the CPU: {error}"),
    );
    report.request = request;
    (ctx.emit)(Event::GpuFallback(report));
    (ctx.emit)(cpu_backend(ctx, Some("after a GPU failure")));
    // The GPU model goes when the CPU one is in place (its buffers are the device's; its host
    // memory is small).
    let loaded = tasks::load(
        model.task,
        &model.source,
        Device::Cpu,
        &LoadOptions::default(),
    )
    .await
    .map_err(|e| e.report())?;
    model.pipeline = loaded.pipeline;
    Ok(())
}

/// A one-shot request, its parts streamed as `Partial` events; if the GPU fails under it, the
/// model moves to the CPU and the request runs again there (the page starts its parts again
/// on `GpuFallback`).
async fn run_task(
    ctx: &Context,
    model: &mut Model,
    input: TaskInput,
    id: u64,
    cancel: &CancelToken,
) -> Result<TaskOutput, ErrorReport> {
    let mut partial = |partial| (ctx.emit)(Event::Partial { id, partial });
    let steps = Between(cancel);
    match model
        .pipeline
        .run_with(input.clone(), &mut partial, &steps)
        .await
    {
        Err(e) if model.pipeline.on_gpu() && e.is_device_failure() => {
            reload_on_cpu(ctx, model, &e, Some(id)).await?;
            model
                .pipeline
                .run_with(input, &mut partial, &steps)
                .await
                .map_err(|e| e.report())
        }
        other => other.map_err(|e| e.report()),
    }
}

/// Between two decoder steps of a `Run`: the worker yields, so a `Cancel` gets read.
struct Between<'a>(&'a CancelToken);

impl Steps for Between<'_> {
    fn cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    fn pause(&self) -> LocalBoxFuture<'_, ()> {
        Box::pin(platform::yield_now())
    }
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
    DeviceFailed(PipelineError, Option<Box<Suspended>>),
}

async fn generate(
    ctx: &Context,
    model: &mut Model,
    id: u64,
    messages: Vec<ChatMessage>,
    params: &SamplingParams,
    cancel: &CancelToken,
) -> Result<(), ErrorReport> {
    let prompt = Prompt::Chat(messages);
    let mut start = Start::Prompt(prompt.clone());
    loop {
        let on_gpu = model.pipeline.on_gpu();
        let Some(chat) = model.pipeline.text_generation() else {
            return Err(not_loaded("a chat model"));
        };
        match run_session(ctx, chat, on_gpu, start, params, id, cancel).await? {
            Outcome::Done(stats) => {
                (ctx.emit)(Event::Done { id, stats });
                return Ok(());
            }
            Outcome::DeviceFailed(error, suspended) => {
                // The conversation is not lost: the pipeline on the CPU runs the prompt and
                // every token generated so far again.
                reload_on_cpu(ctx, model, &error, Some(id)).await?;
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
    chat: &mut TextGeneration,
    on_gpu: bool,
    start: Start,
    params: &SamplingParams,
    id: u64,
    cancel: &CancelToken,
) -> Result<Outcome, ErrorReport> {
    let failed = |e: &PipelineError| on_gpu && e.is_device_failure();
    let session = match start {
        Start::Prompt(prompt) => chat.start_async(&prompt, params).await,
        Start::Resume(suspended) => chat.resume_async(*suspended).await,
    };
    let mut session = match session.map_err(PipelineError::from) {
        Ok(s) => s,
        Err(e) if failed(&e) => return Ok(Outcome::DeviceFailed(e, None)),
        Err(e) => return Err(e.report()),
    };
    loop {
        if cancel.is_cancelled() {
            session.cancel();
        }
        match session.step_async().await.map_err(PipelineError::from) {
            Ok(Some(text)) if !text.is_empty() => (ctx.emit)(Event::Token { id, text }),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) if failed(&e) => {
                return Ok(Outcome::DeviceFailed(e, Some(Box::new(session.suspend()))));
            }
            Err(e) => return Err(e.report()),
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
