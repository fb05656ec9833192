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

/// Whisper tiny.en (English-only, `WhisperForConditionalGeneration`, f16 safetensors, the Hub's
/// `openai/whisper-tiny.en` layout), made by `scripts/fixtures-whisper.sh` from the CTranslate2
/// file in a PyPI wheel; always in the default download. Goldens:
/// `crates/lantern-pipelines/tests/data/whisper-*.golden.json`.
pub const WHISPER_TINY_EN_REPO: &str = "lantern-fixtures/whisper-tiny.en";
/// Whisper base (multilingual), as [`WHISPER_TINY_EN_REPO`]. Opt-in: only made with
/// `LANTERN_FIXTURES_LARGE=1` (two more 66 MB wheels), so tests look for it with
/// [`opt_in_fixture`] and skip when it is absent.
pub const WHISPER_BASE_REPO: &str = "lantern-fixtures/whisper-base";
/// Real speech: [`SPEECH_BECKETT_FILE`] and [`SPEECH_TWO_CITIES_FILE`] (both MIT, from PyPI
/// wheels; LFS files through the mirror, plain files in [`fixture_dir`]).
pub const SPEECH_SAMPLES_REPO: &str = "lantern-fixtures/speech-samples";
/// 16 kHz mono 16-bit PCM, 9.96 s: "Ever tried. Ever failed. No matter. Try again. Fail again.
/// Fail better." (Samuel Beckett).
pub const SPEECH_BECKETT_FILE: &str = "beckett.wav";
/// sha256 of [`SPEECH_BECKETT_FILE`] (pinned in `scripts/fixtures-whisper.sh`).
pub const SPEECH_BECKETT_SHA256: &str =
    "e5a26b3d29e5b0bc8dbd72c11d16a3808a4ec0ac45b21f12a27d2a2fe5c5ae61";
/// 48 kHz mono 16-bit PCM, about 44 s: the opening of "A Tale of Two Cities" (long-form input).
pub const SPEECH_TWO_CITIES_FILE: &str = "two_cities.wav";
/// sha256 of [`SPEECH_TWO_CITIES_FILE`] (pinned in `scripts/fixtures-whisper.sh`).
pub const SPEECH_TWO_CITIES_SHA256: &str =
    "f3348494d77cb74a02862f5e685ed09faf3e75832c5cc5c80703282c2cd8b52e";

/// `fixture_dir()/repo` when an opt-in fixture repo (e.g. [`WHISPER_BASE_REPO`]) was made, else
/// `None` after a note on stderr that says how to make it.
pub fn opt_in_fixture(repo: &str) -> Option<PathBuf> {
    let dir = fixture_dir().join(repo);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {repo} is opt-in (LANTERN_FIXTURES_LARGE=1 scripts/fixtures.sh makes it)"
        );
        None
    }
}

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
