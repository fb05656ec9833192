//! Rows of a Hugging Face dataset's Parquet files, for evaluation (issue 16): the columns a
//! demo names, streamed one row group at a time, natively and in the worker.
//!
//! A dataset on the Hub is Parquet files in its repository (or on its `refs/convert/parquet`
//! branch), written by `datasets` with pyarrow: strings, numbers, a ClassLabel as an integer
//! whose names are in the schema's `huggingface` metadata, audio and images as a struct of
//! `bytes` and `path`. [`ParquetDataset`] reads the footer, checks the named columns and the
//! codecs before any row, and yields rows of those columns only.
//!
//! **Memory does not grow with the dataset.** The reader needs bytes only for the footer and
//! for the row groups it reaches: natively it reads them from the file as it goes; in the
//! browser, where reads are asynchronous, the caller fetches the footer and then each row
//! group's range ([`ParquetDataset::row_group_range`]) into a [`Ranges`], which serves only
//! what was fetched. A row limit stops at the row group that holds the last row wanted.
//!
//! Nothing here panics on a file: a truncated or hostile file, a missing column, a missing
//! value or a codec that is not built in is a [`DataError`].

use std::collections::BTreeMap;
use std::io::Cursor;
use std::ops::Range;

use bytes::Bytes;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, FileReader, Length, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::{Field, Row};
use parquet::schema::types::Type;

/// Why rows cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    #[error("not a readable Parquet file: {0}")]
    Corrupt(String),
    #[error("the dataset has no column {column:?} (its columns: {})", available.join(", "))]
    MissingColumn {
        column: String,
        available: Vec<String>,
    },
    #[error(
        "column {column:?} is compressed with {codec}, which this build does not read \
         (it reads uncompressed, snappy, gzip, lz4 and brotli)"
    )]
    UnsupportedCodec { column: String, codec: String },
    #[error("row {row} has no value in column {column:?}")]
    MissingValue { row: u64, column: String },
    #[error("bytes {start}..{end} of the file were not fetched (a row group past those fetched)")]
    NotFetched { start: u64, end: u64 },
}

impl From<ParquetError> for DataError {
    fn from(e: ParquetError) -> Self {
        DataError::Corrupt(e.to_string())
    }
}

/// A value of one column of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// A struct's fields in order (`datasets`' Audio and Image: `bytes` and `path`).
    Struct(Vec<(String, Value)>),
    List(Vec<Value>),
}

impl Value {
    /// The text of a string value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A number as f64 (integers too: a gold score may be stored as either).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    /// The `bytes` of an Audio or Image struct, or a binary value itself.
    pub fn media_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            Value::Struct(fields) => fields
                .iter()
                .find_map(|(name, v)| match (name.as_str(), v) {
                    ("bytes", Value::Bytes(b)) => Some(b.as_slice()),
                    _ => None,
                }),
            _ => None,
        }
    }
}

fn value_of(field: &Field) -> Value {
    match field {
        Field::Null => Value::Null,
        Field::Bool(v) => Value::Bool(*v),
        Field::Byte(v) => Value::Int(i64::from(*v)),
        Field::Short(v) => Value::Int(i64::from(*v)),
        Field::Int(v) => Value::Int(i64::from(*v)),
        Field::Long(v) => Value::Int(*v),
        Field::UByte(v) => Value::Int(i64::from(*v)),
        Field::UShort(v) => Value::Int(i64::from(*v)),
        Field::UInt(v) => Value::Int(i64::from(*v)),
        // Beyond i64 a u64 is kept as a float: a metric reads it as a number anyway.
        Field::ULong(v) => i64::try_from(*v).map_or(Value::Float(*v as f64), Value::Int),
        Field::Float16(v) => Value::Float(f64::from(v.to_f32())),
        Field::Float(v) => Value::Float(f64::from(*v)),
        Field::Double(v) => Value::Float(*v),
        Field::Str(s) => Value::Text(s.clone()),
        Field::Bytes(b) => Value::Bytes(b.data().to_vec()),
        Field::Group(row) => Value::Struct(
            row.get_column_iter()
                .map(|(name, f)| (name.clone(), value_of(f)))
                .collect(),
        ),
        Field::ListInternal(list) => Value::List(list.elements().iter().map(value_of).collect()),
        Field::MapInternal(map) => Value::List(
            map.entries()
                .iter()
                .map(|(k, v)| Value::List(vec![value_of(k), value_of(v)]))
                .collect(),
        ),
        // Dates, times and decimals: their text, as pyarrow prints them.
        other => Value::Text(other.to_string()),
    }
}

/// Ranges of a file fetched so far, as a [`ChunkReader`]: a read outside them is an error
/// ([`DataError::NotFetched`]), never a blocking fetch.
#[derive(Debug, Clone, Default)]
pub struct Ranges {
    len: u64,
    pieces: Vec<(u64, Bytes)>,
}

impl Ranges {
    /// A file of `len` bytes of which nothing is fetched yet.
    pub fn new(len: u64) -> Self {
        Ranges {
            len,
            pieces: Vec::new(),
        }
    }

    /// Adds the bytes at `start` (a fetched range).
    pub fn insert(&mut self, start: u64, bytes: Bytes) {
        self.pieces.push((start, bytes));
    }

    /// The piece holding `start..start + length`, and the offset of `start` in it.
    fn find(&self, start: u64, length: u64) -> parquet::errors::Result<(&Bytes, usize)> {
        let end = start.saturating_add(length);
        self.pieces
            .iter()
            .find(|(at, b)| *at <= start && end <= at.saturating_add(b.len() as u64))
            .map(|(at, b)| (b, (start - at) as usize))
            .ok_or_else(|| ParquetError::External(Box::new(NotFetched { start, end })))
    }
}

/// A read outside the fetched ranges, carried through the parquet crate as its `External`
/// error and recognised again in [`classify`].
#[derive(Debug)]
struct NotFetched {
    start: u64,
    end: u64,
}

impl std::fmt::Display for NotFetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bytes {}..{} were not fetched", self.start, self.end)
    }
}

impl std::error::Error for NotFetched {}

/// A parquet error as a [`DataError`], a read outside the fetched ranges told apart.
fn classify(e: ParquetError) -> DataError {
    if let ParquetError::External(inner) = &e
        && let Some(&NotFetched { start, end }) = inner.downcast_ref::<NotFetched>()
    {
        return DataError::NotFetched { start, end };
    }
    DataError::Corrupt(e.to_string())
}

impl Length for Ranges {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Ranges {
    type T = Cursor<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        // At least one byte: a piece that ends at `start` (the row group before) cannot serve
        // a read from there.
        let (bytes, offset) = self.find(start, 1)?;
        Ok(Cursor::new(bytes.slice(offset..)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let (bytes, offset) = self.find(start, length as u64)?;
        Ok(bytes.slice(offset..offset + length))
    }
}

/// How many bytes at the end of a file to fetch first: the footer of a typical dataset file
/// fits (its length is in the last 8 bytes; [`ParquetDataset::footer_len`] says when more is
/// needed).
pub const FOOTER_GUESS: u64 = 64 * 1024;

/// A Parquet file's schema and row groups, and its rows.
pub struct ParquetDataset<R: ChunkReader + 'static> {
    reader: SerializedFileReader<R>,
}

impl<R: ChunkReader + 'static> std::fmt::Debug for ParquetDataset<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetDataset")
            .field("columns", &self.columns())
            .field("rows", &self.num_rows())
            .finish()
    }
}

impl ParquetDataset<Ranges> {
    /// The length of the footer (metadata and its 8-byte trailer) from a file's last 8 bytes:
    /// how much of the end of the file to fetch before [`ParquetDataset::open`].
    pub fn footer_len(last8: &[u8]) -> Result<u64, DataError> {
        let Some(tail) = last8.get(last8.len().saturating_sub(8)..) else {
            return Err(DataError::Corrupt("shorter than a Parquet trailer".into()));
        };
        if tail.len() != 8 || &tail[4..] != b"PAR1" {
            return Err(DataError::Corrupt("no PAR1 magic at the end".into()));
        }
        let len = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        Ok(u64::from(len) + 8)
    }
}

impl<R: ChunkReader + 'static> ParquetDataset<R> {
    /// Reads the footer: the schema and where the row groups are. Every column chunk's codec
    /// is checked here, so that an unreadable file fails before its first row.
    pub fn open(reader: R) -> Result<Self, DataError> {
        let reader = guard(|| SerializedFileReader::new(reader))?.map_err(classify)?;
        let metadata = reader.metadata();
        for group in metadata.row_groups() {
            for column in group.columns() {
                let codec = column.compression();
                if !matches!(
                    codec,
                    Compression::UNCOMPRESSED
                        | Compression::SNAPPY
                        | Compression::GZIP(_)
                        | Compression::LZ4
                        | Compression::LZ4_RAW
                        | Compression::BROTLI(_)
                ) {
                    return Err(DataError::UnsupportedCodec {
                        column: column.column_path().string(),
                        codec: format!("{codec:?}"),
                    });
                }
            }
        }
        Ok(ParquetDataset { reader })
    }

    /// The top-level columns, in the file's order.
    pub fn columns(&self) -> Vec<String> {
        self.root()
            .get_fields()
            .iter()
            .map(|f| f.name().to_owned())
            .collect()
    }

    fn root(&self) -> &Type {
        self.reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .root_schema()
    }

    /// Rows in the file, from its footer.
    pub fn num_rows(&self) -> u64 {
        u64::try_from(self.reader.metadata().file_metadata().num_rows()).unwrap_or(0)
    }

    /// Row groups in the file.
    pub fn num_row_groups(&self) -> usize {
        self.reader.metadata().num_row_groups()
    }

    /// The bytes of row group `i`: what to fetch before its rows are read from a [`Ranges`].
    pub fn row_group_range(&self, i: usize) -> Option<Range<u64>> {
        let group = self.reader.metadata().row_groups().get(i)?;
        let mut range: Option<Range<u64>> = None;
        for column in group.columns() {
            let (start, len) = column.byte_range();
            let end = start.saturating_add(len);
            range = Some(match range {
                None => start..end,
                Some(r) => r.start.min(start)..r.end.max(end),
            });
        }
        range
    }

    /// The row groups that hold the first `rows` rows (all of them when the file has fewer).
    pub fn row_groups_for(&self, rows: u64) -> usize {
        let mut seen = 0u64;
        for (i, group) in self.reader.metadata().row_groups().iter().enumerate() {
            if seen >= rows {
                return i;
            }
            seen = seen.saturating_add(u64::try_from(group.num_rows()).unwrap_or(0));
        }
        self.num_row_groups()
    }

    /// The names of a ClassLabel column's integers, from the `huggingface` metadata that
    /// `datasets` writes (`info.features.COLUMN.names`).
    pub fn class_names(&self, column: &str) -> Option<Vec<String>> {
        let kv = self
            .reader
            .metadata()
            .file_metadata()
            .key_value_metadata()?;
        let text = kv
            .iter()
            .find(|kv| kv.key == "huggingface")?
            .value
            .as_ref()?;
        let json: serde_json::Value = serde_json::from_str(text).ok()?;
        let feature = json.get("info")?.get("features")?.get(column)?;
        if feature.get("_type")?.as_str()? != "ClassLabel" {
            return None;
        }
        feature
            .get("names")?
            .as_array()?
            .iter()
            .map(|n| n.as_str().map(str::to_owned))
            .collect()
    }

    /// The rows of `columns` (in that order), at most `limit` of them. A missing value is an
    /// error when `required` says so for its column (a reference or an input), else
    /// [`Value::Null`].
    pub fn rows<'a>(
        &'a self,
        columns: &[&str],
        required: &[bool],
        limit: Option<u64>,
    ) -> Result<Rows<'a>, DataError> {
        let fields = self.root().get_fields();
        let mut selected = Vec::with_capacity(columns.len());
        for &name in columns {
            let Some(field) = fields.iter().find(|f| f.name() == name) else {
                return Err(DataError::MissingColumn {
                    column: name.to_owned(),
                    available: self.columns(),
                });
            };
            selected.push(field.clone());
        }
        // The projection keeps the file's order of fields; rows are put back in the asked
        // order by name below.
        let mut in_file_order = selected.clone();
        in_file_order.sort_by_key(|f| fields.iter().position(|g| g.name() == f.name()));
        in_file_order.dedup_by(|a, b| a.name() == b.name());
        let projection = Type::group_type_builder(self.root().name())
            .with_fields(in_file_order)
            .build()
            .map_err(classify)?;
        let iter = RowIter::from_file(Some(projection), &self.reader).map_err(classify)?;
        Ok(Rows {
            iter,
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            required: (0..columns.len())
                .map(|i| required.get(i).copied().unwrap_or(false))
                .collect(),
            limit: limit.unwrap_or(u64::MAX),
            row: 0,
            done: false,
        })
    }
}

/// Runs the parquet crate's decoder, natively turning a panic of it into
/// [`DataError::Corrupt`]: parquet 60's decoders assert on some damaged pages instead of
/// returning an error (a dictionary page whose value count overruns its bytes:
/// `read_num_bytes` in `util/bit_util.rs`, found by this crate's flipped-byte test). In wasm a
/// panic aborts (no unwinding on wasm32-unknown-unknown): there the worker dies with the
/// panic's message and the page reports it (ARCHITECTURE.md, "Datasets: Parquet rows").
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, DataError> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            DataError::Corrupt(format!("the Parquet decoder failed on this file ({why})"))
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        Ok(f())
    }
}

/// Rows of the selected columns, each a value per column in the asked order.
pub struct Rows<'a> {
    iter: RowIter<'a>,
    columns: Vec<String>,
    required: Vec<bool>,
    limit: u64,
    row: u64,
    done: bool,
}

impl std::fmt::Debug for Rows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows")
            .field("columns", &self.columns)
            .field("row", &self.row)
            .finish()
    }
}

impl Rows<'_> {
    fn values(&self, row: &Row) -> Result<Vec<Value>, DataError> {
        let by_name: BTreeMap<&str, &Field> = row
            .get_column_iter()
            .map(|(n, f)| (n.as_str(), f))
            .collect();
        self.columns
            .iter()
            .zip(&self.required)
            .map(|(name, &required)| {
                let value = by_name
                    .get(name.as_str())
                    .map_or(Value::Null, |f| value_of(f));
                if required && value == Value::Null {
                    return Err(DataError::MissingValue {
                        row: self.row,
                        column: name.clone(),
                    });
                }
                Ok(value)
            })
            .collect()
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Vec<Value>, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.row >= self.limit {
            return None;
        }
        let item = match guard(|| self.iter.next()) {
            Ok(Some(Ok(row))) => self.values(&row),
            Ok(Some(Err(e))) => Err(classify(e)),
            Ok(None) => return None,
            Err(e) => Err(e),
        };
        // After an error the reader's state is unknown: stop there.
        self.done = item.is_err();
        self.row += 1;
        Some(item)
    }
}
