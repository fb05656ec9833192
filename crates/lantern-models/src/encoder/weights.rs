//! Tensors of a safetensors file, widened to f32 one at a time.
//!
//! The `safetensors` crate checks the header (its length, the JSON, every tensor's offsets and
//! size against its shape and the buffer) before anything is read; here each tensor is then
//! checked against the shape the config implies, by name, before its data is converted.

use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors};

use crate::error::{ModelError, Result};

pub(crate) struct Weights<'a> {
    file: SafeTensors<'a>,
    /// `bert.`, `distilbert.` or `roberta.` for the `*For*` checkpoints, empty for the bare
    /// models'.
    pub prefix: &'static str,
}

impl<'a> Weights<'a> {
    /// Parses the header; `prefix` is used for the body's tensors when `probe` carries it.
    pub fn parse(bytes: &'a [u8], prefix: &'static str, probe: &str) -> Result<Self> {
        let file =
            SafeTensors::deserialize(bytes).map_err(|e| ModelError::Safetensors(e.to_string()))?;
        let prefix = if file.tensor(&format!("{prefix}{probe}")).is_ok() {
            prefix
        } else {
            ""
        };
        Ok(Weights { file, prefix })
    }

    /// Parses the header; `prefix` is used for every tensor when any tensor's name starts
    /// with it (so a missing tensor is reported under the name the file would give it).
    pub fn parse_any(bytes: &'a [u8], prefix: &'static str) -> Result<Self> {
        let file =
            SafeTensors::deserialize(bytes).map_err(|e| ModelError::Safetensors(e.to_string()))?;
        let prefix = if file.names().iter().any(|n| n.starts_with(prefix)) {
            prefix
        } else {
            ""
        };
        Ok(Weights { file, prefix })
    }

    /// Whether the file has a tensor of this name.
    pub fn contains(&self, name: &str) -> bool {
        self.file.tensor(name).is_ok()
    }

    /// The first of `names` the file has, of exactly `shape`, as f32.
    pub fn f32(&self, names: &[&str], shape: &[usize]) -> Result<Vec<f32>> {
        let (name, dtype, data) = self.raw(names, shape)?;
        Self::widen(name, dtype, data, shape)
    }

    /// The first of `names` the file has, of exactly `shape`, as stored: its name, type and
    /// bytes.
    pub fn raw<'n>(
        &self,
        names: &[&'n str],
        shape: &[usize],
    ) -> Result<(&'n str, Dtype, &'a [u8])> {
        let (name, t) = names
            .iter()
            .find_map(|n| self.file.tensor(n).ok().map(|t| (*n, t)))
            .ok_or_else(|| {
                ModelError::MissingTensor(names.first().copied().unwrap_or("").into())
            })?;
        if t.shape() != shape {
            return Err(ModelError::TensorShape {
                name: name.to_owned(),
                expected: shape.to_vec(),
                found: t.shape().to_vec(),
            });
        }
        Ok((name, t.dtype(), t.data()))
    }

    /// A tensor's bytes of type `dtype` as f32 (f32, f16 or bf16).
    fn widen(name: &str, dtype: Dtype, data: &[u8], shape: &[usize]) -> Result<Vec<f32>> {
        let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let width = match dtype {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            other => {
                return Err(ModelError::InvalidWeight {
                    name: name.to_owned(),
                    detail: format!("{other:?}; f32, f16 or bf16 is supported"),
                });
            }
        };
        // The crate has checked this; a mismatch here would make the conversion below wrong.
        if elements.and_then(|n| n.checked_mul(width)) != Some(data.len()) {
            return Err(ModelError::Safetensors(format!(
                "tensor {name:?}: {} bytes for shape {shape:?}",
                data.len()
            )));
        }
        Ok(match dtype {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            _ => data
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
        })
    }
}
