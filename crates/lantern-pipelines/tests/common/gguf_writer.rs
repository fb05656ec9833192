//! A small GGUF writer for tests and for the fuzz seeds (`examples/fuzz_seeds.rs`): whole files
//! from metadata and tensors, and raw pieces for headers no real writer would produce.
//! Shared through `#[path]` so the seeds and the tests that read them agree on the format.

#![allow(dead_code)]

use lantern_models::gguf::{GgmlDType, Value, dtype_id};

/// GGUF's value type ids (`gguf_type`).
fn type_id(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

/// Raw little-endian pieces of a GGUF file.
#[derive(Debug, Default, Clone)]
pub struct Raw(pub Vec<u8>);

impl Raw {
    /// Magic, version and the two counts.
    pub fn header(version: u32, tensors: u64, kv: u64) -> Raw {
        let mut w = Raw::default();
        w.0.extend_from_slice(b"GGUF");
        w.u32(version).u64(tensors).u64(kv);
        w
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    /// A value without its type id (arrays: element type, length, elements).
    pub fn value(&mut self, v: &Value) -> &mut Self {
        match v {
            Value::U8(x) => self.0.push(*x),
            Value::I8(x) => self.0.extend_from_slice(&x.to_le_bytes()),
            Value::U16(x) => self.0.extend_from_slice(&x.to_le_bytes()),
            Value::I16(x) => self.0.extend_from_slice(&x.to_le_bytes()),
            Value::U32(x) => self.0.extend_from_slice(&x.to_le_bytes()),
            Value::I32(x) => self.0.extend_from_slice(&x.to_le_bytes()),
            Value::F32(x) => self.0.extend_from_slice(&x.to_le_bytes()),
            Value::Bool(x) => self.0.push(u8::from(*x)),
            Value::String(s) => {
                self.str(s);
            }
            Value::Array(items) => {
                // An empty array has no element to take the type from: call it strings.
                self.u32(items.first().map_or(8, type_id));
                self.u64(items.len() as u64);
                for i in items {
                    self.value(i);
                }
            }
            Value::U64(x) => self.0.extend_from_slice(&x.to_le_bytes()),
            Value::I64(x) => self.0.extend_from_slice(&x.to_le_bytes()),
            Value::F64(x) => self.0.extend_from_slice(&x.to_le_bytes()),
        }
        self
    }
    /// A metadata entry: key, type id, value.
    pub fn kv(&mut self, key: &str, v: &Value) -> &mut Self {
        self.str(key).u32(type_id(v)).value(v)
    }
    /// A tensor info entry.
    pub fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
        self.str(name).u32(dims.len() as u32);
        for &d in dims {
            self.u64(d);
        }
        self.u32(ty).u64(offset)
    }
    pub fn pad_to(&mut self, align: usize) -> &mut Self {
        let n = self.0.len().div_ceil(align) * align;
        self.0.resize(n, 0);
        self
    }
}

/// A tensor to write: GGUF-order dims (innermost first) and its type; the data is a fixed
/// pattern of the right size (the parser never reads it; the CPU backend accepts any bytes).
#[derive(Debug, Clone)]
pub struct Tensor {
    pub name: String,
    pub dims: Vec<u64>,
    pub dtype: GgmlDType,
}

impl Tensor {
    pub fn new(name: &str, dims: &[u64], dtype: GgmlDType) -> Tensor {
        Tensor {
            name: name.to_owned(),
            dims: dims.to_vec(),
            dtype,
        }
    }

    fn data(&self) -> Vec<u8> {
        let elements: u64 = self.dims.iter().product();
        let len = elements as usize / self.dtype.block_size() * self.dtype.type_size();
        // 0x11 makes every f16/bf16 scale a small finite number, every f32 a tiny one.
        vec![0x11; len]
    }
}

/// A complete version-3 GGUF file, aligned to the default 32 bytes. The file ends where the
/// last tensor's data (or the metadata) ends, so cutting it anywhere makes it invalid.
pub fn gguf(metadata: &[(&str, Value)], tensors: &[Tensor]) -> Vec<u8> {
    let mut w = Raw::header(3, tensors.len() as u64, metadata.len() as u64);
    for (k, v) in metadata {
        w.kv(k, v);
    }
    let mut offset = 0u64;
    let mut data = Raw::default();
    for (i, t) in tensors.iter().enumerate() {
        w.tensor(&t.name, &t.dims, dtype_id(t.dtype), offset);
        data.0.extend_from_slice(&t.data());
        if i + 1 < tensors.len() {
            data.pad_to(32);
        }
        offset = data.0.len() as u64;
    }
    // Without tensors the file ends with the metadata (padding there would be valid to cut).
    if !tensors.is_empty() {
        w.pad_to(32);
    }
    w.0.extend_from_slice(&data.0);
    w.0
}

/// A string value.
pub fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}
