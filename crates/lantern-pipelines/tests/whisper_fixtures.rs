//! The Whisper fixtures against their goldens, before any model code: the converted repo has the
//! Hub's layout (safetensors names, dtypes and shapes from `config.json`), and the `tokenizers`
//! crate reading its `tokenizer.json` turns the CTranslate2 goldens' tokens into their texts and
//! the special and timestamp tokens into the ids the goldens use.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tokenizers::Tokenizer;

fn mirror() -> PathBuf {
    match std::env::var_os("LANTERN_FIXTURES_MIRROR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/mirror"),
    }
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/fixtures.sh makes it)", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn golden(name: &str) -> Value {
    json(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/{name}.golden.json")))
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| u32::try_from(t.as_u64().unwrap()).unwrap())
        .collect()
}

/// The safetensors header: name → (dtype, shape).
fn safetensors_header(path: &Path) -> BTreeMap<String, (String, Vec<u64>)> {
    let bytes = std::fs::read(path).unwrap();
    let n = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().unwrap())).unwrap();
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(k, v)| {
            let shape = v["shape"].as_array().unwrap();
            let shape = shape.iter().map(|d| d.as_u64().unwrap()).collect();
            (k.clone(), (v["dtype"].as_str().unwrap().to_owned(), shape))
        })
        .collect()
}

fn check(name: &str, dir: &Path) {
    let config = json(&dir.join("config.json"));
    let generation = json(&dir.join("generation_config.json"));
    let g = golden(name);
    let n = |v: &Value| v.as_u64().unwrap();
    let (d, layers, ffn, vocab) = (
        n(&config["d_model"]),
        n(&config["encoder_layers"]),
        n(&config["encoder_ffn_dim"]),
        n(&config["vocab_size"]),
    );

    // Weights: HF names, f16, the shapes config.json implies, no k bias, no proj_out.
    let header = safetensors_header(&dir.join("model.safetensors"));
    assert_eq!(header.len() as u64, 7 + 15 * layers + 4 + 24 * layers);
    assert!(header.values().all(|(dtype, _)| dtype == "F16"));
    let shape = |k: &str| header.get(k).unwrap_or_else(|| panic!("no {k}")).1.clone();
    assert_eq!(shape("model.encoder.conv1.weight"), [d, 80, 3]);
    assert_eq!(shape("model.encoder.conv2.weight"), [d, d, 3]);
    assert_eq!(shape("model.encoder.embed_positions.weight"), [1500, d]);
    assert_eq!(shape("model.decoder.embed_positions.weight"), [448, d]);
    assert_eq!(shape("model.decoder.embed_tokens.weight"), [vocab, d]);
    let last = layers - 1;
    assert_eq!(
        shape(&format!(
            "model.decoder.layers.{last}.encoder_attn.k_proj.weight"
        )),
        [d, d]
    );
    assert_eq!(
        shape(&format!("model.encoder.layers.{last}.fc1.weight")),
        [ffn, d]
    );
    assert!(!header.contains_key("model.encoder.layers.0.self_attn.k_proj.bias"));
    assert!(!header.contains_key("proj_out.weight"));

    // Tokenizer: special and timestamp ids, and the goldens' tokens decode to their texts.
    let tok = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    assert_eq!(tok.get_vocab_size(true) as u64, vocab);
    let no_ts = u32::try_from(n(&generation["no_timestamps_token_id"])).unwrap();
    let sot = u32::try_from(n(&generation["decoder_start_token_id"])).unwrap();
    let eot = u32::try_from(n(&generation["eos_token_id"])).unwrap();
    assert_eq!(tok.token_to_id("<|0.00|>"), Some(no_ts + 1));
    assert_eq!(tok.token_to_id("<|30.00|>"), Some(no_ts + 1 + 1500));
    assert_eq!(tok.token_to_id("<|endoftext|>"), Some(eot));
    let enc = tok
        .encode("<|startoftranscript|><|notimestamps|> Hello<|1.20|>", false)
        .unwrap();
    assert_eq!(enc.get_ids()[..2], [sot, no_ts]);
    assert_eq!(*enc.get_ids().last().unwrap(), no_ts + 1 + 60);

    // faster-whisper decodes the text tokens only (ids below <|endoftext|>).
    let decode = |tokens: &[u32]| {
        let text: Vec<u32> = tokens.iter().copied().filter(|&t| t < eot).collect();
        tok.decode(&text, false).unwrap()
    };
    let ct2 = &g["ctranslate2"];
    for run in [
        "greedy",
        "greedy_timestamps",
        "beam4",
        "long_form_greedy",
        "long_form_default",
    ] {
        let segments = ct2[run]["segments"].as_array().unwrap();
        assert!(!segments.is_empty(), "{name} {run}");
        for s in segments {
            assert_eq!(decode(&ids(&s["tokens"])), s["text"], "{name} {run}");
        }
    }
    assert_eq!(
        decode(&ids(&ct2["greedy"]["tokens"])),
        ct2["greedy"]["text"]
    );
    assert_eq!(
        ids(&g["transformers"]["greedy_tokens_float32"]),
        ids(&ct2["greedy"]["tokens"])
    );
}

#[test]
fn whisper_tiny_en_fixture_matches_its_goldens() {
    check(
        "whisper-tiny.en",
        &mirror().join("lantern-fixtures/whisper-tiny.en"),
    );
}

/// Opt-in fixture: skipped unless `LANTERN_FIXTURES_LARGE=1 scripts/fixtures.sh` made it.
#[test]
fn whisper_base_fixture_matches_its_goldens() {
    let dir = mirror().join("lantern-fixtures/whisper-base");
    if !dir.is_dir() {
        eprintln!("skipped: lantern-fixtures/whisper-base is opt-in (LANTERN_FIXTURES_LARGE=1)");
        return;
    }
    check("whisper-base", &dir);
}
