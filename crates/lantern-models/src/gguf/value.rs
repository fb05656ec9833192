//! GGUF metadata values and typed access to them.

use std::collections::BTreeMap;

use crate::error::{ModelError, Result};

/// One metadata value, as the GGUF spec types it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    /// The spec's name of the type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::U8(_) => "u8",
            Value::I8(_) => "i8",
            Value::U16(_) => "u16",
            Value::I16(_) => "i16",
            Value::U32(_) => "u32",
            Value::I32(_) => "i32",
            Value::U64(_) => "u64",
            Value::I64(_) => "i64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::Bool(_) => "bool",
            Value::String(_) => "string",
            Value::Array(_) => "array",
        }
    }

    /// Any integer type, if the value fits in an i64.
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            Value::U8(v) => v.into(),
            Value::I8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U64(v) => i64::try_from(v).ok()?,
            Value::I64(v) => v,
            _ => return None,
        })
    }

    /// Any float or integer type as an f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// The key/value metadata of a GGUF file, with typed getters that turn a missing key or a
/// wrong type into a [`ModelError`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    entries: BTreeMap<String, Value>,
}

impl Metadata {
    pub(crate) fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        self.entries.insert(key, value)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.get(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn require(&self, key: &str) -> Result<&Value> {
        self.get(key).ok_or_else(|| ModelError::MissingMetadata {
            key: key.to_owned(),
        })
    }

    fn wrong(key: &str, expected: &'static str, v: &Value) -> ModelError {
        ModelError::MetadataType {
            key: key.to_owned(),
            expected,
            found: v.type_name(),
        }
    }

    /// A non-negative integer that fits in a usize.
    pub fn usize(&self, key: &str) -> Result<usize> {
        let v = self.require(key)?;
        v.as_i64()
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| Self::wrong(key, "non-negative integer", v))
    }

    pub fn opt_usize(&self, key: &str) -> Result<Option<usize>> {
        if self.contains(key) {
            self.usize(key).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn u32(&self, key: &str) -> Result<u32> {
        let v = self.require(key)?;
        v.as_i64()
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| Self::wrong(key, "u32", v))
    }

    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>> {
        if self.contains(key) {
            self.u32(key).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn f32(&self, key: &str) -> Result<f32> {
        let v = self.require(key)?;
        v.as_f64()
            .map(|f| f as f32)
            .ok_or_else(|| Self::wrong(key, "number", v))
    }

    pub fn opt_f32(&self, key: &str) -> Result<Option<f32>> {
        if self.contains(key) {
            self.f32(key).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn bool(&self, key: &str) -> Result<bool> {
        let v = self.require(key)?;
        v.as_bool().ok_or_else(|| Self::wrong(key, "bool", v))
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        if self.contains(key) {
            self.bool(key).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn str(&self, key: &str) -> Result<&str> {
        let v = self.require(key)?;
        v.as_str().ok_or_else(|| Self::wrong(key, "string", v))
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&str>> {
        if self.contains(key) {
            self.str(key).map(Some)
        } else {
            Ok(None)
        }
    }

    fn array(&self, key: &str) -> Result<&[Value]> {
        let v = self.require(key)?;
        v.as_array().ok_or_else(|| Self::wrong(key, "array", v))
    }

    /// An array of strings (e.g. `tokenizer.ggml.tokens`).
    pub fn str_array(&self, key: &str) -> Result<Vec<&str>> {
        self.array(key)?
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| Self::wrong(key, "array of strings", v))
            })
            .collect()
    }

    /// An array of integers (e.g. `tokenizer.ggml.token_type`).
    pub fn i64_array(&self, key: &str) -> Result<Vec<i64>> {
        self.array(key)?
            .iter()
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| Self::wrong(key, "array of integers", v))
            })
            .collect()
    }

    /// An array of numbers (e.g. `tokenizer.ggml.scores`).
    pub fn f32_array(&self, key: &str) -> Result<Vec<f32>> {
        self.array(key)?
            .iter()
            .map(|v| {
                v.as_f64()
                    .map(|f| f as f32)
                    .ok_or_else(|| Self::wrong(key, "array of numbers", v))
            })
            .collect()
    }
}
