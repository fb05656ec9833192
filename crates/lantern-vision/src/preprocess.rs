//! The steps of transformers' image processors, in their order and with their arithmetic:
//! resize (PIL-exact, [`crate::resample`]) on 8-bit pixels, centre crop on 8-bit pixels
//! (zero-padded where the crop is larger), then per value `f32(f64(v) * rescale_factor)` and
//! `(x − mean) / std` in f32 (NumPy's dtype rules), channels first; DETR and YOLOS pad with
//! zeros at the bottom and right after that.

use crate::config::{ImageProcessorConfig, ProcessorKind, Size};
use crate::error::{Result, VisionError};
use crate::image::Rgb8Image;
use crate::resample::{MAX_SIDE, resize};

/// A preprocessed image: `pixel_values` for one batch element, channels first.
#[derive(Clone, PartialEq)]
pub struct PixelValues {
    /// 3 × `height` × `width` values, channel-major (R plane, G plane, B plane).
    pub data: Vec<f32>,
    /// Height of the tensor (after crop and padding).
    pub height: u32,
    /// Width of the tensor (after crop and padding).
    pub width: u32,
    /// The input image's (height, width): what detection boxes are scaled back to.
    pub original_size: (u32, u32),
    /// (height, width) after the resize, before crop and padding.
    pub resized_size: (u32, u32),
    /// DETR's `pixel_mask`: 1 over the image, 0 over the padding (`height` × `width`).
    pub pixel_mask: Option<Vec<u8>>,
}

impl std::fmt::Debug for PixelValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PixelValues")
            .field("shape", &self.shape())
            .field("original_size", &self.original_size)
            .field("resized_size", &self.resized_size)
            .field("pixel_mask", &self.pixel_mask.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

impl PixelValues {
    /// `[3, height, width]`.
    pub fn shape(&self) -> [usize; 3] {
        [3, self.height as usize, self.width as usize]
    }
}

fn trunc_u32(x: f64) -> u32 {
    // Python's int() of a non-negative float; sizes here are far below u32::MAX.
    x.max(0.0).min(f64::from(u32::MAX)) as u32
}

/// transformers' `get_resize_output_image_size(image, size, default_to_square=False)`.
fn shortest_edge_size(h: u32, w: u32, size: u32) -> (u32, u32) {
    let (short, long) = if w <= h { (w, h) } else { (h, w) };
    let new_long = trunc_u32(f64::from(size) * f64::from(long) / f64::from(short));
    if w <= h {
        (new_long, size)
    } else {
        (size, new_long)
    }
}

/// DETR's and YOLOS's `get_size_with_aspect_ratio` (YOLOS: branches in another order, then
/// both sides down to multiples of 16).
fn aspect_size(h: u32, w: u32, shortest: u32, longest: u32, yolos: bool) -> (u32, u32) {
    let (hf, wf) = (f64::from(h), f64::from(w));
    let mut size = shortest;
    let mut raw_size = None;
    let (min_o, max_o) = (hf.min(wf), hf.max(wf));
    if max_o / min_o * f64::from(size) > f64::from(longest) {
        let raw = f64::from(longest) * min_o / max_o;
        raw_size = Some(raw);
        size = trunc_u32(raw.round_ties_even());
    }
    let sf = f64::from(size);
    let keep = (h <= w && h == size) || (w <= h && w == size);
    let portrait = |raw: Option<f64>| match raw {
        Some(r) => (trunc_u32(r * hf / wf), size),
        None => (trunc_u32(sf * hf / wf), size),
    };
    let landscape = |raw: Option<f64>| match raw {
        Some(r) => (size, trunc_u32(r * wf / hf)),
        None => (size, trunc_u32(sf * wf / hf)),
    };
    let (oh, ow) = if yolos {
        if w < h {
            portrait(raw_size)
        } else if keep {
            (h, w)
        } else {
            landscape(raw_size)
        }
    } else if keep {
        (h, w)
    } else if w < h {
        portrait(raw_size)
    } else {
        landscape(raw_size)
    };
    if yolos {
        (oh - oh % 16, ow - ow % 16)
    } else {
        (oh, ow)
    }
}

fn max_height_width(h: u32, w: u32, max_h: u32, max_w: u32) -> (u32, u32) {
    let scale = (f64::from(max_h) / f64::from(h)).min(f64::from(max_w) / f64::from(w));
    (
        trunc_u32(f64::from(h) * scale),
        trunc_u32(f64::from(w) * scale),
    )
}

/// Where the resize goes for an image of `height` × `width`, and the square crop ConvNext
/// takes after it (`shortest_edge < 384`).
fn resize_plan(
    cfg: &ImageProcessorConfig,
    height: u32,
    width: u32,
) -> Option<((u32, u32), Option<u32>)> {
    let size = cfg.size?;
    Some(match (cfg.kind, size) {
        (ProcessorKind::ConvNext, Size::ShortestEdge(s)) if s < 384 => {
            let edge = trunc_u32(f64::from(s) / cfg.crop_pct);
            (shortest_edge_size(height, width, edge), Some(s))
        }
        (ProcessorKind::ConvNext, Size::ShortestEdge(s)) => ((s, s), None),
        (_, Size::HeightWidth { height, width }) => ((height, width), None),
        (_, Size::ShortestEdge(s)) => (shortest_edge_size(height, width, s), None),
        (kind, Size::ShortestLongest { shortest, longest }) => (
            aspect_size(
                height,
                width,
                shortest,
                longest,
                kind == ProcessorKind::Yolos,
            ),
            None,
        ),
        // YOLOS's `resize` sends max_height/max_width through the same helper as DETR.
        (
            _,
            Size::MaxHeightWidth {
                max_height,
                max_width,
            },
        ) => (max_height_width(height, width, max_height, max_width), None),
    })
}

/// The (height, width) the resize step makes of an image of this size, as transformers
/// computes it (before any crop or padding).
pub fn resize_output_size(
    cfg: &ImageProcessorConfig,
    height: u32,
    width: u32,
) -> Option<(u32, u32)> {
    if !cfg.do_resize {
        return Some((height, width));
    }
    resize_plan(cfg, height, width).map(|(s, _)| s)
}

/// transformers' `center_crop` on 8-bit pixels: the centred window, with zeros where the
/// window is larger than the image.
fn center_crop(img: &Rgb8Image, crop_h: u32, crop_w: u32) -> Rgb8Image {
    let (h, w) = (i64::from(img.height()), i64::from(img.width()));
    let (ch, cw) = (i64::from(crop_h), i64::from(crop_w));
    let top = (h - ch).div_euclid(2);
    let left = (w - cw).div_euclid(2);
    if top >= 0
        && left >= 0
        && top + ch <= h
        && left + cw <= w
        && let Some(c) = img.crop(left as u32, top as u32, crop_w, crop_h)
    {
        return c;
    }
    // Padded: the image centred (rounding the padding up) on a zero canvas of at least the
    // crop's size, then the window, shifted by the padding and clipped to the canvas.
    let (nh, nw) = (ch.max(h), cw.max(w));
    let top_pad = (nh - h + 1) / 2;
    let left_pad = (nw - w + 1) / 2;
    let (t, b) = ((top + top_pad).max(0), (top + top_pad + ch).min(nh));
    let (l, r) = ((left + left_pad).max(0), (left + left_pad + cw).min(nw));
    let (oh, ow) = ((b - t) as usize, (r - l) as usize);
    let mut out = vec![0u8; oh * ow * 3];
    let src = img.as_bytes();
    for oy in 0..oh {
        let cy = t + oy as i64 - top_pad; // row in the image
        if !(0..h).contains(&cy) {
            continue;
        }
        for ox in 0..ow {
            let cx = l + ox as i64 - left_pad;
            if !(0..w).contains(&cx) {
                continue;
            }
            let s = ((cy * w + cx) * 3) as usize;
            let d = (oy * ow + ox) * 3;
            out[d..d + 3].copy_from_slice(&src[s..s + 3]);
        }
    }
    Rgb8Image::from_parts(ow as u32, oh as u32, out)
}

fn error(img: &Rgb8Image, problem: String) -> VisionError {
    VisionError::Preprocess {
        width: img.width(),
        height: img.height(),
        problem,
    }
}

/// Runs the processor's steps on one RGB image.
pub fn preprocess(img: &Rgb8Image, cfg: &ImageProcessorConfig) -> Result<PixelValues> {
    let original_size = (img.height(), img.width());
    let mut current = None::<Rgb8Image>;
    let mut convnext_crop = None;
    if cfg.do_resize {
        let ((h, w), crop) = resize_plan(cfg, img.height(), img.width())
            .ok_or_else(|| error(img, "do_resize is true but there is no size".into()))?;
        if h == 0 || w == 0 || h > MAX_SIDE || w > MAX_SIDE {
            return Err(error(
                img,
                format!("the resize would make it {w}x{h} (each side must be 1 to {MAX_SIDE})"),
            ));
        }
        current = Some(resize(img, w, h, cfg.resample)?);
        convnext_crop = crop;
    }
    let resized_size = current
        .as_ref()
        .map_or(original_size, |c| (c.height(), c.width()));
    let crop = match (convnext_crop, cfg.do_center_crop, cfg.crop_size) {
        (Some(s), _, _) => Some((s, s)),
        (None, true, Some(hw)) => Some(hw),
        _ => None,
    };
    if let Some((ch, cw)) = crop {
        let src = current.as_ref().unwrap_or(img);
        current = Some(center_crop(src, ch, cw));
    }
    let px = current.as_ref().unwrap_or(img);
    let (h, w) = (px.height() as usize, px.width() as usize);

    // Rescale then normalise per value, as NumPy computes them (f64 product cast to f32,
    // then f32 arithmetic with f32 mean and std).
    let mut table = [[0f32; 256]; 3];
    for (c, t) in table.iter_mut().enumerate() {
        for (v, out) in t.iter_mut().enumerate() {
            let mut x = if cfg.do_rescale {
                (v as f64 * cfg.rescale_factor) as f32
            } else {
                v as f32
            };
            if cfg.do_normalize {
                x = (x - cfg.image_mean[c]) / cfg.image_std[c];
            }
            *out = x;
        }
    }
    let (out_h, out_w) = match (cfg.do_pad, cfg.pad_size) {
        (true, Some((ph, pw))) => {
            if (ph as usize) < h || (pw as usize) < w {
                return Err(error(
                    img,
                    format!("pad_size {pw}x{ph} is smaller than the resized image {w}x{h}"),
                ));
            }
            (ph as usize, pw as usize)
        }
        _ => (h, w),
    };
    let plane = out_h * out_w;
    let mut data = vec![0f32; 3 * plane];
    let bytes = px.as_bytes();
    for y in 0..h {
        for x in 0..w {
            let s = (y * w + x) * 3;
            let d = y * out_w + x;
            for c in 0..3 {
                data[c * plane + d] = table[c][bytes[s + c] as usize];
            }
        }
    }
    let pixel_mask = (cfg.kind == ProcessorKind::Detr && cfg.do_pad).then(|| {
        let mut m = vec![0u8; plane];
        for y in 0..h {
            m[y * out_w..y * out_w + w].fill(1);
        }
        m
    });
    Ok(PixelValues {
        data,
        height: out_h as u32,
        width: out_w as u32,
        original_size,
        resized_size,
        pixel_mask,
    })
}

/// Pads preprocessed images to a common size (the largest height and width among them) with
/// zeros at the bottom and right, as DETR's and YOLOS's `pad` does for a batch; the pixel
/// masks follow (made for every image when any has one).
pub fn pad_batch(images: &[PixelValues]) -> Vec<PixelValues> {
    let h = images.iter().map(|p| p.height).max().unwrap_or(0);
    let w = images.iter().map(|p| p.width).max().unwrap_or(0);
    let masks = images.iter().any(|p| p.pixel_mask.is_some());
    images
        .iter()
        .map(|p| {
            let (ph, pw) = (p.height as usize, p.width as usize);
            let plane = h as usize * w as usize;
            let mut data = vec![0f32; 3 * plane];
            let mut mask = vec![0u8; plane];
            for c in 0..3 {
                for y in 0..ph {
                    let s = c * ph * pw + y * pw;
                    let d = c * plane + y * w as usize;
                    data[d..d + pw].copy_from_slice(&p.data[s..s + pw]);
                }
            }
            for y in 0..ph {
                for x in 0..pw {
                    let m = p.pixel_mask.as_ref().map_or(1, |m| m[y * pw + x]);
                    mask[y * w as usize + x] = m;
                }
            }
            PixelValues {
                data,
                height: h,
                width: w,
                original_size: p.original_size,
                resized_size: p.resized_size,
                pixel_mask: masks.then_some(mask),
            }
        })
        .collect()
}
