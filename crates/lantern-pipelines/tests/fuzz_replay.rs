//! The fuzz targets' seeds and past crashes (`fuzz/seeds/TARGET/`, `fuzz/regressions/TARGET/`)
//! replayed through the targets' own bodies (`common/fuzz_inputs.rs`): a model repository's
//! JSON files and safetensors header, `tokenizer.json`, chat templates, `demo.json`, the
//! page–worker messages and the Hub's answers. Every input must end in a value or a typed
//! error: a panic here is a panic in the worker. Self-contained (the files are compiled in),
//! so the same set runs natively and in headless Chromium (`cd crates/lantern-pipelines &&
//! cargo test --target wasm32-unknown-unknown --test fuzz_replay`; in scripts/test.sh's
//! browser list).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/fuzz_inputs.rs"]
mod fuzz_inputs;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// `(target, path under fuzz/, bytes)`.
macro_rules! fuzz_file {
    ($target:literal, $path:literal) => {
        (
            $target,
            $path,
            include_bytes!(concat!("../../../fuzz/", $path)) as &[u8],
        )
    };
}

/// The targets with a body here, as `fuzz/Cargo.toml` names them.
const TARGETS: [&str; 7] = [
    "safetensors",
    "tokenizer_json",
    "chat_template",
    "configs",
    "demo",
    "protocol",
    "hub_json",
];

/// Every seed, and every input the fuzzer ever crashed on (kept after the fix).
const REPLAY: &[(&str, &str, &[u8])] = &[
    fuzz_file!("safetensors", "seeds/safetensors/bert-bf16.safetensors"),
    fuzz_file!("safetensors", "seeds/safetensors/bert-f16.safetensors"),
    fuzz_file!("safetensors", "seeds/safetensors/bert-f32.safetensors"),
    fuzz_file!(
        "safetensors",
        "seeds/safetensors/bert-unprefixed-f32.safetensors"
    ),
    fuzz_file!("tokenizer_json", "seeds/tokenizer_json/bpe-roberta.json"),
    fuzz_file!("tokenizer_json", "seeds/tokenizer_json/unigram-t5.json"),
    fuzz_file!("tokenizer_json", "seeds/tokenizer_json/wordpiece-bert.json"),
    fuzz_file!("chat_template", "seeds/chat_template/llama-bpe.bin"),
    fuzz_file!("chat_template", "seeds/chat_template/llama-spm.bin"),
    fuzz_file!("chat_template", "seeds/chat_template/qwen2.bin"),
    fuzz_file!("chat_template", "seeds/chat_template/smollm2.bin"),
    fuzz_file!("configs", "seeds/configs/efficientnet-lite0.config.json"),
    fuzz_file!(
        "configs",
        "seeds/configs/efficientnet-lite0.preprocessor_config.json"
    ),
    fuzz_file!("configs", "seeds/configs/tiny-bart-cnn.config.json"),
    fuzz_file!(
        "configs",
        "seeds/configs/tiny-bart-cnn.generation_config.json"
    ),
    fuzz_file!("configs", "seeds/configs/tiny-bert-sst2.config.json"),
    fuzz_file!(
        "configs",
        "seeds/configs/tiny-bert-sst2.tokenizer_config.json"
    ),
    fuzz_file!("configs", "seeds/configs/tiny-detr-resnet.config.json"),
    fuzz_file!(
        "configs",
        "seeds/configs/tiny-detr-resnet.preprocessor_config.json"
    ),
    fuzz_file!(
        "configs",
        "seeds/configs/tiny-detr-timm-resnet18.config.json"
    ),
    fuzz_file!("configs", "seeds/configs/tiny-distilbert-sst2.config.json"),
    fuzz_file!("configs", "seeds/configs/tiny-marian-en-de.config.json"),
    fuzz_file!(
        "configs",
        "seeds/configs/tiny-marian-en-de.generation_config.json"
    ),
    fuzz_file!(
        "configs",
        "seeds/configs/tiny-resnet-classification.config.json"
    ),
    fuzz_file!("configs", "seeds/configs/tiny-roberta-nli.config.json"),
    fuzz_file!("configs", "seeds/configs/tiny-t5.config.json"),
    fuzz_file!("configs", "seeds/configs/tiny-t5.generation_config.json"),
    fuzz_file!(
        "configs",
        "seeds/configs/tiny-vit-classification.config.json"
    ),
    fuzz_file!(
        "configs",
        "seeds/configs/tiny-vit-classification.preprocessor_config.json"
    ),
    fuzz_file!(
        "configs",
        "seeds/configs/tiny-xlm-roberta-emotions.config.json"
    ),
    fuzz_file!("configs", "seeds/configs/tiny-yolos.config.json"),
    fuzz_file!(
        "configs",
        "seeds/configs/tiny-yolos.preprocessor_config.json"
    ),
    fuzz_file!("configs", "seeds/configs/whisper-tiny.en.config.json"),
    fuzz_file!(
        "configs",
        "seeds/configs/whisper-tiny.en.generation_config.json"
    ),
    fuzz_file!(
        "configs",
        "seeds/configs/whisper-tiny.en.preprocessor_config.json"
    ),
    fuzz_file!("demo", "seeds/demo/chat.demo.json"),
    fuzz_file!("demo", "seeds/demo/chat.toml"),
    fuzz_file!("demo", "seeds/demo/image-classification.toml"),
    fuzz_file!("demo", "seeds/demo/speech-recognition.toml"),
    fuzz_file!("demo", "seeds/demo/translation.demo.json"),
    fuzz_file!("demo", "seeds/demo/translation.toml"),
    fuzz_file!("protocol", "seeds/protocol/cache-status.json"),
    fuzz_file!("protocol", "seeds/protocol/cancel.json"),
    fuzz_file!("protocol", "seeds/protocol/event-error.json"),
    fuzz_file!("protocol", "seeds/protocol/event-output.json"),
    fuzz_file!("protocol", "seeds/protocol/generate.json"),
    fuzz_file!("protocol", "seeds/protocol/load.json"),
    fuzz_file!("protocol", "seeds/protocol/ping.bin"),
    fuzz_file!("protocol", "seeds/protocol/run-classify.json"),
    fuzz_file!("protocol", "seeds/protocol/run-image.bin"),
    fuzz_file!("protocol", "seeds/protocol/run-speech.bin"),
    fuzz_file!("protocol", "seeds/protocol/run-translate.json"),
    fuzz_file!("hub_json", "seeds/hub_json/link.txt"),
    fuzz_file!("hub_json", "seeds/hub_json/revision.json"),
    fuzz_file!("hub_json", "seeds/hub_json/tree.json"),
    // Past fuzzer crashes. tokenizers 0.23 panicked on a syntax error inside "decoder"
    // (`Tokenizer::from_json` now checks the JSON first).
    fuzz_file!(
        "tokenizer_json",
        "regressions/tokenizer_json/decoder-syntax-error.json"
    ),
];

fn body(target: &str) -> fn(&[u8]) {
    match target {
        "safetensors" => fuzz_inputs::safetensors,
        "tokenizer_json" => fuzz_inputs::tokenizer_json,
        "chat_template" => fuzz_inputs::chat_template,
        "configs" => fuzz_inputs::configs,
        "demo" => fuzz_inputs::demo_json,
        "protocol" => fuzz_inputs::protocol,
        "hub_json" => fuzz_inputs::hub_json,
        _ => panic!("no body for {target}"),
    }
}

/// A target's seeds (not its past crashes).
fn seeds(target: &str) -> impl Iterator<Item = (&'static str, &'static [u8])> + '_ {
    REPLAY
        .iter()
        .filter(move |(t, path, _)| *t == target && path.starts_with("seeds/"))
        .map(|(_, path, bytes)| (*path, *bytes))
}

#[test]
fn every_seed_and_past_crash_replays() {
    for (target, path, bytes) in REPLAY {
        assert!(TARGETS.contains(target), "{path}");
        body(target)(bytes);
    }
}

/// The seeds are what they claim to be, so the fuzzer starts past the first checks.
#[test]
fn the_seeds_are_real_inputs() {
    use lantern_core::protocol::{Request, wire};
    use lantern_models::encoder;

    let cfg = encoder::Config::from_json(fuzz_inputs::MICRO_BERT.as_bytes()).unwrap();
    for (path, bytes) in seeds("safetensors") {
        encoder::load_encoder(&cfg, bytes, encoder::EncoderOptions::default())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    for (path, bytes) in seeds("tokenizer_json") {
        let json = std::str::from_utf8(bytes).unwrap();
        let tok = lantern_pipelines::tokenizer::Tokenizer::from_json(json, None, &[])
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            !tok.encode("hello world", false).unwrap().is_empty(),
            "{path}"
        );
    }
    for (path, bytes) in seeds("configs") {
        let parsed = serde_json::from_slice::<serde_json::Value>(bytes).unwrap();
        assert!(parsed.is_object(), "{path}");
    }
    for (path, bytes) in seeds("demo") {
        if path.ends_with(".json") {
            lantern_core::DemoConfig::from_json(std::str::from_utf8(bytes).unwrap())
                .unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
    for (path, bytes) in seeds("protocol") {
        let mut parts = bytes.split(|&b| b == 0xFF);
        let json = std::str::from_utf8(parts.next().unwrap()).unwrap();
        let attachments = parts.map(<[u8]>::to_vec).collect();
        if !path.contains("event-") {
            wire::decode::<Request>(json, attachments).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
    let tree = seeds("hub_json")
        .find(|(p, _)| p.ends_with("tree.json"))
        .unwrap();
    assert_eq!(lantern_hub::parse_tree_page(tree.1, "u").unwrap().len(), 2);
}

/// A file added to a target's seeds or regressions without a line in `REPLAY` would be
/// fuzzed but never replayed in CI.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_file_is_listed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for target in TARGETS {
        for dir in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            for entry in entries {
                let name = entry.unwrap().file_name().into_string().unwrap();
                let path = format!("{dir}/{target}/{name}");
                // The seeds' generator, not a seed.
                if name.ends_with(".py") {
                    continue;
                }
                assert!(
                    REPLAY.iter().any(|(t, p, _)| *t == target && *p == path),
                    "{path} is not in REPLAY"
                );
            }
        }
    }
}

/// The `tokenizers` crate's panic on a broken "decoder" value is now a typed error.
#[test]
fn a_syntax_error_in_the_decoder_is_a_typed_error() {
    let (_, _, bytes) = REPLAY
        .iter()
        .find(|(_, p, _)| p.ends_with("decoder-syntax-error.json"))
        .unwrap();
    let json = std::str::from_utf8(bytes).unwrap();
    assert!(lantern_pipelines::tokenizer::Tokenizer::from_json(json, None, &[]).is_err());
}
