//! Tiny random encoders of every family, with transformers' tensor names, written as
//! safetensors files in Rust; and an f64 forward pass written from transformers' modeling
//! files (independently of `lantern_models::encoder`), the oracle of the shape and semantics
//! tests. Goldens from transformers itself are a separate check.

use std::collections::HashMap;

use safetensors::Dtype;
use safetensors::tensor::TensorView;

use super::ops::activation;
use super::values;
use lantern_models::ops::Activation;

pub const HIDDEN: usize = 32;
pub const HEADS: usize = 4;
pub const LAYERS: usize = 2;
pub const INTER: usize = 64;
pub const VOCAB: usize = 40;
pub const POSITIONS: usize = 24;
pub const LABELS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Bert,
    DistilBert,
    Roberta,
    XlmRoberta,
}

pub const FAMILIES: [Family; 4] = [
    Family::Bert,
    Family::DistilBert,
    Family::Roberta,
    Family::XlmRoberta,
];

/// A tiny model: its config.json and its tensors by name.
#[derive(Debug, Clone)]
pub struct Tiny {
    pub family: Family,
    /// The `*For*` prefix of the body's tensors, or empty.
    pub body: &'static str,
    pub config: serde_json::Value,
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl Family {
    pub fn model_type(self) -> &'static str {
        match self {
            Family::Bert => "bert",
            Family::DistilBert => "distilbert",
            Family::Roberta => "roberta",
            Family::XlmRoberta => "xlm-roberta",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Family::Bert => "bert.",
            Family::DistilBert => "distilbert.",
            Family::Roberta | Family::XlmRoberta => "roberta.",
        }
    }

    pub fn pad(self) -> u32 {
        match self {
            Family::Roberta | Family::XlmRoberta => 1,
            _ => 0,
        }
    }

    pub fn types(self) -> usize {
        match self {
            Family::Bert => 2,
            Family::DistilBert => 0,
            Family::Roberta | Family::XlmRoberta => 1,
        }
    }

    /// Positions a text may use.
    pub fn max_tokens(self) -> usize {
        match self {
            Family::Roberta | Family::XlmRoberta => POSITIONS - 2,
            _ => POSITIONS,
        }
    }
}

impl Tiny {
    /// A random model of `family`: with the `*For*` prefix when `prefixed`, with the
    /// classification head's tensors when `head`; GELU (erf) unless `act` names another.
    pub fn new(family: Family, prefixed: bool, head: bool, act: &str) -> Tiny {
        let mut config = match family {
            Family::DistilBert => serde_json::json!({
                "model_type": "distilbert", "dim": HIDDEN, "n_layers": LAYERS, "n_heads": HEADS,
                "hidden_dim": INTER, "activation": act, "vocab_size": VOCAB,
                "max_position_embeddings": POSITIONS, "sinusoidal_pos_embds": false,
                "pad_token_id": 0,
            }),
            _ => serde_json::json!({
                "model_type": family.model_type(), "hidden_size": HIDDEN,
                "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
                "intermediate_size": INTER, "hidden_act": act, "vocab_size": VOCAB,
                "max_position_embeddings": POSITIONS, "type_vocab_size": family.types(),
                "layer_norm_eps": if family == Family::Bert { 1e-12 } else { 1e-5 },
                "pad_token_id": family.pad(),
            }),
        };
        config["id2label"] = serde_json::json!({"0": "neg", "1": "neutral", "2": "pos"});
        let mut seed = 100;
        let mut tensors = Vec::new();
        let body = if prefixed { family.prefix() } else { "" };
        let mut add = |name: String, shape: Vec<usize>, scale: f32, offset: f32| {
            seed += 1;
            let n = shape.iter().product();
            let v = values(n, seed).iter().map(|x| x * scale + offset).collect();
            tensors.push((name, shape, v));
        };
        let h = HIDDEN;
        add(
            format!("{body}embeddings.word_embeddings.weight"),
            vec![VOCAB, h],
            1.0,
            0.0,
        );
        add(
            format!("{body}embeddings.position_embeddings.weight"),
            vec![POSITIONS, h],
            0.5,
            0.0,
        );
        if family.types() > 0 {
            add(
                format!("{body}embeddings.token_type_embeddings.weight"),
                vec![family.types(), h],
                0.5,
                0.0,
            );
        }
        add(
            format!("{body}embeddings.LayerNorm.weight"),
            vec![h],
            0.2,
            1.0,
        );
        add(
            format!("{body}embeddings.LayerNorm.bias"),
            vec![h],
            0.1,
            0.0,
        );
        let names = layer_names(family);
        for i in 0..LAYERS {
            let layer = if family == Family::DistilBert {
                format!("{body}transformer.layer.{i}.")
            } else {
                format!("{body}encoder.layer.{i}.")
            };
            for (part, out, inp) in [
                (names[0], h, h),
                (names[1], h, h),
                (names[2], h, h),
                (names[3], h, h),
                (names[5], INTER, h),
                (names[6], h, INTER),
            ] {
                let scale = 1.0 / (inp as f32).sqrt();
                add(format!("{layer}{part}.weight"), vec![out, inp], scale, 0.0);
                add(format!("{layer}{part}.bias"), vec![out], 0.1, 0.0);
            }
            for norm in [names[4], names[7]] {
                add(format!("{layer}{norm}.weight"), vec![h], 0.2, 1.0);
                add(format!("{layer}{norm}.bias"), vec![h], 0.1, 0.0);
            }
        }
        if family == Family::Bert {
            // BertModel checkpoints carry the pooler whether or not they classify.
            add(format!("{body}pooler.dense.weight"), vec![h, h], 0.3, 0.0);
            add(format!("{body}pooler.dense.bias"), vec![h], 0.1, 0.0);
        }
        if head {
            let (dense, out) = head_names(family);
            if family != Family::Bert {
                add(format!("{dense}.weight"), vec![h, h], 0.3, 0.0);
                add(format!("{dense}.bias"), vec![h], 0.1, 0.0);
            }
            add(format!("{out}.weight"), vec![LABELS, h], 0.5, 0.0);
            add(format!("{out}.bias"), vec![LABELS], 0.1, 0.0);
        }
        Tiny {
            family,
            body,
            config,
            tensors,
        }
    }

    pub fn config_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.config).unwrap()
    }

    /// The tensors as a safetensors file of `dtype` (F32, F16 or BF16).
    pub fn safetensors(&self, dtype: Dtype) -> Vec<u8> {
        let bytes: Vec<Vec<u8>> = self
            .tensors
            .iter()
            .map(|(_, _, v)| match dtype {
                Dtype::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                Dtype::F16 => v
                    .iter()
                    .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                    .collect(),
                Dtype::BF16 => v
                    .iter()
                    .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
                    .collect(),
                other => panic!("{other:?}"),
            })
            .collect();
        let views = self
            .tensors
            .iter()
            .zip(&bytes)
            .map(|((name, shape, _), b)| {
                (
                    name.clone(),
                    TensorView::new(dtype, shape.clone(), b).unwrap(),
                )
            });
        safetensors::serialize(views, None).unwrap()
    }

    /// The model's values as the file of `dtype` holds them (rounded to f16 / bf16).
    pub fn rounded(&self, dtype: Dtype) -> Tiny {
        let mut t = self.clone();
        for (_, _, v) in &mut t.tensors {
            for x in v.iter_mut() {
                *x = match dtype {
                    Dtype::F16 => half::f16::from_f32(*x).to_f32(),
                    Dtype::BF16 => half::bf16::from_f32(*x).to_f32(),
                    _ => *x,
                };
            }
        }
        t
    }

    /// The values of tensor `name` (exactly).
    pub fn exact(&self, name: &str) -> &[f32] {
        let t = self.tensors.iter().find(|(n, _, _)| n == name);
        &t.unwrap_or_else(|| panic!("no tensor {name}")).2
    }

    /// The values of the body's tensor `name` (after the prefix).
    fn get(&self, name: &str) -> &[f32] {
        self.exact(&format!("{}{name}", self.body))
    }

    pub fn has_head(&self) -> bool {
        self.tensors
            .iter()
            .any(|(n, _, _)| n.starts_with("classifier"))
    }

    /// Hidden states (`len x HIDDEN`) and, with a head, logits of one input, in f64, as
    /// transformers computes them.
    pub fn reference(&self, ids: &[u32], types: Option<&[u32]>) -> (Vec<f64>, Option<Vec<f64>>) {
        let f = self.family;
        let (h, n) = (HIDDEN, ids.len());
        let eps = match f {
            Family::Bert | Family::DistilBert => 1e-12,
            _ => 1e-5,
        };
        let act = match self
            .config
            .get(if f == Family::DistilBert {
                "activation"
            } else {
                "hidden_act"
            })
            .and_then(|v| v.as_str())
            .unwrap_or("gelu")
        {
            "relu" => Activation::Relu,
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            _ => Activation::Gelu,
        };
        // create_position_ids_from_input_ids for RoBERTa: padding at pad, others counted.
        let positions: Vec<usize> = match f {
            Family::Roberta | Family::XlmRoberta => {
                let pad = f.pad();
                let mut count = 0;
                ids.iter()
                    .map(|&id| {
                        if id == pad {
                            pad as usize
                        } else {
                            count += 1;
                            pad as usize + count
                        }
                    })
                    .collect()
            }
            _ => (0..n).collect(),
        };
        let word = self.get("embeddings.word_embeddings.weight");
        let pos = self.get("embeddings.position_embeddings.weight");
        let mut x: Vec<f64> = (0..n * h)
            .map(|i| {
                let (t, c) = (i / h, i % h);
                let mut v = word[ids[t] as usize * h + c] as f64 + pos[positions[t] * h + c] as f64;
                if f != Family::DistilBert {
                    let ty = types.map_or(0, |ty| ty[t]) as usize;
                    v += self.get("embeddings.token_type_embeddings.weight")[ty * h + c] as f64;
                }
                v
            })
            .collect();
        x = norm(
            &x,
            h,
            self.get("embeddings.LayerNorm.weight"),
            self.get("embeddings.LayerNorm.bias"),
            eps,
        );
        let names = layer_names(f);
        for i in 0..LAYERS {
            let l = if f == Family::DistilBert {
                format!("transformer.layer.{i}.")
            } else {
                format!("encoder.layer.{i}.")
            };
            let lin = |x: &[f64], part: &str, out: usize, inp: usize| {
                linear(
                    x,
                    self.get(&format!("{l}{part}.weight")),
                    self.get(&format!("{l}{part}.bias")),
                    out,
                    inp,
                )
            };
            let q = lin(&x, names[0], h, h);
            let k = lin(&x, names[1], h, h);
            let v = lin(&x, names[2], h, h);
            let hd = h / HEADS;
            let mut ctx = vec![0f64; n * h];
            for hh in 0..HEADS {
                for a in 0..n {
                    let s: Vec<f64> = (0..n)
                        .map(|b| {
                            (0..hd)
                                .map(|d| q[a * h + hh * hd + d] * k[b * h + hh * hd + d])
                                .sum::<f64>()
                                / (hd as f64).sqrt()
                        })
                        .collect();
                    let m = s.iter().copied().fold(f64::MIN, f64::max);
                    let z: f64 = s.iter().map(|v| (v - m).exp()).sum();
                    for d in 0..hd {
                        ctx[a * h + hh * hd + d] = (0..n)
                            .map(|b| (s[b] - m).exp() / z * v[b * h + hh * hd + d])
                            .sum();
                    }
                }
            }
            let mut a = lin(&ctx, names[3], h, h);
            a.iter_mut().zip(&x).for_each(|(a, x)| *a += x);
            let x1 = norm(
                &a,
                h,
                self.get(&format!("{l}{}.weight", names[4])),
                self.get(&format!("{l}{}.bias", names[4])),
                eps,
            );
            let mut up = lin(&x1, names[5], INTER, h);
            up.iter_mut().for_each(|u| *u = activation(act, *u));
            let mut down = lin(&up, names[6], h, INTER);
            down.iter_mut().zip(&x1).for_each(|(d, x)| *d += x);
            x = norm(
                &down,
                h,
                self.get(&format!("{l}{}.weight", names[7])),
                self.get(&format!("{l}{}.bias", names[7])),
                eps,
            );
        }
        let logits = self.has_head().then(|| {
            let (dense, out) = head_names(f);
            let dense = |part: &str| match f {
                Family::Bert => self.get(&format!("{dense}.{part}")),
                _ => self.exact(&format!("{dense}.{part}")),
            };
            let mut p = linear(&x[..h], dense("weight"), dense("bias"), h, h);
            let a = match f {
                Family::DistilBert => Activation::Relu,
                _ => Activation::Tanh,
            };
            p.iter_mut().for_each(|v| *v = activation(a, *v));
            let out = |part: &str| self.exact(&format!("{out}.{part}"));
            linear(&p, out("weight"), out("bias"), LABELS, h)
        });
        (x, logits)
    }
}

/// Per layer: query, key, value, attention output, its norm, up, down, output norm.
fn layer_names(f: Family) -> [&'static str; 8] {
    match f {
        Family::DistilBert => [
            "attention.q_lin",
            "attention.k_lin",
            "attention.v_lin",
            "attention.out_lin",
            "sa_layer_norm",
            "ffn.lin1",
            "ffn.lin2",
            "output_layer_norm",
        ],
        _ => [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "attention.output.LayerNorm",
            "intermediate.dense",
            "output.dense",
            "output.LayerNorm",
        ],
    }
}

/// The classification head's dense layer (BERT's is the pooler, in the body) and output.
fn head_names(f: Family) -> (&'static str, &'static str) {
    match f {
        Family::Bert => ("pooler.dense", "classifier"),
        Family::DistilBert => ("pre_classifier", "classifier"),
        Family::Roberta | Family::XlmRoberta => ("classifier.dense", "classifier.out_proj"),
    }
}

fn linear(x: &[f64], w: &[f32], b: &[f32], out: usize, inp: usize) -> Vec<f64> {
    x.chunks(inp)
        .flat_map(|row| {
            (0..out).map(move |o| {
                b[o] as f64
                    + row
                        .iter()
                        .zip(&w[o * inp..][..inp])
                        .map(|(&a, &w)| a * w as f64)
                        .sum::<f64>()
            })
        })
        .collect()
}

fn norm(x: &[f64], h: usize, g: &[f32], b: &[f32], eps: f64) -> Vec<f64> {
    x.chunks(h)
        .flat_map(|r| {
            let mean = r.iter().sum::<f64>() / h as f64;
            let var = r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / h as f64;
            r.iter()
                .enumerate()
                .map(move |(c, v)| (v - mean) / (var + eps).sqrt() * g[c] as f64 + b[c] as f64)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The tensors of a file as a map, for tests that edit them.
pub fn by_name(t: &Tiny) -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    t.tensors
        .iter()
        .map(|(n, s, v)| (n.clone(), (s.clone(), v.clone())))
        .collect()
}
