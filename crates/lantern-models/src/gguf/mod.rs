//! GGUF: the file format of llama.cpp, parsed from bytes with limits against hostile files.
//!
//! Spec: <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>. The parser never
//! allocates more than the bytes it was given could justify (every count is checked against
//! the bytes left before anything is reserved), never recurses deeper than
//! [`MAX_ARRAY_DEPTH`], and checks every tensor's extent against the file, so a truncated or
//! malicious file is a [`ModelError`], never a panic or an abort.
//!
//! ```
//! let err = lantern_models::gguf::GgufFile::parse(b"GGUF\x03\x00\x00\x00").unwrap_err();
//! assert_eq!(err.code(), "truncated");
//! ```

mod parse;
mod requantize;
mod value;

pub use candle_core::quantized::GgmlDType;
pub use requantize::{Ftype, requantize, requantize_ftype};
pub use value::{Metadata, Value};

use crate::error::{ModelError, Result};

/// Deepest nesting of arrays in metadata. The spec allows arrays of arrays; no real file nests
/// them, and an unbounded depth would let a small file overflow the stack.
pub const MAX_ARRAY_DEPTH: usize = 3;
/// Most dimensions a tensor may have (`GGML_MAX_DIMS`).
pub const MAX_DIMS: usize = 4;
/// Most tensors and metadata entries. llama.cpp's largest models have a few thousand tensors;
/// the cap only keeps a hostile count from costing time before the bytes run out.
pub const MAX_TENSORS: u64 = 1 << 20;
pub const MAX_METADATA: u64 = 1 << 20;
/// Most array elements in all metadata values together. A decoded [`Value`] takes 32 bytes
/// whatever its type, so an array of one-byte values would cost 32 times its size in the file:
/// without a cap a hostile 100 MB file could ask for 3 GB, past what a wasm32 page can get (an
/// abort, not an error). The largest real vocabularies (~262k tokens, each with a type and a
/// score, plus merges) need about a million; four times that is still only 128 MiB.
pub const MAX_METADATA_VALUES: u64 = 1 << 22;
/// Longest tensor name (llama.cpp's `GGML_MAX_NAME` is 64; leave room for other writers).
pub const MAX_TENSOR_NAME: u64 = 1 << 10;

/// A tensor's description in the header. `dims` are in GGUF order: `dims[0]` is the innermost
/// (contiguous) dimension, so a matrix of `rows x cols` has `dims == [cols, rows]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<usize>,
    pub dtype: GgmlDType,
    /// Byte range of the data within the file.
    pub start: usize,
    pub len: usize,
}

impl TensorInfo {
    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }

    /// `(rows, cols)` of a tensor seen as a matrix: cols is `dims[0]`, rows all the others.
    pub fn matrix_shape(&self) -> (usize, usize) {
        let cols = self.dims.first().copied().unwrap_or(1);
        (self.dims.iter().skip(1).product(), cols)
    }
}

/// A parsed GGUF header: version, metadata and tensor table. Holds no tensor data.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufFile {
    pub version: u32,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    /// Where the tensor data section starts.
    pub data_start: usize,
    pub alignment: usize,
}

impl GgufFile {
    /// Parses the header of a whole file (tensor extents are checked against `bytes.len()`).
    pub fn parse(bytes: &[u8]) -> Result<GgufFile> {
        parse::parse(bytes)
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    pub fn require_tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.tensor(name)
            .ok_or_else(|| ModelError::MissingTensor(name.to_owned()))
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Result<&str> {
        self.metadata.str("general.architecture")
    }
}

/// The GGML type id of a tensor, if Lantern can load it (every type candle implements).
pub fn dtype_from_id(id: u32) -> Option<GgmlDType> {
    Some(match id {
        0 => GgmlDType::F32,
        1 => GgmlDType::F16,
        2 => GgmlDType::Q4_0,
        3 => GgmlDType::Q4_1,
        6 => GgmlDType::Q5_0,
        7 => GgmlDType::Q5_1,
        8 => GgmlDType::Q8_0,
        9 => GgmlDType::Q8_1,
        10 => GgmlDType::Q2K,
        11 => GgmlDType::Q3K,
        12 => GgmlDType::Q4K,
        13 => GgmlDType::Q5K,
        14 => GgmlDType::Q6K,
        15 => GgmlDType::Q8K,
        30 => GgmlDType::BF16,
        _ => return None,
    })
}

/// The GGML type id of a dtype (inverse of [`dtype_from_id`]).
pub fn dtype_id(dtype: GgmlDType) -> u32 {
    match dtype {
        GgmlDType::F32 => 0,
        GgmlDType::F16 => 1,
        GgmlDType::Q4_0 => 2,
        GgmlDType::Q4_1 => 3,
        GgmlDType::Q5_0 => 6,
        GgmlDType::Q5_1 => 7,
        GgmlDType::Q8_0 => 8,
        GgmlDType::Q8_1 => 9,
        GgmlDType::Q2K => 10,
        GgmlDType::Q3K => 11,
        GgmlDType::Q4K => 12,
        GgmlDType::Q5K => 13,
        GgmlDType::Q6K => 14,
        GgmlDType::Q8K => 15,
        GgmlDType::BF16 => 30,
    }
}
