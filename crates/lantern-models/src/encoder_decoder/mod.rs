//! What the encoder-decoder families share ([`crate::whisper`] for speech,
//! [`crate::seq2seq`] for text to text): an input encoded once into a [`Memory`] (the
//! encoder's output and every decoder layer's cross-attention keys and values), decoder states
//! that read it without copying it (the beams of a beam search share one memory; each state
//! holds only its self-attention caches), the type-erased [`AnyMemory`] / [`AnyState`] that a
//! pipeline holds when the backend is chosen at run time, and where the weights come from
//! ([`source`]).

pub(crate) mod source;

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{ModelError, Result};
use crate::ops::Backend;

/// Which model made a [`Memory`]: a memory (and the states reading it) is only ever given to
/// the model that encoded it, since another one of the same shapes would read it without an
/// error and answer nonsense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ModelId(u64);

impl ModelId {
    /// A new id, unique in this process.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        ModelId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// One input after the encoder: its output and the keys and values every decoder layer's
/// cross-attention reads, computed once. Cheap to clone (shared), so every decoder state of
/// the input (beams, retries at another temperature) reads the same copy.
#[derive(Debug)]
pub struct Memory<B: Backend> {
    pub(crate) inner: Arc<MemoryInner<B>>,
}

#[derive(Debug)]
pub(crate) struct MemoryInner<B: Backend> {
    /// The model that encoded it.
    pub model: ModelId,
    /// The encoder's output, `[len, d_model]`.
    pub hidden: B::Tensor,
    /// Rows of `hidden`: the keys of every cross-attention.
    pub len: usize,
    /// Per decoder layer: the cross-attention's keys and values of `hidden`.
    pub cross: Vec<(B::Tensor, B::Tensor)>,
}

impl<B: Backend> Clone for Memory<B> {
    fn clone(&self) -> Self {
        Memory {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<B: Backend> Memory<B> {
    pub(crate) fn new(
        model: ModelId,
        hidden: B::Tensor,
        len: usize,
        cross: Vec<(B::Tensor, B::Tensor)>,
    ) -> Self {
        Memory {
            inner: Arc::new(MemoryInner {
                model,
                hidden,
                len,
                cross,
            }),
        }
    }

    /// Whether `other` is this memory (not a copy: the same encoded input).
    pub(crate) fn same(&self, other: &Memory<B>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Positions of the encoder's output (the keys every cross-attention reads).
    pub fn len(&self) -> usize {
        self.inner.len
    }

    pub fn is_empty(&self) -> bool {
        self.inner.len == 0
    }

    /// A typed error unless the memory was encoded by `model`, for a decoder of `layers`
    /// layers.
    pub(crate) fn check(&self, model: ModelId, layers: usize) -> Result<()> {
        if self.inner.model != model {
            return Err(ModelError::InvalidInput {
                what: "memory",
                detail: "encoded by another model".into(),
            });
        }
        if self.inner.cross.len() != layers {
            return Err(ModelError::InvalidInput {
                what: "memory",
                detail: format!(
                    "an input encoded for {} decoder layers, this model has {layers}",
                    self.inner.cross.len(),
                ),
            });
        }
        Ok(())
    }
}

/// A decoder's position in one sequence: the self-attention caches of its tokens so far and
/// the input's [`Memory`] (shared, not copied).
#[derive(Debug)]
pub struct DecoderState<B: Backend> {
    pub(crate) memory: Memory<B>,
    pub(crate) caches: Vec<B::KvCache>,
    pub(crate) len: usize,
}

impl<B: Backend> DecoderState<B> {
    /// A state with no tokens yet: one empty cache per decoder layer.
    pub(crate) fn new(
        be: &B,
        model: ModelId,
        memory: &Memory<B>,
        layers: usize,
        heads: usize,
        head_dim: usize,
    ) -> Result<Self> {
        memory.check(model, layers)?;
        Ok(DecoderState {
            memory: memory.clone(),
            caches: (0..layers)
                .map(|_| be.kv_cache(heads, head_dim))
                .collect::<Result<_>>()?,
            len: 0,
        })
    }

    /// A copy that continues on its own (a beam leaving from another): the self-attention
    /// caches are copied (a few hundred positions at most), the memory shared.
    pub(crate) fn fork(&self, be: &B) -> Result<Self> {
        Ok(DecoderState {
            memory: self.memory.clone(),
            caches: self
                .caches
                .iter()
                .map(|c| be.fork_cache(c, self.len))
                .collect::<Result<_>>()?,
            len: self.len,
        })
    }

    /// A typed error unless the state belongs to `model`, a decoder of `layers` layers.
    pub(crate) fn check(&self, model: ModelId, layers: usize) -> Result<()> {
        self.memory.check(model, layers)?;
        if self.caches.len() != layers {
            return Err(ModelError::InvalidInput {
                what: "state",
                detail: format!(
                    "a state of {} layers for a decoder of {layers}",
                    self.caches.len(),
                ),
            });
        }
        Ok(())
    }

    /// Tokens held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets the tokens after the first `n` (a prompt prefix kept for the next attempt); the
    /// next step continues at position `n`.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    /// The input this state decodes.
    pub fn memory(&self) -> &Memory<B> {
        &self.memory
    }
}

/// A [`Memory`] of some backend.
pub struct AnyMemory(Box<dyn Any + Send + Sync>);

impl fmt::Debug for AnyMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AnyMemory")
    }
}

/// A [`DecoderState`] of some backend.
#[derive(Debug)]
pub struct AnyState(Box<dyn ErasedState>);

trait ErasedState: Any + Send + Sync + fmt::Debug {
    fn len(&self) -> usize;
    fn truncate(&mut self, n: usize);
}

impl<B: Backend> ErasedState for DecoderState<B> {
    fn len(&self) -> usize {
        DecoderState::len(self)
    }

    fn truncate(&mut self, n: usize) {
        DecoderState::truncate(self, n);
    }
}

impl AnyState {
    /// Tokens held ([`DecoderState::len`]).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`DecoderState::truncate`].
    pub fn truncate(&mut self, n: usize) {
        self.0.truncate(n);
    }
}

fn foreign(what: &'static str) -> ModelError {
    ModelError::InvalidInput {
        what,
        detail: "made by a model on another backend or of another family".into(),
    }
}

impl AnyMemory {
    pub(crate) fn new<B: Backend>(memory: Memory<B>) -> Self {
        AnyMemory(Box::new(memory))
    }

    /// The memory, if it is one of backend `B` (else a typed error: a memory of another model).
    pub(crate) fn of<B: Backend>(&self) -> Result<&Memory<B>> {
        self.0.downcast_ref().ok_or_else(|| foreign("memory"))
    }
}

impl AnyState {
    pub(crate) fn new<B: Backend>(state: DecoderState<B>) -> Self {
        AnyState(Box::new(state))
    }

    pub(crate) fn of<B: Backend>(&self) -> Result<&DecoderState<B>> {
        let any: &dyn Any = &*self.0;
        any.downcast_ref().ok_or_else(|| foreign("state"))
    }

    pub(crate) fn of_mut<B: Backend>(&mut self) -> Result<&mut DecoderState<B>> {
        let any: &mut dyn Any = &mut *self.0;
        any.downcast_mut().ok_or_else(|| foreign("state"))
    }
}
