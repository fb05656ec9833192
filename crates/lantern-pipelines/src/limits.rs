//! How large a model the browser worker can hold.
//!
//! The worker reads every model file into one contiguous buffer in wasm memory (a `Vec<u8>`
//! that becomes the model's `ModelBytes`; GGUF weights are then used in place). On wasm32 no
//! Rust allocation can exceed `isize::MAX` = 2 GiB − 1 bytes, so a larger file cannot be loaded
//! at all; and the whole wasm32 address space is 4 GiB, of which the rest is what the worker's
//! code, the KV cache, activations, the tokenizer and (for safetensors) the f32 weights made on
//! load need. So the model's files *together* must stay under 2 GiB: one bound that covers both
//! reasons, instead of a per-file bound that would let three 1.9 GB files through.

/// The largest model (all its files together) a Space may carry: `isize::MAX` on wasm32.
pub const MAX_MODEL_BYTES: u64 = i32::MAX as u64;

/// Decimal units, as the Hub shows file sizes.
pub fn human_bytes(n: u64) -> String {
    if n >= 1_000_000_000 {
        format!("{:.2} GB", n as f64 / 1e9)
    } else if n >= 1_000_000 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else {
        format!("{:.1} kB", n as f64 / 1e3)
    }
}
