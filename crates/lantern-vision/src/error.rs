//! Typed errors: every bad input (bytes, pixel buffers, `preprocessor_config.json`) ends here,
//! never in a panic (a panic in the wasm worker kills the page).

/// What went wrong with an image or an image-processor configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VisionError {
    /// No bytes at all.
    #[error("no image data: the input is empty")]
    Empty,
    /// The bytes do not start like any image format.
    #[error("not an image: the data does not start like PNG, JPEG, WebP, GIF or BMP")]
    NotAnImage,
    /// An image format Lantern does not decode (recognised from its signature).
    #[error(
        "unsupported image format {0}: Lantern decodes PNG, JPEG, WebP, GIF (first frame) and BMP"
    )]
    UnsupportedFormat(String),
    /// Refused before decoding: the header announces more pixels than the limit.
    #[error(
        "the image is {width}x{height} pixels ({} megapixels), over the limit of {} megapixels; scale it down first",
        megapixels(*width, *height),
        *limit as f64 / 1e6
    )]
    TooLarge {
        /// Width from the header.
        width: u64,
        /// Height from the header.
        height: u64,
        /// The pixel limit in force.
        limit: u64,
    },
    /// A width or height of zero.
    #[error("the image has no pixels: {width}x{height}")]
    NoPixels {
        /// Width.
        width: u64,
        /// Height.
        height: u64,
    },
    /// The file ends before the image does.
    #[error("the {format} file is truncated: {detail}")]
    Truncated {
        /// The format being decoded.
        format: String,
        /// The decoder's words.
        detail: String,
    },
    /// The file is damaged or uses a feature the decoder does not support.
    #[error("the {format} file cannot be decoded: {detail}")]
    Malformed {
        /// The format being decoded.
        format: String,
        /// The decoder's words.
        detail: String,
    },
    /// A raw pixel buffer whose length does not match its stated size.
    #[error("a {width}x{height} {layout} buffer needs {expected} bytes, got {got}")]
    BadPixelBuffer {
        /// "RGBA" or "RGB".
        layout: &'static str,
        /// Stated width.
        width: u64,
        /// Stated height.
        height: u64,
        /// width × height × channels.
        expected: u64,
        /// The buffer's length.
        got: u64,
    },
    /// `preprocessor_config.json` is not a JSON object.
    #[error("preprocessor_config.json is not a JSON object: {0}")]
    ConfigJson(String),
    /// A key of `preprocessor_config.json` is missing or has a value that cannot be used.
    #[error("preprocessor_config.json: `{key}` {problem}")]
    Config {
        /// The key, as in the file (`size.shortest_edge` for nested ones).
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An image processor class Lantern does not implement.
    #[error(
        "preprocessor_config.json: image processor `{0}` is not supported (supported: ViT, DeiT, BEiT, ConvNext, CLIP, Bit, DETR, YOLOS image processors)"
    )]
    UnsupportedProcessor(String),
    /// The preprocessing steps ask for an output size that cannot be made from this image.
    #[error("preprocessing a {width}x{height} image: {problem}")]
    Preprocess {
        /// Input width.
        width: u32,
        /// Input height.
        height: u32,
        /// What cannot be done.
        problem: String,
    },
}

fn megapixels(width: u64, height: u64) -> String {
    format!("{:.1}", width as f64 * height as f64 / 1e6)
}

/// Shorthand for results of this crate.
pub type Result<T, E = VisionError> = std::result::Result<T, E>;
