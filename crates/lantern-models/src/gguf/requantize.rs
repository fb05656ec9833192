//! Rewrites a GGUF file with its tensors converted to other types by candle's quantizer:
//! how the fixture models in other formats (Q4_0, Q8_0, Q4_K_M) are made from the shipped
//! Q4_1 file, so every supported type has a real model to test on.

use std::borrow::Cow;

use candle_core::quantized::{QStorage, QTensor, gguf_file};
use candle_core::{Device, Shape};

use super::{GgmlDType, GgufFile, TensorInfo, Value};
use crate::error::{ModelError, Result};

fn candle_value(v: &Value) -> gguf_file::Value {
    use gguf_file::Value as C;
    match v {
        Value::U8(x) => C::U8(*x),
        Value::I8(x) => C::I8(*x),
        Value::U16(x) => C::U16(*x),
        Value::I16(x) => C::I16(*x),
        Value::U32(x) => C::U32(*x),
        Value::I32(x) => C::I32(*x),
        Value::U64(x) => C::U64(*x),
        Value::I64(x) => C::I64(*x),
        Value::F32(x) => C::F32(*x),
        Value::F64(x) => C::F64(*x),
        Value::Bool(x) => C::Bool(*x),
        Value::String(x) => C::String(x.clone()),
        Value::Array(x) => C::Array(x.iter().map(candle_value).collect()),
    }
}

fn err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Requantize(e.to_string())
}

/// A new GGUF file: the metadata of `bytes` with `overrides` applied, and every tensor for
/// which `target` returns a type converted to it (dequantized to f32, then quantized).
/// `general.alignment` is dropped: the writer aligns to the default 32.
pub fn requantize(
    bytes: &[u8],
    overrides: &[(&str, Value)],
    target: impl Fn(&TensorInfo) -> Option<GgmlDType>,
) -> Result<Vec<u8>> {
    let file = GgufFile::parse(bytes)?;
    let mut metadata: Vec<(String, gguf_file::Value)> = file
        .metadata
        .iter()
        .filter(|(k, _)| *k != "general.alignment" && !overrides.iter().any(|(o, _)| o == k))
        .map(|(k, v)| (k.to_owned(), candle_value(v)))
        .collect();
    metadata.extend(
        overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), candle_value(v))),
    );

    let mut tensors = Vec::new();
    for t in &file.tensors {
        let shape = Shape::from(t.dims.iter().rev().copied().collect::<Vec<_>>());
        let raw = &bytes[t.start..t.start + t.len];
        let storage =
            QStorage::from_data(Cow::Borrowed(raw), &Device::Cpu, t.dtype).map_err(err)?;
        let q = QTensor::new(storage, shape).map_err(err)?;
        let q = match target(t) {
            Some(to) if to != t.dtype => {
                if !t.dims[0].is_multiple_of(to.block_size()) {
                    return Err(ModelError::Requantize(format!(
                        "{}: rows of {} do not split into {to:?} blocks of {}",
                        t.name,
                        t.dims[0],
                        to.block_size()
                    )));
                }
                let f = q.dequantize(&Device::Cpu).map_err(err)?;
                QTensor::quantize(&f, to).map_err(err)?
            }
            _ => q,
        };
        tensors.push((t.name.clone(), q));
    }
    let md: Vec<(&str, &gguf_file::Value)> =
        metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut out, &md, &ts).map_err(err)?;
    Ok(out.into_inner())
}

/// A whole-file target type as llama.cpp's `llama-quantize` names it (its `ftype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ftype {
    Q4_0,
    Q8_0,
    /// The "medium" 4-bit k-quant mix.
    Q4KM,
}

impl Ftype {
    /// The name used in file names (`Q4_K_M`).
    pub fn name(self) -> &'static str {
        match self {
            Ftype::Q4_0 => "Q4_0",
            Ftype::Q8_0 => "Q8_0",
            Ftype::Q4KM => "Q4_K_M",
        }
    }

    /// GGUF's `general.file_type` value (llama.cpp's `llama_ftype`).
    pub fn file_type(self) -> u32 {
        match self {
            Ftype::Q4_0 => 2,
            Ftype::Q8_0 => 7,
            Ftype::Q4KM => 15,
        }
    }

    /// The type llama.cpp's `llama_tensor_get_type` gives tensor `t` of a llama-family file
    /// with `layers` blocks whose output projection is `tied` to the embedding, or `None` to
    /// keep it as it is (vectors stay f32). Follows llama.cpp's choices for these three types
    /// (`src/llama-quant.cpp`): the output projection gets Q6_K (Q8_0 for Q8_0); Q4_K_M gives
    /// Q6_K to the `attn_v` and `ffn_down` of some layers (`use_more_bits`); a k-quant whose
    /// 256-wide super-blocks do not divide the row falls back to a 32-wide type (Q4_K → Q5_0,
    /// Q6_K → Q8_0) — which for SmolLM2's 576-wide rows is most tensors.
    pub fn tensor_type(self, t: &TensorInfo, layers: usize, tied: bool) -> Option<GgmlDType> {
        if t.dims.len() < 2 {
            return None;
        }
        let output = t.name == "output.weight" || (tied && t.name == "token_embd.weight");
        let layer = t
            .name
            .strip_prefix("blk.")
            .and_then(|r| r.split('.').next())
            .and_then(|i| i.parse::<usize>().ok());
        let more_bits = |i: usize| {
            let n = layers.max(1);
            // llama.cpp's `use_more_bits` (its third test only runs for i >= n / 8).
            i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
        };
        let want = match self {
            Ftype::Q8_0 => GgmlDType::Q8_0,
            Ftype::Q4_0 if output => GgmlDType::Q6K,
            Ftype::Q4_0 => GgmlDType::Q4_0,
            Ftype::Q4KM if output => GgmlDType::Q6K,
            Ftype::Q4KM => match layer {
                Some(i)
                    if (t.name.ends_with("attn_v.weight")
                        || t.name.ends_with("ffn_down.weight"))
                        && more_bits(i) =>
                {
                    GgmlDType::Q6K
                }
                _ => GgmlDType::Q4K,
            },
        };
        Some(if t.dims[0].is_multiple_of(want.block_size()) {
            want
        } else {
            match want {
                GgmlDType::Q4K => GgmlDType::Q5_0,
                GgmlDType::Q6K => GgmlDType::Q8_0,
                other => other,
            }
        })
    }
}

/// `bytes` (a llama-family GGUF file) converted to `ftype` with llama.cpp's choice of type per
/// tensor ([`Ftype::tensor_type`]), `general.file_type` updated.
pub fn requantize_ftype(bytes: &[u8], ftype: Ftype) -> Result<Vec<u8>> {
    let file = GgufFile::parse(bytes)?;
    let arch = file.architecture()?.to_owned();
    let layers = file.metadata.usize(&format!("{arch}.block_count"))?;
    let tied = file.tensor("output.weight").is_none();
    requantize(
        bytes,
        &[("general.file_type", Value::U32(ftype.file_type()))],
        |t| ftype.tensor_type(t, layers, tied),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, cols: usize) -> TensorInfo {
        TensorInfo {
            name: name.into(),
            dims: vec![cols, 64],
            dtype: GgmlDType::F32,
            start: 0,
            len: 0,
        }
    }

    #[test]
    fn q4_k_m_follows_llama_cpp() {
        let f = Ftype::Q4KM;
        // 30 layers: use_more_bits holds below 3, from 26 on, and for 5, 8, 11, ...
        let ty = |name: &str, cols| f.tensor_type(&info(name, cols), 30, true);
        assert_eq!(ty("blk.0.ffn_down.weight", 1536), Some(GgmlDType::Q6K));
        assert_eq!(ty("blk.3.ffn_down.weight", 1536), Some(GgmlDType::Q4K));
        assert_eq!(ty("blk.5.ffn_down.weight", 1536), Some(GgmlDType::Q6K));
        assert_eq!(ty("blk.29.ffn_down.weight", 1536), Some(GgmlDType::Q6K));
        // 576-wide rows: the k-quants fall back.
        assert_eq!(ty("blk.3.attn_q.weight", 576), Some(GgmlDType::Q5_0));
        assert_eq!(ty("blk.0.attn_v.weight", 576), Some(GgmlDType::Q8_0));
        assert_eq!(ty("token_embd.weight", 576), Some(GgmlDType::Q8_0));
        assert_eq!(ty("blk.3.attn_q.weight", 512), Some(GgmlDType::Q4K));
        assert_eq!(
            f.tensor_type(
                &TensorInfo {
                    dims: vec![576],
                    ..info("blk.0.attn_norm.weight", 576)
                },
                30,
                true
            ),
            None
        );
        assert_eq!(
            Ftype::Q4_0.tensor_type(&info("token_embd.weight", 576), 30, false),
            Some(GgmlDType::Q4_0)
        );
    }
}
