//! Tokenizers built from GGUF metadata against llama.cpp's own tokenizer tests: for each
//! vocabulary of `llama.cpp/models/ggml-vocab-*.gguf`, the `.inp` strings must tokenize to
//! the ids of `.out` (what llama.cpp's `test-tokenizer-0` produces, `add_special = false`).
//! SentencePiece (llama-spm, phi-3) and BPE with the gpt-2, llama3, qwen2 and starcoder
//! pre-tokenizers.

use lantern_models::gguf::GgufFile;
use lantern_pipelines::tokenizer::Tokenizer;

use crate::fixtures::path;

fn check(vocab: &str) {
    let gguf = std::fs::read(path(&format!("llama-vocab/ggml-vocab-{vocab}.gguf"))).unwrap();
    let inp =
        std::fs::read_to_string(path(&format!("llama-vocab/ggml-vocab-{vocab}.gguf.inp"))).unwrap();
    let out =
        std::fs::read_to_string(path(&format!("llama-vocab/ggml-vocab-{vocab}.gguf.out"))).unwrap();
    let file = GgufFile::parse(&gguf).unwrap();
    let tok = Tokenizer::from_gguf(&file.metadata).unwrap();
    let inputs: Vec<&str> = inp.split("\n__ggml_vocab_test__\n").collect();
    let expected: Vec<&str> = out.lines().collect();
    // The file ends with a separator, so the split leaves one empty string after the last input.
    assert_eq!(
        inputs.len() - 1,
        expected.len(),
        "{vocab}: inputs and outputs differ in count"
    );
    let mut failures = Vec::new();
    for (text, want) in inputs.iter().zip(&expected) {
        let want: Vec<u32> = want
            .split_whitespace()
            .map(|t| t.parse().unwrap())
            .collect();
        let got = tok.encode(text, false).unwrap();
        if got != want {
            failures.push(format!("{text:?}: got {got:?}, llama.cpp {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{vocab}: {} of {} differ:\n{}",
        failures.len(),
        expected.len(),
        failures.join("\n")
    );
}

#[test]
fn llama_spm() {
    check("llama-spm");
}

#[test]
fn phi_3_spm() {
    check("phi-3");
}

#[test]
fn gpt_2() {
    check("gpt-2");
}

#[test]
fn llama_3_bpe() {
    check("llama-bpe");
}

#[test]
fn qwen2() {
    check("qwen2");
}

#[test]
fn starcoder_same_pre_tokenizer_as_smollm() {
    check("starcoder");
}
