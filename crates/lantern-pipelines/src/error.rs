//! The error of every task, and the one place where an error becomes the page's
//! [`ErrorCode`] (which decides the panel and the action the page offers).

use lantern_core::Task;
use lantern_core::protocol::{ErrorCode, ErrorReport};
use lantern_models::ModelError;

use crate::embeddings::EmbeddingsError;
use crate::generation::SearchError;
use crate::source::SourceError;
use crate::speech_recognition::SpeechError;
use crate::text_classification::ClassificationError;
use crate::text_generation::GenerationError;
use crate::text2text::Text2TextError;
use crate::vision::ImageTaskError;

/// Everything that can go wrong choosing files for, loading or running a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Generation(#[from] GenerationError),
    #[error(transparent)]
    Embeddings(#[from] EmbeddingsError),
    #[error(transparent)]
    Classification(#[from] ClassificationError),
    #[error(transparent)]
    Speech(#[from] SpeechError),
    /// Translation and summarization.
    #[error(transparent)]
    Text2Text(#[from] Text2TextError),
    /// Image classification and object detection.
    #[error(transparent)]
    Image(ImageTaskError),
    /// The model (or its repository) is not one this task can run.
    #[error("{0}")]
    UnsupportedModel(String),
    /// A request for one task sent to a model loaded for another.
    #[error("the model is loaded for {loaded}; this request is for {wanted}")]
    WrongTask { loaded: Task, wanted: String },
    /// WebGPU was asked for (`?backend=webgpu`) and cannot be had.
    #[error("WebGPU was asked for, but {0}")]
    GpuRefused(String),
}

impl From<ModelError> for PipelineError {
    fn from(e: ModelError) -> Self {
        PipelineError::Generation(GenerationError::Model(e))
    }
}

impl PipelineError {
    /// The model error underneath, if this is one.
    pub fn model_error(&self) -> Option<&ModelError> {
        match self {
            PipelineError::Generation(GenerationError::Model(e))
            | PipelineError::Embeddings(EmbeddingsError::Model(e))
            | PipelineError::Classification(ClassificationError::Model(e))
            | PipelineError::Speech(SpeechError::Model(e))
            | PipelineError::Image(ImageTaskError::Model(e)) => Some(e),
            PipelineError::Text2Text(e) => e.model_error(),
            _ => None,
        }
    }

    /// Whether the GPU failed (lost, out of memory, a kernel that does not compile, a limit):
    /// the answer is to run on the CPU. Mistakes the CPU would make too are not.
    pub fn is_device_failure(&self) -> bool {
        self.model_error()
            .is_some_and(ModelError::is_device_failure)
    }

    /// What the page shows for this error and the action it offers.
    pub fn error_code(&self) -> ErrorCode {
        if self.is_device_failure() {
            return ErrorCode::GpuFailed;
        }
        match self {
            PipelineError::Source(e) => e.code,
            PipelineError::Generation(e) => match e {
                GenerationError::ContextOverflow { .. } => ErrorCode::ContextOverflow,
                GenerationError::EmptyPrompt => ErrorCode::InvalidInput,
                GenerationError::Model(m) => model_code(m),
                GenerationError::Tokenizer(_) | GenerationError::Template(_) => {
                    ErrorCode::UnsupportedModel
                }
            },
            PipelineError::Embeddings(e) => match e {
                EmbeddingsError::Model(m) => model_code(m),
                EmbeddingsError::DimensionMismatch(..) => ErrorCode::InvalidInput,
                EmbeddingsError::InvalidConfig { .. }
                | EmbeddingsError::UnsupportedRecipe(_)
                | EmbeddingsError::MissingFile(_)
                | EmbeddingsError::Tokenizer(_) => ErrorCode::UnsupportedModel,
            },
            PipelineError::Classification(e) => match e {
                ClassificationError::Model(m) => model_code(m),
                ClassificationError::EmptyInput => ErrorCode::InvalidInput,
                ClassificationError::InvalidConfig { .. }
                | ClassificationError::NoLabels
                | ClassificationError::Tokenizer(_) => ErrorCode::UnsupportedModel,
            },
            PipelineError::Speech(e) => match e {
                SpeechError::Model(m) => model_code(m),
                SpeechError::Audio(_)
                | SpeechError::UnknownLanguage(_)
                | SpeechError::EnglishOnly(_)
                | SpeechError::Beams(_) => ErrorCode::InvalidInput,
                SpeechError::Cancelled => ErrorCode::Cancelled,
                SpeechError::InvalidConfig { .. } | SpeechError::Vocabulary(_) => {
                    ErrorCode::UnsupportedModel
                }
                SpeechError::Internal(_) => ErrorCode::Internal,
            },
            PipelineError::Text2Text(e) => match e {
                Text2TextError::Model(m) | Text2TextError::Search(SearchError::Model(m)) => {
                    model_code(m)
                }
                Text2TextError::EmptyInput(_)
                | Text2TextError::UnknownTaskParams { .. }
                | Text2TextError::InvalidOption(_)
                | Text2TextError::Search(SearchError::Beams { .. }) => ErrorCode::InvalidInput,
                Text2TextError::Search(SearchError::Cancelled) => ErrorCode::Cancelled,
                Text2TextError::InvalidConfig { .. }
                | Text2TextError::Tokenizer(_)
                | Text2TextError::Search(SearchError::NoDecoderStart)
                | Text2TextError::Search(SearchError::InvalidConfig(_)) => {
                    ErrorCode::UnsupportedModel
                }
                Text2TextError::Search(_) => ErrorCode::Internal,
            },
            PipelineError::Image(e) => match e {
                ImageTaskError::Model(m) => model_code(m),
                ImageTaskError::Image(_) | ImageTaskError::InvalidOption(_) => {
                    ErrorCode::InvalidInput
                }
                ImageTaskError::InvalidConfig { .. }
                | ImageTaskError::NoLabels
                | ImageTaskError::Preprocessor(_) => ErrorCode::UnsupportedModel,
            },
            PipelineError::UnsupportedModel(_) => ErrorCode::UnsupportedModel,
            PipelineError::WrongTask { .. } => ErrorCode::InvalidInput,
            PipelineError::GpuRefused(_) => ErrorCode::GpuFailed,
        }
    }

    /// The error as the page receives it.
    pub fn report(&self) -> ErrorReport {
        ErrorReport::new(self.error_code(), self.to_string())
    }
}

/// A model error: a file that is not a model we can run (wrong format, damaged, unsupported),
/// a context overflow, or a bug.
fn model_code(e: &ModelError) -> ErrorCode {
    match e {
        ModelError::ContextOverflow { .. } => ErrorCode::ContextOverflow,
        ModelError::TokenOutOfRange { .. } | ModelError::Shape { .. } => ErrorCode::Internal,
        ModelError::Backend(_) => ErrorCode::Internal,
        _ if e.is_device_failure() => ErrorCode::GpuFailed,
        _ => ErrorCode::UnsupportedModel,
    }
}

pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
