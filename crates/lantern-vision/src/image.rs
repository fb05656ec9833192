//! The one pixel layout the preprocessing reads: 8-bit RGB, rows top to bottom, no padding.

use crate::error::{Result, VisionError};

/// The largest image (in pixels) decoded or accepted as raw pixels unless the caller asks for
/// another limit: 50 megapixels holds a 8192×6144 photo; a header announcing more is refused
/// before anything is allocated. The page scales large photos down before sending them.
pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;

/// An 8-bit RGB image (what transformers' pipelines get from `PIL.Image.convert("RGB")`).
#[derive(Clone, PartialEq, Eq)]
pub struct Rgb8Image {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl std::fmt::Debug for Rgb8Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rgb8Image")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

fn check_size(width: u32, height: u32, max_pixels: u64) -> Result<()> {
    let (w, h) = (u64::from(width), u64::from(height));
    if w == 0 || h == 0 {
        return Err(VisionError::NoPixels {
            width: w,
            height: h,
        });
    }
    if w * h > max_pixels {
        return Err(VisionError::TooLarge {
            width: w,
            height: h,
            limit: max_pixels,
        });
    }
    Ok(())
}

impl Rgb8Image {
    /// Interleaved RGB bytes, `width * height * 3` of them, at most [`DEFAULT_MAX_PIXELS`].
    pub fn from_rgb(width: u32, height: u32, data: Vec<u8>) -> Result<Self> {
        check_size(width, height, DEFAULT_MAX_PIXELS)?;
        let expected = u64::from(width) * u64::from(height) * 3;
        if data.len() as u64 != expected {
            return Err(VisionError::BadPixelBuffer {
                layout: "RGB",
                width: width.into(),
                height: height.into(),
                expected,
                got: data.len() as u64,
            });
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Interleaved RGBA bytes (a canvas's `getImageData`), `width * height * 4` of them. Alpha
    /// is dropped, not composited: that is what PIL's `convert("RGB")` does, and so what
    /// transformers' pipelines see. (A canvas holds premultiplied-then-unpremultiplied colour
    /// under alpha; fully transparent pixels come back black there, not as the file's colour.)
    pub fn from_rgba(width: u32, height: u32, rgba: &[u8]) -> Result<Self> {
        check_size(width, height, DEFAULT_MAX_PIXELS)?;
        let expected = u64::from(width) * u64::from(height) * 4;
        if rgba.len() as u64 != expected {
            return Err(VisionError::BadPixelBuffer {
                layout: "RGBA",
                width: width.into(),
                height: height.into(),
                expected,
                got: rgba.len() as u64,
            });
        }
        let mut data = Vec::with_capacity(rgba.len() / 4 * 3);
        for px in rgba.chunks_exact(4) {
            data.extend_from_slice(&px[..3]);
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Inside the crate: sizes already checked by the caller.
    pub(crate) fn from_parts(width: u32, height: u32, data: Vec<u8>) -> Self {
        debug_assert_eq!(data.len(), width as usize * height as usize * 3);
        Self {
            width,
            height,
            data,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The interleaved RGB bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The interleaved RGB bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }

    /// The pixel at (x, y), or `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        Some([self.data[i], self.data[i + 1], self.data[i + 2]])
    }

    /// The rows `top..top + height` and columns `left..left + width`, or `None` if that
    /// rectangle is empty or leaves the image.
    pub fn crop(&self, left: u32, top: u32, width: u32, height: u32) -> Option<Self> {
        if width == 0
            || height == 0
            || u64::from(left) + u64::from(width) > u64::from(self.width)
            || u64::from(top) + u64::from(height) > u64::from(self.height)
        {
            return None;
        }
        let stride = self.width as usize * 3;
        let mut data = Vec::with_capacity(width as usize * height as usize * 3);
        for y in top as usize..(top + height) as usize {
            let row = y * stride + left as usize * 3;
            data.extend_from_slice(&self.data[row..row + width as usize * 3]);
        }
        Some(Self::from_parts(width, height, data))
    }
}
