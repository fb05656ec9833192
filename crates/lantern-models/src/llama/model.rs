use super::config::{Architecture, Config};
use crate::bytes::ModelBytes;
use crate::error::{ModelError, Result};
use crate::gguf::Metadata;
use crate::loader::GgufWeights;
use crate::ops::cpu::Cpu;
use crate::ops::{AttentionShape, Backend, Rope, RopeScaling};
use crate::{CausalLm, LocalFuture, Logits};

#[derive(Debug)]
struct Layer<B: Backend> {
    attn_norm: B::Vector,
    wq: B::Matrix,
    wk: B::Matrix,
    wv: B::Matrix,
    /// Qwen2's q/k/v biases.
    bias: Option<[B::Vector; 3]>,
    /// Qwen3's per-head RMS norms of q and k.
    qk_norm: Option<[B::Vector; 2]>,
    wo: B::Matrix,
    ffn_norm: B::Vector,
    gate: B::Matrix,
    up: B::Matrix,
    down: B::Matrix,
}

/// A llama-family model on one backend, with its KV cache.
#[derive(Debug)]
pub struct Model<B: Backend = Cpu> {
    backend: B,
    config: Config,
    metadata: Metadata,
    vocab: usize,
    embed: B::Matrix,
    /// `None` when the output projection is tied to the embedding table.
    output: Option<B::Matrix>,
    norm: B::Vector,
    layers: Vec<Layer<B>>,
    rope: Rope,
    caches: Vec<B::KvCache>,
    cached: usize,
    file_size: usize,
}

impl<B: Backend> Model<B> {
    /// Loads a GGUF file's bytes (taking ownership: weights stay in that buffer).
    pub fn load(backend: B, bytes: ModelBytes) -> Result<Self> {
        let w = GgufWeights::load(&backend, bytes)?;
        Self::from_weights(backend, w)
    }

    pub fn from_weights(backend: B, w: GgufWeights) -> Result<Self> {
        let config = Config::from_metadata(&w.file.metadata)?;
        let c = &config;
        let embed_info = w.file.require_tensor("token_embd.weight")?;
        let vocab = embed_info.matrix_shape().0;
        if embed_info.dims.len() != 2 || embed_info.dims[0] != c.hidden {
            return Err(ModelError::TensorShape {
                name: "token_embd.weight".into(),
                expected: vec![c.hidden, vocab],
                found: embed_info.dims.clone(),
            });
        }
        if let Some(v) = w
            .file
            .metadata
            .opt_usize(&format!("{}.vocab_size", c.architecture.name()))?
            && v != vocab
        {
            return Err(ModelError::InvalidConfig {
                name: "vocab_size",
                reason: format!("{v}, but token_embd has {vocab} rows"),
            });
        }
        let embed = w.matrix(&backend, "token_embd.weight", vocab, c.hidden)?;
        let output = if w.contains("output.weight") {
            Some(w.matrix(&backend, "output.weight", vocab, c.hidden)?)
        } else {
            None
        };
        let norm = w.vector(&backend, "output_norm.weight", c.hidden)?;
        let (q_out, kv_out) = (c.heads * c.head_dim, c.kv_heads * c.head_dim);
        let mut layers = Vec::new();
        for i in 0..c.layers {
            let n = |s: &str| format!("blk.{i}.{s}");
            let bias = match c.architecture {
                Architecture::Qwen2 => Some([
                    w.vector(&backend, &n("attn_q.bias"), q_out)?,
                    w.vector(&backend, &n("attn_k.bias"), kv_out)?,
                    w.vector(&backend, &n("attn_v.bias"), kv_out)?,
                ]),
                _ => None,
            };
            let qk_norm = match c.architecture {
                Architecture::Qwen3 => Some([
                    w.vector(&backend, &n("attn_q_norm.weight"), c.head_dim)?,
                    w.vector(&backend, &n("attn_k_norm.weight"), c.head_dim)?,
                ]),
                _ => None,
            };
            layers.push(Layer {
                attn_norm: w.vector(&backend, &n("attn_norm.weight"), c.hidden)?,
                wq: w.matrix(&backend, &n("attn_q.weight"), q_out, c.hidden)?,
                wk: w.matrix(&backend, &n("attn_k.weight"), kv_out, c.hidden)?,
                wv: w.matrix(&backend, &n("attn_v.weight"), kv_out, c.hidden)?,
                bias,
                qk_norm,
                wo: w.matrix(&backend, &n("attn_output.weight"), c.hidden, q_out)?,
                ffn_norm: w.vector(&backend, &n("ffn_norm.weight"), c.hidden)?,
                gate: w.matrix(&backend, &n("ffn_gate.weight"), c.ffn, c.hidden)?,
                up: w.matrix(&backend, &n("ffn_up.weight"), c.ffn, c.hidden)?,
                down: w.matrix(&backend, &n("ffn_down.weight"), c.hidden, c.ffn)?,
            });
        }
        let scaling = if w.contains("rope_freqs.weight") {
            let t = w.data("rope_freqs.weight", Some(&[c.rope_dims / 2]))?;
            // Needed on the host to build the frequencies, whatever the backend.
            RopeScaling::FreqFactors(Cpu.vector(t)?)
        } else if let Some(factor) = c.rope_linear_factor {
            RopeScaling::Linear { factor }
        } else {
            RopeScaling::None
        };
        let rope = Rope::new(
            c.architecture.rope_style(),
            c.rope_dims,
            c.rope_base,
            scaling,
        )?;
        let caches = (0..c.layers)
            .map(|_| backend.kv_cache(c.kv_heads, c.head_dim))
            .collect::<Result<_>>()?;
        let file_size = w.file_size();
        Ok(Model {
            backend,
            vocab,
            embed,
            output,
            norm,
            layers,
            rope,
            caches,
            cached: 0,
            file_size,
            metadata: w.file.metadata,
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Runs `tokens` at positions `start_pos..`, keeping the cache of positions before
    /// `start_pos` (which must be cached already) and dropping any after. Returns the logits
    /// of the last token (`Logits::Last`, `vocab` values) or of every token (`n * vocab`).
    pub fn forward(&mut self, tokens: &[u32], start_pos: usize, which: Logits) -> Result<Vec<f32>> {
        B::execute(|| {
            let logits = self.forward_here(tokens, start_pos, which)?;
            self.backend.read(&logits)
        })
    }

    /// [`Model::forward`] with the readback awaited (a GPU in a browser cannot block on it).
    pub async fn forward_async(
        &mut self,
        tokens: &[u32],
        start_pos: usize,
        which: Logits,
    ) -> Result<Vec<f32>> {
        let logits = B::execute(|| self.forward_here(tokens, start_pos, which))?;
        self.backend.read_async(&logits).await
    }

    /// Runs `tokens` like [`Model::forward`] and returns the argmax of the last token's logits:
    /// greedy decoding, where a GPU backend reads back one id instead of `vocab` logits.
    pub async fn forward_argmax_async(&mut self, tokens: &[u32], start_pos: usize) -> Result<u32> {
        let logits = B::execute(|| self.forward_here(tokens, start_pos, Logits::Last))?;
        self.backend.argmax_async(&logits).await
    }

    /// Records the forward pass and returns the logits where the backend holds them.
    fn forward_here(
        &mut self,
        tokens: &[u32],
        start_pos: usize,
        which: Logits,
    ) -> Result<B::Tensor> {
        let c = &self.config;
        let b = &self.backend;
        let n = tokens.len();
        if n == 0 {
            return Err(ModelError::shape("forward", "no tokens"));
        }
        if start_pos > self.cached {
            return Err(ModelError::shape(
                "forward",
                format!("start {start_pos} after {} cached positions", self.cached),
            ));
        }
        let end = start_pos + n;
        if end > c.context_length {
            return Err(ModelError::ContextOverflow {
                requested: end,
                max: c.context_length,
            });
        }
        // The cache is only trimmed once the new positions are known to be valid.
        if let Some(&id) = tokens.iter().find(|&&id| id as usize >= self.vocab) {
            return Err(ModelError::TokenOutOfRange {
                id,
                vocab: self.vocab,
            });
        }
        let angles = self.rope.angles(start_pos, n);
        let mut x = b.embedding(&self.embed, tokens)?;
        self.cached = start_pos.min(self.cached);
        for (layer, cache) in self.layers.iter().zip(self.caches.iter_mut()) {
            let h = b.rms_norm(&x, &layer.attn_norm, c.rms_eps)?;
            let mut qkv = b.matmul_many(&h, &[&layer.wq, &layer.wk, &layer.wv])?;
            let mut v = qkv
                .pop()
                .ok_or_else(|| ModelError::shape("qkv", "missing v"))?;
            let mut k = qkv
                .pop()
                .ok_or_else(|| ModelError::shape("qkv", "missing k"))?;
            let mut q = qkv
                .pop()
                .ok_or_else(|| ModelError::shape("qkv", "missing q"))?;
            if let Some([bq, bk, bv]) = &layer.bias {
                b.add_bias(&mut q, bq)?;
                b.add_bias(&mut k, bk)?;
                b.add_bias(&mut v, bv)?;
            }
            if let Some([nq, nk]) = &layer.qk_norm {
                b.rms_norm_heads(&mut q, nq, c.head_dim, c.rms_eps)?;
                b.rms_norm_heads(&mut k, nk, c.head_dim, c.rms_eps)?;
            }
            b.rope(&mut q, c.head_dim, &self.rope, &angles)?;
            b.rope(&mut k, c.head_dim, &self.rope, &angles)?;
            let shape = AttentionShape {
                heads: c.heads,
                kv_heads: c.kv_heads,
                head_dim: c.head_dim,
                start_pos,
                causal: true,
            };
            let att = b.attention(&q, &k, &v, cache, shape)?;
            let o = b.matmul(&att, &layer.wo)?;
            b.add_assign(&mut x, &o)?;

            let h = b.rms_norm(&x, &layer.ffn_norm, c.rms_eps)?;
            let mut gu = b.matmul_many(&h, &[&layer.gate, &layer.up])?;
            let up = gu
                .pop()
                .ok_or_else(|| ModelError::shape("ffn", "missing up"))?;
            let gate = gu
                .pop()
                .ok_or_else(|| ModelError::shape("ffn", "missing gate"))?;
            let down = b.matmul(&b.swiglu(&gate, &up)?, &layer.down)?;
            b.add_assign(&mut x, &down)?;
        }
        self.cached = end;
        let x = match which {
            Logits::Last => b.last_row(&x)?,
            Logits::All => x,
        };
        let x = b.rms_norm(&x, &self.norm, c.rms_eps)?;
        b.matmul(&x, self.output.as_ref().unwrap_or(&self.embed))
    }
}

impl<B: Backend> CausalLm for Model<B> {
    fn forward(&mut self, tokens: &[u32], start_pos: usize, which: Logits) -> Result<Vec<f32>> {
        Model::forward(self, tokens, start_pos, which)
    }

    fn forward_async<'a>(
        &'a mut self,
        tokens: &'a [u32],
        start_pos: usize,
        which: Logits,
    ) -> LocalFuture<'a, Result<Vec<f32>>> {
        Box::pin(Model::forward_async(self, tokens, start_pos, which))
    }

    fn forward_argmax_async<'a>(
        &'a mut self,
        tokens: &'a [u32],
        start_pos: usize,
    ) -> LocalFuture<'a, Result<u32>> {
        Box::pin(Model::forward_argmax_async(self, tokens, start_pos))
    }

    fn clear_cache(&mut self) {
        self.cached = 0;
    }

    fn cached_positions(&self) -> usize {
        self.cached
    }

    fn vocab_size(&self) -> usize {
        self.vocab
    }

    fn context_length(&self) -> usize {
        self.config.context_length
    }

    fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    fn backend_name(&self) -> String {
        self.backend.name()
    }

    fn file_size(&self) -> usize {
        self.file_size
    }
}
