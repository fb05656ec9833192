//! The real Whisper tiny.en (`lantern-fixtures/whisper-tiny.en`, converted from the CTranslate2
//! file of FIXTURES.md by `scripts/fixtures.sh`) on beckett.wav, against
//! `tests/data/whisper_tiny_en_beckett.golden.json` (`scripts/reference/whisper_model.py
//! --real`): transformers in float64 for the encoder output and the first step's logits, and
//! CTranslate2's greedy tokens. The input is transformers' own features of the file
//! (`tests/data/beckett.mel.bin`), so only the model is compared.

use std::path::PathBuf;

use lantern_models::ops::argmax;
use lantern_models::whisper::{Config, SpeechModel};
use serde_json::Value;

pub const REPO: &str = "lantern-fixtures/whisper-tiny.en";
const GOLDEN: &str = include_str!("../data/whisper_tiny_en_beckett.golden.json");
const MEL: &[u8] = include_bytes!("../data/beckett.mel.bin");

/// The fixture's folder (`LANTERN_FIXTURES` overrides the mirror folder).
pub fn dir() -> PathBuf {
    let root = match std::env::var_os("LANTERN_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/mirror"),
    };
    let dir = root.join(REPO);
    assert!(
        dir.join("model.safetensors").is_file(),
        "{} is missing: run scripts/fixtures.sh",
        dir.display()
    );
    dir
}

/// config.json and model.safetensors of the fixture.
pub fn files() -> (Config, Vec<u8>) {
    let d = dir();
    let cfg = Config::from_json(&std::fs::read(d.join("config.json")).unwrap()).unwrap();
    (cfg, std::fs::read(d.join("model.safetensors")).unwrap())
}

fn golden() -> Value {
    serde_json::from_str(GOLDEN).unwrap()
}

/// The 80 x 3000 input features, the padding frames rebuilt from their one value.
pub fn mel() -> Vec<f32> {
    let g = golden();
    let f = &g["features"];
    let (stored, frames, bins) = (
        f["stored_frames"].as_u64().unwrap() as usize,
        f["frames"].as_u64().unwrap() as usize,
        f["mel_bins"].as_u64().unwrap() as usize,
    );
    let pad = f["padding_value"].as_f64().unwrap() as f32;
    assert_eq!(MEL.len(), bins * stored * 4);
    let values: Vec<f32> = MEL
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut mel = vec![pad; bins * frames];
    for (band, row) in values.chunks_exact(stored).enumerate() {
        mel[band * frames..band * frames + stored].copy_from_slice(row);
    }
    mel
}

/// What one backend gives against the goldens.
#[derive(Debug)]
pub struct Measured {
    /// Largest difference of the four golden encoder rows.
    pub encoder: f32,
    /// Largest difference of the first step's golden logits (top 20 and fixed ids).
    pub logits: f32,
    /// Greedy tokens from <|startoftranscript|><|notimestamps|> to <|endoftext|>.
    pub tokens: Vec<u32>,
    pub expected_tokens: Vec<u32>,
    /// The encoder output and the first step's logits, for comparing backends.
    pub encoder_output: Vec<f32>,
    pub first_logits: Vec<f32>,
}

/// Encodes beckett.wav's features, checks the golden rows, and decodes greedily.
pub async fn run(model: &dyn SpeechModel) -> Measured {
    let g = golden();
    let cfg = model.config();
    let d = cfg.d_model;
    let memory = model.encode(&mel(), cfg.n_frames()).unwrap();
    let enc = model.encoder_output_async(&memory).await.unwrap();
    let mut encoder = 0f32;
    for (row, want) in g["encoder_rows"].as_object().unwrap() {
        let r: usize = row.parse().unwrap();
        for (i, w) in want.as_array().unwrap().iter().enumerate() {
            encoder = encoder.max((enc[r * d + i] - w.as_f64().unwrap() as f32).abs());
        }
    }
    let first = &g["first_step"];
    let prompt: Vec<u32> = first["prompt"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let mut state = model.start(&memory).unwrap();
    let mut logits = model.step_async(&mut state, &prompt).await.unwrap();
    let first_logits = logits.clone();
    let mut worst = 0f32;
    let mut check = |id: usize, want: &Value| {
        worst = worst.max((logits[id] - want.as_f64().unwrap() as f32).abs());
    };
    for pair in first["top20"].as_array().unwrap() {
        check(pair[0].as_u64().unwrap() as usize, &pair[1]);
    }
    for (id, want) in first["at"].as_object().unwrap() {
        check(id.parse().unwrap(), want);
    }
    let mut tokens = Vec::new();
    while state.len() < cfg.max_target_positions {
        let next = argmax(&logits);
        if next == cfg.eos_token_id {
            break;
        }
        tokens.push(next);
        logits = model.step_async(&mut state, &[next]).await.unwrap();
    }
    let expected_tokens = g["greedy"]["ctranslate2_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    Measured {
        encoder,
        logits: worst,
        tokens,
        expected_tokens,
        encoder_output: enc,
        first_logits,
    }
}

/// The tolerances of the goldens (for an f32 implementation).
pub fn tolerance() -> (f32, f32) {
    let g = golden();
    let t = &g["tolerance"];
    (
        t["encoder_abs"].as_f64().unwrap() as f32,
        t["logits_abs"].as_f64().unwrap() as f32,
    )
}
