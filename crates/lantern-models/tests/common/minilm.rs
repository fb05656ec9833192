//! The real all-MiniLM-L6-v2 (BERT, f32 safetensors) for the GPU-against-CPU encoder tests,
//! natively from the fixture folder and in the browser from `lantern mirror`: token ids of
//! real sentences (from the embeddings goldens, tokenized by transformers' Python tokenizer),
//! and the file with a random classification head added, so the classification path runs on
//! real hidden states too.

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::values;

pub const REPO: &str = "lantern-fixtures/all-MiniLM-L6-v2";
pub const LABELS: usize = 3;

/// Token ids of the golden sentences, in the goldens' order.
pub fn sentences() -> Vec<Vec<u32>> {
    let golden: serde_json::Value = serde_json::from_str(include_str!(
        "../../../lantern-pipelines/tests/data/all-MiniLM-L6-v2.golden.json"
    ))
    .unwrap();
    golden["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as u32)
                .collect()
        })
        .collect()
}

/// `config.json` with `LABELS` labels.
pub fn classifier_config(config: &[u8]) -> Vec<u8> {
    let mut c: serde_json::Value = serde_json::from_slice(config).unwrap();
    c["id2label"] = serde_json::json!({"0": "a", "1": "b", "2": "c"});
    serde_json::to_vec(&c).unwrap()
}

/// The file plus a random `classifier` (`[LABELS, 384]`) on its pooler.
pub fn with_classifier(file: &[u8]) -> Vec<u8> {
    let st = SafeTensors::deserialize(file).unwrap();
    let w: Vec<u8> = values(LABELS * 384, 77)
        .iter()
        .flat_map(|v| (v * 0.2).to_le_bytes())
        .collect();
    let b: Vec<u8> = values(LABELS, 78)
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut views: Vec<(String, TensorView)> = st
        .iter()
        .map(|(n, t)| {
            (
                n.to_owned(),
                TensorView::new(t.dtype(), t.shape().to_vec(), t.data()).unwrap(),
            )
        })
        .collect();
    views.push((
        "classifier.weight".into(),
        TensorView::new(Dtype::F32, vec![LABELS, 384], &w).unwrap(),
    ));
    views.push((
        "classifier.bias".into(),
        TensorView::new(Dtype::F32, vec![LABELS], &b).unwrap(),
    ));
    safetensors::serialize(views, None).unwrap()
}

/// Mean of the rows of one text's hidden states, L2-normalised (the sentence embedding).
pub fn pooled(hidden: &[f32], dim: usize) -> Vec<f64> {
    let rows = hidden.len() / dim.max(1);
    let mut v = vec![0f64; dim];
    for r in hidden.chunks(dim) {
        v.iter_mut().zip(r).for_each(|(a, &b)| *a += b as f64);
    }
    // The mean's 1 / rows cancels in the normalisation.
    let _ = rows;
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-30);
    v.iter().map(|x| x / n).collect()
}

pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (n(a) * n(b)).max(1e-300)
}
