//! Helpers for tests in this and other crates: the real model files, and mirrors over them.
//!
//! Unlike the rest of the crate these panic on failure, with a message that says what to do.
//!
//! ```no_run
//! let mirror = lantern_mirror::testing::start_fixture_mirror();
//! // HF_ENDPOINT=mirror.url() now serves lantern-fixtures/all-MiniLM-L6-v2 and the GGUF repo.
//! # drop(mirror);
//! ```

use std::path::{Path, PathBuf};

use crate::{Mirror, MirrorConfig, MirrorHandle};

/// The sentence-embedding fixture repo (BERT, safetensors, tokenizer.json, `.gitattributes`).
pub const EMBEDDING_REPO: &str = "lantern-fixtures/all-MiniLM-L6-v2";
/// The chat-model fixture repo: one GGUF file.
pub const GGUF_REPO: &str = "lantern-fixtures/SmolLM2-135M-Instruct-GGUF";
/// The file in [`GGUF_REPO`].
pub const GGUF_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Tiny random text-classification models (committed in `tests/fixtures/text-classification/`,
/// copied into the mirror by `scripts/fixtures.sh`; goldens in
/// `crates/lantern-pipelines/tests/data/text_classification.golden.json`).
/// `BertForSequenceClassification`, labels NEGATIVE/POSITIVE, WordPiece, f32 weights.
pub const TEXT_CLASSIFICATION_BERT_REPO: &str = "lantern-fixtures/tiny-bert-sst2";
/// `DistilBertForSequenceClassification`, labels NEGATIVE/POSITIVE, WordPiece, f16 weights.
pub const TEXT_CLASSIFICATION_DISTILBERT_REPO: &str = "lantern-fixtures/tiny-distilbert-sst2";
/// `RobertaForSequenceClassification`, entailment/neutral/contradiction (text pairs),
/// byte-level BPE, f32 weights.
pub const TEXT_CLASSIFICATION_ROBERTA_REPO: &str = "lantern-fixtures/tiny-roberta-nli";
/// `XLMRobertaForSequenceClassification`, multi-label (sigmoid) joy/anger/fear/surprise,
/// Unigram tokenizer, bf16 weights.
pub const TEXT_CLASSIFICATION_XLM_ROBERTA_REPO: &str = "lantern-fixtures/tiny-xlm-roberta-emotions";
/// All the text-classification fixture repos. [`fixture_dir`] does not require them (a mirror
/// folder made before they existed still serves the other tests).
pub const TEXT_CLASSIFICATION_REPOS: [&str; 4] = [
    TEXT_CLASSIFICATION_BERT_REPO,
    TEXT_CLASSIFICATION_DISTILBERT_REPO,
    TEXT_CLASSIFICATION_ROBERTA_REPO,
    TEXT_CLASSIFICATION_XLM_ROBERTA_REPO,
];

/// The mirror folder with the fixture repos: `$LANTERN_FIXTURES_MIRROR`, or
/// `target/fixtures/mirror` in the workspace. Panics when it is missing.
pub fn fixture_dir() -> PathBuf {
    let dir = match std::env::var_os("LANTERN_FIXTURES_MIRROR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/mirror"),
    };
    if !dir.join(EMBEDDING_REPO).is_dir() || !dir.join(GGUF_REPO).is_dir() {
        panic!(
            "the fixture model files are missing from {}: run scripts/fixtures.sh \
             (or set LANTERN_FIXTURES_MIRROR to a folder made by it)",
            dir.display()
        );
    }
    dir
}

/// A mirror of `root` on a free loopback port.
pub fn start_mirror(root: &Path) -> MirrorHandle {
    start_with(MirrorConfig::new(root))
}

/// A mirror of `config.root` on a free loopback port.
pub fn start_with(config: MirrorConfig) -> MirrorHandle {
    let root = config.root.display().to_string();
    Mirror::start(config, ([127, 0, 0, 1], 0).into())
        .unwrap_or_else(|e| panic!("cannot start a mirror of {root}: {e}"))
}

/// A mirror of [`fixture_dir`] on a free loopback port.
pub fn start_fixture_mirror() -> MirrorHandle {
    start_mirror(&fixture_dir())
}
