//! The device, its queue, and the recording of kernels into command buffers.
//!
//! Kernels are recorded, not run: every op appends a compute pass to one open command encoder,
//! and the encoder is submitted only when a result is read back (or [`Gpu::flush`] is called).
//! A decode step is then one submission instead of hundreds, which matters most in the browser,
//! where every submission is a message to the GPU process.
//!
//! The small per-dispatch parameters (shapes, offsets, eps) live in an "arena": one uniform
//! buffer per submission, filled on the host while recording and written with a single
//! `write_buffer` just before the submit. Small host uploads (token ids, a row of activations)
//! ride in the same arena and are copied to their destination by the encoder, in order with the
//! kernels around them.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_channel::oneshot;

use crate::error::{GpuError, Result};
use crate::pipeline::{KernelKey, PipelineCache, Precision};
use crate::platform;
use crate::pool::{BufferPool, PoolStats, PooledBuffer};
use crate::probe::AdapterReport;
use crate::tensor::{GpuIds, GpuTensor};

/// Bytes of the parameter arena of one submission. A decode step of a 30-layer model records
/// about 450 dispatches (one aligned slot each, 256 bytes on most GPUs) plus a few uploads.
const ARENA_BYTES: u64 = 1 << 20;
/// Host data up to this size is uploaded through the arena; larger data ends the submission and
/// is written directly (see [`Gpu::upload`]).
const ARENA_UPLOAD_MAX: usize = 64 << 10;

/// A poisoned lock only means another thread panicked while holding it; the state it guards
/// (caches, free lists) stays consistent, so carry on rather than panic too.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Remembers the first failure of a device; every later call returns it.
pub(crate) fn record_failure(sink: &Mutex<Option<GpuError>>, e: GpuError) {
    let mut f = lock(sink);
    if f.is_none() {
        tracing::warn!("GPU failure: {e}");
        *f = Some(e);
    }
}

/// How to open a device.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuOptions {
    /// Arithmetic of the matrix kernels; `None` picks f16 where the adapter has `shader-f16`.
    pub precision: Option<Precision>,
    /// Largest buffer one weight part may take; `None` means the device's binding limit. Tests
    /// lower it to exercise the splitting of large matrices (embedding tables, output heads).
    pub max_weight_part_bytes: Option<u64>,
    /// Bytes of idle activation buffers the pool may keep.
    pub pool_idle_bytes: u64,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            precision: None,
            max_weight_part_bytes: None,
            pool_idle_bytes: 512 << 20,
        }
    }
}

/// An open GPU device with its kernels, buffer pool and command recorder.
///
/// Cheap to clone (the clones share the device); [`Gpu::with_precision`] gives a handle that
/// runs the matrix kernels at another precision on the same device.
#[derive(Debug, Clone)]
pub struct Gpu {
    pub(crate) shared: Arc<Shared>,
    precision: Precision,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    report: AdapterReport,
    pub limits: wgpu::Limits,
    failure: Arc<Mutex<Option<GpuError>>>,
    pipelines: PipelineCache,
    pool: Arc<BufferPool>,
    rec: Mutex<Recorder>,
    pub max_weight_part_bytes: u64,
}

#[derive(Debug)]
struct Recorder {
    encoder: Option<wgpu::CommandEncoder>,
    arena: Vec<u8>,
    arena_buf: wgpu::Buffer,
    /// `min_uniform_buffer_offset_alignment`.
    align: usize,
    submissions: u64,
}

impl Recorder {
    fn encoder(&mut self, device: &wgpu::Device) -> &mut wgpu::CommandEncoder {
        self.encoder.get_or_insert_with(|| {
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
        })
    }

    /// Room for `bytes` in the arena, at an aligned offset; `None` when the submission is full.
    fn reserve(&mut self, bytes: usize) -> Option<u64> {
        let start = self.arena.len().next_multiple_of(self.align);
        if (start + bytes) as u64 > ARENA_BYTES {
            return None;
        }
        self.arena.resize(start + bytes, 0);
        Some(start as u64)
    }

    fn submit(&mut self, queue: &wgpu::Queue) {
        if let Some(encoder) = self.encoder.take() {
            // Lands before this submission's commands, and after the previous submission's: the
            // arena buffer can be reused by every submission.
            if !self.arena.is_empty() {
                queue.write_buffer(&self.arena_buf, 0, &self.arena);
            }
            queue.submit([encoder.finish()]);
            self.submissions += 1;
        }
        self.arena.clear();
    }
}

/// A storage buffer argument of a dispatch.
pub(crate) type Arg<'a> = &'a wgpu::Buffer;

impl Gpu {
    /// Opens the default adapter (see [`crate::GpuAdapter::request`]).
    pub async fn new(options: GpuOptions) -> Result<Gpu> {
        crate::GpuAdapter::request().await?.open(options).await
    }

    pub(crate) async fn open(
        adapter: wgpu::Adapter,
        report: AdapterReport,
        options: GpuOptions,
    ) -> Result<Gpu> {
        report.limits.check_kernels()?;
        let precision = match options.precision {
            None if report.shader_f16 => Precision::F16,
            None => Precision::F32,
            Some(Precision::F16) if !report.shader_f16 => {
                return Err(GpuError::Unsupported {
                    what: "f16 arithmetic (shader-f16)".into(),
                });
            }
            Some(p) => p,
        };
        let mut features = wgpu::Features::empty();
        if report.shader_f16 {
            features |= wgpu::Features::SHADER_F16;
        }
        // Everything the adapter offers: the defaults (128 MiB bindings) would split weights a
        // large GPU could hold in one buffer.
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("lantern"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::DeviceRequest {
                message: e.to_string(),
            })?;

        let failure: Arc<Mutex<Option<GpuError>>> = Arc::new(Mutex::new(None));
        // Without a handler wgpu panics on errors nobody waits for; here they become the device's
        // failure, returned by the next call.
        let sink = Arc::clone(&failure);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            record_failure(&sink, GpuError::from_wgpu(&e))
        }));
        let sink = Arc::clone(&failure);
        device.set_device_lost_callback(move |reason, message| {
            record_failure(
                &sink,
                GpuError::DeviceLost {
                    reason: format!("{reason:?}: {message}"),
                },
            );
        });

        let binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let max_weight_part_bytes = options
            .max_weight_part_bytes
            .map_or(binding, |m| m.min(binding));
        let arena_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("lantern params"),
            size: ARENA_BYTES,
            usage: wgpu::BufferUsages::UNIFORM
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let rec = Recorder {
            encoder: None,
            arena: Vec::with_capacity(ARENA_BYTES as usize),
            arena_buf,
            align: (limits.min_uniform_buffer_offset_alignment as usize).max(16),
            submissions: 0,
        };
        let pool = BufferPool::new(device.clone(), options.pool_idle_bytes);
        let shared = Shared {
            device,
            queue,
            report,
            limits,
            failure,
            pipelines: PipelineCache::new(),
            pool,
            rec: Mutex::new(rec),
            max_weight_part_bytes,
        };
        Ok(Gpu {
            shared: Arc::new(shared),
            precision,
        })
    }

    pub fn report(&self) -> &AdapterReport {
        &self.shared.report
    }

    /// The arithmetic of this handle's matrix kernels.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// A handle to the same device whose matrix kernels use `precision`.
    pub fn with_precision(&self, precision: Precision) -> Result<Gpu> {
        if precision == Precision::F16 && !self.shared.report.shader_f16 {
            return Err(GpuError::Unsupported {
                what: "f16 arithmetic (shader-f16)".into(),
            });
        }
        Ok(Gpu {
            shared: Arc::clone(&self.shared),
            precision,
        })
    }

    /// Pipelines compiled so far.
    pub fn pipelines(&self) -> usize {
        self.shared.pipelines.len()
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.shared.pool.stats()
    }

    /// Command buffers submitted so far (one per flush or readback that had work).
    pub fn submissions(&self) -> u64 {
        lock(&self.shared.rec).submissions
    }

    /// Frees the idle buffers of the pool.
    pub fn trim(&self) {
        self.shared.pool.trim();
    }

    /// Destroys the device on purpose: every later call returns [`GpuError::DeviceLost`].
    /// This is how the fallback to the CPU is tested without a GPU driver crash.
    pub fn destroy(&self) {
        record_failure(
            &self.shared.failure,
            GpuError::DeviceLost {
                reason: "destroyed by Gpu::destroy".into(),
            },
        );
        self.shared.device.destroy();
    }

    /// The device's failure, if it had one.
    pub fn check(&self) -> Result<()> {
        match &*lock(&self.shared.failure) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Submits everything recorded so far.
    pub fn flush(&self) -> Result<()> {
        self.check()?;
        lock(&self.shared.rec).submit(&self.shared.queue);
        self.check()
    }

    /// A buffer of at least `bytes` from the pool, for an activation or a KV cache.
    pub(crate) fn alloc(&self, bytes: u64) -> Result<PooledBuffer> {
        self.check()?;
        self.shared.report.limits.check_buffer(bytes)?;
        Ok(self.shared.pool.take(bytes))
    }

    /// Writes `data` at the start of `dst`, ordered with the recorded kernels: a kernel recorded
    /// before this call still sees the old content.
    pub(crate) fn upload(&self, dst: &wgpu::Buffer, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if !data.len().is_multiple_of(4) {
            return Err(GpuError::Internal {
                message: format!("upload of {} bytes is not a multiple of 4", data.len()),
            });
        }
        let mut rec = lock(&self.shared.rec);
        if data.len() <= ARENA_UPLOAD_MAX {
            let off = match rec.reserve(data.len()) {
                Some(off) => off,
                None => {
                    rec.submit(&self.shared.queue);
                    rec.reserve(data.len()).ok_or_else(|| GpuError::Internal {
                        message: "parameter arena too small".into(),
                    })?
                }
            };
            let off_usize = off as usize;
            rec.arena[off_usize..off_usize + data.len()].copy_from_slice(data);
            let arena = rec.arena_buf.clone();
            rec.encoder(&self.shared.device).copy_buffer_to_buffer(
                &arena,
                off,
                dst,
                0,
                data.len() as u64,
            );
        } else {
            // `write_buffer` lands before the commands of the open submission, so end it first.
            rec.submit(&self.shared.queue);
            self.shared.queue.write_buffer(dst, 0, data);
        }
        Ok(())
    }

    /// Records one kernel launch: `groups` workgroups (spread over x and y when they exceed the
    /// per-dimension limit; kernels rebuild the linear index), the storage `args` at bindings
    /// `0..`, and `params` as a uniform at the next binding.
    pub(crate) fn dispatch(
        &self,
        key: &KernelKey,
        source: impl FnOnce() -> String,
        args: &[Arg<'_>],
        params: &[u32],
        groups: u32,
    ) -> Result<()> {
        self.check()?;
        if groups == 0 {
            return Ok(());
        }
        let s = &self.shared;
        let kernel = s.pipelines.get(&s.device, &s.failure, key, source)?;
        let max = s.limits.max_compute_workgroups_per_dimension.max(1);
        let x = groups.min(max);
        let y = groups.div_ceil(x);
        if y > max {
            return Err(GpuError::LimitsTooSmall {
                limit: "max_compute_workgroups_per_dimension",
                required: u64::from(groups).div_ceil(u64::from(max)),
                available: u64::from(max),
            });
        }
        // Uniform structs are padded to 16 bytes.
        let mut bytes: Vec<u8> = params.iter().flat_map(|p| p.to_le_bytes()).collect();
        bytes.resize(bytes.len().next_multiple_of(16).max(16), 0);

        let mut rec = lock(&s.rec);
        let off = match rec.reserve(bytes.len()) {
            Some(off) => off,
            None => {
                rec.submit(&s.queue);
                rec.reserve(bytes.len()).ok_or_else(|| GpuError::Internal {
                    message: "parameter arena too small".into(),
                })?
            }
        };
        let off_usize = off as usize;
        rec.arena[off_usize..off_usize + bytes.len()].copy_from_slice(&bytes);
        let mut entries: Vec<wgpu::BindGroupEntry<'_>> = args
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        entries.push(wgpu::BindGroupEntry {
            binding: args.len() as u32,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &rec.arena_buf,
                offset: off,
                size: wgpu::BufferSize::new(bytes.len() as u64),
            }),
        });
        let bind_group = s.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &kernel.layout,
            entries: &entries,
        });
        drop(entries);
        let encoder = rec.encoder(&s.device);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(key.kernel),
            timestamp_writes: None,
        });
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(x, y, 1);
        Ok(())
    }

    /// Records a copy between buffers.
    pub(crate) fn copy(
        &self,
        src: &wgpu::Buffer,
        src_off: u64,
        dst: &wgpu::Buffer,
        dst_off: u64,
        bytes: u64,
    ) -> Result<()> {
        self.check()?;
        if bytes > 0 {
            lock(&self.shared.rec)
                .encoder(&self.shared.device)
                .copy_buffer_to_buffer(src, src_off, dst, dst_off, bytes);
        }
        Ok(())
    }

    /// Submits everything and reads `bytes` from the start of `src`.
    pub(crate) async fn read_bytes(&self, src: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        self.check()?;
        let s = &self.shared;
        let size = bytes.next_multiple_of(4).max(4);
        let staging = s.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("lantern readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        {
            let mut rec = lock(&s.rec);
            rec.encoder(&s.device)
                .copy_buffer_to_buffer(src, 0, &staging, 0, size);
            rec.submit(&s.queue);
        }
        let (tx, rx) = oneshot::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            // The receiver only goes away if the caller stopped waiting.
            let _ = tx.send(r);
        });
        platform::wait(&s.device)?;
        let mapped = rx.await.map_err(|_| GpuError::Readback {
            message: "the map callback never ran".into(),
        });
        self.check()?;
        mapped?.map_err(|e| GpuError::Readback {
            message: e.to_string(),
        })?;
        let data = {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| GpuError::Readback {
                    message: e.to_string(),
                })?;
            view[..bytes as usize].to_vec()
        };
        staging.unmap();
        Ok(data)
    }

    /// Uploads activations: `data` is `rows x cols`, row-major.
    pub fn tensor(&self, data: &[f32], rows: usize, cols: usize) -> Result<GpuTensor> {
        if data.len() != rows * cols {
            return Err(GpuError::shape(
                "tensor",
                format!("{} values for {rows}x{cols}", data.len()),
            ));
        }
        let t = self.empty(rows, cols)?;
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.upload(t.buffer(), &bytes)?;
        Ok(t)
    }

    /// An uninitialised `rows x cols` tensor from the pool.
    pub(crate) fn empty(&self, rows: usize, cols: usize) -> Result<GpuTensor> {
        let buf = self.alloc((rows * cols * 4) as u64)?;
        Ok(GpuTensor::new(buf, rows, cols))
    }

    /// Token ids on the GPU (the input of [`Gpu::embedding`]).
    pub fn ids(&self, ids: &[u32]) -> Result<GpuIds> {
        let buf = self.alloc((ids.len() * 4) as u64)?;
        let bytes: Vec<u8> = ids.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.upload(buf.buffer(), &bytes)?;
        Ok(GpuIds::new(buf, ids.len()))
    }

    /// Runs what was recorded and reads a tensor back, row-major.
    pub async fn read(&self, t: &GpuTensor) -> Result<Vec<f32>> {
        let bytes = self.read_bytes(t.buffer(), (t.len() * 4) as u64).await?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Runs what was recorded and reads token ids back.
    pub async fn read_ids(&self, ids: &GpuIds) -> Result<Vec<u32>> {
        let bytes = self
            .read_bytes(ids.buffer(), (ids.len() * 4) as u64)
            .await?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

impl Gpu {
    /// Rows `start .. start + count` of `x`, copied into a new tensor.
    pub fn rows(&self, x: &GpuTensor, start: usize, count: usize) -> Result<GpuTensor> {
        if start + count > x.rows() {
            return Err(GpuError::shape(
                "rows",
                format!("rows {start}..{} of {}", start + count, x.rows()),
            ));
        }
        let y = self.empty(count, x.cols())?;
        let row = (x.cols() * 4) as u64;
        self.copy(
            x.buffer(),
            start as u64 * row,
            y.buffer(),
            0,
            count as u64 * row,
        )?;
        Ok(y)
    }

    /// `parts` one under the other (the same number of columns), copied into a new tensor:
    /// the rows of a batch put back together after a per-item step (the beams of a beam
    /// search, each attending over its own cache).
    pub fn concat_rows(&self, parts: &[&GpuTensor]) -> Result<GpuTensor> {
        let Some(first) = parts.first() else {
            return Err(GpuError::shape("concat_rows", "no tensors"));
        };
        let cols = first.cols();
        if let Some(bad) = parts.iter().find(|p| p.cols() != cols) {
            return Err(GpuError::shape(
                "concat_rows",
                format!("{} columns after {cols}", bad.cols()),
            ));
        }
        let rows = parts
            .iter()
            .try_fold(0usize, |n, p| n.checked_add(p.rows()));
        let Some(rows) = rows else {
            return Err(GpuError::shape("concat_rows", "too many rows"));
        };
        let y = self.empty(rows, cols)?;
        let mut at = 0u64;
        for p in parts {
            let bytes = (p.rows() * cols * 4) as u64;
            self.copy(p.buffer(), 0, y.buffer(), at, bytes)?;
            at += bytes;
        }
        Ok(y)
    }

    /// Rows `rows` of `x`, in that order, copied into a new tensor (a copy per run of
    /// consecutive rows): the first token of each text for a classification head, or the real
    /// rows of a padded batch, so that only those are read back.
    pub fn gather_rows(&self, x: &GpuTensor, rows: &[usize]) -> Result<GpuTensor> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= x.rows()) {
            return Err(GpuError::shape(
                "gather_rows",
                format!("row {bad} of {}", x.rows()),
            ));
        }
        let y = self.empty(rows.len(), x.cols())?;
        let row = (x.cols() * 4) as u64;
        let mut i = 0;
        while i < rows.len() {
            let start = rows[i];
            let mut run = 1;
            while rows.get(i + run) == Some(&(start + run)) {
                run += 1;
            }
            self.copy(
                x.buffer(),
                start as u64 * row,
                y.buffer(),
                i as u64 * row,
                run as u64 * row,
            )?;
            i += run;
        }
        Ok(y)
    }
}
