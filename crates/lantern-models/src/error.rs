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
    /// A weight whose data does not fit its declared type or shape, or whose type the model
    /// cannot use.
    #[error("weight {name:?}: {detail}")]
    InvalidWeight { name: String, detail: String },
    /// Input a model cannot take (token types it has no table for, an empty text to classify,
    /// a head it was loaded without).
    #[error("invalid input ({what}): {detail}")]
    InvalidInput { what: &'static str, detail: String },
    /// The device under a backend failed (lost, out of memory, a kernel that does not compile,
    /// a limit too small): the model itself is fine and runs on another backend.
    /// `code` is the device layer's stable name (`gpu_device_lost`, ...).
    #[error("{code}: {message}")]
    Device { code: &'static str, message: String },
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
            ModelError::InvalidWeight { .. } => "invalid_weight",
            ModelError::InvalidInput { .. } => "invalid_input",
            ModelError::Device { code, .. } => code,
            ModelError::Backend(_) => "backend",
        }
    }

    /// Whether the device under the backend failed, so that the same model on another backend
    /// (the CPU) is the answer; `false` for errors in the model or its input, which any backend
    /// would report.
    pub fn is_device_failure(&self) -> bool {
        matches!(self, ModelError::Device { .. })
    }

    pub(crate) fn shape(op: &'static str, detail: impl Into<String>) -> Self {
        ModelError::Shape {
            op,
            detail: detail.into(),
        }
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
