//! Tiny Whisper models whose weights are a function of their names, as
//! `scripts/reference/whisper_model.py` makes them, written as safetensors files in Rust; the
//! transformers goldens that script wrote for them (`tests/data/whisper_tiny.golden.json`); and
//! the checks every backend runs against those goldens (natively and in headless Chromium, on
//! the CPU and on the GPU).

use half::f16;
use lantern_models::ops::Backend;
use lantern_models::whisper::{AnyState, Config, SpeechModel, load_whisper, load_whisper_on};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use serde_json::Value;

use super::values;

pub const GOLDEN: &str = include_str!("../data/whisper_tiny.golden.json");

/// How far a backend may be from transformers (absolute, on encoder outputs and logits).
#[derive(Debug, Clone, Copy)]
pub struct WhisperTol {
    pub encoder: f32,
    pub logits: f32,
}

impl WhisperTol {
    /// f32 arithmetic in another order than PyTorch's. Measured natively: CPU encoder 1.0e-6,
    /// logits 2.4e-6; lavapipe 1.2e-6 / 2.4e-6.
    pub const F32: WhisperTol = WhisperTol {
        encoder: 1e-4,
        logits: 1e-4,
    };
    /// A GPU multiplying in f16 (weights and products rounded to 11-bit mantissas). Measured
    /// on lavapipe: encoder 2.0e-3, logits 7.0e-3.
    pub const F16: WhisperTol = WhisperTol {
        encoder: 2e-2,
        logits: 2e-2,
    };
}

/// FNV-1a, 64 bits: the seed of a tensor's values is its name's.
pub fn fnv1a64(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// A tensor's values by the script's rules (f32 arithmetic, as numpy's float32).
pub fn weight(name: &str, shape: &[usize]) -> Vec<f32> {
    let v = values(shape.iter().product(), fnv1a64(name));
    let scale = |s: f32| v.iter().map(|&x| x * s).collect();
    if name.ends_with("layer_norm.weight") {
        v.iter().map(|&x| 1.0 + 0.25 * x).collect()
    } else if name.ends_with(".bias") {
        scale(0.1)
    } else if name.ends_with("embed_tokens.weight")
        || name == "proj_out.weight"
        || name.ends_with("embed_positions.weight")
    {
        scale(0.5)
    } else if name.contains(".conv") {
        scale((1.0 / ((shape[1] * shape[2]) as f64).sqrt()) as f32)
    } else {
        scale((1.0 / (shape[1] as f64).sqrt()) as f32)
    }
}

/// One model of the goldens.
#[derive(Clone)]
pub struct Tiny {
    pub name: String,
    pub config_json: Vec<u8>,
    pub cfg: Config,
    pub f16: bool,
    /// (name, shape, sum of the values) of every tensor transformers saves.
    pub tensors: Vec<(String, Vec<usize>, f64)>,
    /// Tensors the file leaves out.
    pub omit: Vec<String>,
    /// `[max_source_positions * d_model]`.
    pub encoder_output: Vec<f32>,
    /// Per sequence: its ids and the logits of every position.
    pub a: (Vec<u32>, Vec<Vec<f32>>),
    pub b: (Vec<u32>, Vec<Vec<f32>>),
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn rows(v: &Value) -> Vec<Vec<f32>> {
    v.as_array().unwrap().iter().map(floats).collect()
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
    let seq = &g["sequences"];
    g["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let config_json = serde_json::to_vec(&m["config"]).unwrap();
            let logits = &m["logits"];
            Tiny {
                name: m["name"].as_str().unwrap().to_owned(),
                cfg: Config::from_json(&config_json).unwrap(),
                config_json,
                f16: m["dtype"] == "f16",
                tensors: m["tensors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| {
                        let shape = t[1]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|d| d.as_u64().unwrap() as usize)
                            .collect();
                        (
                            t[0].as_str().unwrap().to_owned(),
                            shape,
                            t[2].as_f64().unwrap(),
                        )
                    })
                    .collect(),
                omit: m["omit"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect(),
                encoder_output: rows(&m["encoder_output"]).concat(),
                a: (ids(&seq["a"]), rows(&logits["a"])),
                b: (ids(&seq["b"]), rows(&logits["b"])),
            }
        })
        .collect()
}

impl Tiny {
    /// The input features, `[num_mel_bins, n_frames]`.
    pub fn mel(&self) -> Vec<f32> {
        values(
            self.cfg.num_mel_bins * self.cfg.n_frames(),
            fnv1a64("input_features"),
        )
    }

    /// The tensors of the file: (name, shape, values as the file holds them).
    pub fn file_tensors(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        self.tensors
            .iter()
            .filter(|(n, _, _)| !self.omit.contains(n))
            .map(|(n, s, _)| {
                let mut v = weight(n, s);
                if self.f16 {
                    v.iter_mut().for_each(|x| *x = f16::from_f32(*x).to_f32());
                }
                (n.clone(), s.clone(), v)
            })
            .collect()
    }

    /// The safetensors file, with `rename` applied to every name.
    pub fn safetensors_with(&self, rename: impl Fn(&str) -> String) -> Vec<u8> {
        let tensors = self.file_tensors();
        let bytes: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, _, v)| {
                if self.f16 {
                    v.iter()
                        .flat_map(|&x| f16::from_f32(x).to_le_bytes())
                        .collect()
                } else {
                    v.iter().flat_map(|x| x.to_le_bytes()).collect()
                }
            })
            .collect();
        let dtype = if self.f16 { Dtype::F16 } else { Dtype::F32 };
        let views = tensors
            .iter()
            .zip(&bytes)
            .map(|((n, s, _), b)| (rename(n), TensorView::new(dtype, s.clone(), b).unwrap()));
        safetensors::serialize(views, None).unwrap()
    }

    /// The file as transformers' `save_pretrained` writes it.
    pub fn safetensors(&self) -> Vec<u8> {
        self.safetensors_with(str::to_owned)
    }
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    super::max_diff(a, b)
}

/// Runs a model through the goldens' sequences: the encoder; sequence a's first three tokens
/// at once, then one at a time; a fork after four tokens continued with sequence b's; the
/// original cut back to four tokens and continued with b's too; b's six tokens at once from a
/// fresh state. Returns the largest differences (encoder output, logits) from transformers.
pub async fn against_goldens(model: &dyn SpeechModel, t: &Tiny) -> (f32, f32) {
    let cfg = model.config();
    let memory = model.encode(&t.mel(), cfg.n_frames()).unwrap();
    let enc = model.encoder_output_async(&memory).await.unwrap();
    let enc_diff = max_diff(&enc, &t.encoder_output);
    let (a, la) = (&t.a.0, &t.a.1);
    let (b, lb) = (&t.b.0, &t.b.1);
    assert_eq!(a[..4], b[..4], "the sequences share a prefix of four");
    let mut worst = 0f32;
    let mut step = async |state: &mut AnyState, tokens: &[u32], want: &[f32]| {
        let got = model.step_async(state, tokens).await.unwrap();
        worst = worst.max(max_diff(&got, want));
        got
    };
    let mut s = model.start(&memory).unwrap();
    step(&mut s, &a[..3], &la[2]).await;
    step(&mut s, &a[3..4], &la[3]).await;
    assert_eq!(s.len(), 4);
    let mut fork = model.fork(&s).unwrap();
    for i in 4..a.len() {
        step(&mut s, &a[i..=i], &la[i]).await;
    }
    for i in 4..b.len() {
        step(&mut fork, &b[i..=i], &lb[i]).await;
    }
    assert_eq!((s.len(), fork.len()), (a.len(), b.len()));
    s.truncate(4);
    for i in 4..b.len() {
        step(&mut s, &b[i..=i], &lb[i]).await;
    }
    let mut fresh = model.start(&memory).unwrap();
    step(&mut fresh, b, &lb[b.len() - 1]).await;
    (enc_diff, worst)
}

/// The encoder output and the logits of every position of sequence a, one token at a time.
async fn outputs(model: &dyn SpeechModel, t: &Tiny) -> (Vec<f32>, Vec<Vec<f32>>) {
    let memory = model.encode(&t.mel(), model.config().n_frames()).unwrap();
    let enc = model.encoder_output_async(&memory).await.unwrap();
    let mut s = model.start(&memory).unwrap();
    let mut logits = Vec::new();
    for &id in &t.a.0 {
        logits.push(model.step_async(&mut s, &[id]).await.unwrap());
    }
    (enc, logits)
}

/// Every tiny model on another backend: against transformers' goldens within `tol`, and
/// against the CPU backend (logged: the CPU is within 3e-6 of the goldens, so this is the
/// same bound). A state of the CPU model is refused by the other.
pub async fn on_backend<B: Backend>(backend: impl Fn() -> B, tol: &WhisperTol) {
    for t in models() {
        let other = load_whisper_on(backend(), &t.cfg, &t.safetensors()).unwrap();
        let (enc, logits) = against_goldens(&*other, &t).await;
        let cpu = load_whisper(&t.cfg, &t.safetensors()).unwrap();
        let (c, o) = (outputs(&*cpu, &t).await, outputs(&*other, &t).await);
        let vs_cpu = (
            max_diff(&c.0, &o.0),
            c.1.iter()
                .zip(&o.1)
                .map(|(a, b)| max_diff(a, b))
                .fold(0f32, f32::max),
        );
        crate::log(&format!(
            "measured {} on {}: against transformers encoder output {enc:.2e} (tolerance \
             {:.0e}), logits {logits:.2e} ({:.0e}); against the CPU {:.2e} / {:.2e}",
            t.name,
            other.backend_name(),
            tol.encoder,
            tol.logits,
            vs_cpu.0,
            vs_cpu.1
        ));
        assert!(enc <= tol.encoder && logits <= tol.logits, "{}", t.name);
        assert!(
            vs_cpu.0 <= tol.encoder && vs_cpu.1 <= tol.logits,
            "{}",
            t.name
        );
        let memory = cpu.encode(&t.mel(), t.cfg.n_frames()).unwrap();
        let mut state = cpu.start(&memory).unwrap();
        let foreign = |e: lantern_models::ModelError| {
            matches!(e, lantern_models::ModelError::InvalidInput { .. })
        };
        assert!(foreign(other.start(&memory).unwrap_err()));
        assert!(foreign(other.fork(&state).unwrap_err()));
        assert!(foreign(
            other.step_async(&mut state, &[1]).await.unwrap_err()
        ));
    }
}
