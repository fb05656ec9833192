//! The one error type of this crate.

/// Everything that can go wrong loading or running a model. Bad input (a truncated or hostile
/// file, a missing key, an unsupported type) is always one of these, never a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error("not a GGUF file (magic {0:02x?}, expected \"GGUF\")")]
    BadMagic([u8; 4]),
    #[error("unsupported GGUF version {0} (versions 2 and 3 are supported)")]
    UnsupportedVersion(u32),
    #[error("GGUF data ends at byte {len} while reading {what} at byte {offset}")]
    Truncated {
        what: &'static str,
        offset: u64,
        len: u64,
    },
    #[error("GGUF {what} is {value}, more than the limit of {limit}")]
    LimitExceeded {
        what: &'static str,
        value: u64,
        limit: u64,
    },
    #[error("invalid GGUF: {0}")]
    Malformed(String),
    #[error("metadata key {key:?} is missing")]
    MissingMetadata { key: String },
    #[error("metadata key {key:?} is a {found}, expected {expected}")]
    MetadataType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("unsupported model architecture {0:?}")]
    UnsupportedArchitecture(String),
    #[error("tensor {name:?} has type {type_id}, which Lantern does not support")]
    UnsupportedTensorType { name: String, type_id: u32 },
    #[error("tensor {0:?} is missing from the file")]
    MissingTensor(String),
    #[error("tensor {name:?} has shape {found:?}, expected {expected:?}")]
    TensorShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("invalid hyperparameter {name}: {reason}")]
    InvalidConfig { name: &'static str, reason: String },
    #[error("{requested} positions do not fit the context window of {max}")]
    ContextOverflow { requested: usize, max: usize },
    #[error("token id {id} is out of range for a vocabulary of {vocab}")]
    TokenOutOfRange { id: u32, vocab: usize },
    #[error("shape mismatch in {op}: {detail}")]
    Shape { op: &'static str, detail: String },
    #[error("cannot requantize: {0}")]
    Requantize(String),
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error("invalid safetensors file: {0}")]
    Safetensors(String),
    /// An error of the tensor library under a model (candle), with its message.
    #[error("tensor backend: {0}")]
    Backend(String),
}

impl ModelError {
    /// A short stable name for UIs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::BadMagic(_) => "bad_magic",
            ModelError::UnsupportedVersion(_) => "unsupported_version",
            ModelError::Truncated { .. } => "truncated",
            ModelError::LimitExceeded { .. } => "limit_exceeded",
            ModelError::Malformed(_) => "malformed",
            ModelError::MissingMetadata { .. } => "missing_metadata",
            ModelError::MetadataType { .. } => "metadata_type",
            ModelError::UnsupportedArchitecture(_) => "unsupported_architecture",
            ModelError::UnsupportedTensorType { .. } => "unsupported_tensor_type",
            ModelError::MissingTensor(_) => "missing_tensor",
            ModelError::TensorShape { .. } => "tensor_shape",
            ModelError::InvalidConfig { .. } => "invalid_config",
            ModelError::ContextOverflow { .. } => "context_overflow",
            ModelError::TokenOutOfRange { .. } => "token_out_of_range",
            ModelError::Shape { .. } => "shape",
            ModelError::Requantize(_) => "requantize",
            ModelError::Io { .. } => "io",
            ModelError::Safetensors(_) => "invalid_safetensors",
            ModelError::Backend(_) => "backend",
        }
    }

    /// Whether the GPU failed (device lost, out of memory, a kernel that does not compile, a
    /// limit): the answer is the CPU. The GPU backend puts `lantern_gpu::GpuError::code()`
    /// first in its messages; shape and weight errors are mistakes the CPU would make too.
    pub fn is_device_failure(&self) -> bool {
        let ModelError::Backend(message) = self else {
            return false;
        };
        let code = message.split(':').next().unwrap_or_default();
        code.starts_with("gpu_") && !matches!(code, "gpu_shape" | "gpu_invalid_weight")
    }

    pub(crate) fn shape(op: &'static str, detail: impl Into<String>) -> Self {
        ModelError::Shape {
            op,
            detail: detail.into(),
        }
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
