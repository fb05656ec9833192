//! The GGUF header reader. Every read is bounds-checked; every count is checked against the
//! bytes left before anything is allocated for it.

use std::collections::HashSet;

use super::value::{Metadata, Value};
use super::{
    GgufFile, MAX_ARRAY_DEPTH, MAX_DIMS, MAX_METADATA, MAX_METADATA_VALUES, MAX_TENSOR_NAME,
    MAX_TENSORS, TensorInfo, dtype_from_id,
};
use crate::error::{ModelError, Result};

const MAGIC: &[u8; 4] = b"GGUF";
/// `general.alignment` when the file does not set it (`GGUF_DEFAULT_ALIGNMENT`).
const DEFAULT_ALIGNMENT: usize = 32;

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Array elements decoded so far, against [`MAX_METADATA_VALUES`].
    values: u64,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(ModelError::Truncated {
                what,
                offset: self.pos as u64,
                len: self.bytes.len() as u64,
            });
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A count that must be backed by at least `min_each` bytes per item still in the file.
    fn count(&mut self, what: &'static str, limit: u64, min_each: usize) -> Result<usize> {
        let at = self.pos;
        let n = self.u64(what)?;
        if n > limit {
            return Err(ModelError::LimitExceeded {
                what,
                value: n,
                limit,
            });
        }
        let n = usize::try_from(n).map_err(|_| ModelError::LimitExceeded {
            what,
            value: n,
            limit,
        })?;
        if n.checked_mul(min_each)
            .is_none_or(|need| need > self.remaining())
        {
            return Err(ModelError::Truncated {
                what,
                offset: at as u64,
                len: self.bytes.len() as u64,
            });
        }
        Ok(n)
    }

    fn string(&mut self, what: &'static str) -> Result<String> {
        let at = self.pos;
        let n = self.count(what, u64::MAX, 1)?;
        let raw = self.take(n, what)?;
        String::from_utf8(raw.to_vec())
            .map_err(|_| ModelError::Malformed(format!("{what} at byte {at} is not UTF-8")))
    }
}

/// Smallest encoding of a value of each type, used to check array lengths before allocating.
fn min_size(ty: u32) -> usize {
    match ty {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 => 8,     // the length of an empty string
        9 => 4 + 8, // an empty array: element type and length
        _ => 8,     // 10..=12 are 8 bytes; unknown types fail when read
    }
}

fn value(c: &mut Cursor<'_>, ty: u32, depth: usize) -> Result<Value> {
    const W: &str = "metadata value";
    Ok(match ty {
        0 => Value::U8(c.array::<1>(W)?[0]),
        1 => Value::I8(i8::from_le_bytes(c.array(W)?)),
        2 => Value::U16(u16::from_le_bytes(c.array(W)?)),
        3 => Value::I16(i16::from_le_bytes(c.array(W)?)),
        4 => Value::U32(u32::from_le_bytes(c.array(W)?)),
        5 => Value::I32(i32::from_le_bytes(c.array(W)?)),
        6 => Value::F32(f32::from_le_bytes(c.array(W)?)),
        7 => match c.array::<1>(W)?[0] {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            b => {
                return Err(ModelError::Malformed(format!(
                    "bool value {b} at byte {}",
                    c.pos - 1
                )));
            }
        },
        8 => Value::String(c.string("metadata string")?),
        9 => {
            if depth >= MAX_ARRAY_DEPTH {
                return Err(ModelError::LimitExceeded {
                    what: "metadata array nesting",
                    value: depth as u64 + 1,
                    limit: MAX_ARRAY_DEPTH as u64,
                });
            }
            let elem = c.u32("array element type")?;
            check_type(elem, c.pos - 4)?;
            let n = c.count("array length", u64::MAX, min_size(elem))?;
            // Checked before reserving: the bytes left can back `n` items, but their decoded
            // size is up to 32 times more (see MAX_METADATA_VALUES).
            c.values = c.values.saturating_add(n as u64);
            if c.values > MAX_METADATA_VALUES {
                return Err(ModelError::LimitExceeded {
                    what: "metadata array elements",
                    value: c.values,
                    limit: MAX_METADATA_VALUES,
                });
            }
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(value(c, elem, depth + 1)?);
            }
            Value::Array(items)
        }
        10 => Value::U64(u64::from_le_bytes(c.array(W)?)),
        11 => Value::I64(i64::from_le_bytes(c.array(W)?)),
        12 => Value::F64(f64::from_le_bytes(c.array(W)?)),
        _ => unreachable_type(ty, c.pos)?,
    })
}

fn check_type(ty: u32, at: usize) -> Result<()> {
    if ty <= 12 {
        Ok(())
    } else {
        unreachable_type(ty, at)
    }
}

fn unreachable_type<T>(ty: u32, at: usize) -> Result<T> {
    Err(ModelError::Malformed(format!(
        "unknown metadata value type {ty} at byte {at}"
    )))
}

pub(super) fn parse(bytes: &[u8]) -> Result<GgufFile> {
    let mut c = Cursor {
        bytes,
        pos: 0,
        values: 0,
    };
    let magic: [u8; 4] = match c.array::<4>("magic") {
        Ok(m) => m,
        Err(_) => {
            let mut m = [0u8; 4];
            m[..bytes.len().min(4)].copy_from_slice(&bytes[..bytes.len().min(4)]);
            return Err(if bytes.len() < 4 && MAGIC.starts_with(bytes) {
                ModelError::Truncated {
                    what: "magic",
                    offset: 0,
                    len: bytes.len() as u64,
                }
            } else {
                ModelError::BadMagic(m)
            });
        }
    };
    if &magic != MAGIC {
        return Err(ModelError::BadMagic(magic));
    }
    let version = c.u32("version")?;
    // Version 1 used 32-bit counts and is long gone; a big-endian file reads as a huge version.
    if !(2..=3).contains(&version) {
        return Err(ModelError::UnsupportedVersion(version));
    }
    // A tensor entry takes at least: name length (8), n_dims (4), one dim (8), type (4), offset (8).
    let n_tensors = c.count("tensor count", MAX_TENSORS, 32)?;
    // A metadata entry takes at least: key length (8), type (4), one byte of value.
    let n_kv = c.count("metadata count", MAX_METADATA, 13)?;

    let mut metadata = Metadata::default();
    for _ in 0..n_kv {
        let key_at = c.pos;
        let key = c.string("metadata key")?;
        let ty = c.u32("metadata value type")?;
        check_type(ty, c.pos - 4)?;
        let v = value(&mut c, ty, 0)?;
        if metadata.insert(key.clone(), v).is_some() {
            return Err(ModelError::Malformed(format!(
                "duplicate metadata key {key:?} at byte {key_at}"
            )));
        }
    }

    let alignment = match metadata.get("general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some(v) => match v.as_i64() {
            Some(a) if a > 0 && (a as u64).is_power_of_two() && a <= 1 << 20 => a as usize,
            _ => {
                return Err(ModelError::Malformed(format!(
                    "general.alignment {v:?} is not a power of two"
                )));
            }
        },
    };

    struct Raw {
        name: String,
        dims: Vec<usize>,
        type_id: u32,
        offset: u64,
    }
    let mut raws = Vec::with_capacity(n_tensors);
    let mut names = HashSet::with_capacity(n_tensors);
    for _ in 0..n_tensors {
        let name_at = c.pos;
        let name_len = c.count("tensor name length", MAX_TENSOR_NAME, 1)?;
        let name = String::from_utf8(c.take(name_len, "tensor name")?.to_vec()).map_err(|_| {
            ModelError::Malformed(format!("tensor name at byte {name_at} is not UTF-8"))
        })?;
        let n_dims = c.u32("tensor dimension count")? as usize;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(ModelError::Malformed(format!(
                "tensor {name:?} has {n_dims} dimensions (1..={MAX_DIMS})"
            )));
        }
        let mut dims = Vec::with_capacity(n_dims);
        for _ in 0..n_dims {
            let d = c.u64("tensor dimension")?;
            // Every dimension is at most the file size: a tensor with more elements than bytes
            // is rejected below anyway, and this keeps the products from overflowing.
            let d = usize::try_from(d)
                .ok()
                .filter(|&d| d > 0 && d as u64 <= bytes.len() as u64 * 8)
                .ok_or_else(|| {
                    ModelError::Malformed(format!("tensor {name:?} has dimension {d}"))
                })?;
            dims.push(d);
        }
        let type_id = c.u32("tensor type")?;
        let offset = c.u64("tensor offset")?;
        if !names.insert(name.clone()) {
            return Err(ModelError::Malformed(format!("duplicate tensor {name:?}")));
        }
        raws.push(Raw {
            name,
            dims,
            type_id,
            offset,
        });
    }

    let data_start = c.pos.div_ceil(alignment).saturating_mul(alignment);
    let mut tensors = Vec::with_capacity(raws.len());
    for raw in raws {
        let Raw {
            name,
            dims,
            type_id,
            offset,
        } = raw;
        let dtype = dtype_from_id(type_id).ok_or_else(|| ModelError::UnsupportedTensorType {
            name: name.clone(),
            type_id,
        })?;
        let block = dtype.block_size();
        if !dims[0].is_multiple_of(block) {
            return Err(ModelError::Malformed(format!(
                "tensor {name:?}: first dimension {} is not a multiple of the block size {block} of {dtype:?}",
                dims[0]
            )));
        }
        let too_big = || {
            ModelError::Malformed(format!(
                "tensor {name:?} with dimensions {dims:?} is too large"
            ))
        };
        let elements = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(too_big)?;
        let len = (elements / block)
            .checked_mul(dtype.type_size())
            .ok_or_else(too_big)?;
        if !offset.is_multiple_of(alignment as u64) {
            return Err(ModelError::Malformed(format!(
                "tensor {name:?} at data offset {offset} is not aligned to {alignment}"
            )));
        }
        let start = usize::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(data_start));
        let end = start.and_then(|s| s.checked_add(len));
        let (start, end) = match (start, end) {
            (Some(s), Some(e)) if e <= bytes.len() => (s, e),
            _ => {
                return Err(ModelError::Truncated {
                    what: "tensor data",
                    offset: (data_start as u64).saturating_add(offset),
                    len: bytes.len() as u64,
                });
            }
        };
        tensors.push(TensorInfo {
            name,
            dims,
            dtype,
            start,
            len: end - start,
        });
    }

    Ok(GgufFile {
        version,
        metadata,
        tensors,
        data_start,
        alignment,
    })
}
