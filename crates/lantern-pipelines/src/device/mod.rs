//! Where a model runs: the [`Device`] every task's `load` takes, chosen once per page by
//! [`select`] from the page's [`BackendChoice`].
//!
//! A task does not open the GPU itself: it tells [`load_on`] how big the largest buffer of its
//! model is and how to load the model onto any backend ([`Loader`]); `load_on` opens the
//! device when the adapter can take the model and falls back to the CPU — with the reason,
//! for the page — when it cannot, when the device does not open, or when it fails while the
//! model is uploaded. Builds without the GPU backend (cargo feature `gpu` off: the threaded
//! wasm build) get the same interface from `no_gpu.rs`, always answering "CPU".

#[cfg(feature = "gpu")]
mod gpu;
#[cfg(not(feature = "gpu"))]
#[path = "no_gpu.rs"]
mod gpu;

use lantern_core::protocol::BackendChoice;
use lantern_models::ops::Backend;
use lantern_models::ops::cpu::Cpu;

pub use gpu::Adapter;

use crate::error::{PipelineError, Result};

/// Where a model is to run.
#[derive(Debug)]
pub enum Device {
    /// The CPU: SIMD kernels, and rayon threads where there are any (a cross-origin isolated
    /// page's threaded wasm build; every core natively).
    Cpu,
    /// A WebGPU adapter, found but not opened yet: [`load_on`] opens it once it knows the
    /// model fits.
    Gpu(Adapter),
}

/// What [`select`] found: the device, and how the page describes it.
#[derive(Debug)]
pub struct Selection {
    pub device: Device,
    /// `WebGPU: <adapter> (f16 kernels)`, or why the CPU.
    pub detail: String,
}

impl Selection {
    /// `webgpu` or `cpu`, as the page's `backend` hook shows it.
    pub fn name(&self) -> &'static str {
        match self.device {
            Device::Cpu => "cpu",
            Device::Gpu(_) => "webgpu",
        }
    }
}

/// Picks the device for the page's choice. `Auto` takes the GPU only when it is a hardware
/// adapter: a software one (SwiftShader, lavapipe) computes correctly but slower than the CPU
/// kernels. A forced `Webgpu` takes any adapter, and its absence is an error the page offers
/// the CPU for. `fail_after` (testing, the page's `?gpu_fail_after=N`) makes an opened device
/// get lost after N readbacks.
pub async fn select(choice: BackendChoice, fail_after: Option<u32>) -> Result<Selection> {
    if choice == BackendChoice::Cpu {
        return Ok(Selection {
            device: Device::Cpu,
            detail: "the page asked for the CPU".into(),
        });
    }
    gpu::probe(choice, fail_after).await
}

/// The arithmetic a task wants from a GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arithmetic {
    /// f16 products where the adapter has `shader-f16` (half the bandwidth; quantized chat
    /// models, whose weights are coarser than f16 anyway).
    Fast,
    /// f32 throughout: the encoders' scores and vectors are held to 1e-4 of transformers, which
    /// f16 products miss (measured on lavapipe: 8e-4 on a classifier's logits).
    Exact,
}

/// How a task loads its model onto a backend: the one piece of a task's loading that
/// depends on the device. Called again on the CPU after a GPU failure, so it reads its files
/// again (the GPU backend keeps no copy of them).
pub trait Loader {
    type Output;
    /// What the model needs of a GPU's arithmetic.
    const ARITHMETIC: Arithmetic = Arithmetic::Fast;
    fn load<B: Backend>(&self, backend: B) -> impl Future<Output = Result<Self::Output>>;
}

/// A loaded pipeline, and why it is on the CPU although a GPU was offered (for the page).
#[derive(Debug)]
pub struct Loaded<P> {
    pub pipeline: P,
    pub fallback: Option<String>,
}

/// Loads with `loader` on `device`. On a GPU: when a buffer of `largest_buffer` bytes fits the
/// adapter, the device opens, and the model uploads without a device failure; otherwise on
/// the CPU, with the reason in [`Loaded::fallback`] — unless the page forced WebGPU and the
/// adapter cannot take the model at all ([`PipelineError::GpuRefused`]).
pub async fn load_on<L: Loader>(
    device: Device,
    largest_buffer: u64,
    loader: &L,
) -> Result<Loaded<L::Output>> {
    let adapter = match device {
        Device::Cpu => {
            return Ok(Loaded {
                pipeline: loader.load(Cpu).await?,
                fallback: None,
            });
        }
        Device::Gpu(adapter) => adapter,
    };
    let why = match adapter.load(largest_buffer, loader).await {
        Ok(Ok(pipeline)) => {
            return Ok(Loaded {
                pipeline,
                fallback: None,
            });
        }
        Ok(Err(why)) => why,
        Err(e) if e.is_device_failure() => format!("the GPU failed while loading: {e}"),
        Err(e) => return Err(e),
    };
    Ok(Loaded {
        pipeline: loader.load(Cpu).await?,
        fallback: Some(why),
    })
}

/// The error for a forced WebGPU that cannot be had.
pub(crate) fn refused(choice: BackendChoice, reason: &str) -> Result<()> {
    if choice == BackendChoice::Webgpu {
        return Err(PipelineError::GpuRefused(reason.to_owned()));
    }
    Ok(())
}
