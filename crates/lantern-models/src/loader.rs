//! From a file's bytes to tensors a backend can use: parse the header, let the backend
//! rewrite matrices in place, then share the bytes with every weight (no copy).

use std::sync::Arc;

use crate::bytes::{ByteView, ModelBytes};
use crate::error::{ModelError, Result};
use crate::gguf::{GgufFile, TensorInfo};
use crate::ops::{Backend, TensorData};

/// A parsed GGUF file whose matrices are prepared for one backend.
#[derive(Debug)]
pub struct GgufWeights {
    pub file: GgufFile,
    bytes: Arc<ModelBytes>,
}

impl GgufWeights {
    /// Parses `bytes` and prepares every 2-D tensor as a matrix of `backend`.
    pub fn load<B: Backend>(backend: &B, bytes: ModelBytes) -> Result<GgufWeights> {
        let mut bytes = bytes;
        let file = GgufFile::parse(bytes.as_slice())?;
        let buf = bytes.as_mut_slice();
        for t in file.tensors.iter().filter(|t| t.dims.len() == 2) {
            let (rows, cols) = t.matrix_shape();
            // The parser checked that every tensor lies within the buffer.
            let data = buf
                .get_mut(t.start..t.start + t.len)
                .ok_or_else(|| out_of_file(t))?;
            backend.prepare_matrix(t.dtype, rows, cols, data)?;
        }
        Ok(GgufWeights {
            file,
            bytes: Arc::new(bytes),
        })
    }

    /// Size of the file in bytes.
    pub fn file_size(&self) -> usize {
        self.bytes.len()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.file.tensor(name).is_some()
    }

    /// The named tensor; `expected` dims (GGUF order) are checked when given.
    pub fn data(&self, name: &str, expected: Option<&[usize]>) -> Result<TensorData> {
        let t = self.file.require_tensor(name)?;
        if let Some(want) = expected
            && t.dims != want
        {
            return Err(ModelError::TensorShape {
                name: name.to_owned(),
                expected: want.to_vec(),
                found: t.dims.clone(),
            });
        }
        let bytes = ByteView::new(self.bytes.clone(), t.start..t.start + t.len)
            .ok_or_else(|| out_of_file(t))?;
        Ok(TensorData {
            name: t.name.clone(),
            dims: t.dims.clone(),
            dtype: t.dtype,
            bytes,
        })
    }

    /// A `rows x cols` matrix.
    pub fn matrix<B: Backend>(
        &self,
        backend: &B,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<B::Matrix> {
        backend.matrix(self.data(name, Some(&[cols, rows]))?)
    }

    /// A vector of `n` values.
    pub fn vector<B: Backend>(&self, backend: &B, name: &str, n: usize) -> Result<B::Vector> {
        backend.vector(self.data(name, Some(&[n]))?)
    }

    /// A vector of `n` values if the file has it.
    pub fn opt_vector<B: Backend>(
        &self,
        backend: &B,
        name: &str,
        n: usize,
    ) -> Result<Option<B::Vector>> {
        if self.contains(name) {
            self.vector(backend, name, n).map(Some)
        } else {
            Ok(None)
        }
    }
}

fn out_of_file(t: &TensorInfo) -> ModelError {
    ModelError::Malformed(format!("tensor {:?} lies outside the file", t.name))
}
