//! The tiny text-to-text models of tests/fixtures/text2text (Marian, T5 v1.0, Flan-T5, BART;
//! made by scripts/reference/text2text.py with transformers) against transformers' forward
//! passes (`tests/data/text2text.golden.json`), and the checks every backend runs against them
//! (natively and in headless Chromium, on the CPU and on the GPU). The models (about 1 MB for
//! the four) and the goldens are compiled in.

use lantern_models::ModelError;
use lantern_models::ops::Backend;
use lantern_models::seq2seq::{AnyState, Config, Seq2SeqModel, load_seq2seq, load_seq2seq_on};
use serde_json::Value;

use super::max_diff;

pub const GOLDEN: &str = include_str!("../data/text2text.golden.json");

/// How far a backend may be from transformers (absolute, on encoder outputs and logits): the
/// goldens' tolerance. Measured natively on the CPU: see `tests/seq2seq/models.rs`' log.
pub const TOL: f32 = 1e-4;

pub const MODELS: [&str; 4] = [
    "tiny-marian-en-de",
    "tiny-t5",
    "tiny-flan-t5",
    "tiny-bart-cnn",
];

/// A file of a tiny model, compiled in.
pub fn fixture(model: &str, file: &str) -> &'static [u8] {
    macro_rules! files {
        ($($model:literal),*) => {
            match (model, file) {
                $(
                    ($model, "config.json") => include_bytes!(concat!(
                        "../../../../tests/fixtures/text2text/", $model, "/config.json")),
                    ($model, "model.safetensors") => include_bytes!(concat!(
                        "../../../../tests/fixtures/text2text/", $model, "/model.safetensors")),
                )*
                _ => panic!("no fixture {model}/{file}"),
            }
        };
    }
    files!(
        "tiny-marian-en-de",
        "tiny-t5",
        "tiny-flan-t5",
        "tiny-bart-cnn"
    )
}

/// One forward pass of the goldens.
#[derive(Clone)]
pub struct Case {
    pub input_ids: Vec<u32>,
    pub decoder_input_ids: Vec<u32>,
    /// `[len(input_ids) * d_model]`.
    pub encoder_hidden: Vec<f32>,
    /// One row per decoder position.
    pub logits: Vec<Vec<f32>>,
}

/// One model of the goldens.
#[derive(Clone)]
pub struct Tiny {
    pub name: &'static str,
    pub config_json: &'static [u8],
    pub cfg: Config,
    pub file: &'static [u8],
    pub cases: Vec<Case>,
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// The models of the goldens.
pub fn models() -> Vec<Tiny> {
    let g: Value = serde_json::from_str(GOLDEN).unwrap();
    MODELS
        .iter()
        .map(|&name| {
            let m = &g["models"][name];
            let config_json = fixture(name, "config.json");
            let cfg = Config::from_json(config_json).unwrap();
            assert_eq!(m["vocab_size"], cfg.vocab_size, "{name}");
            let cases = m["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| Case {
                    input_ids: ids(&c["input_ids"]),
                    decoder_input_ids: ids(&c["decoder_input_ids"]),
                    encoder_hidden: c["encoder_hidden"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(floats)
                        .collect(),
                    logits: c["logits"].as_array().unwrap().iter().map(floats).collect(),
                })
                .collect();
            Tiny {
                name,
                config_json,
                cfg,
                file: fixture(name, "model.safetensors"),
                cases,
            }
        })
        .collect()
}

/// Runs a model through every case of the goldens: the encoder; the decoder one token at a
/// time (every position's logits); the whole prefix at once (the last position's); two tokens,
/// then a fork continued one token at a time while the original goes on with the rest at
/// once; the original cut back to two tokens and continued again. Returns the largest
/// differences (encoder output, logits) from transformers.
pub async fn against_goldens(model: &dyn Seq2SeqModel, t: &Tiny) -> (f32, f32) {
    let mut enc_diff = 0f32;
    let mut worst = 0f32;
    for case in &t.cases {
        let memory = model.encode(&case.input_ids).unwrap();
        let enc = model.encoder_output_async(&memory).await.unwrap();
        enc_diff = enc_diff.max(max_diff(&enc, &case.encoder_hidden));
        let (ids, want) = (&case.decoder_input_ids, &case.logits);
        let n = ids.len();
        assert!(
            n >= 4,
            "{}: the cases have at least four decoder positions",
            t.name
        );
        let mut step = async |state: &mut AnyState, tokens: &[u32], want: &[f32]| {
            let got = model.step_async(state, tokens).await.unwrap();
            assert_eq!(got.len(), model.config().vocab_size);
            worst = worst.max(max_diff(&got, want));
        };
        // One at a time.
        let mut s = model.start(&memory).unwrap();
        for i in 0..n {
            step(&mut s, &ids[i..=i], &want[i]).await;
        }
        assert_eq!(s.len(), n);
        // The whole prefix at once.
        let mut whole = model.start(&memory).unwrap();
        step(&mut whole, ids, &want[n - 1]).await;
        // A fork after two tokens goes on as the original does.
        let mut a = model.start(&memory).unwrap();
        step(&mut a, &ids[..2], &want[1]).await;
        let mut fork = model.fork(&a).unwrap();
        for i in 2..n {
            step(&mut fork, &ids[i..=i], &want[i]).await;
        }
        step(&mut a, &ids[2..], &want[n - 1]).await;
        assert_eq!((a.len(), fork.len()), (n, n));
        // Cut back and continued.
        a.truncate(2);
        step(&mut a, &ids[2..3], &want[2]).await;
        worst = worst.max(beams_against_goldens(model, t, case, &memory).await);
    }
    (enc_diff, worst)
}

/// Three beams forked after two tokens, stepped twice as one batch ([`Seq2SeqModel::step_beams`]):
/// beam 0 goes on with the case's tokens (against transformers), beams 1 and 2 with other
/// tokens, each against the same beam stepped alone (so a batch that mixed up its rows or
/// caches would show). Returns the largest difference from transformers.
async fn beams_against_goldens(
    model: &dyn Seq2SeqModel,
    t: &Tiny,
    case: &Case,
    memory: &lantern_models::seq2seq::AnyMemory,
) -> f32 {
    let ids = &case.decoder_input_ids;
    let vocab = t.cfg.vocab_size as u32;
    let mut root = model.start(memory).unwrap();
    model.step_async(&mut root, &ids[..2]).await.unwrap();
    let mut beams: Vec<AnyState> = (0..3).map(|_| model.fork(&root).unwrap()).collect();
    let mut alone: Vec<AnyState> = (0..3).map(|_| model.fork(&root).unwrap()).collect();
    let mut worst = 0f32;
    for (round, i) in [2usize, 3].into_iter().enumerate() {
        let tokens = [
            ids[i],
            (7 + round as u32) % vocab,
            (11 + 3 * round as u32) % vocab,
        ];
        let got = model.step_beams_async(&mut beams, &tokens).await.unwrap();
        assert_eq!(got.len(), 3, "{}", t.name);
        worst = worst.max(max_diff(&got[0], &case.logits[i]));
        for (b, state) in alone.iter_mut().enumerate() {
            let want = model.step_async(state, &tokens[b..=b]).await.unwrap();
            let d = max_diff(&got[b], &want);
            assert!(
                d <= TOL / 10.0,
                "{}: beam {b} of a batch vs alone: {d:.2e}",
                t.name
            );
        }
        assert_eq!(got.iter().map(Vec::len).min(), Some(vocab as usize));
    }
    assert!(beams.iter().all(|s| s.len() == 4), "{}", t.name);
    worst
}

/// The encoder output and the logits of every position of every case, one token at a time.
async fn outputs(model: &dyn Seq2SeqModel, t: &Tiny) -> Vec<(Vec<f32>, Vec<Vec<f32>>)> {
    let mut out = Vec::new();
    for case in &t.cases {
        let memory = model.encode(&case.input_ids).unwrap();
        let enc = model.encoder_output_async(&memory).await.unwrap();
        let mut s = model.start(&memory).unwrap();
        let mut logits = Vec::new();
        for &id in &case.decoder_input_ids {
            logits.push(model.step_async(&mut s, &[id]).await.unwrap());
        }
        out.push((enc, logits));
    }
    out
}

/// Every tiny model on another backend: against transformers' goldens within `tol`, and
/// against the CPU backend. A state of the CPU model is refused by the other. Returns the
/// largest difference from transformers of each model.
pub async fn on_backend<B: Backend>(backend: impl Fn() -> B, tol: f32) -> Vec<(&'static str, f32)> {
    let mut measured = Vec::new();
    for t in models() {
        let other = load_seq2seq_on(backend(), &t.cfg, t.file).unwrap();
        let (enc, logits) = against_goldens(&*other, &t).await;
        let cpu = load_seq2seq(&t.cfg, t.file).unwrap();
        let (c, o) = (outputs(&*cpu, &t).await, outputs(&*other, &t).await);
        let mut vs_cpu = 0f32;
        for ((ce, cl), (oe, ol)) in c.iter().zip(&o) {
            vs_cpu = vs_cpu.max(max_diff(ce, oe));
            for (a, b) in cl.iter().zip(ol) {
                vs_cpu = vs_cpu.max(max_diff(a, b));
            }
        }
        crate::log(&format!(
            "measured {} on {}: against transformers encoder output {enc:.2e}, logits \
             {logits:.2e} (tolerance {tol:.0e}); against the CPU {vs_cpu:.2e}",
            t.name,
            other.backend_name(),
        ));
        assert!(enc <= tol && logits <= tol, "{}", t.name);
        assert!(vs_cpu <= tol, "{}", t.name);
        let memory = cpu.encode(&t.cases[0].input_ids).unwrap();
        let mut state = cpu.start(&memory).unwrap();
        let foreign = |e: ModelError| matches!(e, ModelError::InvalidInput { .. });
        assert!(foreign(other.start(&memory).unwrap_err()));
        assert!(foreign(other.fork(&state).unwrap_err()));
        assert!(foreign(
            other.step_async(&mut state, &[0]).await.unwrap_err()
        ));
        measured.push((t.name, enc.max(logits)));
    }
    measured
}
