//! Where the fixture model files are (made by `scripts/fixtures.sh`, which `scripts/test.sh`
//! runs first). A missing file fails the test with the command that makes it.

use std::path::PathBuf;

pub const SMOLLM_REPO: &str = "lantern-fixtures/SmolLM2-135M-Instruct-GGUF";
pub const SMOLLM_Q4_1: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const SMOLLM_REQUANTIZED_REPO: &str = "lantern-fixtures/SmolLM2-135M-Instruct-requantized-GGUF";

pub fn mirror_dir() -> PathBuf {
    match std::env::var_os("LANTERN_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/mirror"),
    }
}

pub fn model_path(file: &str) -> PathBuf {
    let p = mirror_dir().join(SMOLLM_REPO).join(file);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/fixtures.sh",
        p.display()
    );
    p
}

pub fn model_bytes(file: &str) -> Vec<u8> {
    std::fs::read(model_path(file)).unwrap()
}

/// The requantized fixture `SmolLM2-135M-Instruct.{ftype}.gguf` (`Q4_0`, `Q8_0`, `Q4_K_M`),
/// made by `scripts/fixtures-requantized.sh`.
pub fn requantized_bytes(ftype: &str) -> Vec<u8> {
    let p = mirror_dir()
        .join(SMOLLM_REQUANTIZED_REPO)
        .join(format!("SmolLM2-135M-Instruct.{ftype}.gguf"));
    assert!(
        p.is_file(),
        "{} is missing: run scripts/fixtures.sh",
        p.display()
    );
    std::fs::read(p).unwrap()
}

/// Token ids of a short chat prompt for SmolLM2 (`<|im_start|>user\nWhat is the capital of
/// France?<|im_end|>\n<|im_start|>assistant\n`), so the logits tests need no tokenizer.
pub const CHAT_PROMPT: &[u32] = &[
    1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198,
];
