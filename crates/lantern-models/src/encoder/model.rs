//! The encoder: embeddings, then post-norm transformer layers (Devlin et al. 2019,
//! <https://arxiv.org/abs/1810.04805>, section 3), written once over the op layer. The
//! families differ only in their tensor names, positions, token types and heads ([`Names`]);
//! the names are transformers' (`modeling_bert.py`, `modeling_distilbert.py`,
//! `modeling_roberta.py`, `modeling_xlm_roberta.py`).

use super::config::{Architecture, Config};
use super::weights::Weights;
use super::{EncoderOptions, Head, Input};
use crate::error::{ModelError, Result};
use crate::ops::{Activation, AttendShape, Backend, Quantization};

/// An encoder on backend `B`.
#[derive(Debug)]
pub struct Model<B: Backend> {
    backend: B,
    cfg: Config,
    word: B::Matrix,
    position: B::Matrix,
    /// `None` for DistilBERT.
    token_type: Option<B::Matrix>,
    norm: Norm<B>,
    layers: Vec<Layer<B>>,
    classifier: Option<Classifier<B>>,
}

/// A post-norm transformer layer (BERT's; DETR's encoder layer is the same with positions
/// added to the queries' and keys' input, [`Layer::forward_at`]).
#[derive(Debug)]
pub(crate) struct Layer<B: Backend> {
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    pub attn_out: Linear<B>,
    pub attn_norm: Norm<B>,
    pub up: Linear<B>,
    pub down: Linear<B>,
    pub out_norm: Norm<B>,
}

/// A linear layer with its bias (the encoders' and the vision transformers').
#[derive(Debug)]
pub(crate) struct Linear<B: Backend> {
    pub w: B::Dense,
    pub b: B::Vector,
}

/// A layer norm with its epsilon.
#[derive(Debug)]
pub(crate) struct Norm<B: Backend> {
    pub gain: B::Vector,
    pub bias: B::Vector,
    pub eps: f32,
}

/// A sequence-classification head on the first token: `out(act(dense(h)))`. BERT's pooler
/// (dense + tanh) and `classifier`; DistilBERT's `pre_classifier` + ReLU and `classifier`;
/// RoBERTa's `classifier.dense` + tanh and `classifier.out_proj`.
#[derive(Debug)]
struct Classifier<B: Backend> {
    dense: Linear<B>,
    act: Activation,
    out: Linear<B>,
}

/// Tensor names of one family (after the `bert.` / `distilbert.` / `roberta.` prefix of the
/// `*For*` checkpoints, which the body's names carry and the heads' do not).
struct Names {
    arch: Architecture,
    prefix: &'static str,
}

impl Names {
    fn body(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn layer(&self, i: usize, part: Part) -> String {
        let (layer, part) = match self.arch {
            Architecture::DistilBert => (
                "transformer.layer",
                match part {
                    Part::Query => "attention.q_lin",
                    Part::Key => "attention.k_lin",
                    Part::Value => "attention.v_lin",
                    Part::AttnOut => "attention.out_lin",
                    Part::AttnNorm => "sa_layer_norm",
                    Part::Up => "ffn.lin1",
                    Part::Down => "ffn.lin2",
                    Part::OutNorm => "output_layer_norm",
                },
            ),
            Architecture::Bert | Architecture::Roberta | Architecture::XlmRoberta => (
                "encoder.layer",
                match part {
                    Part::Query => "attention.self.query",
                    Part::Key => "attention.self.key",
                    Part::Value => "attention.self.value",
                    Part::AttnOut => "attention.output.dense",
                    Part::AttnNorm => "attention.output.LayerNorm",
                    Part::Up => "intermediate.dense",
                    Part::Down => "output.dense",
                    Part::OutNorm => "output.LayerNorm",
                },
            ),
        };
        self.body(&format!("{layer}.{i}.{part}"))
    }

    /// The classification head's two linear layers and activation.
    fn classifier(&self) -> (String, Activation, String) {
        match self.arch {
            Architecture::Bert => (
                self.body("pooler.dense"),
                Activation::Tanh,
                "classifier".into(),
            ),
            Architecture::DistilBert => (
                "pre_classifier".into(),
                Activation::Relu,
                "classifier".into(),
            ),
            Architecture::Roberta | Architecture::XlmRoberta => (
                "classifier.dense".into(),
                Activation::Tanh,
                "classifier.out_proj".into(),
            ),
        }
    }
}

#[derive(Clone, Copy)]
enum Part {
    Query,
    Key,
    Value,
    AttnOut,
    AttnNorm,
    Up,
    Down,
    OutNorm,
}

/// Reads the file's tensors into the backend's weights, one at a time (each is widened to f32,
/// handed to the backend, and freed before the next).
pub(crate) struct Loader<'a, 'b, B: Backend> {
    pub backend: &'b B,
    pub w: Weights<'a>,
    pub quantization: Quantization,
}

impl<B: Backend> Loader<'_, '_, B> {
    fn table(&self, name: &str, rows: usize, cols: usize) -> Result<B::Matrix> {
        let data = self.w.f32(&[name], &[rows, cols])?;
        self.backend.table(name, data, rows, cols)
    }

    pub fn vector(&self, names: &[&str], len: usize) -> Result<B::Vector> {
        self.backend.vector_f32(self.w.f32(names, &[len])?)
    }

    pub fn linear(&self, prefix: &str, out: usize, inp: usize) -> Result<Linear<B>> {
        let name = format!("{prefix}.weight");
        let w = self.w.f32(&[&name], &[out, inp])?;
        Ok(Linear {
            w: self.backend.dense(&name, w, out, inp, self.quantization)?,
            b: self.vector(&[&format!("{prefix}.bias")], out)?,
        })
    }

    pub fn norm(&self, prefix: &str, len: usize, eps: f64) -> Result<Norm<B>> {
        // Old TensorFlow-converted checkpoints name the parameters gamma and beta.
        Ok(Norm {
            gain: self.vector(
                &[&format!("{prefix}.weight"), &format!("{prefix}.gamma")],
                len,
            )?,
            bias: self.vector(&[&format!("{prefix}.bias"), &format!("{prefix}.beta")], len)?,
            eps: eps as f32,
        })
    }
}

/// A padded batch: `lens[i]` real rows of item `i`, each item `n` rows.
struct Padded {
    n: usize,
    lens: Vec<usize>,
}

/// What a forward pass leaves to read back.
pub(super) enum Pending<T> {
    /// Nothing to compute (every input empty): this many empty results.
    Empty(usize),
    /// `rows[i]` rows of `cols` values for input `i`, stacked in `t`.
    Rows { t: T, rows: Vec<usize>, cols: usize },
}

impl<T> Pending<T> {
    pub fn tensor(&self) -> Option<&T> {
        match self {
            Pending::Empty(_) => None,
            Pending::Rows { t, .. } => Some(t),
        }
    }

    /// One vector per input from the read-back `data`.
    pub fn split(&self, data: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        match self {
            Pending::Empty(n) => Ok(vec![Vec::new(); *n]),
            Pending::Rows { rows, cols, .. } => {
                let total: usize = rows.iter().sum::<usize>() * cols;
                if data.len() != total {
                    return Err(ModelError::shape(
                        "read",
                        format!("{} values for {total}", data.len()),
                    ));
                }
                let mut at = 0;
                Ok(rows
                    .iter()
                    .map(|&r| {
                        let v = data[at..at + r * cols].to_vec();
                        at += r * cols;
                        v
                    })
                    .collect())
            }
        }
    }
}

impl<B: Backend> Model<B> {
    /// Loads the encoder from a safetensors file's bytes (f32, f16 or bf16; widened to f32 on
    /// load), with transformers' tensor names, with or without the family's prefix.
    pub fn load(
        backend: B,
        cfg: &Config,
        safetensors: &[u8],
        options: EncoderOptions,
    ) -> Result<Self> {
        let prefix = match cfg.architecture {
            Architecture::Bert => "bert.",
            Architecture::DistilBert => "distilbert.",
            Architecture::Roberta | Architecture::XlmRoberta => "roberta.",
        };
        let w = Weights::parse(safetensors, prefix, "embeddings.word_embeddings.weight")?;
        let names = Names {
            arch: cfg.architecture,
            prefix: w.prefix,
        };
        let l = Loader {
            backend: &backend,
            w,
            quantization: options.quantization,
        };
        let (h, inter, eps) = (cfg.hidden_size, cfg.intermediate_size, cfg.layer_norm_eps);
        let word = l.table(
            &names.body("embeddings.word_embeddings.weight"),
            cfg.vocab_size,
            h,
        )?;
        let position = l.table(
            &names.body("embeddings.position_embeddings.weight"),
            cfg.max_position_embeddings,
            h,
        )?;
        let token_type = match cfg.type_vocab_size {
            0 => None,
            types => Some(l.table(
                &names.body("embeddings.token_type_embeddings.weight"),
                types,
                h,
            )?),
        };
        let norm = l.norm(&names.body("embeddings.LayerNorm"), h, eps)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = |part| names.layer(i, part);
            layers.push(Layer {
                query: l.linear(&p(Part::Query), h, h)?,
                key: l.linear(&p(Part::Key), h, h)?,
                value: l.linear(&p(Part::Value), h, h)?,
                attn_out: l.linear(&p(Part::AttnOut), h, h)?,
                attn_norm: l.norm(&p(Part::AttnNorm), h, eps)?,
                up: l.linear(&p(Part::Up), inter, h)?,
                down: l.linear(&p(Part::Down), h, inter)?,
                out_norm: l.norm(&p(Part::OutNorm), h, eps)?,
            });
        }
        let classifier = match options.head {
            Head::None => None,
            Head::SequenceClassification => {
                let (dense, act, out) = names.classifier();
                Some(Classifier {
                    dense: l.linear(&dense, h, h)?,
                    act,
                    out: l.linear(&out, cfg.num_labels(), h)?,
                })
            }
        };
        drop(l);
        Ok(Model {
            backend,
            cfg: cfg.clone(),
            word,
            position,
            token_type,
            norm,
            layers,
            classifier,
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn head(&self) -> Head {
        match self.classifier {
            Some(_) => Head::SequenceClassification,
            None => Head::None,
        }
    }

    /// The padded ids, positions and token types of `batch`, checked.
    fn inputs(&self, batch: &[Input<'_>], n: usize) -> Result<(Vec<u32>, Vec<u32>, Vec<u32>)> {
        let cfg = &self.cfg;
        let (pad, offset) = (cfg.pad_token_id, cfg.position_offset());
        let mut ids = Vec::with_capacity(batch.len() * n);
        let mut positions = Vec::with_capacity(batch.len() * n);
        let mut types = Vec::with_capacity(batch.len() * n);
        for input in batch {
            if let Some(&id) = input.ids.iter().find(|&&id| id as usize >= cfg.vocab_size) {
                return Err(ModelError::TokenOutOfRange {
                    id,
                    vocab: cfg.vocab_size,
                });
            }
            ids.extend_from_slice(input.ids);
            ids.extend(std::iter::repeat_n(pad, n - input.ids.len()));
            match cfg.architecture {
                // transformers' create_position_ids_from_input_ids: padding tokens sit at
                // `pad`, every other token at pad + 1 + (tokens before it that are not
                // padding). Fits u32: at most max_position_embeddings (checked by the caller).
                Architecture::Roberta | Architecture::XlmRoberta => {
                    let mut next = offset as u32;
                    for &id in input.ids {
                        if id == pad {
                            positions.push(pad);
                        } else {
                            positions.push(next);
                            next += 1;
                        }
                    }
                    positions.extend(std::iter::repeat_n(pad, n - input.ids.len()));
                }
                Architecture::Bert | Architecture::DistilBert => positions.extend(0..n as u32),
            }
            match (input.type_ids, cfg.type_vocab_size) {
                (None, _) => types.extend(std::iter::repeat_n(0, n)),
                (Some(_), 0) => {
                    return Err(ModelError::InvalidInput {
                        what: "type_ids",
                        detail: format!("{} has no token types", cfg.architecture.model_type()),
                    });
                }
                (Some(t), vocab) => {
                    if t.len() != input.ids.len() {
                        return Err(ModelError::InvalidInput {
                            what: "type_ids",
                            detail: format!("{} type ids for {} tokens", t.len(), input.ids.len()),
                        });
                    }
                    if let Some(&bad) = t.iter().find(|&&t| t as usize >= vocab) {
                        return Err(ModelError::InvalidInput {
                            what: "type_ids",
                            detail: format!("token type {bad} of {vocab}"),
                        });
                    }
                    types.extend_from_slice(t);
                    types.extend(std::iter::repeat_n(0, n - t.len()));
                }
            }
        }
        Ok((ids, positions, types))
    }

    /// The last hidden state of the padded batch, `[batch * n, hidden]`, or `None` when every
    /// input is empty.
    fn forward(&self, batch: &[Input<'_>]) -> Result<Option<(B::Tensor, Padded)>> {
        let lens: Vec<usize> = batch.iter().map(|i| i.ids.len()).collect();
        let n = lens.iter().copied().max().unwrap_or(0);
        if n == 0 {
            return Ok(None);
        }
        let cfg = &self.cfg;
        if n > cfg.max_tokens() {
            return Err(ModelError::ContextOverflow {
                requested: n,
                max: cfg.max_tokens(),
            });
        }
        let be = &self.backend;
        let (ids, positions, types) = self.inputs(batch, n)?;
        let mut x = be.embedding(&self.word, &ids)?;
        be.add_assign(&mut x, &be.embedding(&self.position, &positions)?)?;
        if let Some(table) = &self.token_type {
            be.add_assign(&mut x, &be.embedding(table, &types)?)?;
        }
        let mut x = self.norm.apply(be, &x)?;
        let shape = AttendShape {
            heads: cfg.num_attention_heads,
            head_dim: cfg.head_dim(),
            q_len: n,
            kv_len: n,
            scale: 1.0 / (cfg.head_dim() as f32).sqrt(),
            kv_valid: &lens,
            q_valid: Some(&lens),
        };
        for layer in &self.layers {
            x = layer.forward(be, &x, &shape, cfg.hidden_act)?;
        }
        Ok(Some((x, Padded { n, lens })))
    }

    /// The real rows of every input's last hidden state, not yet read back.
    pub(super) fn hidden_pending(&self, batch: &[Input<'_>]) -> Result<Pending<B::Tensor>> {
        let Some((x, p)) = self.forward(batch)? else {
            return Ok(Pending::Empty(batch.len()));
        };
        let t = if p.lens.iter().all(|&l| l == p.n) {
            x
        } else {
            let rows: Vec<usize> = p
                .lens
                .iter()
                .enumerate()
                .flat_map(|(i, &len)| i * p.n..i * p.n + len)
                .collect();
            self.backend.gather_rows(&x, &rows)?
        };
        Ok(Pending::Rows {
            t,
            rows: p.lens,
            cols: self.cfg.hidden_size,
        })
    }

    /// The classification logits of every input, not yet read back.
    pub(super) fn logits_pending(&self, batch: &[Input<'_>]) -> Result<Pending<B::Tensor>> {
        let Some(head) = &self.classifier else {
            return Err(ModelError::InvalidInput {
                what: "classify",
                detail: "the encoder was loaded without a classification head".into(),
            });
        };
        if batch.iter().any(|i| i.ids.is_empty()) {
            return Err(ModelError::InvalidInput {
                what: "classify",
                detail: "an empty input has no first token to classify".into(),
            });
        }
        let Some((x, p)) = self.forward(batch)? else {
            return Ok(Pending::Empty(batch.len()));
        };
        let be = &self.backend;
        let first: Vec<usize> = (0..p.lens.len()).map(|i| i * p.n).collect();
        let cls = be.gather_rows(&x, &first)?;
        drop(x);
        let mut h = head.dense.apply(be, &cls)?;
        be.activate(&mut h, head.act)?;
        let logits = head.out.apply(be, &h)?;
        Ok(Pending::Rows {
            t: logits,
            rows: vec![1; p.lens.len()],
            cols: self.cfg.num_labels(),
        })
    }
}

impl<B: Backend> Layer<B> {
    fn forward(
        &self,
        be: &B,
        x: &B::Tensor,
        shape: &AttendShape<'_>,
        act: Activation,
    ) -> Result<B::Tensor> {
        self.forward_at(be, x, None, None, shape, act)
    }

    /// The layer with `positions` (as `x`) added to the input of the queries and keys, not of
    /// the values (DETR's encoder, Carion et al. 2020, <https://arxiv.org/abs/2005.12872>), and
    /// only rows `kv_rows` of `x` as keys and values where given (the real positions of a
    /// padded image; `shape.kv_len` is then their count).
    pub(crate) fn forward_at(
        &self,
        be: &B,
        x: &B::Tensor,
        positions: Option<&B::Tensor>,
        kv_rows: Option<&[usize]>,
        shape: &AttendShape<'_>,
        act: Activation,
    ) -> Result<B::Tensor> {
        let (q, k) = match positions {
            None => (self.query.apply(be, x)?, self.key.apply(be, x)?),
            Some(p) => {
                // A copy of x (the op layer has no other), the positions added to it.
                let all: Vec<usize> = (0..shape.batch() * shape.q_len).collect();
                let mut with = be.gather_rows(x, &all)?;
                be.add_assign(&mut with, p)?;
                (self.query.apply(be, &with)?, self.key.apply(be, &with)?)
            }
        };
        let v = self.value.apply(be, x)?;
        let (k, v) = match kv_rows {
            None => (k, v),
            Some(rows) => (be.gather_rows(&k, rows)?, be.gather_rows(&v, rows)?),
        };
        let ctx = be.attend(&q, &k, &v, shape)?;
        drop((q, k, v));
        let mut attn = self.attn_out.apply(be, &ctx)?;
        be.add_assign(&mut attn, x)?;
        let x = self.attn_norm.apply(be, &attn)?;
        let mut up = self.up.apply(be, &x)?;
        be.activate(&mut up, act)?;
        let mut out = self.down.apply(be, &up)?;
        be.add_assign(&mut out, &x)?;
        self.out_norm.apply(be, &out)
    }
}

impl<B: Backend> Linear<B> {
    pub(crate) fn apply(&self, be: &B, x: &B::Tensor) -> Result<B::Tensor> {
        be.linear(x, &self.w, Some(&self.b))
    }
}

impl<B: Backend> Norm<B> {
    pub(crate) fn apply(&self, be: &B, x: &B::Tensor) -> Result<B::Tensor> {
        be.layer_norm(x, &self.gain, &self.bias, self.eps)
    }
}
