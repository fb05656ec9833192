//! How large a model the browser worker can hold, and the check `lantern new` and `lantern build`
//! make before anything is published.
//!
//! The worker reads every model file into one contiguous buffer in wasm memory (a `Vec<u8>`
//! that becomes the model's `ModelBytes`; GGUF weights are then used in place). On wasm32 no
//! Rust allocation can exceed `isize::MAX` = 2 GiB − 1 bytes, so a larger file cannot be loaded
//! at all; and the whole wasm32 address space is 4 GiB, of which the rest is what the worker's
//! code, the KV cache, activations, the tokenizer and (for safetensors) the f32 weights made on
//! load need. So the model's files *together* must stay under 2 GiB: one bound that covers both
//! reasons, instead of a per-file bound that would let three 1.9 GB files through.

use lantern_core::ModelRef;

/// The largest model (all its files together) a Space may carry: `isize::MAX` on wasm32.
pub const MAX_MODEL_BYTES: u64 = i32::MAX as u64;

/// Refuses a model the browser cannot load, naming its size, the limit and what to do.
pub fn check(model: &ModelRef) -> anyhow::Result<()> {
    let total = model.total_size();
    if total <= MAX_MODEL_BYTES {
        return Ok(());
    }
    let files: Vec<String> = model
        .files
        .iter()
        .map(|f| format!("{} ({})", f.path, human_bytes(f.size)))
        .collect();
    anyhow::bail!(
        "{} is too large for the browser: {} in {}, and a wasm32 worker can hold at most {} \
         (2 GiB: it reads each file into one buffer, and wasm32 caps a buffer at 2 GiB and all \
         memory at 4 GiB). Choose a smaller quantization (e.g. a Q4_K_M or Q4_0 .gguf) or a \
         smaller model.",
        model.repo,
        human_bytes(total),
        files.join(", "),
        human_bytes(MAX_MODEL_BYTES),
    )
}

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use lantern_core::{ContentHash, RepoFile};

    fn model(sizes: &[u64]) -> ModelRef {
        ModelRef {
            repo: "org/name".parse().unwrap(),
            repo_type: Default::default(),
            revision: "main".into(),
            commit: "0".repeat(40),
            files: sizes
                .iter()
                .enumerate()
                .map(|(i, &size)| RepoFile {
                    path: format!("f{i}.gguf").parse().unwrap(),
                    size,
                    hash: ContentHash::from_hex(&"a".repeat(64)).unwrap(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_limit_is_the_sum_of_the_files() {
        assert!(check(&model(&[MAX_MODEL_BYTES])).is_ok());
        let err = check(&model(&[MAX_MODEL_BYTES + 1]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("too large") && err.contains("2.15 GB"),
            "{err}"
        );
        assert!(check(&model(&[1 << 30, 1 << 30])).is_err());
    }
}
