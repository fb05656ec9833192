//! Weight matrices on the GPU: the GGUF types with kernels, their GPU layouts, and the upload.
//!
//! A matrix is uploaded on its own (the caller hands one tensor at a time, so a model never
//! sits in memory twice) and repacked on the way into a layout WGSL can read: WGSL storage
//! buffers are arrays of 32-bit words, while GGUF blocks are 18 (Q4_0), 34 (Q8_0) or 210 (Q6_K)
//! bytes long. Each format's layout puts the quantized words of all blocks first and the f16
//! scales after them, so every block starts on a word and a kernel reads whole words. The
//! layouts are described next to the WGSL that reads them (`*.wgsl` in this folder).
//!
//! A matrix larger than the device's largest storage binding (an embedding table of a big
//! vocabulary) is split by rows into parts; kernels run once per part.

mod repack;

use crate::context::Gpu;
use crate::error::{GpuError, Result};

/// The weight formats the kernels read (GGML type names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WeightType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q8_0,
    Q4K,
    Q6K,
}

impl WeightType {
    pub const ALL: [WeightType; 7] = [
        WeightType::F32,
        WeightType::F16,
        WeightType::Q4_0,
        WeightType::Q4_1,
        WeightType::Q8_0,
        WeightType::Q4K,
        WeightType::Q6K,
    ];

    /// From the `ggml_type` id a GGUF tensor info carries; `None` for types without kernels.
    pub fn from_ggml(id: u32) -> Option<WeightType> {
        Some(match id {
            0 => WeightType::F32,
            1 => WeightType::F16,
            2 => WeightType::Q4_0,
            3 => WeightType::Q4_1,
            8 => WeightType::Q8_0,
            12 => WeightType::Q4K,
            14 => WeightType::Q6K,
            _ => return None,
        })
    }

    pub fn ggml_id(self) -> u32 {
        match self {
            WeightType::F32 => 0,
            WeightType::F16 => 1,
            WeightType::Q4_0 => 2,
            WeightType::Q4_1 => 3,
            WeightType::Q8_0 => 8,
            WeightType::Q4K => 12,
            WeightType::Q6K => 14,
        }
    }

    /// Weights per block.
    pub fn block_weights(self) -> usize {
        match self {
            WeightType::F32 | WeightType::F16 => 1,
            WeightType::Q4_0 | WeightType::Q4_1 | WeightType::Q8_0 => 32,
            WeightType::Q4K | WeightType::Q6K => 256,
        }
    }

    /// Bytes per block in GGUF.
    pub fn block_bytes(self) -> usize {
        match self {
            WeightType::F32 => 4,
            WeightType::F16 => 2,
            WeightType::Q4_0 => 18,
            WeightType::Q4_1 => 20,
            WeightType::Q8_0 => 34,
            WeightType::Q4K => 144,
            WeightType::Q6K => 210,
        }
    }

    /// GGUF bytes of `rows x cols` weights (`None` when `cols` is not a whole number of blocks).
    pub fn bytes(self, rows: usize, cols: usize) -> Option<usize> {
        cols.is_multiple_of(self.block_weights())
            .then(|| rows * (cols / self.block_weights()) * self.block_bytes())
    }

    fn source(self) -> &'static str {
        match self {
            WeightType::F32 => include_str!("f32.wgsl"),
            WeightType::F16 => include_str!("f16.wgsl"),
            WeightType::Q4_0 => include_str!("q4_0.wgsl"),
            WeightType::Q4_1 => include_str!("q4_1.wgsl"),
            WeightType::Q8_0 => include_str!("q8_0.wgsl"),
            WeightType::Q4K => include_str!("q4_k.wgsl"),
            WeightType::Q6K => include_str!("q6_k.wgsl"),
        }
    }

    /// The WGSL that declares the weight buffer (binding 0) and `load8(row, group)`, the eight
    /// weights `8 * group ..` of a row as two `vec4<H>`: what every matrix kernel is built on.
    pub(crate) fn wgsl(self) -> String {
        match self {
            WeightType::F32 | WeightType::F16 => self.source().to_owned(),
            _ => format!("{}\n{}", self.source(), include_str!("common.wgsl")),
        }
    }
}

/// One buffer of a weight: rows `row0 .. row0 + rows`.
#[derive(Debug)]
pub(crate) struct WeightPart {
    pub buffer: wgpu::Buffer,
    pub row0: usize,
    pub rows: usize,
    /// First word of the scale section (see the format's `.wgsl`).
    pub scale_word: u32,
}

/// A weight matrix `[rows, cols]` (`rows` outputs of `cols` inputs each) on the GPU.
#[derive(Debug)]
pub struct GpuWeight {
    name: String,
    ty: WeightType,
    rows: usize,
    cols: usize,
    pub(crate) parts: Vec<WeightPart>,
}

impl GpuWeight {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn weight_type(&self) -> WeightType {
        self.ty
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Buffers the matrix was split into (1 unless it exceeds the binding limit).
    pub fn parts(&self) -> usize {
        self.parts.len()
    }

    /// Bytes on the GPU.
    pub fn gpu_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.buffer.size()).sum()
    }

    /// The weight part's leading parameters of every matrix kernel (`w_cols, w_soff, w_rows,
    /// w_row0`, see `common.wgsl`).
    pub(crate) fn part_params(&self, p: &WeightPart) -> [u32; 4] {
        [self.cols as u32, p.scale_word, p.rows as u32, p.row0 as u32]
    }
}

impl Gpu {
    /// Uploads a weight matrix of `rows x cols` from its GGUF bytes (row-major blocks), repacked
    /// into the GPU layout of its type.
    pub fn weight(
        &self,
        name: &str,
        ty: WeightType,
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<GpuWeight> {
        self.check()?;
        let invalid = |detail: String| GpuError::InvalidWeight {
            name: name.to_owned(),
            detail,
        };
        let expected = ty
            .bytes(rows, cols)
            .ok_or_else(|| invalid(format!("{cols} columns are not whole {ty:?} blocks")))?;
        if bytes.len() != expected {
            return Err(invalid(format!(
                "{} bytes for {rows}x{cols} {ty:?}, expected {expected}",
                bytes.len()
            )));
        }
        // The kernels read eight weights at a time.
        if !cols.is_multiple_of(8) || rows == 0 || cols == 0 {
            return Err(invalid(format!(
                "{rows}x{cols}: columns must be a positive multiple of 8"
            )));
        }
        if u32::try_from(rows * cols).is_err() {
            return Err(invalid(format!(
                "{rows}x{cols} is too large for 32-bit indexing"
            )));
        }
        let max_part = self.shared.max_weight_part_bytes;
        let row_bytes = repack::gpu_bytes(ty, 1, cols) as u64;
        let rows_per_part = (max_part / row_bytes.max(1)) as usize;
        if rows_per_part == 0 {
            return Err(GpuError::LimitsTooSmall {
                limit: "max_storage_buffer_binding_size",
                required: row_bytes,
                available: max_part,
            });
        }
        let src_row_bytes = expected / rows;
        let mut parts = Vec::new();
        let mut row0 = 0;
        while row0 < rows {
            let n = rows_per_part.min(rows - row0);
            let src = &bytes[row0 * src_row_bytes..(row0 + n) * src_row_bytes];
            let packed = repack::repack(ty, n, cols, src);
            let buffer = self.shared.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(name),
                size: packed.bytes.len() as u64,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: true,
            });
            // Natively an allocation failure has been reported by now.
            self.check()?;
            buffer
                .get_mapped_range_mut(..)
                .map_err(|e| GpuError::OutOfMemory {
                    message: format!("{name}: {e}"),
                })?
                .copy_from_slice(&packed.bytes);
            buffer.unmap();
            parts.push(WeightPart {
                buffer,
                row0,
                rows: n,
                scale_word: packed.scale_word,
            });
            row0 += n;
        }
        Ok(GpuWeight {
            name: name.to_owned(),
            ty,
            rows,
            cols,
            parts,
        })
    }
}
