//! The three families as one encoder-decoder with switches where their arithmetic differs
//! (transformers' `modeling_marian.py`, `modeling_bart.py`, `modeling_t5.py`):
//!
//! | | Marian | BART | T5 |
//! |---|---|---|---|
//! | token embedding | × sqrt(d_model) (`scale_embedding`) | × 1 (or sqrt(d_model)) | × 1 |
//! | positions | sinusoids, sin half then cos half | learned, position + 2 | relative buckets: a bias on the scores |
//! | embedding norm | none | `layernorm_embedding` | none |
//! | blocks | post-norm (`x = norm(x + f(x))`) | post-norm | pre-norm (`x += f(norm(x))`), RMS norms |
//! | scores scaled by | `head_dim^-0.5` | `head_dim^-0.5` | 1 |
//! | feed-forward | `fc2(swish(fc1 x))` | `fc2(gelu(fc1 x))` | `wo(relu(wi x))`; v1.1 `wo(gelu_new(wi_0 x) * wi_1 x)` |
//! | after the stack | nothing | nothing | `final_layer_norm` |
//! | head | tied + `final_logits_bias` | tied + `final_logits_bias` | tied × d_model^-0.5, or `lm_head` |
//!
//! The keys and values of every cross-attention are computed once per input
//! ([`Seq2Seq::encode`]) and shared by every decoder state of that input.

use super::config::{Config, Family, RelativeAttention};
use crate::bytes::ModelBytes;
use crate::encoder_decoder::source::{Gguf, Linear, Safetensors, Source, Weight};
use crate::encoder_decoder::{DecoderState, Memory, ModelId};
use crate::error::{ModelError, Result};
use crate::ops::{Activation, AttendShape, AttentionShape, Backend};

/// BART's learned positions start at row 2 (fairseq kept rows 0 and 1 for padding).
const BART_POSITION_OFFSET: usize = 2;

/// A Marian, BART or T5 model on backend `B`.
#[derive(Debug)]
pub struct Seq2Seq<B: Backend> {
    backend: B,
    cfg: Config,
    /// Tags the inputs it encodes.
    id: ModelId,
    w: Weights<B>,
}

/// The weights of a model, read from its file.
#[derive(Debug)]
struct Weights<B: Backend> {
    /// `[vocab, d_model]` as the file stores it (f16 or f32): the lookup table of both stacks
    /// and, tied, the output projection, so the largest matrix is held once.
    embed: B::Matrix,
    /// The output projection.
    head: Head<B>,
    /// `final_logits_bias` (Marian, BART), added to the logits.
    logits_bias: Option<B::Vector>,
    encoder: Stack<B, EncoderLayer<B>>,
    decoder: Stack<B, DecoderLayer<B>>,
}

/// The output projection (`[vocab, d_model]`).
#[derive(Debug)]
enum Head<B: Backend> {
    /// The lookup table itself (tied).
    Table,
    /// `lm_head` (untied) as the file stores it.
    Matrix(B::Matrix),
    /// f32 values as a dense weight, where the backend multiplies a head faster so
    /// ([`Backend::output_table_as_dense`]); tied, a second copy of the table's values.
    Dense(B::Dense),
}

/// What is around one stack's layers.
#[derive(Debug)]
struct Stack<B: Backend, L> {
    positions: Positions<B>,
    /// BART's `layernorm_embedding`.
    embed_norm: Option<Norm<B>>,
    layers: Vec<L>,
    /// T5's `final_layer_norm`.
    final_norm: Option<Norm<B>>,
}

#[derive(Debug)]
enum Positions<B: Backend> {
    /// A `[rows, d_model]` table added to the embeddings, looked up at position + `offset`
    /// (Marian's sinusoids, 0; BART's learned positions, 2).
    Table { table: B::Matrix, offset: usize },
    /// T5: the bias of every relative position's bucket for every head, `[num_buckets, heads]`
    /// (the first layer's `relative_attention_bias`, which every layer of the stack uses),
    /// kept on the host, where each pass's `[heads * n, kv]` bias is made.
    Relative {
        table: Vec<f32>,
        buckets: RelativeAttention,
        bidirectional: bool,
    },
}

#[derive(Debug)]
enum Norm<B: Backend> {
    Layer {
        gain: B::Vector,
        bias: B::Vector,
    },
    /// T5's `T5LayerNorm`: no mean, no bias.
    Rms {
        gain: B::Vector,
    },
}

/// Multi-head attention and the norm of its block.
#[derive(Debug)]
struct Attention<B: Backend> {
    norm: Norm<B>,
    q: Linear<B>,
    k: Linear<B>,
    v: Linear<B>,
    out: Linear<B>,
}

#[derive(Debug)]
struct FeedForward<B: Backend> {
    norm: Norm<B>,
    /// `fc1`, `wi`, or v1.1's `wi_0` (the activated half).
    up: Linear<B>,
    /// v1.1's `wi_1`, multiplying the activated half.
    gate: Option<Linear<B>>,
    /// `fc2`, `wo`.
    down: Linear<B>,
}

#[derive(Debug)]
struct EncoderLayer<B: Backend> {
    attn: Attention<B>,
    ffn: FeedForward<B>,
}

#[derive(Debug)]
struct DecoderLayer<B: Backend> {
    attn: Attention<B>,
    cross: Attention<B>,
    ffn: FeedForward<B>,
}

/// Marian's sinusoidal positions (`MarianSinusoidalPositionalEmbedding._init_weight`): row
/// `pos` is `[sin(pos / 10000^(2i/d)) for i < d/2 | cos(same)]`, computed in f64 as numpy does
/// and rounded to f32. `d` is even ([`Config::from_json`] checks).
fn sinusoids(rows: usize, d: usize) -> Vec<f32> {
    let half = d / 2;
    let mut out = Vec::with_capacity(rows * d);
    for pos in 0..rows {
        let angles: Vec<f64> = (0..half)
            .map(|i| pos as f64 / 10000f64.powf((2 * i) as f64 / d as f64))
            .collect();
        out.extend(angles.iter().map(|a| a.sin() as f32));
        out.extend(angles.iter().map(|a| a.cos() as f32));
    }
    out
}

/// T5's bucket of relative position `rel` (key position minus query position), as
/// `T5Attention._relative_position_bucket` computes it: exact buckets for the nearest
/// positions, logarithmic ones up to `max_distance` (the arithmetic in f32, as PyTorch's, so
/// that the bucket boundaries fall where they do there); the encoder's buckets are split
/// between the two directions, the decoder's see only the past.
fn bucket(rel: i64, bidirectional: bool, b: RelativeAttention) -> usize {
    let mut num_buckets = b.num_buckets as i64;
    let mut base = 0;
    let distance = if bidirectional {
        num_buckets /= 2;
        if rel > 0 {
            base = num_buckets;
        }
        rel.abs()
    } else {
        (-rel).max(0)
    };
    let max_exact = num_buckets / 2;
    if distance < max_exact {
        return (base + distance) as usize;
    }
    let log_ratio = (distance as f32 / max_exact as f32).ln();
    let log_range = (b.max_distance as f64 / max_exact as f64).ln() as f32;
    // `as` saturates (a NaN is 0): no input can make it panic.
    let large = max_exact + (log_ratio / log_range * (num_buckets - max_exact) as f32) as i64;
    (base + large.min(num_buckets - 1)) as usize
}

impl<B: Backend> Positions<B> {
    /// T5's position bias of query positions `queries` over keys `0..keys`, `[heads *
    /// queries.len(), keys]` (row `h * n + i`: head `h`, query `i`), the same for every layer.
    fn bias(
        &self,
        be: &B,
        heads: usize,
        queries: std::ops::Range<usize>,
        keys: usize,
    ) -> Result<Option<B::Tensor>> {
        let Positions::Relative {
            table,
            buckets,
            bidirectional,
        } = self
        else {
            return Ok(None);
        };
        let n = queries.len();
        // The buckets of one query row, then each head's biases of them.
        let mut data = vec![0f32; heads * n * keys];
        for (i, q) in queries.enumerate() {
            for j in 0..keys {
                let b = bucket(j as i64 - q as i64, *bidirectional, *buckets);
                let row = table.get(b * heads..(b + 1) * heads).ok_or_else(|| {
                    ModelError::shape("relative position bias", "bucket outside the table")
                })?;
                for (h, &v) in row.iter().enumerate() {
                    data[(h * n + i) * keys + j] = v;
                }
            }
        }
        be.tensor(data, heads * n, keys).map(Some)
    }

    /// Adds the embedding of position `positions[i]` to row `i` of `x` (nothing for T5).
    fn add(&self, be: &B, x: &mut B::Tensor, positions: &[usize]) -> Result<()> {
        if let Positions::Table { table, offset } = self {
            let rows: Vec<u32> = positions.iter().map(|p| (p + offset) as u32).collect();
            be.add_assign(x, &be.embedding(table, &rows)?)?;
        }
        Ok(())
    }
}

impl<B: Backend> Norm<B> {
    fn apply(&self, be: &B, x: &B::Tensor, eps: f32) -> Result<B::Tensor> {
        match self {
            Norm::Layer { gain, bias } => be.layer_norm(x, gain, bias, eps),
            Norm::Rms { gain } => be.rms_norm(x, gain, eps),
        }
    }
}

impl<B: Backend> FeedForward<B> {
    fn apply(&self, be: &B, x: &B::Tensor, act: Activation) -> Result<B::Tensor> {
        let mut h = self.up.apply(be, x)?;
        be.activate(&mut h, act)?;
        if let Some(gate) = &self.gate {
            be.mul_assign(&mut h, &gate.apply(be, x)?)?;
        }
        self.down.apply(be, &h)
    }
}

/// Reads a file's tensors into the backend's weights, one at a time, under each family's
/// names.
struct Loader<'a, B: Backend, S: Source<B>> {
    be: &'a B,
    src: S,
    cfg: &'a Config,
}

impl<B: Backend, S: Source<B>> Loader<'_, B, S> {
    /// A body tensor's name (under `model.` for Marian's and BART's heads' files).
    fn name(&self, name: &str) -> String {
        format!("{}{name}", Source::<B>::prefix(&self.src))
    }

    fn vector(&self, name: &str, len: usize) -> Result<B::Vector> {
        self.src.vector(self.be, name, len)
    }

    fn linear(&self, prefix: &str, out: usize, inp: usize) -> Result<Linear<B>> {
        // T5's linear layers have no biases; Marian's and BART's all have.
        let bias = self.cfg.family != Family::T5;
        self.src.linear(self.be, prefix, out, inp, bias)
    }

    fn norm(&self, prefix: &str) -> Result<Norm<B>> {
        let d = self.cfg.d_model;
        let gain = self.vector(&format!("{prefix}.weight"), d)?;
        Ok(match self.cfg.family {
            Family::T5 => Norm::Rms { gain },
            _ => Norm::Layer {
                gain,
                bias: self.vector(&format!("{prefix}.bias"), d)?,
            },
        })
    }

    /// The first of `names` the file has (the tied tables are saved under one of them).
    fn first_of<'n>(&self, names: &[&'n str]) -> &'n str {
        let src = &self.src;
        names
            .iter()
            .copied()
            .find(|n| src.contains(n))
            .or(names.first().copied())
            .unwrap_or("")
    }

    /// Attention `prefix` (whose projections are `q_proj`... or T5's `q`...), with the norm
    /// `norm` of its block.
    fn attention(&self, prefix: &str, norm: &str) -> Result<Attention<B>> {
        let (d, inner) = (self.cfg.d_model, self.cfg.inner_dim());
        let names: [&str; 4] = match self.cfg.family {
            Family::T5 => ["q", "k", "v", "o"],
            _ => ["q_proj", "k_proj", "v_proj", "out_proj"],
        };
        Ok(Attention {
            norm: self.norm(norm)?,
            q: self.linear(&format!("{prefix}.{}", names[0]), inner, d)?,
            k: self.linear(&format!("{prefix}.{}", names[1]), inner, d)?,
            v: self.linear(&format!("{prefix}.{}", names[2]), inner, d)?,
            out: self.linear(&format!("{prefix}.{}", names[3]), d, inner)?,
        })
    }

    /// Marian's and BART's feed-forward layer of layer `p`.
    fn fc(&self, p: &str, ffn: usize) -> Result<FeedForward<B>> {
        let d = self.cfg.d_model;
        Ok(FeedForward {
            norm: self.norm(&format!("{p}.final_layer_norm"))?,
            up: self.linear(&format!("{p}.fc1"), ffn, d)?,
            gate: None,
            down: self.linear(&format!("{p}.fc2"), d, ffn)?,
        })
    }

    /// T5's `T5LayerFF` at `p` (`...layer.N`).
    fn dense(&self, p: &str) -> Result<FeedForward<B>> {
        let (d, ffn) = (self.cfg.d_model, self.cfg.encoder_ffn_dim);
        let (up, gate) = if self.cfg.gated_ffn {
            (
                self.linear(&format!("{p}.DenseReluDense.wi_0"), ffn, d)?,
                Some(self.linear(&format!("{p}.DenseReluDense.wi_1"), ffn, d)?),
            )
        } else {
            (
                self.linear(&format!("{p}.DenseReluDense.wi"), ffn, d)?,
                None,
            )
        };
        Ok(FeedForward {
            norm: self.norm(&format!("{p}.layer_norm"))?,
            up,
            gate,
            down: self.linear(&format!("{p}.DenseReluDense.wo"), d, ffn)?,
        })
    }

    /// One stack's positions: `stack` is `encoder` or `decoder`.
    fn positions(&self, stack: &str) -> Result<Positions<B>> {
        let cfg = self.cfg;
        let d = cfg.d_model;
        Ok(match (cfg.family, cfg.relative_attention) {
            (Family::T5, Some(buckets)) => {
                let name =
                    format!("{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
                Positions::Relative {
                    table: Source::<B>::host(&self.src, &name, &[buckets.num_buckets, cfg.heads])?,
                    buckets,
                    bidirectional: stack == "encoder",
                }
            }
            (Family::Bart, _) => {
                let rows = cfg.max_positions() + BART_POSITION_OFFSET;
                let name = self.name(&format!("{stack}.embed_positions.weight"));
                let data = Source::<B>::host(&self.src, &name, &[rows, d])?;
                Positions::Table {
                    table: self.be.table(&name, data, rows, d)?,
                    offset: BART_POSITION_OFFSET,
                }
            }
            // Marian's are not in the file (transformers computes them at load); T5 without
            // buckets cannot come out of `Config::from_json`.
            _ => {
                let rows = cfg.max_positions();
                Positions::Table {
                    table: self.be.table(
                        &format!("{stack}.embed_positions"),
                        sinusoids(rows, d),
                        rows,
                        d,
                    )?,
                    offset: 0,
                }
            }
        })
    }

    fn stack<L>(&self, stack: &str, layers: Vec<L>) -> Result<Stack<B, L>> {
        let family = self.cfg.family;
        Ok(Stack {
            positions: self.positions(stack)?,
            embed_norm: match family {
                Family::Bart => {
                    Some(self.norm(&self.name(&format!("{stack}.layernorm_embedding")))?)
                }
                _ => None,
            },
            layers,
            final_norm: match family {
                Family::T5 => Some(self.norm(&format!("{stack}.final_layer_norm"))?),
                _ => None,
            },
        })
    }

    fn weights(&self) -> Result<Weights<B>> {
        let be = self.be;
        let cfg = self.cfg;
        let (vocab, d) = (cfg.vocab_size, cfg.d_model);
        let t5 = cfg.family == Family::T5;
        let encoder_layers = (0..cfg.encoder_layers)
            .map(|i| {
                Ok(if t5 {
                    let p = format!("encoder.block.{i}.layer");
                    EncoderLayer {
                        attn: self.attention(
                            &format!("{p}.0.SelfAttention"),
                            &format!("{p}.0.layer_norm"),
                        )?,
                        ffn: self.dense(&format!("{p}.1"))?,
                    }
                } else {
                    let p = self.name(&format!("encoder.layers.{i}"));
                    EncoderLayer {
                        attn: self.attention(
                            &format!("{p}.self_attn"),
                            &format!("{p}.self_attn_layer_norm"),
                        )?,
                        ffn: self.fc(&p, cfg.encoder_ffn_dim)?,
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let decoder_layers = (0..cfg.decoder_layers)
            .map(|i| {
                Ok(if t5 {
                    let p = format!("decoder.block.{i}.layer");
                    DecoderLayer {
                        attn: self.attention(
                            &format!("{p}.0.SelfAttention"),
                            &format!("{p}.0.layer_norm"),
                        )?,
                        cross: self.attention(
                            &format!("{p}.1.EncDecAttention"),
                            &format!("{p}.1.layer_norm"),
                        )?,
                        ffn: self.dense(&format!("{p}.2"))?,
                    }
                } else {
                    let p = self.name(&format!("decoder.layers.{i}"));
                    DecoderLayer {
                        attn: self.attention(
                            &format!("{p}.self_attn"),
                            &format!("{p}.self_attn_layer_norm"),
                        )?,
                        cross: self.attention(
                            &format!("{p}.encoder_attn"),
                            &format!("{p}.encoder_attn_layer_norm"),
                        )?,
                        ffn: self.fc(&p, cfg.decoder_ffn_dim)?,
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let encoder = self.stack("encoder", encoder_layers)?;
        let decoder = self.stack("decoder", decoder_layers)?;
        // `save_pretrained` keeps one of the tied tables: `shared` (T5, and Marian's and
        // BART's under `model.`); older conversions may have only the stacks' copies.
        let (shared, enc, dec) = (
            self.name("shared.weight"),
            self.name("encoder.embed_tokens.weight"),
            self.name("decoder.embed_tokens.weight"),
        );
        let embed_name = self.first_of(&[&shared, &enc, &dec]);
        let embed = self.src.matrix(be, embed_name, vocab, d)?;
        // The head is outside `model.`; tied, the file's copy (if any) is the table itself.
        let head_name = if cfg.tie_word_embeddings {
            embed_name
        } else {
            "lm_head.weight"
        };
        let head = if be.output_table_as_dense() && self.src.matrix_is_f32(head_name, vocab, d)? {
            match self.src.weight(be, head_name, vocab, d)? {
                Weight::Dense(w) => Head::Dense(w),
                Weight::Quantized(m) => Head::Matrix(m),
            }
        } else if cfg.tie_word_embeddings {
            Head::Table
        } else {
            Head::Matrix(self.src.matrix(be, head_name, vocab, d)?)
        };
        // A buffer, zeros in every released checkpoint but kept as the file has it; files
        // without it (transformers makes it at load) are zeros.
        let logits_bias = match cfg.family {
            Family::T5 => None,
            _ if Source::<B>::contains(&self.src, "final_logits_bias") => {
                let bias = Source::<B>::host(&self.src, "final_logits_bias", &[1, vocab])?;
                Some(be.vector_f32(bias)?)
            }
            _ => None,
        };
        Ok(Weights {
            embed,
            head,
            logits_bias,
            encoder,
            decoder,
        })
    }
}

impl<B: Backend> Seq2Seq<B> {
    /// Loads the model from a safetensors file's bytes (f32, f16 or bf16) with transformers'
    /// names: `model.` before the body for `MarianMTModel` and `BartForConditionalGeneration`
    /// (optional: the bare models' files), none for T5; the tied table as `shared.weight` or a
    /// stack's `embed_tokens.weight`; `lm_head.weight` when untied; `final_logits_bias` where
    /// the file has it. Linear layers are widened to f32 for the backend's matmuls; the token
    /// embedding stays f16 when the file has it so. The bytes may be dropped once it returns.
    pub fn load(backend: B, cfg: &Config, safetensors: &[u8]) -> Result<Self> {
        let w = Loader {
            be: &backend,
            src: Safetensors::parse(safetensors)?,
            cfg,
        }
        .weights()?;
        Ok(Self::assemble(backend, cfg, w))
    }

    /// Loads the model from a GGUF file with transformers' tensor names and quantized
    /// matrices, as candle's quantized T5 reads it (`candle-transformers`' `quantized_t5`; the
    /// hyperparameters from `config.json`, which these files come with). Quantized linear layers
    /// and tables are multiplied and looked up as stored; everything else is widened to f32.
    pub fn load_gguf(backend: B, cfg: &Config, gguf: ModelBytes) -> Result<Self> {
        let src = Gguf::load(&backend, gguf)?;
        let w = Loader {
            be: &backend,
            src,
            cfg,
        }
        .weights()?;
        Ok(Self::assemble(backend, cfg, w))
    }

    fn assemble(backend: B, cfg: &Config, w: Weights<B>) -> Self {
        Seq2Seq {
            backend,
            cfg: cfg.clone(),
            id: ModelId::new(),
            w,
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// `x = x + f(x)` then the norm (Marian, BART: post-norm), or `x = x + f(norm(x))` (T5).
    fn block(
        &self,
        x: &mut B::Tensor,
        norm: &Norm<B>,
        f: impl FnOnce(&B::Tensor) -> Result<B::Tensor>,
    ) -> Result<()> {
        let (be, eps) = (&self.backend, self.cfg.layer_norm_eps);
        if self.cfg.family == Family::T5 {
            let y = f(&norm.apply(be, x, eps)?)?;
            be.add_assign(x, &y)
        } else {
            let y = f(x)?;
            be.add_assign(x, &y)?;
            *x = norm.apply(be, x, eps)?;
            Ok(())
        }
    }

    /// The scores' factor: `head_dim^-0.5`, or 1 for T5 (its weights were trained that way).
    fn score_scale(&self) -> f32 {
        match self.cfg.family {
            Family::T5 => 1.0,
            _ => 1.0 / (self.cfg.head_dim as f32).sqrt(),
        }
    }

    /// The token embeddings of `ids` (checked against the vocabulary), scaled where the
    /// family does, with position `positions[i]` added to token `i` and BART's embedding norm
    /// applied.
    fn embed<L>(&self, stack: &Stack<B, L>, ids: &[u32], positions: &[usize]) -> Result<B::Tensor> {
        let cfg = &self.cfg;
        let be = &self.backend;
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= cfg.vocab_size) {
            return Err(ModelError::TokenOutOfRange {
                id,
                vocab: cfg.vocab_size,
            });
        }
        let mut x = be.embedding(&self.w.embed, ids)?;
        if cfg.scale_embedding {
            be.scale(&mut x, (cfg.d_model as f32).sqrt())?;
        }
        stack.positions.add(be, &mut x, positions)?;
        match &stack.embed_norm {
            Some(norm) => norm.apply(be, &x, cfg.layer_norm_eps),
            None => Ok(x),
        }
    }

    /// Runs the encoder on one input's token ids (with the tokenizer's special tokens: the
    /// final `</s>`) and computes every decoder layer's cross-attention keys and values. On a
    /// GPU nothing is read back: the result stays on the device.
    pub fn encode(&self, ids: &[u32]) -> Result<Memory<B>> {
        B::execute(|| self.encode_here(ids))
    }

    fn encode_here(&self, ids: &[u32]) -> Result<Memory<B>> {
        let cfg = &self.cfg;
        let be = &self.backend;
        let n = ids.len();
        if n == 0 {
            return Err(ModelError::InvalidInput {
                what: "input_ids",
                detail: "an empty input (the tokenizer adds at least `</s>`)".into(),
            });
        }
        if n > cfg.max_positions() {
            return Err(ModelError::ContextOverflow {
                requested: n,
                max: cfg.max_positions(),
            });
        }
        let stack = &self.w.encoder;
        let positions: Vec<usize> = (0..n).collect();
        let mut x = self.embed(stack, ids, &positions)?;
        let bias = stack.positions.bias(be, cfg.heads, 0..n, n)?;
        let valid = [n];
        let shape = AttendShape {
            heads: cfg.heads,
            head_dim: cfg.head_dim,
            q_len: n,
            kv_len: n,
            scale: self.score_scale(),
            kv_valid: &valid,
            q_valid: None,
        };
        for layer in &stack.layers {
            let a = &layer.attn;
            self.block(&mut x, &a.norm, |h| {
                let (q, k, v) = (a.q.apply(be, h)?, a.k.apply(be, h)?, a.v.apply(be, h)?);
                let ctx = match &bias {
                    Some(bias) => be.attend_biased(&q, &k, &v, bias, &shape)?,
                    None => be.attend(&q, &k, &v, &shape)?,
                };
                a.out.apply(be, &ctx)
            })?;
            let f = &layer.ffn;
            self.block(&mut x, &f.norm, |h| f.apply(be, h, cfg.activation))?;
        }
        let hidden = match &stack.final_norm {
            Some(norm) => norm.apply(be, &x, cfg.layer_norm_eps)?,
            None => x,
        };
        let cross = self
            .w
            .decoder
            .layers
            .iter()
            .map(|l| Ok((l.cross.k.apply(be, &hidden)?, l.cross.v.apply(be, &hidden)?)))
            .collect::<Result<_>>()?;
        Ok(Memory::new(self.id, hidden, n, cross))
    }

    /// The encoder's output of an input, `[len, d_model]` row-major.
    pub fn encoder_output(&self, memory: &Memory<B>) -> Result<Vec<f32>> {
        self.backend.read(&memory.inner.hidden)
    }

    /// [`Seq2Seq::encoder_output`], awaited (a browser's GPU cannot block on a readback).
    pub async fn encoder_output_async(&self, memory: &Memory<B>) -> Result<Vec<f32>> {
        self.backend.read_async(&memory.inner.hidden).await
    }

    /// A decoder state with no tokens yet, reading `memory` (shared, not copied).
    pub fn start(&self, memory: &Memory<B>) -> Result<DecoderState<B>> {
        DecoderState::new(
            &self.backend,
            self.id,
            memory,
            self.w.decoder.layers.len(),
            self.cfg.heads,
            self.cfg.head_dim,
        )
    }

    /// A copy of `state` that continues on its own (a beam leaving from another): its
    /// self-attention caches are copied, the memory shared.
    pub fn fork(&self, state: &DecoderState<B>) -> Result<DecoderState<B>> {
        state.check(self.id, self.w.decoder.layers.len())?;
        state.fork(&self.backend)
    }

    /// Appends `tokens` to `state` (first the decoder start token, alone or with a forced
    /// prefix; then one token at a time) and returns the logits of the last one
    /// (`vocab_size` values).
    pub fn step(&self, state: &mut DecoderState<B>, tokens: &[u32]) -> Result<Vec<f32>> {
        B::execute(|| {
            let logits = self.decode_here(&mut [state], tokens)?;
            self.backend.read(&logits)
        })
    }

    /// [`Seq2Seq::step`] with the readback awaited (a browser's GPU cannot block on it).
    pub async fn step_async(
        &self,
        state: &mut DecoderState<B>,
        tokens: &[u32],
    ) -> Result<Vec<f32>> {
        let logits = B::execute(|| self.decode_here(&mut [state], tokens))?;
        self.backend.read_async(&logits).await
    }

    /// Appends `tokens[i]` to `states[i]` for every `i` (the beams of a beam search: states
    /// of one input, all holding the same number of tokens) as one batch, and returns each
    /// state's next-token logits, in order. The numbers are those of [`Seq2Seq::step`] on
    /// each state alone, up to the summation order of the batched matrix products; the point
    /// is that every weight is read once per step for all beams, not once per beam.
    pub fn step_beams(
        &self,
        states: &mut [&mut DecoderState<B>],
        tokens: &[u32],
    ) -> Result<Vec<Vec<f32>>> {
        B::execute(|| {
            let logits = self.decode_here(states, tokens)?;
            let vocab = self.cfg.vocab_size;
            Ok(split_rows(self.backend.read(&logits)?, vocab))
        })
    }

    /// [`Seq2Seq::step_beams`] with the readback awaited (one readback for all beams).
    pub async fn step_beams_async(
        &self,
        states: &mut [&mut DecoderState<B>],
        tokens: &[u32],
    ) -> Result<Vec<Vec<f32>>> {
        let logits = B::execute(|| self.decode_here(states, tokens))?;
        let vocab = self.cfg.vocab_size;
        Ok(split_rows(self.backend.read_async(&logits).await?, vocab))
    }

    /// Records the decoder and returns the logits where the backend holds them:
    /// - one state: `tokens` appended to it (the start token, a forced prefix, or the next
    ///   token); the last token's logits, `[1, vocab]`;
    /// - several states (beams): one token each, as one batch of a row per beam. The
    ///   projections, feed-forwards and the head run on all rows at once (each weight read
    ///   once, which is what a decode step costs); the self-attention runs per beam over its
    ///   own cache; the cross-attention runs on all rows at once over the shared memory (it is
    ///   not causal, so rows do not see each other). `[beams, vocab]`.
    ///
    /// The states take the tokens only if every op succeeded; the caches of the layers that
    /// ran are cut back to the state's length by the next step.
    fn decode_here(
        &self,
        states: &mut [&mut DecoderState<B>],
        tokens: &[u32],
    ) -> Result<B::Tensor> {
        let cfg = &self.cfg;
        let be = &self.backend;
        let stack = &self.w.decoder;
        let n = tokens.len();
        let beams = states.len();
        if n == 0 {
            return Err(ModelError::InvalidInput {
                what: "tokens",
                detail: "a decoder step needs at least one token".into(),
            });
        }
        let Some(first) = states.first() else {
            return Err(ModelError::InvalidInput {
                what: "states",
                detail: "a decoder step needs a state".into(),
            });
        };
        if beams > 1 && n != beams {
            return Err(ModelError::InvalidInput {
                what: "tokens",
                detail: format!("one token per beam: {n} tokens for {beams} beams"),
            });
        }
        let start = first.len;
        let memory = first.memory.clone();
        for s in states.iter() {
            s.check(self.id, stack.layers.len())?;
            if s.len != start {
                return Err(ModelError::InvalidInput {
                    what: "states",
                    detail: format!("beams of different lengths ({} and {start})", s.len),
                });
            }
            if !s.memory.same(&memory) {
                return Err(ModelError::InvalidInput {
                    what: "states",
                    detail: "beams of different inputs".into(),
                });
            }
        }
        // The tokens each state takes: all of them for one state, one each for beams.
        let taken = n / beams;
        let end = start + taken;
        if end > cfg.max_positions() {
            return Err(ModelError::ContextOverflow {
                requested: end,
                max: cfg.max_positions(),
            });
        }
        let positions: Vec<usize> = if beams == 1 {
            (start..end).collect()
        } else {
            vec![start; beams]
        };
        let mut x = self.embed(stack, tokens, &positions)?;
        // T5's bias of one state's queries, the same for every beam.
        let bias = stack.positions.bias(be, cfg.heads, start..end, end)?;
        let self_shape = AttentionShape {
            heads: cfg.heads,
            kv_heads: cfg.heads,
            head_dim: cfg.head_dim,
            start_pos: start,
            causal: true,
        };
        let source = [memory.len()];
        let cross_shape = AttendShape {
            heads: cfg.heads,
            head_dim: cfg.head_dim,
            q_len: n,
            kv_len: memory.len(),
            scale: self.score_scale(),
            kv_valid: &source,
            q_valid: None,
        };
        // Appends k, v to `cache` and attends q to it.
        let attend_self =
            |q: &B::Tensor, k: &B::Tensor, v: &B::Tensor, cache: &mut B::KvCache| match &bias {
                Some(bias) => {
                    be.attention_biased(q, k, v, cache, self_shape, self.score_scale(), bias)
                }
                None => be.attention(q, k, v, cache, self_shape),
            };
        for (i, (layer, (mk, mv))) in stack.layers.iter().zip(&memory.inner.cross).enumerate() {
            let a = &layer.attn;
            self.block(&mut x, &a.norm, |h| {
                let (q, k, v) = (a.q.apply(be, h)?, a.k.apply(be, h)?, a.v.apply(be, h)?);
                let ctx = if beams == 1 {
                    attend_self(&q, &k, &v, cache_of(&mut *states[0], i)?)?
                } else {
                    let mut parts = Vec::with_capacity(beams);
                    for (b, state) in states.iter_mut().enumerate() {
                        let (qb, kb, vb) = (
                            be.gather_rows(&q, &[b])?,
                            be.gather_rows(&k, &[b])?,
                            be.gather_rows(&v, &[b])?,
                        );
                        parts.push(attend_self(&qb, &kb, &vb, cache_of(&mut **state, i)?)?);
                    }
                    be.concat_rows(&parts.iter().collect::<Vec<_>>())?
                };
                a.out.apply(be, &ctx)
            })?;
            let c = &layer.cross;
            self.block(&mut x, &c.norm, |h| {
                let ctx = be.attend(&c.q.apply(be, h)?, mk, mv, &cross_shape)?;
                c.out.apply(be, &ctx)
            })?;
            let f = &layer.ffn;
            self.block(&mut x, &f.norm, |h| f.apply(be, h, cfg.activation))?;
        }
        for s in states.iter_mut() {
            s.len = end;
        }
        // One row per beam: the last token's of one state, every row of beams.
        let mut last = if beams == 1 { be.last_row(&x)? } else { x };
        if let Some(norm) = &stack.final_norm {
            last = norm.apply(be, &last, cfg.layer_norm_eps)?;
        }
        // T5's tied head: the output rescaled first (`sequence_output * model_dim**-0.5`).
        if cfg.family == Family::T5 && cfg.tie_word_embeddings {
            be.scale(&mut last, (cfg.d_model as f64).powf(-0.5) as f32)?;
        }
        let matrix = match &self.w.head {
            Head::Dense(w) => return be.linear(&last, w, self.w.logits_bias.as_ref()),
            Head::Matrix(m) => m,
            Head::Table => &self.w.embed,
        };
        let mut logits = be.matmul(&last, matrix)?;
        if let Some(bias) = &self.w.logits_bias {
            be.add_bias(&mut logits, bias)?;
        }
        Ok(logits)
    }
}

/// Layer `i`'s self-attention cache of `state` (checked to exist by [`DecoderState::check`]).
fn cache_of<B: Backend>(state: &mut DecoderState<B>, i: usize) -> Result<&mut B::KvCache> {
    state
        .caches
        .get_mut(i)
        .ok_or_else(|| ModelError::shape("decoder state", "fewer caches than layers"))
}

/// `[rows, cols]` row-major as one vector per row.
fn split_rows(data: Vec<f32>, cols: usize) -> Vec<Vec<f32>> {
    if cols == 0 {
        return Vec::new();
    }
    data.chunks(cols).map(<[f32]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Marian's table at known values: position 0 is sin 0 | cos 0; column i of the sin half
    /// has frequency 10000^(-2i/d).
    #[test]
    fn sinusoids_are_marians() {
        let s = sinusoids(3, 8);
        assert_eq!(&s[..8], &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        let row2 = &s[16..24];
        assert_eq!(row2[0], 2f64.sin() as f32);
        assert_eq!(row2[1], (2.0 / 10f64).sin() as f32);
        assert_eq!(row2[5], (2.0 / 10f64).cos() as f32);
    }

    /// T5's buckets at the values transformers gives (`_relative_position_bucket` on
    /// -200..=200 with the defaults, 32 buckets up to 128).
    #[test]
    fn buckets_are_t5s() {
        let b = RelativeAttention {
            num_buckets: 32,
            max_distance: 128,
        };
        // Bidirectional: 0..8 exact for the past, 16..24 for the future.
        assert_eq!(bucket(0, true, b), 0);
        assert_eq!(bucket(-7, true, b), 7);
        assert_eq!(bucket(7, true, b), 23);
        assert_eq!(bucket(-8, true, b), 8);
        assert_eq!(bucket(-16, true, b), 10);
        assert_eq!(bucket(-32, true, b), 12);
        assert_eq!(bucket(-64, true, b), 14);
        assert_eq!(bucket(-200, true, b), 15);
        assert_eq!(bucket(200, true, b), 31);
        // Unidirectional: the future is bucket 0.
        assert_eq!(bucket(5, false, b), 0);
        assert_eq!(bucket(-15, false, b), 15);
        assert_eq!(bucket(-16, false, b), 16);
        assert_eq!(bucket(-1000, false, b), 31);
    }
}
