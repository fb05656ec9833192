//! Whisper (Radford et al. 2022, <https://arxiv.org/abs/2212.04356>, section 2.4) written once
//! over the op layer, with transformers' tensor names and arithmetic
//! (`modeling_whisper.py`: `WhisperEncoder`, `WhisperDecoder`, `WhisperForConditionalGeneration`).
//!
//! - The encoder: two convolutions (kernel 3, padding 1; the second with stride 2) with the exact
//!   GELU, each as [`Backend::unfold1d`] + [`Backend::linear`]; learned positions; pre-norm
//!   blocks of non-causal self-attention and a feed-forward layer; a final layer norm.
//! - The decoder: token embeddings plus learned positions; pre-norm blocks of causal
//!   self-attention over a KV cache, cross-attention over the encoder's output and a
//!   feed-forward layer; a final layer norm; logits from the token embedding (tied) or
//!   `proj_out`. The keys and values of every cross-attention are computed once per segment
//!   ([`Whisper::encode`]) and shared by every decoder state of that segment.

use super::config::Config;
use crate::bytes::ModelBytes;
use crate::encoder_decoder::source::{Gguf, Linear, Safetensors, Source, Weight};
use crate::encoder_decoder::{DecoderState, Memory, ModelId};
use crate::error::{ModelError, Result};
use crate::ops::{Activation, AttendShape, AttentionShape, Backend, Quantization};

/// `nn.LayerNorm`'s default, which every Whisper layer norm uses (the config has no field).
const LAYER_NORM_EPS: f32 = 1e-5;
/// The convolutions' kernel width.
const CONV_KERNEL: usize = 3;

/// A Whisper model on backend `B`.
#[derive(Debug)]
pub struct Whisper<B: Backend> {
    backend: B,
    cfg: Config,
    /// Tags the segments it encodes.
    id: ModelId,
    conv1: Linear<B>,
    conv2: Linear<B>,
    /// `[max_source_positions, d_model]`.
    enc_positions: B::Tensor,
    enc_layers: Vec<EncoderLayer<B>>,
    enc_norm: Norm<B>,
    /// `[vocab, d_model]` as the file stores it (f16 or f32): the lookup table and, tied, the
    /// output projection, so the largest matrix is held once.
    embed: B::Matrix,
    /// `proj_out` where the file has its own.
    output: Option<B::Matrix>,
    /// `[max_target_positions, d_model]`.
    dec_positions: B::Matrix,
    dec_layers: Vec<DecoderLayer<B>>,
    dec_norm: Norm<B>,
}

#[derive(Debug)]
struct Norm<B: Backend> {
    gain: B::Vector,
    bias: B::Vector,
}

/// Multi-head attention with the layer norm before it.
#[derive(Debug)]
struct Attention<B: Backend> {
    norm: Norm<B>,
    q: Linear<B>,
    /// No bias (transformers' `k_proj` has none).
    k: Linear<B>,
    v: Linear<B>,
    out: Linear<B>,
}

#[derive(Debug)]
struct FeedForward<B: Backend> {
    norm: Norm<B>,
    up: Linear<B>,
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

/// Reads a file's tensors into the backend's weights, one at a time.
struct Loader<'b, B: Backend, S: Source<B>> {
    backend: &'b B,
    src: S,
}

impl<B: Backend, S: Source<B>> Loader<'_, B, S> {
    fn name(&self, name: &str) -> String {
        format!("{}{name}", self.src.prefix())
    }

    fn vector(&self, name: &str, len: usize) -> Result<B::Vector> {
        self.src.vector(self.backend, name, len)
    }

    fn linear(&self, prefix: &str, out: usize, inp: usize, bias: bool) -> Result<Linear<B>> {
        self.src.linear(self.backend, prefix, out, inp, bias)
    }

    /// A `Conv1d` weight `[out, channels, kernel]` as the linear layer over
    /// [`Backend::unfold1d`]'s windows: `[out, kernel * channels]`, kernel axis first.
    fn conv(&self, prefix: &str, out: usize, channels: usize) -> Result<Linear<B>> {
        let name = format!("{prefix}.weight");
        let w = self.src.host(&name, &[out, channels, CONV_KERNEL])?;
        let mut windows = vec![0f32; w.len()];
        for (src, dst) in w
            .chunks_exact(channels * CONV_KERNEL)
            .zip(windows.chunks_exact_mut(channels * CONV_KERNEL))
        {
            for c in 0..channels {
                for k in 0..CONV_KERNEL {
                    dst[k * channels + c] = src[c * CONV_KERNEL + k];
                }
            }
        }
        drop(w);
        let w = self.backend.dense(
            &name,
            windows,
            out,
            CONV_KERNEL * channels,
            Quantization::None,
        )?;
        Ok(Linear {
            w: Weight::Dense(w),
            b: Some(self.vector(&format!("{prefix}.bias"), out)?),
        })
    }

    fn norm(&self, prefix: &str, len: usize) -> Result<Norm<B>> {
        Ok(Norm {
            gain: self.vector(&format!("{prefix}.weight"), len)?,
            bias: self.vector(&format!("{prefix}.bias"), len)?,
        })
    }

    fn attention(&self, prefix: &str, d: usize, norm: &str) -> Result<Attention<B>> {
        Ok(Attention {
            norm: self.norm(norm, d)?,
            q: self.linear(&format!("{prefix}.q_proj"), d, d, true)?,
            k: self.linear(&format!("{prefix}.k_proj"), d, d, false)?,
            v: self.linear(&format!("{prefix}.v_proj"), d, d, true)?,
            out: self.linear(&format!("{prefix}.out_proj"), d, d, true)?,
        })
    }

    fn ffn(&self, prefix: &str, d: usize, ffn: usize) -> Result<FeedForward<B>> {
        Ok(FeedForward {
            norm: self.norm(&format!("{prefix}.final_layer_norm"), d)?,
            up: self.linear(&format!("{prefix}.fc1"), ffn, d, true)?,
            down: self.linear(&format!("{prefix}.fc2"), d, ffn, true)?,
        })
    }

    /// The encoder's positions: the file's, or (a file without them: candle's GGUF files)
    /// the sinusoids they are initialised with and OpenAI's model registers as a fixed buffer.
    fn encoder_positions(&self, rows: usize, d: usize) -> Result<B::Tensor> {
        let name = self.name("encoder.embed_positions.weight");
        let data = if self.src.contains(&name) {
            self.src.host(&name, &[rows, d])?
        } else {
            sinusoids(rows, d).ok_or(ModelError::MissingTensor(name))?
        };
        self.backend.tensor(data, rows, d)
    }

    fn model(self, cfg: &Config) -> Result<Parts<B>> {
        let n = |s: &str| self.name(s);
        let be = self.backend;
        let d = cfg.d_model;
        let conv1 = self.conv(&n("encoder.conv1"), d, cfg.num_mel_bins)?;
        let conv2 = self.conv(&n("encoder.conv2"), d, d)?;
        let enc_positions = self.encoder_positions(cfg.max_source_positions, d)?;
        let enc_layers = (0..cfg.encoder_layers)
            .map(|i| {
                let p = n(&format!("encoder.layers.{i}"));
                Ok(EncoderLayer {
                    attn: self.attention(
                        &format!("{p}.self_attn"),
                        d,
                        &format!("{p}.self_attn_layer_norm"),
                    )?,
                    ffn: self.ffn(&p, d, cfg.encoder_ffn_dim)?,
                })
            })
            .collect::<Result<_>>()?;
        let enc_norm = self.norm(&n("encoder.layer_norm"), d)?;
        let embed = self
            .src
            .matrix(be, &n("decoder.embed_tokens.weight"), cfg.vocab_size, d)?;
        // Not under `model.`: the head of `WhisperForConditionalGeneration`. Absent when tied.
        let output = if self.src.contains("proj_out.weight") {
            Some(self.src.matrix(be, "proj_out.weight", cfg.vocab_size, d)?)
        } else {
            None
        };
        let name = n("decoder.embed_positions.weight");
        let positions = self.src.host(&name, &[cfg.max_target_positions, d])?;
        let dec_positions = be.table(&name, positions, cfg.max_target_positions, d)?;
        let dec_layers = (0..cfg.decoder_layers)
            .map(|i| {
                let p = n(&format!("decoder.layers.{i}"));
                Ok(DecoderLayer {
                    attn: self.attention(
                        &format!("{p}.self_attn"),
                        d,
                        &format!("{p}.self_attn_layer_norm"),
                    )?,
                    cross: self.attention(
                        &format!("{p}.encoder_attn"),
                        d,
                        &format!("{p}.encoder_attn_layer_norm"),
                    )?,
                    ffn: self.ffn(&p, d, cfg.decoder_ffn_dim)?,
                })
            })
            .collect::<Result<_>>()?;
        let dec_norm = self.norm(&n("decoder.layer_norm"), d)?;
        Ok(Parts {
            conv1,
            conv2,
            enc_positions,
            enc_layers,
            enc_norm,
            embed,
            output,
            dec_positions,
            dec_layers,
            dec_norm,
        })
    }
}

/// The weights of a model, read from its file.
struct Parts<B: Backend> {
    conv1: Linear<B>,
    conv2: Linear<B>,
    enc_positions: B::Tensor,
    enc_layers: Vec<EncoderLayer<B>>,
    enc_norm: Norm<B>,
    embed: B::Matrix,
    output: Option<B::Matrix>,
    dec_positions: B::Matrix,
    dec_layers: Vec<DecoderLayer<B>>,
    dec_norm: Norm<B>,
}

/// OpenAI's `sinusoids(length, channels)` (transformers' `sinusoids`), computed as they compute
/// it in f32: `[sin(t * f_i) | cos(t * f_i)]` with `f_i = exp(-i ln(10000) / (channels/2 - 1))`.
/// `None` for widths it is not defined for (odd, or fewer than 4 channels).
fn sinusoids(length: usize, channels: usize) -> Option<Vec<f32>> {
    let half = channels / 2;
    if !channels.is_multiple_of(2) || half < 2 {
        return None;
    }
    let step = (10000f64.ln() / (half - 1) as f64) as f32;
    let inv: Vec<f32> = (0..half).map(|i| (-step * i as f32).exp()).collect();
    let mut out = Vec::with_capacity(length * channels);
    for t in 0..length {
        let angles: Vec<f64> = inv.iter().map(|&f| f64::from(t as f32 * f)).collect();
        out.extend(angles.iter().map(|a| a.sin() as f32));
        out.extend(angles.iter().map(|a| a.cos() as f32));
    }
    Some(out)
}

impl<B: Backend> Whisper<B> {
    /// Loads the model from a safetensors file's bytes (f32, f16 or bf16), with transformers'
    /// names (`WhisperForConditionalGeneration`'s `model.` prefix optional). Linear layers are
    /// widened to f32 for the backend's matmuls; the token embedding stays f16 when the file
    /// has it so. The bytes may be dropped once it returns.
    pub fn load(backend: B, cfg: &Config, safetensors: &[u8]) -> Result<Self> {
        let parts = Loader {
            backend: &backend,
            src: Safetensors::parse(safetensors)?,
        }
        .model(cfg)?;
        Ok(Self::assemble(backend, cfg, parts))
    }

    /// Loads the model from a GGUF file with transformers' tensor names and quantized
    /// matrices, as candle's quantized Whisper reads it (`candle-transformers`'
    /// `whisper::quantized_model`; the hyperparameters from `config.json`, which these files
    /// come with). Quantized linear layers are multiplied as stored (Lantern's kernels, or
    /// candle's for the types Lantern has none for); the weights stay in `bytes`.
    pub fn load_gguf(backend: B, cfg: &Config, bytes: ModelBytes) -> Result<Self> {
        let src = Gguf::load(&backend, bytes)?;
        let parts = Loader {
            backend: &backend,
            src,
        }
        .model(cfg)?;
        Ok(Self::assemble(backend, cfg, parts))
    }

    fn assemble(backend: B, cfg: &Config, p: Parts<B>) -> Self {
        Whisper {
            backend,
            cfg: cfg.clone(),
            id: ModelId::new(),
            conv1: p.conv1,
            conv2: p.conv2,
            enc_positions: p.enc_positions,
            enc_layers: p.enc_layers,
            enc_norm: p.enc_norm,
            embed: p.embed,
            output: p.output,
            dec_positions: p.dec_positions,
            dec_layers: p.dec_layers,
            dec_norm: p.dec_norm,
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Runs the encoder on one segment's log-mel features, `mel`: `[num_mel_bins, n_frames]`
    /// row-major (transformers' `input_features` of one item), `n_frames` the config's
    /// [`Config::n_frames`] (3000: shorter audio is padded, as the feature extractor does).
    /// Also computes every decoder layer's cross-attention keys and values. On a GPU nothing
    /// is read back: the result stays on the device.
    pub fn encode(&self, mel: &[f32], n_frames: usize) -> Result<Memory<B>> {
        B::execute(|| self.encode_here(mel, n_frames))
    }

    fn encode_here(&self, mel: &[f32], n_frames: usize) -> Result<Memory<B>> {
        let cfg = &self.cfg;
        let be = &self.backend;
        let (mels, frames) = (cfg.num_mel_bins, cfg.n_frames());
        if n_frames != frames {
            return Err(ModelError::InvalidInput {
                what: "mel",
                detail: format!("{n_frames} frames; this model takes segments of {frames}"),
            });
        }
        if mel.len() != mels * frames {
            return Err(ModelError::InvalidInput {
                what: "mel",
                detail: format!("{} values for {mels} mel bins x {frames} frames", mel.len()),
            });
        }
        if mel.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::InvalidInput {
                what: "mel",
                detail: "the features hold NaN or infinite values".into(),
            });
        }
        // One row per frame, as the op layer's activations are.
        let mut rows = vec![0f32; mel.len()];
        for (m, band) in mel.chunks_exact(frames).enumerate() {
            for (t, &v) in band.iter().enumerate() {
                rows[t * mels + m] = v;
            }
        }
        let x = be.tensor(rows, frames, mels)?;
        let mut h = self.conv1.apply(be, &be.unfold1d(&x, CONV_KERNEL, 1, 1)?)?;
        drop(x);
        be.activate(&mut h, Activation::Gelu)?;
        let mut h = self.conv2.apply(be, &be.unfold1d(&h, CONV_KERNEL, 2, 1)?)?;
        be.activate(&mut h, Activation::Gelu)?;
        be.add_assign(&mut h, &self.enc_positions)?;
        let positions = [cfg.max_source_positions];
        let heads = cfg.encoder_attention_heads;
        let head_dim = cfg.encoder_head_dim();
        let shape = AttendShape {
            heads,
            head_dim,
            q_len: cfg.max_source_positions,
            kv_len: cfg.max_source_positions,
            scale: 1.0 / (head_dim as f32).sqrt(),
            kv_valid: &positions,
            q_valid: None,
        };
        for layer in &self.enc_layers {
            let a = &layer.attn;
            let x = a.norm.apply(be, &h)?;
            let (q, k, v) = (a.q.apply(be, &x)?, a.k.apply(be, &x)?, a.v.apply(be, &x)?);
            drop(x);
            let ctx = be.attend(&q, &k, &v, &shape)?;
            drop((q, k, v));
            be.add_assign(&mut h, &a.out.apply(be, &ctx)?)?;
            drop(ctx);
            layer.ffn.apply(be, &mut h, cfg.activation_function)?;
        }
        let hidden = self.enc_norm.apply(be, &h)?;
        drop(h);
        let cross = self
            .dec_layers
            .iter()
            .map(|l| Ok((l.cross.k.apply(be, &hidden)?, l.cross.v.apply(be, &hidden)?)))
            .collect::<Result<_>>()?;
        Ok(Memory::new(
            self.id,
            hidden,
            cfg.max_source_positions,
            cross,
        ))
    }

    /// The encoder's output of a segment, `[max_source_positions, d_model]` row-major (tests,
    /// and what a word-timestamp alignment would read).
    pub fn encoder_output(&self, memory: &Memory<B>) -> Result<Vec<f32>> {
        self.backend.read(&memory.inner.hidden)
    }

    /// [`Whisper::encoder_output`], awaited (a browser's GPU cannot block on a readback).
    pub async fn encoder_output_async(&self, memory: &Memory<B>) -> Result<Vec<f32>> {
        self.backend.read_async(&memory.inner.hidden).await
    }

    /// A decoder state with no tokens yet, reading `memory` (shared, not copied).
    pub fn start(&self, memory: &Memory<B>) -> Result<DecoderState<B>> {
        let cfg = &self.cfg;
        DecoderState::new(
            &self.backend,
            self.id,
            memory,
            self.dec_layers.len(),
            cfg.decoder_attention_heads,
            cfg.decoder_head_dim(),
        )
    }

    /// A copy of `state` that continues on its own (a beam leaving from another): its
    /// self-attention caches are copied (a few hundred positions at most), the memory shared.
    pub fn fork(&self, state: &DecoderState<B>) -> Result<DecoderState<B>> {
        state.check(self.id, self.dec_layers.len())?;
        state.fork(&self.backend)
    }

    /// Appends `tokens` to `state` (a whole prompt at once, then one token at a time) and
    /// returns the logits of the last one (`vocab_size` values).
    pub fn step(&self, state: &mut DecoderState<B>, tokens: &[u32]) -> Result<Vec<f32>> {
        B::execute(|| {
            let logits = self.step_here(state, tokens)?;
            self.backend.read(&logits)
        })
    }

    /// [`Whisper::step`] with the readback awaited (a browser's GPU cannot block on it).
    pub async fn step_async(
        &self,
        state: &mut DecoderState<B>,
        tokens: &[u32],
    ) -> Result<Vec<f32>> {
        let logits = B::execute(|| self.step_here(state, tokens))?;
        self.backend.read_async(&logits).await
    }

    /// Records the decoder on `tokens` and returns the last token's logits where the backend
    /// holds them. `state` takes the tokens only if every op succeeded; the caches of the
    /// layers that ran are cut back to `state.len()` by the next step.
    fn step_here(&self, state: &mut DecoderState<B>, tokens: &[u32]) -> Result<B::Tensor> {
        let cfg = &self.cfg;
        let be = &self.backend;
        let n = tokens.len();
        if n == 0 {
            return Err(ModelError::InvalidInput {
                what: "tokens",
                detail: "a decoder step needs at least one token".into(),
            });
        }
        state.check(self.id, self.dec_layers.len())?;
        let start = state.len;
        let end = start + n;
        if end > cfg.max_target_positions {
            return Err(ModelError::ContextOverflow {
                requested: end,
                max: cfg.max_target_positions,
            });
        }
        if let Some(&id) = tokens.iter().find(|&&id| id as usize >= cfg.vocab_size) {
            return Err(ModelError::TokenOutOfRange {
                id,
                vocab: cfg.vocab_size,
            });
        }
        let mut x = be.embedding(&self.embed, tokens)?;
        let positions: Vec<u32> = (start as u32..end as u32).collect();
        be.add_assign(&mut x, &be.embedding(&self.dec_positions, &positions)?)?;
        let (heads, head_dim) = (cfg.decoder_attention_heads, cfg.decoder_head_dim());
        let self_shape = AttentionShape {
            heads,
            kv_heads: heads,
            head_dim,
            start_pos: start,
            causal: true,
        };
        let source = [cfg.max_source_positions];
        let cross_shape = AttendShape {
            heads,
            head_dim,
            q_len: n,
            kv_len: cfg.max_source_positions,
            scale: 1.0 / (head_dim as f32).sqrt(),
            kv_valid: &source,
            q_valid: None,
        };
        for ((layer, cache), (mk, mv)) in self
            .dec_layers
            .iter()
            .zip(state.caches.iter_mut())
            .zip(&state.memory.inner.cross)
        {
            let a = &layer.attn;
            let h = a.norm.apply(be, &x)?;
            let (q, k, v) = (a.q.apply(be, &h)?, a.k.apply(be, &h)?, a.v.apply(be, &h)?);
            let ctx = be.attention(&q, &k, &v, cache, self_shape)?;
            be.add_assign(&mut x, &a.out.apply(be, &ctx)?)?;

            let c = &layer.cross;
            let q = c.q.apply(be, &c.norm.apply(be, &x)?)?;
            let ctx = be.attend(&q, mk, mv, &cross_shape)?;
            be.add_assign(&mut x, &c.out.apply(be, &ctx)?)?;

            layer.ffn.apply(be, &mut x, cfg.activation_function)?;
        }
        state.len = end;
        let last = self.dec_norm.apply(be, &be.last_row(&x)?)?;
        be.matmul(&last, self.output.as_ref().unwrap_or(&self.embed))
    }
}

impl<B: Backend> Norm<B> {
    fn apply(&self, be: &B, x: &B::Tensor) -> Result<B::Tensor> {
        be.layer_norm(x, &self.gain, &self.bias, LAYER_NORM_EPS)
    }
}

impl<B: Backend> FeedForward<B> {
    /// `x += down(act(up(norm(x))))`.
    fn apply(&self, be: &B, x: &mut B::Tensor, act: Activation) -> Result<()> {
        let mut u = self.up.apply(be, &self.norm.apply(be, x)?)?;
        be.activate(&mut u, act)?;
        be.add_assign(x, &self.down.apply(be, &u)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenAI's table at a few known values: position 0 is sin 0 | cos 0; the last frequency
    /// is 1/10000.
    #[test]
    fn sinusoids_are_openais() {
        let s = sinusoids(3, 8).unwrap();
        assert_eq!(&s[..8], &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        let row2 = &s[16..24];
        assert!((row2[0] - 2f32.sin()).abs() < 1e-7);
        assert!((row2[3] - (2e-4f32).sin()).abs() < 1e-9);
        assert!((row2[4] - 2f32.cos()).abs() < 1e-7);
        assert!(sinusoids(3, 7).is_none() && sinusoids(3, 2).is_none());
    }
}
