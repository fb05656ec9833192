//! The page's state: signals the components read, and the actions that turn into requests.

use lantern_core::protocol::{
    BackendChoice, CacheEntry, ErrorCode, ErrorReport, Event, GenerationStats, Partial, Request,
    TaskInput, TaskOutput,
};
use lantern_core::{ChatMessage, DemoConfig, Progress, Role, SamplingParams};
use leptos::prelude::*;

use crate::bridge::Bridge;

/// Where the model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Idle,
    Loading,
    Ready,
}

impl Phase {
    /// The text of the `status` hook.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Loading => "loading",
            Phase::Ready => "ready",
        }
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

/// Result of a semantic search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub index: usize,
    pub score: f32,
}

/// What an `Embed` request was for.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Sentences(Vec<String>),
    Query,
}

/// All state of the page. `Copy`: every field is an arena handle.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub demo: RwSignal<DemoConfig>,
    pub phase: RwSignal<Phase>,
    pub progress: RwSignal<Option<Progress>>,
    /// `(name, threads)` of the backend in use.
    pub backend: RwSignal<Option<(String, usize)>>,
    pub error: RwSignal<Option<ErrorReport>>,
    /// Why the GPU was given up for the CPU, when it failed after the model was loaded there.
    pub gpu_fallback: RwSignal<Option<ErrorReport>>,
    pub turns: RwSignal<Vec<Turn>>,
    /// The id of the generation in flight.
    pub generating: RwSignal<Option<u64>>,
    pub stats: RwSignal<Option<GenerationStats>>,
    /// Token events received for the current answer.
    pub streamed: RwSignal<usize>,
    pub system_prompt: RwSignal<String>,
    pub params: RwSignal<SamplingParams>,
    pub sentences: RwSignal<Vec<String>>,
    pub vectors: RwSignal<Option<Vec<Vec<f32>>>>,
    pub hits: RwSignal<Option<Vec<Hit>>>,
    pub embedding: RwSignal<bool>,
    pub cache: RwSignal<Option<(Vec<CacheEntry>, u64, u64)>>,
    /// The id of the one-shot request in flight ([`Ui::run_task`]).
    pub running: RwSignal<Option<u64>>,
    /// The latest answer to a one-shot request, for the component that sent it.
    pub output: RwSignal<Option<(u64, TaskOutput)>>,
    /// The parts of the running request's answer so far (a transcript's segments), in order.
    pub partials: RwSignal<Vec<Partial>>,
    pending: StoredValue<Vec<(u64, Pending)>>,
    next_id: StoredValue<u64>,
    backend_choice: StoredValue<BackendChoice>,
    gpu_fail_after: StoredValue<Option<u32>>,
    bridge: StoredValue<Option<Bridge>, LocalStorage>,
}

impl Ui {
    pub fn new(demo: DemoConfig, backend_choice: BackendChoice) -> Self {
        let chat = demo.chat.clone();
        let sentences = demo.sentences.clone();
        Ui {
            demo: RwSignal::new(demo),
            phase: RwSignal::new(Phase::Idle),
            progress: RwSignal::new(None),
            backend: RwSignal::new(None),
            error: RwSignal::new(None),
            gpu_fallback: RwSignal::new(None),
            turns: RwSignal::new(Vec::new()),
            generating: RwSignal::new(None),
            stats: RwSignal::new(None),
            streamed: RwSignal::new(0),
            system_prompt: RwSignal::new(chat.system_prompt.unwrap_or_default()),
            params: RwSignal::new(chat.params),
            sentences: RwSignal::new(sentences),
            vectors: RwSignal::new(None),
            hits: RwSignal::new(None),
            embedding: RwSignal::new(false),
            cache: RwSignal::new(None),
            running: RwSignal::new(None),
            output: RwSignal::new(None),
            partials: RwSignal::new(Vec::new()),
            pending: StoredValue::new(Vec::new()),
            next_id: StoredValue::new(1),
            backend_choice: StoredValue::new(backend_choice),
            gpu_fail_after: StoredValue::new(None),
            bridge: StoredValue::new_local(None),
        }
    }

    /// Testing: the GPU device is to be lost after `n` forward passes (`?gpu_fail_after=N`).
    pub fn set_gpu_fail_after(&self, n: Option<u32>) {
        self.gpu_fail_after.set_value(n);
    }

    pub fn ready(&self) -> bool {
        self.phase.get() == Phase::Ready
    }

    /// Starts the worker; its events update the signals.
    pub fn connect(self, worker_url: &str) {
        match Bridge::start(worker_url, move |event| self.handle(event)) {
            Ok(bridge) => self.bridge.set_value(Some(bridge)),
            Err(e) => self.fail(ErrorReport::new(ErrorCode::Internal, e)),
        }
    }

    fn send(&self, request: Request) {
        let sent = self
            .bridge
            .with_value(|b| b.as_ref().map(|b| b.send(&request)));
        match sent {
            Some(Ok(())) => {}
            Some(Err(e)) => self.fail(ErrorReport::new(ErrorCode::Internal, e)),
            None => self.fail(ErrorReport::new(
                ErrorCode::Internal,
                "the model worker is not running",
            )),
        }
    }

    fn id(&self) -> u64 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        id
    }

    fn fail(&self, report: ErrorReport) {
        self.error.set(Some(report));
    }

    pub fn load(&self) {
        self.error.set(None);
        self.gpu_fallback.set(None);
        self.progress.set(None);
        self.phase.set(Phase::Loading);
        let mut demo = self.demo.get_untracked();
        demo.endpoint = absolute_url(&demo.endpoint);
        self.send(Request::Load {
            demo: Box::new(demo),
            backend: self.backend_choice.get_value(),
            gpu_fail_after: self.gpu_fail_after.get_value(),
        });
    }

    /// Loads again on the CPU (the action of a GPU failure).
    pub fn load_on_cpu(&self) {
        self.backend_choice.set_value(BackendChoice::Cpu);
        self.load();
    }

    pub fn send_prompt(&self, text: String) {
        let text = text.trim().to_owned();
        if text.is_empty() || self.generating.get_untracked().is_some() || !self.ready() {
            return;
        }
        self.error.set(None);
        self.stats.set(None);
        let mut messages = Vec::new();
        let system = self.system_prompt.get_untracked();
        if !system.trim().is_empty() {
            messages.push(ChatMessage::new(Role::System, system));
        }
        self.turns.update(|t| {
            t.push(Turn {
                role: Role::User,
                text,
            })
        });
        messages.extend(
            self.turns
                .get_untracked()
                .into_iter()
                .map(|t| ChatMessage::new(t.role, t.text)),
        );
        self.turns.update(|t| {
            t.push(Turn {
                role: Role::Assistant,
                text: String::new(),
            })
        });
        let id = self.id();
        self.streamed.set(0);
        self.generating.set(Some(id));
        self.send(Request::Generate {
            id,
            messages,
            params: self.params.get_untracked(),
        });
    }

    pub fn stop(&self) {
        if let Some(id) = self.generating.get_untracked() {
            self.send(Request::Cancel { id });
        }
    }

    pub fn new_chat(&self) {
        self.stop();
        self.generating.set(None);
        self.turns.set(Vec::new());
        self.stats.set(None);
        self.error.set(None);
    }

    pub fn embed_sentences(&self, sentences: Vec<String>) {
        if sentences.is_empty() || !self.ready() {
            return;
        }
        let id = self.id();
        self.embedding.set(true);
        self.hits.set(None);
        self.pending
            .update_value(|p| p.push((id, Pending::Sentences(sentences.clone()))));
        self.send(Request::Run {
            id,
            input: TaskInput::Embeddings { sentences },
        });
    }

    pub fn search(&self, query: String) {
        if query.trim().is_empty() || self.vectors.get_untracked().is_none() {
            return;
        }
        let id = self.id();
        self.embedding.set(true);
        self.pending.update_value(|p| p.push((id, Pending::Query)));
        self.send(Request::Run {
            id,
            input: TaskInput::Embeddings {
                sentences: vec![query],
            },
        });
    }

    /// Sends a one-shot request (`Run`); its answer arrives in [`Ui::output`] under the id
    /// returned. `None` while the model is not ready or another request runs.
    pub fn run_task(&self, input: TaskInput) -> Option<u64> {
        self.run_task_with(input, &[])
    }

    /// [`Ui::run_task`] with buffers the page holds in JavaScript (canvas pixels) as the
    /// input's `Binary::Attached(0..)`: transferred to the worker, not copied.
    pub fn run_task_with(&self, input: TaskInput, buffers: &[js_sys::ArrayBuffer]) -> Option<u64> {
        if !self.ready() || self.running.get_untracked().is_some() {
            return None;
        }
        self.error.set(None);
        self.partials.set(Vec::new());
        let id = self.id();
        self.running.set(Some(id));
        let request = Request::Run { id, input };
        let sent = self
            .bridge
            .with_value(|b| b.as_ref().map(|b| b.send_with(&request, buffers)));
        match sent {
            Some(Ok(())) => {}
            Some(Err(e)) => self.fail(ErrorReport::new(ErrorCode::Internal, e)),
            None => self.fail(ErrorReport::new(
                ErrorCode::Internal,
                "the model worker is not running",
            )),
        }
        Some(id)
    }

    /// Stops the one-shot request `id` between two of its steps; it ends with a `Cancelled`
    /// error, which the page does not show as a failure.
    pub fn cancel(&self, id: u64) {
        self.send(Request::Cancel { id });
    }

    pub fn refresh_cache(&self) {
        self.send(Request::CacheStatus);
    }

    pub fn clear_cache(&self) {
        self.send(Request::ClearCache);
    }

    fn handle(&self, event: Event) {
        match event {
            Event::Started { .. } => {}
            Event::Backend { name, threads, .. } => self.backend.set(Some((name, threads))),
            Event::Progress(p) => self.progress.set(Some(p)),
            Event::Ready {
                backend, threads, ..
            } => {
                self.backend.set(Some((backend, threads)));
                self.phase.set(Phase::Ready);
            }
            Event::Token { id, text } => {
                if self.generating.get_untracked() == Some(id) {
                    self.streamed.update(|n| *n += 1);
                    self.turns.update(|t| {
                        if let Some(last) = t.last_mut() {
                            last.text.push_str(&text);
                        }
                    });
                }
            }
            Event::Done { id, stats } => {
                if self.generating.get_untracked() == Some(id) {
                    self.generating.set(None);
                    self.stats.set(Some(stats));
                }
            }
            // Not an error: the answer goes on, on the CPU (a `Backend` event follows); a
            // one-shot request starts again there, so its parts so far go.
            Event::GpuFallback(report) => {
                if report.request.is_some() && report.request == self.running.get_untracked() {
                    self.partials.set(Vec::new());
                }
                self.gpu_fallback.set(Some(report));
            }
            Event::Partial { id, partial } => {
                if self.running.get_untracked() == Some(id) {
                    self.partials.update(|p| p.push(partial));
                }
            }
            Event::Output {
                id,
                output: TaskOutput::Embeddings { vectors, .. },
            } => self.embedded(id, vectors),
            // Every other task's answer goes to the component that asked ([`Ui::run_task`]).
            Event::Output { id, output } => {
                if self.running.get_untracked() == Some(id) {
                    self.running.set(None);
                }
                self.output.set(Some((id, output)));
            }
            // The page sends no pings (they are for tests and diagnostics).
            Event::Pong { .. } => {}
            Event::Cache {
                entries,
                usage,
                quota,
            } => self.cache.set(Some((entries, usage, quota))),
            Event::Error(report) => {
                if let Some(id) = report.request {
                    self.pending.update_value(|p| p.retain(|(i, _)| *i != id));
                    if self.running.get_untracked() == Some(id) {
                        self.running.set(None);
                    }
                    if self.generating.get_untracked() == Some(id) {
                        self.generating.set(None);
                    }
                }
                self.embedding.set(false);
                if self.phase.get_untracked() == Phase::Loading {
                    self.phase.set(Phase::Idle);
                }
                if report.code != ErrorCode::Cancelled {
                    self.fail(report);
                }
            }
        }
    }

    fn embedded(&self, id: u64, vectors: Vec<Vec<f32>>) {
        let mut what = None;
        self.pending.update_value(|p| {
            if let Some(i) = p.iter().position(|(i, _)| *i == id) {
                what = Some(p.remove(i).1);
            }
        });
        self.embedding.set(false);
        match what {
            Some(Pending::Sentences(s)) => {
                self.sentences.set(s);
                self.vectors.set(Some(vectors));
            }
            Some(Pending::Query) => {
                let Some(query) = vectors.first() else {
                    return;
                };
                let corpus = self.vectors.get_untracked().unwrap_or_default();
                let mut hits: Vec<Hit> = corpus
                    .iter()
                    .enumerate()
                    .map(|(index, v)| Hit {
                        index,
                        score: cosine(query, v),
                    })
                    .collect();
                hits.sort_by(|a, b| b.score.total_cmp(&a.score));
                self.hits.set(Some(hits));
            }
            None => {}
        }
    }
}

/// A relative endpoint (a Space that bundles its model: `./hub`) is relative to the page, which
/// only the page knows; the worker lives at another URL.
fn absolute_url(endpoint: &str) -> String {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_default();
    web_sys::Url::new_with_base(endpoint, &base)
        .map(|u| u.href().trim_end_matches('/').to_owned())
        .unwrap_or_else(|_| endpoint.to_owned())
}

/// Cosine similarity; 0 for a zero vector.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}
