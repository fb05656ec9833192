//! WebGPU compute for Lantern, through wgpu: the browser's WebGPU on wasm32, Vulkan / Metal /
//! D3D12 natively (and lavapipe in the tests).
//!
//! - [`probe`] / [`GpuAdapter`]: is there an adapter, what are its limits, does it have
//!   `shader-f16` and subgroups. "No adapter" is an ordinary [`GpuError::NoAdapter`].
//! - [`Gpu`]: the opened device, with a pipeline cache (kernels compiled once per
//!   specialisation), a buffer pool (activations reuse buffers) and a recorder (kernels of a step
//!   go into one submission).
//! - [`GpuWeight`]: a matrix uploaded tensor by tensor from GGUF bytes (F32, F16, Q4_0, Q4_1,
//!   Q8_0, Q4_K, Q6_K), repacked into word-aligned layouts.
//! - kernels (WGSL files beside the Rust that dispatches them): matrix-vector and tiled
//!   matrix-matrix products for every weight type, embedding lookup, RMS and layer norm, RoPE,
//!   attention with grouped KV heads over a GPU KV cache, non-causal attention over a padded
//!   batch (encoders, cross-attention), softmax, SiLU/GELU/SwiGLU/ReLU/tanh, adds and muls,
//!   linear layers with the bias fused, row gathers, the windows of a 1-D convolution
//!   (`unfold1d`: a convolution as a matrix product), the 2-D window ops of the conv nets
//!   over `[height * width, channels]` images ([`Window2d`]: `unfold2d` with zero-padded
//!   columns, `depthwise_conv2d`, `max_pool2d`, `mean_rows`), argmax and sampling (only token ids come
//!   back).
//!
//! ```no_run
//! # async fn demo() -> Result<(), lantern_gpu::GpuError> {
//! use lantern_gpu::{Gpu, GpuOptions, WeightType};
//!
//! let gpu = match Gpu::new(GpuOptions::default()).await {
//!     Ok(gpu) => gpu,
//!     Err(e) if e.should_fall_back() => return Ok(()), // run on the CPU instead
//!     Err(e) => return Err(e),
//! };
//! // A 2x32 Q8_0 matrix: per row one block of an f16 scale (1.0) and 32 signed bytes.
//! let mut bytes = Vec::new();
//! for _ in 0..2 {
//!     bytes.extend_from_slice(&[0x00, 0x3c]);
//!     bytes.extend((0..32).map(|i| i as u8));
//! }
//! let w = gpu.weight("w", WeightType::Q8_0, 2, 32, &bytes)?;
//! let x = gpu.tensor(&[1.0; 32], 1, 32)?;
//! let y = gpu.matmul(&x, &w)?;
//! assert_eq!(gpu.read(&y).await?, vec![496.0, 496.0]);
//! # Ok(()) }
//! ```

mod context;
mod error;
mod kernels;
mod pipeline;
mod platform;
mod pool;
mod probe;
mod tensor;
mod weights;

pub use context::{Gpu, GpuOptions};
pub use error::{GpuError, Result};
pub use kernels::{
    AttendShape, AttentionShape, GpuKvCache, GpuRopeTable, MATVEC_MAX_TOKENS, RopeStyle, Sampling,
    Window2d,
};
pub use pipeline::Precision;
pub use pool::PoolStats;
pub use probe::{AdapterLimits, AdapterReport, DeviceKind, GpuAdapter, probe};
pub use tensor::{GpuIds, GpuTensor};
pub use weights::{GpuWeight, WeightType};
