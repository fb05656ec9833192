//! GGUF blocks to the GPU layouts read by `*.wgsl` in this folder.
//!
//! Block formats: GGML's `ggml-common.h` (the `block_q4_0`, `block_q4_1`, `block_q8_0`,
//! `block_q4_K`, `block_q6_K` structs).

use super::WeightType;

/// A part's bytes in GPU layout, and the first word of its scale section.
pub(super) struct Packed {
    pub bytes: Vec<u8>,
    pub scale_word: u32,
}

/// Quantized bytes per block that move to the word-aligned first section, and where they start
/// in the GGUF block; the rest of the block (its f16 scales) goes to the second section.
fn split(ty: WeightType) -> Option<(usize, usize)> {
    match ty {
        // d (2 bytes), then 16 bytes of nibbles.
        WeightType::Q4_0 => Some((2, 16)),
        // d, m, then 16 bytes: the (d, m) pair is one word of the scale section.
        WeightType::Q4_1 => Some((4, 16)),
        // d, then 32 bytes.
        WeightType::Q8_0 => Some((2, 32)),
        // ql, qh, scales (208 bytes), then d.
        WeightType::Q6K => Some((0, 208)),
        // Plain arrays, and Q4_K (144 bytes, already word-aligned), stay as they are.
        WeightType::F32 | WeightType::F16 | WeightType::Q4K => None,
    }
}

/// Bytes of `rows x cols` weights in GPU layout (word-padded).
pub(super) fn gpu_bytes(ty: WeightType, rows: usize, cols: usize) -> usize {
    let blocks = rows * (cols / ty.block_weights());
    let total = match split(ty) {
        Some((_, quant)) => {
            let scale = ty.block_bytes() - quant;
            blocks * quant + (blocks * scale).next_multiple_of(4)
        }
        None => blocks * ty.block_bytes(),
    };
    total.next_multiple_of(4)
}

/// Repacks `rows x cols` weights given as GGUF blocks (`src`, already checked to be the right
/// size).
pub(super) fn repack(ty: WeightType, rows: usize, cols: usize, src: &[u8]) -> Packed {
    let mut bytes = vec![0u8; gpu_bytes(ty, rows, cols)];
    let Some((quant_at, quant)) = split(ty) else {
        bytes[..src.len()].copy_from_slice(src);
        return Packed {
            bytes,
            scale_word: 0,
        };
    };
    let block = ty.block_bytes();
    let blocks = src.len() / block;
    let scale_start = blocks * quant;
    let (quants, scales) = bytes.split_at_mut(scale_start);
    let scale = block - quant;
    for ((b, q), s) in src
        .chunks_exact(block)
        .zip(quants.chunks_exact_mut(quant))
        .zip(scales.chunks_mut(scale))
    {
        q.copy_from_slice(&b[quant_at..quant_at + quant]);
        // Scale bytes: everything around the quantized run (before it for Q4_0/Q4_1/Q8_0, after
        // it for Q6_K), in block order, so f16 values stay little-endian.
        let (head, tail) = (&b[..quant_at], &b[quant_at + quant..]);
        s[..head.len()].copy_from_slice(head);
        s[head.len()..head.len() + tail.len()].copy_from_slice(tail);
    }
    Packed {
        bytes,
        scale_word: (scale_start / 4) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_moves_scales_behind_the_nibbles() {
        // Two blocks: d = [1, 2] / [3, 4], nibbles 10.. / 40..
        let mut src = vec![1u8, 2];
        src.extend(10..26u8);
        src.extend([3u8, 4]);
        src.extend(40..56u8);
        let p = repack(WeightType::Q4_0, 1, 64, &src);
        assert_eq!(p.scale_word, 8);
        assert_eq!(&p.bytes[..16], &(10..26u8).collect::<Vec<_>>()[..]);
        assert_eq!(&p.bytes[16..32], &(40..56u8).collect::<Vec<_>>()[..]);
        assert_eq!(&p.bytes[32..36], &[1, 2, 3, 4]);
        assert_eq!(p.bytes.len(), 36);
    }

    #[test]
    fn q6_k_scale_is_the_block_tail() {
        let mut src: Vec<u8> = (0..208).map(|i| i as u8).collect();
        src.extend([0xAB, 0xCD]);
        let p = repack(WeightType::Q6K, 1, 256, &src);
        assert_eq!(p.scale_word, 52);
        assert_eq!(&p.bytes[..208], &src[..208]);
        assert_eq!(&p.bytes[208..210], &[0xAB, 0xCD]);
        assert_eq!(p.bytes.len(), 212);
    }

    #[test]
    fn sizes_are_word_aligned() {
        for ty in WeightType::ALL {
            for rows in [1, 3, 7] {
                assert_eq!(gpu_bytes(ty, rows, 256) % 4, 0, "{ty:?}");
                assert!(gpu_bytes(ty, rows, 256) >= ty.bytes(rows, 256).unwrap_or(0));
            }
        }
    }
}
