//! Non-causal attention over a padded batch (encoders; cross-attention over a fixed memory).

use super::groups;
use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::pipeline::KernelKey;
use crate::tensor::GpuTensor;

/// The shape of one [`Gpu::attend`] call: `kv_valid.len()` items, item `b` with query rows
/// `b * q_len ..` of `q` and key/value rows `b * kv_len ..` of `k` and `v`, all
/// `heads * head_dim` wide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttendShape<'a> {
    pub heads: usize,
    pub head_dim: usize,
    pub q_len: usize,
    pub kv_len: usize,
    pub scale: f32,
    /// Real keys of each item; the padding after them gets exactly zero weight.
    pub kv_valid: &'a [usize],
    /// Real query rows of each item (rows after them come out zero); `None`: all.
    pub q_valid: Option<&'a [usize]>,
}

/// From this many query rows per item, [`Gpu::attend`] runs one thread per row.
const ROWS_KERNEL_FROM: usize = 16;
/// The row kernel keeps a row's query and output in registers: heads up to this wide.
const ROWS_KERNEL_MAX_HEAD: usize = 128;

impl Gpu {
    /// Scaled dot-product attention of every query row to its item's real keys, every head.
    /// Returns `q`'s shape.
    pub fn attend(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        shape: &AttendShape<'_>,
    ) -> Result<GpuTensor> {
        self.attend_with(q, k, v, None, shape)
    }

    /// [`Gpu::attend`] with `bias` added to the scaled scores before the softmax (T5's relative
    /// positions): `[heads * q_len, kv_len]`, row `h * q_len + i` for head `h` and query row `i`
    /// of an item, the same for every item. Padding keys still get zero weight.
    pub fn attend_biased(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        bias: &GpuTensor,
        shape: &AttendShape<'_>,
    ) -> Result<GpuTensor> {
        self.attend_with(q, k, v, Some(bias), shape)
    }

    fn attend_with(
        &self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        bias: Option<&GpuTensor>,
        shape: &AttendShape<'_>,
    ) -> Result<GpuTensor> {
        let AttendShape {
            heads,
            head_dim,
            q_len,
            kv_len,
            scale,
            kv_valid,
            q_valid,
        } = *shape;
        let batch = kv_valid.len();
        let width = heads * head_dim;
        let fits = |t: &GpuTensor, len: usize| t.cols() == width && t.rows() == batch * len;
        if heads == 0
            || !fits(q, q_len)
            || !fits(k, kv_len)
            || !fits(v, kv_len)
            || q_valid.is_some_and(|v| v.len() != batch)
        {
            return Err(GpuError::shape(
                "attend",
                format!(
                    "q {}x{}, k {}x{}, v {}x{} for {batch} items of {q_len} x {kv_len} rows, \
                     {heads} heads of {head_dim}",
                    q.rows(),
                    q.cols(),
                    k.rows(),
                    k.cols(),
                    v.rows(),
                    v.cols()
                ),
            ));
        }
        // Four values per vector load, at most four output values per thread of 64.
        if head_dim == 0 || !head_dim.is_multiple_of(4) || head_dim > 256 {
            return Err(GpuError::Unsupported {
                what: format!("attention heads of {head_dim} (a multiple of 4 up to 256 is)"),
            });
        }
        if let Some(b) = bias
            && (heads.checked_mul(q_len) != Some(b.rows()) || b.cols() != kv_len)
        {
            return Err(GpuError::shape(
                "attend",
                format!(
                    "bias {}x{} for {heads} heads of {q_len} query rows over {kv_len} keys",
                    b.rows(),
                    b.cols()
                ),
            ));
        }
        // Indices in the kernel are u32 (the bias' too: it is no larger than `q_len * kv_len`
        // per head, checked here with the rest).
        if u32::try_from(q.len().max(k.len()).max(bias.map_or(0, GpuTensor::len))).is_err()
            || u32::try_from(batch * q_len * heads).is_err()
        {
            return Err(GpuError::LimitsTooSmall {
                limit: "32-bit indexing of attention",
                required: q.len().max(k.len()) as u64,
                available: u64::from(u32::MAX),
            });
        }
        let out = self.empty(q.rows(), q.cols())?;
        if out.is_empty() {
            return Ok(out);
        }
        let clamp = |n: usize, max: usize| n.min(max) as u32;
        let valid: Vec<u32> = kv_valid
            .iter()
            .map(|&n| clamp(n, kv_len))
            .chain((0..batch).map(|b| clamp(q_valid.map_or(q_len, |v| v[b]), q_len)))
            .collect();
        let valid = self.ids(&valid)?;
        let params = [
            batch as u32,
            q_len as u32,
            kv_len as u32,
            heads as u32,
            head_dim as u32,
            scale.to_bits(),
            0,
            0,
        ];
        // Without a bias the kernels never read its binding: `q` stands in.
        let buffers = [
            q.buffer(),
            k.buffer(),
            v.buffer(),
            valid.buffer(),
            out.buffer(),
            bias.unwrap_or(q).buffer(),
        ];
        let has_bias = u32::from(bias.is_some());
        // Many query rows share their keys: one thread per row, keys read once per 64 rows
        // (attend_rows.wgsl). A few rows (a decoder's cross-attention step) keep a workgroup
        // per row, whose 64 threads split the keys.
        if q_len >= ROWS_KERNEL_FROM && head_dim <= ROWS_KERNEL_MAX_HEAD {
            self.dispatch(
                &KernelKey::new("attend_rows").constant("HAS_BIAS", has_bias),
                || include_str!("attend_rows.wgsl").to_owned(),
                &buffers,
                &params,
                groups(batch * heads * q_len.div_ceil(64), 1),
            )?;
            return Ok(out);
        }
        self.dispatch(
            &KernelKey::new("attend").constant("HAS_BIAS", has_bias),
            || include_str!("attend.wgsl").to_owned(),
            &buffers,
            &params,
            groups(batch * q_len * heads, 1),
        )?;
        Ok(out)
    }
}
