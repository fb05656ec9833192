//! The bytes of a model file, held once.
//!
//! A model is loaded from one buffer holding the whole file (read from disk natively, from
//! OPFS in the browser). The buffer is never copied: weights are views into it, and a backend
//! that wants another layout rewrites a matrix in place (same size) before the buffer is shared.
//! That is how a model's peak memory stays near the size of its file.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Alignment every weight view can rely on. GGUF aligns tensor data to 32 bytes from the start
/// of the file (`general.alignment`); the widest scalar a block holds is an f32.
pub(crate) const BUFFER_ALIGN: usize = 8;

/// A model file's bytes, owned, with a start aligned to [`BUFFER_ALIGN`].
pub struct ModelBytes {
    storage: Storage,
}

enum Storage {
    /// The caller's buffer, already aligned (what every allocator we know returns).
    Plain(Vec<u8>),
    /// A copy into u64 words, only for a buffer whose start was not aligned.
    Words { words: Vec<u64>, len: usize },
}

impl ModelBytes {
    /// Takes ownership of a file's bytes. Copies them only if the allocation is not 8-byte
    /// aligned, which no allocator Lantern runs on does.
    pub fn new(bytes: Vec<u8>) -> Self {
        if (bytes.as_ptr() as usize).is_multiple_of(BUFFER_ALIGN) {
            return ModelBytes {
                storage: Storage::Plain(bytes),
            };
        }
        let len = bytes.len();
        let mut words = vec![0u64; len.div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..len].copy_from_slice(&bytes);
        ModelBytes {
            storage: Storage::Words { words, len },
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        match &self.storage {
            Storage::Plain(v) => v,
            Storage::Words { words, len } => &bytemuck::cast_slice::<u64, u8>(words)[..*len],
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match &mut self.storage {
            Storage::Plain(v) => v,
            Storage::Words { words, len } => {
                &mut bytemuck::cast_slice_mut::<u64, u8>(words)[..*len]
            }
        }
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for ModelBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelBytes({} bytes)", self.len())
    }
}

impl From<Vec<u8>> for ModelBytes {
    fn from(v: Vec<u8>) -> Self {
        ModelBytes::new(v)
    }
}

/// A range of a shared [`ModelBytes`]: one tensor's data.
#[derive(Clone)]
pub struct ByteView {
    bytes: Arc<ModelBytes>,
    range: Range<usize>,
}

impl ByteView {
    /// `range` must lie within `bytes` (checked by the GGUF parser for every tensor).
    pub(crate) fn new(bytes: Arc<ModelBytes>, range: Range<usize>) -> Option<Self> {
        (range.start <= range.end && range.end <= bytes.len()).then_some(ByteView { bytes, range })
    }

    pub fn as_slice(&self) -> &[u8] {
        // The range was checked against the buffer when the view was made.
        self.bytes.as_slice().get(self.range.clone()).unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        self.range.len()
    }

    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }
}

impl fmt::Debug for ByteView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ByteView({:?})", self.range)
    }
}
