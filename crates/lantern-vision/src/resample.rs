//! Resizing as PIL's `Image.resize` does it for 8-bit images, so that preprocessing matches
//! transformers' image processors (they resize through PIL) to the last bit.
//!
//! The filters (BILINEAR, BICUBIC, LANCZOS, BOX, HAMMING) are separable convolutions: the
//! horizontal pass first, then the vertical one, each with its own weights. A filter's support
//! grows with the downscaling factor (so every input pixel contributes: antialiasing), the
//! weights of each output pixel are normalised to sum to one and then turned into fixed-point
//! integers with 22 fractional bits; every pass rounds its sums to 8 bits, so the vertical pass
//! reads the rounded 8-bit result of the horizontal one. NEAREST is not a convolution in PIL but
//! an affine scaling: the source position of output pixel `i` is accumulated step by step in
//! double precision from `scale / 2` and truncated.
//!
//! The `image` crate's resize differs from all of this (other support, float output), by up to
//! tens of grey levels on downscaled photos: the reason this module exists.

use crate::error::{Result, VisionError};
use crate::image::Rgb8Image;

/// PIL's resampling filters, with PIL's numbers (the `resample` key of
/// `preprocessor_config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resample {
    /// 0: the nearest pixel.
    Nearest,
    /// 1: Lanczos (a = 3).
    Lanczos,
    /// 2: bilinear (triangle).
    Bilinear,
    /// 3: bicubic (Keys, a = −0.5).
    Bicubic,
    /// 4: box.
    Box,
    /// 5: Hamming-windowed sinc.
    Hamming,
}

impl Resample {
    /// PIL's number for the filter, as `preprocessor_config.json` stores it.
    pub fn from_pil(code: i64) -> Option<Self> {
        Some(match code {
            0 => Self::Nearest,
            1 => Self::Lanczos,
            2 => Self::Bilinear,
            3 => Self::Bicubic,
            4 => Self::Box,
            5 => Self::Hamming,
            _ => return None,
        })
    }

    /// The filter's half-width at scale 1.
    fn support(self) -> f64 {
        match self {
            Self::Nearest | Self::Box => 0.5,
            Self::Bilinear | Self::Hamming => 1.0,
            Self::Bicubic => 2.0,
            Self::Lanczos => 3.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        match self {
            Self::Nearest | Self::Box => {
                if x > -0.5 && x <= 0.5 {
                    1.0
                } else {
                    0.0
                }
            }
            Self::Bilinear => {
                let x = x.abs();
                if x < 1.0 { 1.0 - x } else { 0.0 }
            }
            Self::Hamming => {
                let x = x.abs();
                if x == 0.0 {
                    1.0
                } else if x >= 1.0 {
                    0.0
                } else {
                    let x = x * std::f64::consts::PI;
                    x.sin() / x * (0.54 + 0.46 * x.cos())
                }
            }
            Self::Bicubic => {
                const A: f64 = -0.5;
                let x = x.abs();
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
            Self::Lanczos => {
                if (-3.0..3.0).contains(&x) {
                    sinc(x) * sinc(x / 3.0)
                } else {
                    0.0
                }
            }
        }
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * std::f64::consts::PI;
        x.sin() / x
    }
}

/// Fixed-point fraction bits of the weights: 8 bits of pixel, 2 of headroom for negative
/// lobes and sums above one, in 32 bits.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// The weights of one pass: for each output index, the first input index and its weights.
struct Pass {
    starts: Vec<usize>,
    /// `offsets[i]..offsets[i + 1]` indexes `weights` for output `i`.
    offsets: Vec<usize>,
    weights: Vec<i32>,
}

impl Pass {
    fn new(in_size: u32, out_size: u32, filter: Resample) -> Self {
        let scale = f64::from(in_size) / f64::from(out_size);
        let filterscale = scale.max(1.0);
        let support = filter.support() * filterscale;
        let ss = 1.0 / filterscale;
        let mut starts = Vec::with_capacity(out_size as usize);
        let mut offsets = Vec::with_capacity(out_size as usize + 1);
        let mut weights = Vec::new();
        let mut w = Vec::new();
        offsets.push(0);
        for xx in 0..out_size {
            let center = (f64::from(xx) + 0.5) * scale;
            // Truncation toward zero, then clamping, as the C casts do.
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(i64::from(in_size));
            w.clear();
            let mut total = 0.0;
            for x in xmin..xmax.max(xmin) {
                let v = filter.weight((x as f64 - center + 0.5) * ss);
                w.push(v);
                total += v;
            }
            for v in &w {
                let v = if total != 0.0 { v / total } else { *v };
                let fixed = if v < 0.0 {
                    -0.5 + v * f64::from(1u32 << PRECISION_BITS)
                } else {
                    0.5 + v * f64::from(1u32 << PRECISION_BITS)
                };
                weights.push(fixed as i32);
            }
            starts.push(xmin as usize);
            offsets.push(weights.len());
        }
        Self {
            starts,
            offsets,
            weights,
        }
    }

    fn taps(&self, i: usize) -> (usize, &[i32]) {
        (
            self.starts[i],
            &self.weights[self.offsets[i]..self.offsets[i + 1]],
        )
    }
}

fn clip8(sum: i64) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

fn horizontal(src: &[u8], in_w: usize, rows: usize, out_w: usize, pass: &Pass) -> Vec<u8> {
    let mut out = vec![0u8; out_w * rows * 3];
    for y in 0..rows {
        let row = &src[y * in_w * 3..(y + 1) * in_w * 3];
        let out_row = &mut out[y * out_w * 3..(y + 1) * out_w * 3];
        for xx in 0..out_w {
            let (start, k) = pass.taps(xx);
            let mut s = [1i64 << (PRECISION_BITS - 1); 3];
            for (j, &kj) in k.iter().enumerate() {
                let p = (start + j) * 3;
                for c in 0..3 {
                    s[c] += i64::from(row[p + c]) * i64::from(kj);
                }
            }
            for c in 0..3 {
                out_row[xx * 3 + c] = clip8(s[c]);
            }
        }
    }
    out
}

fn vertical(src: &[u8], width: usize, out_h: usize, pass: &Pass) -> Vec<u8> {
    let stride = width * 3;
    let mut out = vec![0u8; stride * out_h];
    let mut acc = vec![0i64; stride];
    for yy in 0..out_h {
        let (start, k) = pass.taps(yy);
        acc.fill(1i64 << (PRECISION_BITS - 1));
        for (j, &kj) in k.iter().enumerate() {
            let row = &src[(start + j) * stride..(start + j + 1) * stride];
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += i64::from(p) * i64::from(kj);
            }
        }
        for (o, &a) in out[yy * stride..(yy + 1) * stride].iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    out
}

/// PIL's NEAREST: source index `floor(scale / 2 + i * scale)`, accumulated in doubles; an
/// index past the edge (from the accumulated rounding) leaves the pixel black, as in PIL.
fn nearest_table(in_size: u32, out_size: u32) -> Vec<Option<usize>> {
    let step = f64::from(in_size) / f64::from(out_size);
    let mut pos = step * 0.5;
    let mut table = Vec::with_capacity(out_size as usize);
    for _ in 0..out_size {
        let i = if pos < 0.0 { -1 } else { pos as i64 };
        table.push((0..i64::from(in_size)).contains(&i).then_some(i as usize));
        pos += step;
    }
    table
}

fn nearest(img: &Rgb8Image, width: u32, height: u32) -> Vec<u8> {
    let xs = nearest_table(img.width(), width);
    let ys = nearest_table(img.height(), height);
    let src = img.as_bytes();
    let in_stride = img.width() as usize * 3;
    let mut out = vec![0u8; width as usize * height as usize * 3];
    for (y, sy) in ys.iter().enumerate() {
        let Some(sy) = sy else { continue };
        let row = &src[sy * in_stride..(sy + 1) * in_stride];
        for (x, sx) in xs.iter().enumerate() {
            if let Some(sx) = sx {
                let o = (y * width as usize + x) * 3;
                out[o..o + 3].copy_from_slice(&row[sx * 3..sx * 3 + 3]);
            }
        }
    }
    out
}

/// The largest side [`resize`] makes: beyond any model's input, and it keeps the weight tables
/// and the output small enough that a bad size in a configuration is an error, not an
/// allocation failure.
pub const MAX_SIDE: u32 = 16_384;

/// Resizes to `width` × `height` as PIL's `Image.resize(size, resample)` does for an RGB image.
pub fn resize(img: &Rgb8Image, width: u32, height: u32, filter: Resample) -> Result<Rgb8Image> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(VisionError::Preprocess {
            width: img.width(),
            height: img.height(),
            problem: format!(
                "cannot resize to {width}x{height}: each side must be 1 to {MAX_SIDE} pixels"
            ),
        });
    }
    if width == img.width() && height == img.height() {
        return Ok(img.clone());
    }
    if filter == Resample::Nearest {
        return Ok(Rgb8Image::from_parts(
            width,
            height,
            nearest(img, width, height),
        ));
    }
    let (in_w, in_h) = (img.width() as usize, img.height() as usize);
    let mut data = None;
    if width != img.width() {
        let pass = Pass::new(img.width(), width, filter);
        data = Some(horizontal(
            img.as_bytes(),
            in_w,
            in_h,
            width as usize,
            &pass,
        ));
    }
    if height != img.height() {
        let pass = Pass::new(img.height(), height, filter);
        let src = data.as_deref().unwrap_or(img.as_bytes());
        data = Some(vertical(src, width as usize, height as usize, &pass));
    }
    Ok(Rgb8Image::from_parts(
        width,
        height,
        data.unwrap_or_else(|| img.as_bytes().to_vec()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for filter in [
            Resample::Bilinear,
            Resample::Bicubic,
            Resample::Lanczos,
            Resample::Box,
            Resample::Hamming,
        ] {
            for (i, o) in [(451, 224), (7, 13), (300, 256), (1, 5), (5, 1)] {
                let pass = Pass::new(i, o, filter);
                for xx in 0..o as usize {
                    let (start, k) = pass.taps(xx);
                    assert!(start + k.len() <= i as usize);
                    let sum: i64 = k.iter().map(|&v| i64::from(v)).sum();
                    assert!(
                        (sum - (1 << PRECISION_BITS)).abs() <= k.len() as i64,
                        "{filter:?} {i}->{o} output {xx}: {sum}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_flat_image_stays_flat() {
        let img = Rgb8Image::from_rgb(9, 5, [10u8, 200, 77].repeat(45)).unwrap();
        for filter in [
            Resample::Nearest,
            Resample::Bilinear,
            Resample::Bicubic,
            Resample::Lanczos,
        ] {
            let out = resize(&img, 4, 11, filter).unwrap();
            assert!(
                out.as_bytes().chunks(3).all(|p| p == [10, 200, 77]),
                "{filter:?}"
            );
        }
    }

    #[test]
    fn nearest_picks_pil_positions() {
        // PIL: Image.fromarray(np.arange(10, dtype=np.uint8)[None].repeat(1, 0)) resized to 4
        // wide with NEAREST gives columns 1, 3, 6, 8.
        let t = nearest_table(10, 4);
        assert_eq!(t, vec![Some(1), Some(3), Some(6), Some(8)]);
    }

    #[test]
    fn bad_sizes_are_errors() {
        let img = Rgb8Image::from_rgb(2, 2, vec![0; 12]).unwrap();
        assert!(resize(&img, 0, 3, Resample::Bilinear).is_err());
        assert!(resize(&img, 3, MAX_SIDE + 1, Resample::Bilinear).is_err());
    }
}
