//! Image files to [`Rgb8Image`], as transformers' pipelines load them: `load_image` opens the
//! file with PIL, applies the EXIF orientation (`ImageOps.exif_transpose`) and converts to RGB
//! (`convert("RGB")`, which drops alpha). The same code runs natively and in the wasm worker
//! (the page may send file bytes instead of canvas pixels).
//!
//! The header is read first and its size checked against a pixel limit before anything the
//! size of the image is allocated: a 20000×20000 PNG header is refused, not decoded.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};

use crate::error::{Result, VisionError};
use crate::image::{DEFAULT_MAX_PIXELS, Rgb8Image};

/// Limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most pixels (width × height) an image may announce in its header.
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// What the header says, read without decoding the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// The container format.
    pub format: ImageKind,
    /// Width as stored (before the EXIF orientation).
    pub width: u32,
    /// Height as stored (before the EXIF orientation).
    pub height: u32,
}

/// The formats Lantern decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageKind {
    /// PNG (any bit depth; 16-bit samples keep their high byte).
    Png,
    /// JPEG (baseline and progressive; grey, YCbCr, CMYK).
    Jpeg,
    /// WebP (lossy and lossless).
    WebP,
    /// GIF: the first frame.
    Gif,
    /// BMP.
    Bmp,
}

impl ImageKind {
    fn name(self) -> &'static str {
        match self {
            ImageKind::Png => "PNG",
            ImageKind::Jpeg => "JPEG",
            ImageKind::WebP => "WebP",
            ImageKind::Gif => "GIF",
            ImageKind::Bmp => "BMP",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            ImageKind::Png => ImageFormat::Png,
            ImageKind::Jpeg => ImageFormat::Jpeg,
            ImageKind::WebP => ImageFormat::WebP,
            ImageKind::Gif => ImageFormat::Gif,
            ImageKind::Bmp => ImageFormat::Bmp,
        }
    }
}

/// The format from the file's signature.
pub fn sniff(bytes: &[u8]) -> Result<ImageKind> {
    if bytes.is_empty() {
        return Err(VisionError::Empty);
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => Ok(ImageKind::Png),
        Ok(ImageFormat::Jpeg) => Ok(ImageKind::Jpeg),
        Ok(ImageFormat::WebP) => Ok(ImageKind::WebP),
        Ok(ImageFormat::Gif) => Ok(ImageKind::Gif),
        Ok(ImageFormat::Bmp) => Ok(ImageKind::Bmp),
        Ok(other) => Err(VisionError::UnsupportedFormat(
            other
                .extensions_str()
                .first()
                .map_or_else(|| format!("{other:?}"), |e| e.to_ascii_uppercase()),
        )),
        Err(_) => Err(VisionError::NotAnImage),
    }
}

fn classify(kind: ImageKind, err: ImageError) -> VisionError {
    let format = kind.name().to_string();
    match err {
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            VisionError::Truncated {
                format,
                detail: e.to_string(),
            }
        }
        ImageError::Limits(e) => VisionError::Malformed {
            format,
            detail: format!("over the decoder's memory limit: {e}"),
        },
        other => {
            let detail = other.to_string();
            let lower = detail.to_ascii_lowercase();
            // The decoders report a short file in their own words (png: "unexpected end of
            // data", zune-jpeg: "no more bytes", gif/webp: an I/O EOF wrapped in a format error).
            if [
                "end of",
                "eof",
                "no more bytes",
                "truncat",
                "not enough data",
            ]
            .iter()
            .any(|w| lower.contains(w))
            {
                VisionError::Truncated { format, detail }
            } else {
                VisionError::Malformed { format, detail }
            }
        }
    }
}

fn reader(bytes: &[u8], kind: ImageKind, limits: DecodeLimits) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.image_format());
    let mut l = image::Limits::default();
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    l.max_image_width = Some(side);
    l.max_image_height = Some(side);
    // The largest decoded buffer is 16-bit RGBA (8 bytes a pixel); the rest is the decoders'
    // own working memory.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(l);
    reader
}

fn check_header(width: u32, height: u32, limits: DecodeLimits) -> Result<()> {
    let (w, h) = (u64::from(width), u64::from(height));
    if w == 0 || h == 0 {
        return Err(VisionError::NoPixels {
            width: w,
            height: h,
        });
    }
    if w * h > limits.max_pixels {
        return Err(VisionError::TooLarge {
            width: w,
            height: h,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

/// The size in the first bytes of formats that store it at a fixed place, read before the
/// decoder is built: the PNG decoder reads on to the first image data before it reports a
/// size, so a file that stops after a gigapixel header would otherwise only be "truncated".
fn fixed_header_size(bytes: &[u8], kind: ImageKind) -> Option<(u32, u32)> {
    let be = |i: usize| Some(u32::from_be_bytes(bytes.get(i..i + 4)?.try_into().ok()?));
    let le16 = |i: usize| {
        Some(u32::from(u16::from_le_bytes(
            bytes.get(i..i + 2)?.try_into().ok()?,
        )))
    };
    match kind {
        ImageKind::Png if bytes.get(12..16) == Some(b"IHDR") => Some((be(16)?, be(20)?)),
        ImageKind::Gif => Some((le16(6)?, le16(8)?)),
        _ => None,
    }
}

/// The format and stored size, from the header only.
pub fn probe(bytes: &[u8]) -> Result<ImageInfo> {
    let kind = sniff(bytes)?;
    if let Some((width, height)) = fixed_header_size(bytes, kind) {
        return Ok(ImageInfo {
            format: kind,
            width,
            height,
        });
    }
    let decoder = reader(bytes, kind, DecodeLimits::default())
        .into_decoder()
        .map_err(|e| classify(kind, e))?;
    let (width, height) = decoder.dimensions();
    Ok(ImageInfo {
        format: kind,
        width,
        height,
    })
}

/// Decodes with the default limits ([`DEFAULT_MAX_PIXELS`]).
pub fn decode(bytes: &[u8]) -> Result<Rgb8Image> {
    decode_with_limits(bytes, DecodeLimits::default())
}

/// Decodes an image file to RGB: the EXIF orientation applied, alpha dropped, 16-bit samples
/// reduced to their high byte, grey replicated to three channels; GIF gives its first frame.
pub fn decode_with_limits(bytes: &[u8], limits: DecodeLimits) -> Result<Rgb8Image> {
    let kind = sniff(bytes)?;
    if let Some((width, height)) = fixed_header_size(bytes, kind) {
        check_header(width, height, limits)?;
    }
    let mut decoder = reader(bytes, kind, limits)
        .into_decoder()
        .map_err(|e| classify(kind, e))?;
    let (width, height) = decoder.dimensions();
    check_header(width, height, limits)?;
    // A damaged EXIF block is ignored, as PIL's `exif_transpose` shows such an image unrotated.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| classify(kind, e))?;
    img.apply_orientation(orientation);
    Ok(to_rgb8(img))
}

/// PIL's `convert("RGB")` for the layouts the decoders produce. 16-bit samples keep their high
/// byte, which is what PIL does for 16-bit RGB(A) and grey+alpha PNGs ("RGB;16B" raw modes).
/// For 16-bit grey PIL clips the value to 255 instead (mode "I;16" to "RGB"), which turns
/// nearly every such photo white; Lantern keeps the high byte there too (ARCHITECTURE.md).
fn to_rgb8(img: DynamicImage) -> Rgb8Image {
    let (width, height) = (img.width(), img.height());
    let n = width as usize * height as usize;
    let mut out = Vec::with_capacity(n * 3);
    match img {
        DynamicImage::ImageRgb8(b) => return Rgb8Image::from_parts(width, height, b.into_raw()),
        DynamicImage::ImageRgba8(b) => {
            for p in b.as_raw().chunks_exact(4) {
                out.extend_from_slice(&p[..3]);
            }
        }
        DynamicImage::ImageLuma8(b) => {
            for &v in b.as_raw() {
                out.extend_from_slice(&[v, v, v]);
            }
        }
        DynamicImage::ImageLumaA8(b) => {
            for p in b.as_raw().chunks_exact(2) {
                out.extend_from_slice(&[p[0], p[0], p[0]]);
            }
        }
        DynamicImage::ImageLuma16(b) => {
            for &v in b.as_raw() {
                let v = (v >> 8) as u8;
                out.extend_from_slice(&[v, v, v]);
            }
        }
        DynamicImage::ImageLumaA16(b) => {
            for p in b.as_raw().chunks_exact(2) {
                let v = (p[0] >> 8) as u8;
                out.extend_from_slice(&[v, v, v]);
            }
        }
        DynamicImage::ImageRgb16(b) => {
            out.extend(b.as_raw().iter().map(|&v| (v >> 8) as u8));
        }
        DynamicImage::ImageRgba16(b) => {
            for p in b.as_raw().chunks_exact(4) {
                out.extend(p[..3].iter().map(|&v| (v >> 8) as u8));
            }
        }
        other => return Rgb8Image::from_parts(width, height, other.to_rgb8().into_raw()),
    }
    Rgb8Image::from_parts(width, height, out)
}
