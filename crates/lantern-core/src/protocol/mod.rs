//! The worker protocol: the only way the page (UI) and the inference worker talk.
//!
//! Messages cross `postMessage` as JSON text (one `Request` or `Event` per message): plain data,
//! no shared objects, so the same enums drive the native worker thread in tests. Bytes (audio,
//! pixels) travel beside the JSON as transferred buffers ([`wire`]). Each task's input and
//! output is one variant of [`TaskInput`] / [`TaskOutput`] ([`tasks`]).

mod tasks;
pub mod wire;

use serde::{Deserialize, Serialize};

pub use tasks::{
    BoundingBox, Chunk, ClassifyInput, DetectInput, Detection, Detections, EarlyStopping,
    GeneratedText, ImageClassifyInput, ImageData, ImageLabels, LabelScore, Labels, Never, Partial,
    SpeechTask, TaskInput, TaskOutput, Text2TextInput, Text2TextOptions, TextInput,
    TranscribeInput, TranscribeOptions, Transcript,
};
pub use wire::Binary;

use crate::{DemoConfig, Progress};

/// Which compute backend the page asks for (`?backend=` in the URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// WebGPU when an adapter exists and fits the model, else the CPU.
    #[default]
    Auto,
    Cpu,
    Webgpu,
}

impl BackendChoice {
    /// The name in URLs and JSON (`auto`, `cpu`, `webgpu`).
    pub fn as_str(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Webgpu => "webgpu",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
}

/// How to pick the next token. `temperature == 0` is greedy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    pub temperature: f32,
    /// 0 = off.
    pub top_k: usize,
    /// 1.0 = off.
    pub top_p: f32,
    /// 0.0 = off.
    pub min_p: f32,
    /// 1.0 = off.
    pub repetition_penalty: f32,
    pub max_tokens: usize,
    pub seed: u64,
    /// Generation stops before any of these strings.
    pub stop: Vec<String>,
    /// Never end at an end-of-generation token: their logits are masked before sampling, as
    /// llama.cpp's `ignore_eos` does. For benchmarks that need exactly `max_tokens` new tokens.
    pub ignore_eos: bool,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            max_tokens: 256,
            seed: 0,
            stop: Vec::new(),
            ignore_eos: false,
        }
    }
}

/// From the page to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Download (or read from the cache), verify and load the demo's model.
    Load {
        demo: Box<DemoConfig>,
        backend: BackendChoice,
        /// Testing only (the page's `?gpu_fail_after=N`): the GPU device is destroyed after N
        /// forward passes, to exercise the fallback to the CPU in the middle of an answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gpu_fail_after: Option<u32>,
    },
    /// A chat turn: the chat template is applied to `messages`.
    Generate {
        id: u64,
        messages: Vec<ChatMessage>,
        params: SamplingParams,
    },
    /// A one-shot task (everything but text generation): the answer is one `Output`.
    Run { id: u64, input: TaskInput },
    /// Echoes `payload`'s size and checksum in a `Pong`: a liveness check, and the test that
    /// binary payloads cross as transferred buffers.
    Ping { id: u64, payload: Binary },
    /// Stops request `id` at its next step (or the download, for `Load`).
    Cancel { id: u64 },
    /// What the cache holds.
    CacheStatus,
    /// Deletes every cached file.
    ClearCache,
}

/// Statistics of a finished generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
    pub backend: String,
    /// `eos`, `stop`, `max_tokens`, `cancelled`.
    pub stop_reason: String,
}

/// One cached file, for the cache panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    pub name: String,
    pub size: u64,
}

/// From the worker to the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The worker's wasm is running; `threads` is 1 unless the page is cross-origin isolated.
    Started {
        threads: usize,
    },
    /// The backend chosen for the model (`cpu` or `webgpu`), and why.
    Backend {
        name: String,
        threads: usize,
        detail: String,
    },
    Progress(Progress),
    /// The model is loaded.
    Ready {
        backend: String,
        threads: usize,
        load_ms: f64,
    },
    /// The GPU failed (device lost, out of memory, a kernel that does not compile): the worker
    /// reloads the model on the CPU and carries on; a generation in flight (`request`)
    /// continues there where it stopped. A `Backend` event with the CPU follows.
    GpuFallback(ErrorReport),
    /// A piece of generated text (never splits a UTF-8 character).
    Token {
        id: u64,
        text: String,
    },
    Done {
        id: u64,
        stats: GenerationStats,
    },
    /// Part of a `Run`'s answer, before its `Output` (a transcript's segments as they are
    /// ready, and its progress).
    Partial {
        id: u64,
        partial: Partial,
    },
    /// The answer to a `Run`.
    Output {
        id: u64,
        output: TaskOutput,
    },
    /// The answer to a `Ping`: the payload's length and FNV-1a checksum ([`wire::fnv1a`]).
    Pong {
        id: u64,
        bytes: u64,
        checksum: u32,
    },
    Cache {
        entries: Vec<CacheEntry>,
        usage: u64,
        quota: u64,
    },
    Error(ErrorReport),
}

/// What kind of failure: the UI picks its panel and its fixing action from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    NotFound,
    Unauthorized,
    HashMismatch,
    Network,
    QuotaExceeded,
    GpuFailed,
    UnsupportedModel,
    InvalidInput,
    ContextOverflow,
    Cancelled,
    Storage,
    Internal,
}

/// What the user can do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Retry,
    ClearCache,
    UseCpu,
    NewChat,
    None,
}

impl ErrorCode {
    pub fn action(self) -> Action {
        match self {
            ErrorCode::Network | ErrorCode::HashMismatch | ErrorCode::Storage => Action::Retry,
            ErrorCode::QuotaExceeded => Action::ClearCache,
            ErrorCode::GpuFailed => Action::UseCpu,
            ErrorCode::ContextOverflow => Action::NewChat,
            _ => Action::None,
        }
    }
}

/// A failure, as the page receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    pub code: ErrorCode,
    pub message: String,
    /// The request it belongs to, if any.
    #[serde(default)]
    pub request: Option<u64>,
}

impl ErrorReport {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorReport {
            code,
            message: message.into(),
            request: None,
        }
    }

    pub fn action(&self) -> Action {
        self.code.action()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_tagged_json() {
        let r = Request::Generate {
            id: 7,
            messages: vec![ChatMessage::new(Role::User, "hi")],
            params: SamplingParams::default(),
        };
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.starts_with(r#"{"type":"generate","id":7"#), "{json}");
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), r);
        let e = Event::Error(ErrorReport::new(ErrorCode::QuotaExceeded, "full"));
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
        assert_eq!(ErrorCode::QuotaExceeded.action(), Action::ClearCache);
        let e = Event::GpuFallback(ErrorReport::new(ErrorCode::GpuFailed, "lost"));
        let json = serde_json::to_string(&e).unwrap();
        assert!(
            json.starts_with(r#"{"type":"gpu_fallback","code":"gpu_failed""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
    }

    #[test]
    fn task_payloads_are_tagged_by_task() {
        let r = Request::Run {
            id: 3,
            input: TaskInput::TextClassification(ClassifyInput {
                inputs: vec![TextInput::new("good"), TextInput::pair("a", "b")],
                top_k: Some(2),
            }),
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"type":"run","id":3,"input":{"task":"text-classification","inputs":[{"text":"good"},{"text":"a","text_pair":"b"}],"top_k":2}}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), r);
        let e = Event::Output {
            id: 3,
            output: TaskOutput::TextClassification(Labels {
                results: vec![vec![LabelScore {
                    label: "POSITIVE".into(),
                    score: 0.5,
                }]],
                warnings: vec![],
            }),
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
        assert!(TaskInput::Embeddings { sentences: vec![] }.fits(crate::Task::SentenceSimilarity));
        assert!(!TaskInput::Embeddings { sentences: vec![] }.fits(crate::Task::TextClassification));
    }

    #[test]
    fn partial_sampling_params_take_defaults() {
        let p: SamplingParams = serde_json::from_str(r#"{"temperature":0.7}"#).unwrap();
        assert_eq!(p.max_tokens, 256);
        assert_eq!(p.temperature, 0.7);
    }
}
