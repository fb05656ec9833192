//! Reuse of activation buffers.
//!
//! A decode step of a 30-layer model makes a few hundred intermediate tensors of a handful of
//! sizes. Creating a WebGPU buffer is a call into the browser's GPU process (and an allocation
//! in the driver), far more expensive than the kernels that use it, so buffers go back to a pool
//! when their tensor is dropped and the next tensor of a similar size takes one from there.
//!
//! Reusing a buffer at once is safe for GPU writes: commands run in the order they were recorded,
//! so a kernel that overwrites a recycled buffer runs after every kernel that read its old
//! content. Host writes are different (`Queue::write_buffer` lands before the commands of the
//! submission being recorded), which is why uploads go through the recorder (see
//! `context::Recorder::upload`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::context::lock;

/// Usages of every pooled buffer: kernels read and write it, copies move data in and out.
const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Smallest buffer the pool hands out: tiny buffers (a token id, a norm of one row) all share
/// one size class.
const MIN_CLASS: u64 = 256;

/// The size a request is rounded up to: quarter steps between powers of two, so a buffer is at
/// most 25 % larger than asked for and a few classes cover all tensors of a model.
pub(crate) fn size_class(bytes: u64) -> u64 {
    if bytes <= MIN_CLASS {
        return MIN_CLASS;
    }
    let pow = bytes.next_power_of_two();
    let quarter = pow / 8; // pow/2 split into quarters
    let half = pow / 2;
    (1..=4)
        .map(|k| half + k * quarter)
        .find(|&c| c >= bytes)
        .unwrap_or(pow)
}

pub(crate) struct BufferPool {
    device: wgpu::Device,
    /// Idle bytes kept at most; beyond that a returned buffer is destroyed.
    idle_limit: u64,
    inner: Mutex<Idle>,
}

#[derive(Default)]
struct Idle {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    bytes: u64,
    created: u64,
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let idle = lock(&self.inner);
        f.debug_struct("BufferPool")
            .field("idle_bytes", &idle.bytes)
            .field("idle_limit", &self.idle_limit)
            .field("created", &idle.created)
            .finish()
    }
}

/// Counters of the pool, for tests and for the memory report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Buffers created since the context was opened (a steady decode loop keeps this constant).
    pub created: u64,
    /// Bytes held by idle buffers.
    pub idle_bytes: u64,
}

impl BufferPool {
    pub(crate) fn new(device: wgpu::Device, idle_limit: u64) -> Arc<BufferPool> {
        Arc::new(BufferPool {
            device,
            idle_limit,
            inner: Mutex::new(Idle::default()),
        })
    }

    /// A buffer of at least `bytes` (its content is whatever the last user left).
    pub(crate) fn take(self: &Arc<Self>, bytes: u64) -> PooledBuffer {
        let class = size_class(bytes.max(4));
        let reused = {
            let mut idle = lock(&self.inner);
            let found = idle.free.get_mut(&class).and_then(Vec::pop);
            if found.is_some() {
                idle.bytes -= class;
            } else {
                idle.created += 1;
            }
            found
        };
        let buffer = reused.unwrap_or_else(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("lantern activation"),
                size: class,
                usage: USAGE,
                mapped_at_creation: false,
            })
        });
        PooledBuffer {
            buffer,
            pool: Arc::clone(self),
        }
    }

    fn give_back(&self, buffer: wgpu::Buffer) {
        let class = buffer.size();
        let mut idle = lock(&self.inner);
        if idle.bytes + class <= self.idle_limit {
            idle.bytes += class;
            idle.free.entry(class).or_default().push(buffer);
        }
        // Otherwise dropped here: wgpu destroys it once no submitted command uses it.
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let idle = lock(&self.inner);
        PoolStats {
            created: idle.created,
            idle_bytes: idle.bytes,
        }
    }

    /// Drops every idle buffer (after a model is unloaded, or on memory pressure).
    pub(crate) fn trim(&self) {
        let mut idle = lock(&self.inner);
        idle.free.clear();
        idle.bytes = 0;
    }
}

/// A buffer on loan from the pool; it goes back when dropped.
pub(crate) struct PooledBuffer {
    buffer: wgpu::Buffer,
    pool: Arc<BufferPool>,
}

impl PooledBuffer {
    pub(crate) fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}

impl fmt::Debug for PooledBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBuffer")
            .field("size", &self.buffer.size())
            .finish()
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        // `wgpu::Buffer` is a shared handle: the pool's clone keeps the resource alive.
        self.pool.give_back(self.buffer.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_waste_at_most_a_quarter() {
        for bytes in [
            1u64,
            255,
            256,
            257,
            1000,
            4096,
            4097,
            5000,
            1 << 20,
            (1 << 20) + 1,
            3_000_000,
        ] {
            let c = size_class(bytes);
            assert!(c >= bytes, "{bytes} -> {c}");
            assert!(c <= 256 || c * 4 <= bytes * 5 + 4, "{bytes} -> {c}");
            assert_eq!(c % 4, 0);
        }
        assert_eq!(size_class(4096), 4096);
        assert_eq!(size_class(4097), 5120);
    }
}
