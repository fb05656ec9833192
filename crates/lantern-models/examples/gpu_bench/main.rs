//! Prefill and decode speed of the llama forward pass on the GPU backend (`scripts/bench-gpu.sh`
//! runs it), beside the memory-bandwidth bound of decoding: every decode step reads every weight
//! matrix once, so `bandwidth / weight bytes` tokens per second is the most any engine can do.
//!
//! ```text
//! gpu_bench (--model FILE.gguf | --synthetic llama-1b|smollm2-135m) [--prompt N] [--decode N]
//!           [--precision auto|f32|f16] [--bandwidth-gbs GB_PER_S]
//! ```
//!
//! `--synthetic llama-1b` builds, in memory, a model of Llama-3.2-1B's shape (16 layers, hidden
//! 2048, feed-forward 8192, 32 heads over 8 KV heads, a 128256-token vocabulary tied to the
//! output) with random Q4_0 weights (speed does not depend on the values); `smollm2-135m` the
//! fixture model's shape, for a machine without the fixture file. The bound uses the GPU's
//! nominal bandwidth when given, else the bandwidth our element-wise kernel measured. Prints
//! one JSON line.
#[cfg(not(target_arch = "wasm32"))]
mod native;

#[cfg(not(target_arch = "wasm32"))]
use native::main;

/// The benchmark drives a native GPU; there is nothing to run in a wasm build.
#[cfg(target_arch = "wasm32")]
fn main() {}
