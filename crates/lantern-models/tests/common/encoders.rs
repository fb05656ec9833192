//! An encoder on another backend (the GPU) against the same encoder on the CPU: tiny random
//! models of every family, and the real all-MiniLM-L6-v2 (hidden states of real sentences,
//! and logits of a random classification head on its pooler). Run natively on lavapipe
//! (`tests/gpu.rs`) and in headless Chromium on SwiftShader (`tests/web_gpu.rs`).

use lantern_models::encoder::{
    Config, Encoder, EncoderOptions, Head, Input, load_encoder, load_encoder_on,
};
use lantern_models::ops::Backend;
use safetensors::Dtype;

use super::minilm::{self, cosine, pooled};
use super::tiny::{FAMILIES, Tiny};

/// How far the other backend may be from the CPU.
#[derive(Debug, Clone, Copy)]
pub struct EncTol {
    /// Largest difference of one hidden-state value (they reach about 10 in magnitude).
    pub hidden: f32,
    /// 1 - cosine of the mean-pooled sentence vectors.
    pub pooled: f64,
    /// Largest difference of one logit.
    pub logits: f32,
}

impl EncTol {
    /// f32 arithmetic in another order than the CPU's, through 6 layers. Measured on
    /// lavapipe: MiniLM 3.4e-6 / 1.0e-12 / 9.5e-7, tiny models 9.5e-7 / 1.6e-14 / 7.2e-7; on
    /// SwiftShader: MiniLM 4.6e-6 / 1.6e-12 / 8.3e-7.
    pub const F32: EncTol = EncTol {
        hidden: 5e-5,
        pooled: 1e-10,
        logits: 2e-5,
    };
    /// f16 weights and products (11-bit mantissas) against f32. Measured on lavapipe: MiniLM
    /// 4.0e-3 / 1.1e-6 / 3.7e-4, tiny models 8.6e-4 / 6.8e-8 / 3.9e-3.
    pub const F16: EncTol = EncTol {
        hidden: 3e-2,
        pooled: 2e-5,
        logits: 2e-2,
    };
}

fn classifier() -> EncoderOptions {
    EncoderOptions {
        head: Head::SequenceClassification,
        ..EncoderOptions::default()
    }
}

/// The largest differences (hidden value, 1 - pooled cosine, logit) over `batch`.
async fn compare(cpu: &dyn Encoder, other: &dyn Encoder, batch: &[Input<'_>]) -> (f32, f64, f32) {
    let dim = cpu.config().hidden_size;
    let c = cpu.hidden_states_async(batch).await.unwrap();
    let o = other.hidden_states_async(batch).await.unwrap();
    let (mut hidden, mut pool) = (0f32, 0f64);
    for (c, o) in c.iter().zip(&o) {
        assert_eq!(c.len(), o.len());
        hidden = hidden.max(super::max_diff(c, o));
        if !c.is_empty() {
            pool = pool.max(1.0 - cosine(&pooled(c, dim), &pooled(o, dim)));
        }
    }
    let c = cpu.classify_async(batch).await.unwrap();
    let o = other.classify_async(batch).await.unwrap();
    let logits = c
        .iter()
        .zip(&o)
        .map(|(c, o)| super::max_diff(c, o))
        .fold(0f32, f32::max);
    (hidden, pool, logits)
}

fn assert_within(what: &str, (hidden, pool, logits): (f32, f64, f32), tol: &EncTol) {
    crate::log(&format!(
        "measured {what}: max |hidden diff| {hidden:.2e} (tolerance {:.0e}), 1 - pooled cosine \
         {pool:.2e} ({:.0e}), max |logit diff| {logits:.2e} ({:.0e})",
        tol.hidden, tol.pooled, tol.logits
    ));
    assert!(
        hidden <= tol.hidden && pool <= tol.pooled && logits <= tol.logits,
        "{what}"
    );
}

/// Every family's tiny model, a padded batch.
pub async fn tiny_models<B: Backend>(backend: impl Fn() -> B, tol: &EncTol) {
    for f in FAMILIES {
        let t = Tiny::new(f, true, true, "gelu");
        let cfg = Config::from_json(&t.config_json()).unwrap();
        let file = t.safetensors(Dtype::F32);
        let cpu = load_encoder(&cfg, &file, classifier()).unwrap();
        let other = load_encoder_on(backend(), &cfg, &file, classifier()).unwrap();
        let ids: [&[u32]; 4] = [
            &[2, 5, 7, 9, 3],
            &[2, 11, 3],
            &[2, 8, 1, 9, 30, 31, 32, 3],
            &[4],
        ];
        let batch: Vec<Input> = ids.iter().map(|&i| i.into()).collect();
        let d = compare(&*cpu, &*other, &batch).await;
        assert_within(
            &format!("{f:?} tiny model on {}", other.backend_name()),
            d,
            tol,
        );
    }
}

/// all-MiniLM-L6-v2 (`config`, `file`: its config.json and model.safetensors): the short
/// golden sentences as one padded batch, the long one alone.
pub async fn minilm<B: Backend>(backend: B, config: &[u8], file: &[u8], tol: &EncTol) {
    let cfg = Config::from_json(&minilm::classifier_config(config)).unwrap();
    let file = minilm::with_classifier(file);
    let cpu = load_encoder(&cfg, &file, classifier()).unwrap();
    let other = load_encoder_on(backend, &cfg, &file, classifier()).unwrap();
    let ids = minilm::sentences();
    let (short, long): (Vec<&Vec<u32>>, Vec<&Vec<u32>>) = ids.iter().partition(|i| i.len() <= 64);
    let short: Vec<Input> = short.iter().map(|i| i.as_slice().into()).collect();
    let d = compare(&*cpu, &*other, &short).await;
    let name = other.backend_name();
    assert_within(
        &format!("MiniLM, {} short sentences on {name}", short.len()),
        d,
        tol,
    );
    for l in long {
        let d = compare(&*cpu, &*other, &[l.as_slice().into()]).await;
        assert_within(
            &format!("MiniLM, a {}-token text on {name}", l.len()),
            d,
            tol,
        );
    }
}
