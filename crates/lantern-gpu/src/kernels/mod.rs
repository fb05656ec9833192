//! The kernels: each file holds the Rust that checks shapes and dispatches the `.wgsl` beside it.

mod attend;
mod attention;
mod elementwise;
mod matmul;
mod norm;
mod rope;
mod sample;
mod softmax;
mod unfold;
mod window2d;

pub use attend::AttendShape;
pub use attention::{AttentionShape, GpuKvCache};
pub use matmul::MATVEC_MAX_TOKENS;
pub use rope::{GpuRopeTable, RopeStyle};
pub use sample::Sampling;
pub use window2d::Window2d;

/// Workgroups needed for `threads` threads of `per_group` each, as a dispatch count.
pub(crate) fn groups(threads: usize, per_group: usize) -> u32 {
    threads.div_ceil(per_group) as u32
}

/// The reductions shared by the row-wise kernels, prepended to their source.
pub(crate) fn with_reduce(src: &str) -> String {
    format!("{}\n{src}", include_str!("reduce.wgsl"))
}
