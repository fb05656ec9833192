//! The fixture files (`scripts/fixtures.sh` makes them; `scripts/test.sh` runs it first).

use std::path::PathBuf;
use std::sync::OnceLock;

pub const SMOLLM_REPO: &str = "lantern-fixtures/SmolLM2-135M-Instruct-GGUF";
pub const SMOLLM_Q4_1: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("LANTERN_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures"),
    }
}

pub fn path(rel: &str) -> PathBuf {
    let p = fixtures_dir().join(rel);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/fixtures.sh",
        p.display()
    );
    p
}

pub fn smollm_path() -> PathBuf {
    path(&format!("mirror/{SMOLLM_REPO}/{SMOLLM_Q4_1}"))
}

/// The Q4_1 file's bytes, read once per test binary.
pub fn smollm_bytes() -> Vec<u8> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES
        .get_or_init(|| std::fs::read(smollm_path()).unwrap())
        .clone()
}
