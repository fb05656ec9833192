//! Whisper tiny.en's real weights on the CPU backend against transformers (float64) and
//! CTranslate2 on beckett.wav (`common::whisper_real`; the same on the GPU in `tests/gpu.rs`).
//! Needs the fixture files (`scripts/fixtures.sh`); natively only.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use common::whisper_real;
use lantern_models::whisper::load_whisper;

pub fn log(line: &str) {
    eprintln!("{line}");
}

#[test]
fn tiny_en_matches_transformers_and_ctranslate2() {
    let (cfg, file) = whisper_real::files();
    let model = load_whisper(&cfg, &file).unwrap();
    drop(file);
    let m = common::ready(whisper_real::run(&*model));
    let (enc_tol, logit_tol) = whisper_real::tolerance();
    log(&format!(
        "measured tiny.en on the CPU: encoder rows {:.2e} (tolerance {enc_tol:.0e}), first-step \
         logits {:.2e} ({logit_tol:.0e}), greedy tokens {:?}",
        m.encoder, m.logits, m.tokens
    ));
    assert!(m.encoder <= enc_tol, "encoder {}", m.encoder);
    assert!(m.logits <= logit_tol, "logits {}", m.logits);
    assert_eq!(
        m.tokens, m.expected_tokens,
        "greedy tokens against CTranslate2's"
    );
}
