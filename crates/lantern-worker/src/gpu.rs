//! The WebGPU backend in the worker (cargo feature `gpu`): the automatic choice, opening the
//! device, loading a chat model on it, and telling a device failure from other errors.
//!
//! `no_gpu.rs` has the same interface for builds without the feature (the threaded build: wgpu's
//! handles are `Send + Sync` in a browser only without atomics).

use lantern_core::protocol::{BackendChoice, ErrorCode, ErrorReport};
use lantern_models::gguf::GgufFile;
use lantern_models::llama::Config;
use lantern_models::ops::gpu::Gpu;
use lantern_models::ops::gpu::lantern_gpu::{AdapterReport, GpuAdapter, GpuOptions};
use lantern_models::{ModelBytes, load_causal_lm_on};
use lantern_pipelines::text_generation::{GenerationError, TextGeneration};

/// An adapter worth opening, found before the model is downloaded.
pub(crate) struct Adapter {
    adapter: GpuAdapter,
    choice: BackendChoice,
}

/// The outcome of [`probe`].
pub(crate) enum Probe {
    /// Try the GPU: `detail` says which adapter.
    Gpu(Adapter, String),
    /// Use the CPU, for this reason.
    Cpu(String),
}

/// An opened device, ready for the model.
pub(crate) struct Device(Gpu);

/// Looks for an adapter (`navigator.gpu.requestAdapter()` in a browser). `Auto` takes the GPU
/// only when it is a hardware adapter: a software one (SwiftShader, lavapipe) computes
/// correctly but slower than the CPU kernels (ARCHITECTURE.md, GPU section, has the numbers).
/// A forced `Webgpu` takes any adapter, and its absence is an error the page offers the CPU for.
pub(crate) async fn probe(choice: BackendChoice) -> Result<Probe, ErrorReport> {
    if choice == BackendChoice::Cpu {
        return Ok(Probe::Cpu("the page asked for the CPU".into()));
    }
    let adapter = match GpuAdapter::request().await {
        Ok(a) => a,
        Err(e) => return refuse(choice, format!("no WebGPU adapter ({e})")),
    };
    let report = adapter.report().clone();
    if choice == BackendChoice::Auto && report.is_software() {
        return Ok(Probe::Cpu(format!(
            "the WebGPU adapter ({}) is a software renderer, slower than the CPU",
            report.name
        )));
    }
    if let Err(e) = report.limits.check_kernels() {
        return refuse(choice, format!("the WebGPU adapter is too small: {e}"));
    }
    let detail = describe(&report);
    Ok(Probe::Gpu(Adapter { adapter, choice }, detail))
}

/// The CPU when the choice was automatic, an error when the page forced WebGPU.
fn refuse(choice: BackendChoice, reason: String) -> Result<Probe, ErrorReport> {
    forced(choice, &reason)?;
    Ok(Probe::Cpu(reason))
}

/// The error for a forced WebGPU that cannot be had (the page offers the CPU for it).
fn forced(choice: BackendChoice, reason: &str) -> Result<(), ErrorReport> {
    if choice == BackendChoice::Webgpu {
        return Err(ErrorReport::new(
            ErrorCode::GpuFailed,
            format!("WebGPU was asked for, but {reason}"),
        ));
    }
    Ok(())
}

fn describe(r: &AdapterReport) -> String {
    format!(
        "WebGPU: {} ({}{})",
        if r.name.is_empty() {
            "unnamed adapter"
        } else {
            &r.name
        },
        if r.shader_f16 {
            "f16 kernels"
        } else {
            "f32 kernels"
        },
        if r.is_software() { ", software" } else { "" },
    )
}

impl Adapter {
    /// Checks that the model fits the adapter's limits and opens the device; `Ok(None)` (with
    /// the reason) means "use the CPU". `fail_after` makes the device get lost after that many
    /// forward passes (the page's `?gpu_fail_after=N`, for testing the fallback).
    pub(crate) async fn open(
        self,
        gguf: &[u8],
        fail_after: Option<u32>,
    ) -> Result<Result<Device, String>, ErrorReport> {
        let report = self.adapter.report().clone();
        if let Err(reason) = fits(&report, gguf) {
            return refuse_open(self.choice, reason);
        }
        match self.adapter.open(GpuOptions::default()).await {
            Ok(gpu) => {
                let mut backend = Gpu::new(gpu);
                if let Some(n) = fail_after {
                    backend = backend.lose_device_after(n);
                }
                Ok(Ok(Device(backend)))
            }
            Err(e) => refuse_open(self.choice, format!("the WebGPU device did not open ({e})")),
        }
    }
}

fn refuse_open(
    choice: BackendChoice,
    reason: String,
) -> Result<Result<Device, String>, ErrorReport> {
    forced(choice, &reason)?;
    Ok(Err(reason))
}

/// Whether the model's buffers fit the adapter: the KV cache of one layer at the full context
/// is the largest buffer the model ever asks for at once (weights larger than a binding are
/// split by rows, so they fit any adapter). Anything the check misses (an activation of a very
/// long prompt) is a `gpu_limits_too_small` error at run time, which falls back like a lost
/// device. A file that does not parse is left to the loader, which reports it properly.
fn fits(report: &AdapterReport, gguf: &[u8]) -> Result<(), String> {
    let Ok(file) = GgufFile::parse(gguf) else {
        return Ok(());
    };
    let Ok(c) = Config::from_metadata(&file.metadata) else {
        return Ok(());
    };
    let kv = (c.kv_heads * c.head_dim * 4) as u64 * c.context_length as u64;
    report
        .limits
        .check_buffer(kv)
        .map_err(|e| format!("the model's KV cache does not fit the WebGPU adapter ({e})"))
}

/// The chat pipeline with its model's weights on the device.
pub(crate) fn load_chat(device: Device, bytes: Vec<u8>) -> Result<TextGeneration, GenerationError> {
    let model = load_causal_lm_on(device.0, ModelBytes::new(bytes))?;
    TextGeneration::from_model(model)
}

/// Whether `e` is the device failing (lost, out of memory, a kernel that does not compile, a
/// limit): the answer is the CPU. The GPU backend puts `lantern_gpu::GpuError::code()` first in
/// its messages; shape and weight errors are mistakes the CPU would make too.
pub(crate) fn is_device_failure(e: &GenerationError) -> bool {
    let GenerationError::Model(lantern_models::ModelError::Backend(message)) = e else {
        return false;
    };
    let code = message.split(':').next().unwrap_or_default();
    code.starts_with("gpu_") && !matches!(code, "gpu_shape" | "gpu_invalid_weight")
}
