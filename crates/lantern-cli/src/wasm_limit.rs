//! How large a model the browser worker can hold, and the check `lantern new` and `lantern build`
//! make before anything is published.
//!
//! The limit itself, and why it is what it is: `lantern_pipelines::limits`.

use lantern_core::ModelRef;

pub use lantern_pipelines::limits::{MAX_MODEL_BYTES, human_bytes};

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
