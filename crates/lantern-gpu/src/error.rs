//! The one error type of the GPU layer.

pub type Result<T, E = GpuError> = std::result::Result<T, E>;

/// Everything that can go wrong on the GPU.
///
/// The variants are what a caller acts on: [`GpuError::NoAdapter`] and
/// [`GpuError::LimitsTooSmall`] mean "use the CPU from the start"; [`GpuError::DeviceLost`],
/// [`GpuError::OutOfMemory`], [`GpuError::PipelineCompile`] and [`GpuError::Validation`] mean
/// "this device failed, fall back to the CPU" ([`GpuError::should_fall_back`]); the others are
/// mistakes in the call.
///
/// The error is `Clone` because a device failure is remembered and returned by every later call
/// on that device, not only by the one that happened to observe it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No WebGPU / Vulkan / Metal / D3D12 adapter: the browser has no WebGPU (or it is disabled),
    /// or the machine has no usable driver. A normal outcome, not a bug.
    #[error("no GPU adapter: {reason}")]
    NoAdapter { reason: String },
    /// The adapter exists but cannot create a device.
    #[error("the GPU adapter refused a device: {message}")]
    DeviceRequest { message: String },
    /// A limit of the adapter is below what the kernels or the model need.
    #[error("GPU limit {limit} is {available}, {required} is needed")]
    LimitsTooSmall {
        limit: &'static str,
        required: u64,
        available: u64,
    },
    /// Something asked for was not offered by the adapter (e.g. f16 arithmetic without `shader-f16`).
    #[error("the GPU does not support {what}")]
    Unsupported { what: String },
    #[error("GPU out of memory: {message}")]
    OutOfMemory { message: String },
    /// The device is gone (driver reset, tab in the background too long, `Gpu::destroy`).
    /// Every call after this returns the same error.
    #[error("GPU device lost: {reason}")]
    DeviceLost { reason: String },
    /// A kernel failed to compile on this device (a WGSL feature the browser's compiler rejects).
    #[error("GPU kernel {kernel} failed to compile: {message}")]
    PipelineCompile { kernel: String, message: String },
    /// The device rejected a command. A bug in Lantern, or a device limit not checked for.
    #[error("GPU validation error: {message}")]
    Validation { message: String },
    /// Reading a result back failed.
    #[error("GPU readback failed: {message}")]
    Readback { message: String },
    /// Operands whose shapes do not fit the operation.
    #[error("{op}: {detail}")]
    Shape { op: &'static str, detail: String },
    /// Weight bytes that do not match their declared type and shape, or a type without kernels.
    #[error("weight {name:?}: {detail}")]
    InvalidWeight { name: String, detail: String },
    #[error("GPU internal error: {message}")]
    Internal { message: String },
}

impl GpuError {
    /// A stable, machine-readable name for the error kind (for UIs, events and JSON).
    pub fn code(&self) -> &'static str {
        match self {
            GpuError::NoAdapter { .. } => "gpu_no_adapter",
            GpuError::DeviceRequest { .. } => "gpu_device_request",
            GpuError::LimitsTooSmall { .. } => "gpu_limits_too_small",
            GpuError::Unsupported { .. } => "gpu_unsupported",
            GpuError::OutOfMemory { .. } => "gpu_out_of_memory",
            GpuError::DeviceLost { .. } => "gpu_device_lost",
            GpuError::PipelineCompile { .. } => "gpu_pipeline_compile",
            GpuError::Validation { .. } => "gpu_validation",
            GpuError::Readback { .. } => "gpu_readback",
            GpuError::Shape { .. } => "gpu_shape",
            GpuError::InvalidWeight { .. } => "gpu_invalid_weight",
            GpuError::Internal { .. } => "gpu_internal",
        }
    }

    /// Whether the right answer is to run on the CPU instead: the device is missing, too small,
    /// or failed. `false` for mistakes in the call, which the CPU would reject as well.
    pub fn should_fall_back(&self) -> bool {
        !matches!(
            self,
            GpuError::Shape { .. } | GpuError::InvalidWeight { .. }
        )
    }

    pub(crate) fn shape(op: &'static str, detail: impl Into<String>) -> GpuError {
        GpuError::Shape {
            op,
            detail: detail.into(),
        }
    }

    /// An error the device reported on its own (outside an error scope we were waiting on).
    pub(crate) fn from_wgpu(e: &wgpu::Error) -> GpuError {
        match e {
            wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory {
                message: e.to_string(),
            },
            wgpu::Error::Validation { description, .. } => GpuError::Validation {
                message: description.clone(),
            },
            wgpu::Error::Internal { description, .. } => GpuError::Internal {
                message: description.clone(),
            },
        }
    }
}
