//! The embedding pipeline: tokenizer, encoder, pooling, normalisation, batching.

use lantern_models::encoder::{self, Encoder, EncoderOptions, Input, Quantization};
use lantern_models::ops::Backend;
use lantern_models::ops::cpu::Cpu;
use rayon::prelude::*;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::error::{EmbeddingsError, Result};
use super::pooling::{normalize, pool};
use super::recipe::{Recipe, RecipeFiles};
use super::similarity::{Hit, rank, similarity_matrix};

/// The files of an embedding model, as bytes (read from disk natively, from OPFS in the
/// browser). Only the weights are large; they are not kept after loading.
#[derive(Debug, Clone, Copy)]
pub struct EmbedderFiles<'a> {
    pub config_json: &'a [u8],
    pub tokenizer_json: &'a [u8],
    /// `model.safetensors` (f32, f16 or bf16).
    pub safetensors: &'a [u8],
    pub recipe: RecipeFiles<'a>,
}

#[derive(Debug, Clone)]
pub struct EmbedderOptions {
    pub quantization: Quantization,
    /// Texts per forward pass. Texts are sorted by length first, so a batch holds texts of
    /// similar length and padding wastes little.
    pub batch_size: usize,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        EmbedderOptions {
            quantization: Quantization::None,
            batch_size: 32,
        }
    }
}

/// A loaded embedding model.
#[derive(Debug)]
pub struct Embedder {
    tokenizer: Tokenizer,
    model: Box<dyn Encoder>,
    recipe: Recipe,
    batch_size: usize,
}

impl Embedder {
    /// Loads on the CPU.
    pub fn load(files: &EmbedderFiles<'_>, options: &EmbedderOptions) -> Result<Self> {
        Self::load_on(Cpu, files, options)
    }

    /// Loads on `backend`.
    pub fn load_on<B: Backend>(
        backend: B,
        files: &EmbedderFiles<'_>,
        options: &EmbedderOptions,
    ) -> Result<Self> {
        let cfg = encoder::Config::from_json(files.config_json)?;
        let recipe = Recipe::from_files(&files.recipe, cfg.max_tokens())?;
        let mut tokenizer = Tokenizer::from_bytes(files.tokenizer_json)
            .map_err(|e| EmbeddingsError::Tokenizer(e.to_string()))?;
        // tokenizer.json of sentence-transformers repos often carries the training-time
        // truncation (128) and a fixed padding; the recipe's max_seq_length decides instead, and
        // batches are padded by the encoder itself.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: recipe.max_seq_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| EmbeddingsError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        let model = encoder::load_encoder_on(
            backend,
            &cfg,
            files.safetensors,
            EncoderOptions {
                quantization: options.quantization,
                ..EncoderOptions::default()
            },
        )?;
        Ok(Embedder {
            tokenizer,
            model,
            recipe,
            batch_size: options.batch_size.max(1),
        })
    }

    /// `cpu` or `webgpu`.
    pub fn backend_name(&self) -> String {
        self.model.backend_name()
    }

    /// Length of the vectors.
    pub fn dim(&self) -> usize {
        self.model.config().hidden_size
    }

    pub fn recipe(&self) -> &Recipe {
        &self.recipe
    }

    /// Token ids as the encoder sees them: [CLS] … [SEP], at most `max_seq_length`.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        // sentence-transformers strips each text before tokenizing.
        let enc = self
            .tokenizer
            .encode(text.trim(), true)
            .map_err(|e| EmbeddingsError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// `feature-extraction`: one vector per text, in order.
    pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        let ids = texts
            .iter()
            .map(|t| self.tokenize(t.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        self.embed_ids(&ids)
    }

    /// Vectors for already tokenized texts (each as [`Embedder::tokenize`] returns it).
    pub fn embed_ids(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        // Where the matmuls cannot use the rayon pool (wasm's threaded build), split the texts
        // into at least one batch per pool thread and run the batches side by side. A text's
        // vector does not depend on its batch, so this changes no result.
        // Elsewhere the matmuls already use every thread: batches go one after the other.
        let threads = rayon::current_num_threads();
        let side_by_side = self.model.batches_side_by_side() && threads > 1;
        let batch = if side_by_side {
            self.batch_size.min(order.len().div_ceil(threads)).max(1)
        } else {
            self.batch_size
        };
        let batches: Vec<&[usize]> = order.chunks(batch).collect();
        let pooled = if side_by_side {
            batches
                .par_iter()
                .map(|chunk| self.embed_batch(ids, chunk))
                .collect::<Result<Vec<_>>>()?
        } else {
            batches
                .iter()
                .map(|chunk| self.embed_batch(ids, chunk))
                .collect::<Result<Vec<_>>>()?
        };
        let mut out = vec![Vec::new(); ids.len()];
        for (chunk, vectors) in batches.iter().zip(pooled) {
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// [`Embedder::embed`] with the encoder's readback awaited: what the browser worker calls
    /// (a GPU's result can only be awaited there). Batches go one after the other; on the CPU
    /// this is [`Embedder::embed`], side-by-side batches included.
    pub async fn embed_async<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        if self.model.backend_name() == "cpu" {
            return self.embed(texts);
        }
        let ids = texts
            .iter()
            .map(|t| self.tokenize(t.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![Vec::new(); ids.len()];
        for chunk in order.chunks(self.batch_size) {
            let batch: Vec<Input<'_>> = chunk.iter().map(|&i| ids[i].as_slice().into()).collect();
            let hidden = self.model.hidden_states_async(&batch).await?;
            for (&i, tokens) in chunk.iter().zip(&hidden) {
                out[i] = self.pooled(tokens);
            }
        }
        Ok(out)
    }

    /// One forward pass over `ids[chunk]`, pooled (and normalised) per the recipe.
    fn embed_batch(&self, ids: &[Vec<u32>], chunk: &[usize]) -> Result<Vec<Vec<f32>>> {
        let batch: Vec<Input<'_>> = chunk.iter().map(|&i| ids[i].as_slice().into()).collect();
        let hidden = self.model.hidden_states(&batch)?;
        Ok(hidden.iter().map(|tokens| self.pooled(tokens)).collect())
    }

    /// A text's vector from its tokens' hidden states, per the recipe.
    fn pooled(&self, tokens: &[f32]) -> Vec<f32> {
        let mut v = pool(tokens, self.dim(), self.recipe.pooling);
        if self.recipe.normalize {
            normalize(&mut v);
        }
        v
    }

    /// `sentence-similarity`: the cosine similarity of every pair of texts.
    pub fn similarity<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        let v = self.embed(texts)?;
        similarity_matrix(&v, &v)
    }

    /// Semantic search: the `top_k` documents closest to `query`, best first.
    pub fn search<S: AsRef<str>>(
        &self,
        query: &str,
        documents: &[S],
        top_k: usize,
    ) -> Result<Vec<Hit>> {
        let q = self.embed(&[query])?;
        let docs = self.embed(documents)?;
        match q.first() {
            Some(q) => rank(q, &docs, top_k),
            None => Ok(Vec::new()),
        }
    }
}
