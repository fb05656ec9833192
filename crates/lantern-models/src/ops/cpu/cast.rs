//! Typed views of GGUF tensor bytes as candle's block types, for the types Lantern has no
//! kernel of its own for. The one place this crate needs `unsafe`: candle's kernels take
//! `&[BlockQ5K]` etc., and the weights live in the file buffer (never copied, see `bytes.rs`).
#![allow(unsafe_code)]

use candle_core::quantized::k_quants::{
    BlockQ2K, BlockQ3K, BlockQ4_0, BlockQ4_1, BlockQ4K, BlockQ5_0, BlockQ5_1, BlockQ5K, BlockQ6K,
    BlockQ8_0, BlockQ8_1, BlockQ8K, GgmlType,
};
use half::{bf16, f16};

mod sealed {
    pub trait Sealed {}
}

/// Block types that are plain old data: `#[repr(C)]` structs (or scalars) made only of
/// integers, `f16`/`bf16`/`f32` fields and arrays of them, so every bit pattern is a valid
/// value, and whose size equals GGML's block size (candle asserts that at compile time).
pub trait PodBlock: GgmlType + sealed::Sealed {}

macro_rules! pod {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl PodBlock for $t {}
    )*};
}
pod!(
    f32, f16, bf16, BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ5_1, BlockQ8_0, BlockQ8_1, BlockQ2K,
    BlockQ3K, BlockQ4K, BlockQ5K, BlockQ6K, BlockQ8K
);

/// `bytes` as a slice of blocks, if its length is a whole number of blocks and its start is
/// aligned for `T` (tensor data in GGUF is 32-byte aligned within a buffer that `ModelBytes`
/// keeps 8-byte aligned, so this holds for every tensor of a valid file).
pub fn blocks<T: PodBlock>(bytes: &[u8]) -> Option<&[T]> {
    let size = std::mem::size_of::<T>();
    if size == 0
        || !bytes.len().is_multiple_of(size)
        || !(bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>())
    {
        return None;
    }
    // SAFETY: the pointer is aligned for T and the slice covers exactly `len / size` values of
    // T inside `bytes`, which is borrowed for the returned lifetime; T is plain old data
    // (PodBlock), so any initialised bytes are a valid T.
    Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), bytes.len() / size) })
}
