//! A worker built without the `gpu` feature (the threaded build, whose atomics make wgpu's
//! handles `!Send`): the same interface as `gpu.rs`, always answering "CPU".

use lantern_core::protocol::{BackendChoice, ErrorCode, ErrorReport};
use lantern_pipelines::text_generation::{GenerationError, TextGeneration};

/// Never built: there is no adapter in this build.
pub(crate) enum Adapter {}

pub(crate) enum Probe {
    #[allow(dead_code)]
    Gpu(Adapter, String),
    Cpu(String),
}

pub(crate) enum Device {}

pub(crate) async fn probe(choice: BackendChoice) -> Result<Probe, ErrorReport> {
    match choice {
        BackendChoice::Webgpu => Err(ErrorReport::new(
            ErrorCode::GpuFailed,
            "this build of the worker has no WebGPU backend; use the CPU",
        )),
        _ => Ok(Probe::Cpu(
            "this build of the worker has no WebGPU backend".into(),
        )),
    }
}

impl Adapter {
    pub(crate) async fn open(
        self,
        _gguf: &[u8],
        _fail_after: Option<u32>,
    ) -> Result<Result<Device, String>, ErrorReport> {
        match self {}
    }
}

pub(crate) fn load_chat(
    device: Device,
    _bytes: Vec<u8>,
) -> Result<TextGeneration, GenerationError> {
    match device {}
}

pub(crate) fn is_device_failure(_e: &GenerationError) -> bool {
    false
}
