//! The embedding pipeline in headless Chromium, in a dedicated worker as Lantern runs it: the
//! real all-MiniLM-L6-v2 files are downloaded from `lantern mirror` (URL passed at compile time
//! as `LANTERN_TEST_MIRROR` by scripts/test.sh) into OPFS through lantern-hub, loaded from
//! there, and the golden sentences embedded.
//!
//! Native vs wasm: both builds are held to the same float64 reference per component —
//! native within `NATIVE_MAX_ABS` (tests/embeddings.rs), wasm within
//! `1e-5 - NATIVE_MAX_ABS` here — so by the triangle inequality they agree within 1e-5 per
//! component without either having to produce a file for the other.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::option_env_unwrap)]

use lantern_hub::{CancelToken, HubClient, OpfsCache, RepoRef};
use lantern_pipelines::embeddings::{
    Embedder, EmbedderFiles, EmbedderOptions, Quantization, RecipeFiles, rank,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const GOLDEN: &str = include_str!("data/all-MiniLM-L6-v2.golden.json");
/// Keep equal to the bound of the same name in tests/embeddings.rs.
const NATIVE_MAX_ABS: f32 = 2e-6;
const WASM_MAX_ABS: f32 = 1e-5 - NATIVE_MAX_ABS;

fn mirror() -> &'static str {
    option_env!("LANTERN_TEST_MIRROR")
        .expect("LANTERN_TEST_MIRROR is not set: run the browser tests through scripts/test.sh")
}

/// Downloads (or finds in OPFS) the fixture model and loads it. Also used by the benchmark.
pub async fn load(quantization: Quantization) -> Embedder {
    let repo: RepoRef = "lantern-fixtures/all-MiniLM-L6-v2".parse().unwrap();
    let client = HubClient::builder().endpoint(mirror()).build().unwrap();
    let names = [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "modules.json",
        "1_Pooling/config.json",
        "sentence_bert_config.json",
    ];
    let model = client.pin(&repo, &names).await.unwrap();
    let cache = OpfsCache::default();
    let files = client
        .download(&model, &cache, &mut |_| {}, &CancelToken::new())
        .await
        .unwrap();
    let mut bytes: Vec<Vec<u8>> = Vec::new();
    for name in names {
        let i = model
            .files
            .iter()
            .position(|f| f.path.as_str() == name)
            .unwrap();
        let mut b = Vec::new();
        files[i].read_into(&mut b).await.unwrap();
        bytes.push(b);
    }
    Embedder::load(
        &EmbedderFiles {
            config_json: &bytes[0],
            tokenizer_json: &bytes[1],
            safetensors: &bytes[2],
            recipe: RecipeFiles {
                modules_json: Some(&bytes[3]),
                pooling_config: Some(&bytes[4]),
                sentence_bert_config: Some(&bytes[5]),
            },
        },
        &EmbedderOptions {
            quantization,
            ..EmbedderOptions::default()
        },
    )
    .unwrap()
}

fn golden() -> serde_json::Value {
    serde_json::from_str(GOLDEN).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[wasm_bindgen_test]
async fn wasm_matches_reference_per_component() {
    assert!(candle_core::utils::with_simd128(), "built without simd128");
    let g = golden();
    let sentences = g["sentences"].as_array().unwrap();
    let texts: Vec<&str> = sentences
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let e = load(Quantization::None).await;
    let ours = e.embed(&texts).unwrap();
    let mut worst = 0f32;
    for (i, (v, s)) in ours.iter().zip(sentences).enumerate() {
        assert_eq!(
            e.tokenize(texts[i]).unwrap().len(),
            s["ids"].as_array().unwrap().len(),
            "{:?}",
            texts[i]
        );
        for (a, b) in v.iter().zip(floats(&s["mean"])) {
            worst = worst.max((a - b).abs());
        }
    }
    console_log!("wasm f32: max component difference from the reference {worst:e}");
    assert!(worst <= WASM_MAX_ABS, "max component difference {worst}");

    // Semantic search ranks as the reference does.
    let corpus: Vec<&str> = g["corpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| texts[i.as_u64().unwrap() as usize])
        .collect();
    let docs = e.embed(&corpus).unwrap();
    for s in g["search"].as_array().unwrap() {
        let q = e.embed(&[s["query"].as_str().unwrap()]).unwrap().remove(0);
        let got: Vec<u64> = rank(&q, &docs, usize::MAX)
            .unwrap()
            .iter()
            .map(|h| g["corpus"][h.index].as_u64().unwrap())
            .collect();
        let want: Vec<u64> = s["ranking"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(got, want);
    }
}

#[wasm_bindgen_test]
async fn wasm_q8_0_within_tolerance() {
    let g = golden();
    let sentences = g["sentences"].as_array().unwrap();
    let texts: Vec<&str> = sentences
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let e = load(Quantization::Q8_0).await;
    for (v, s) in e.embed(&texts).unwrap().iter().zip(sentences) {
        let want = floats(&s["mean"]);
        let dot: f32 = v.iter().zip(&want).map(|(a, b)| a * b).sum();
        assert!(dot >= 0.995, "{dot}");
    }
}
