//! Images in for vision models (image classification, object detection): decoding image files
//! to RGB as transformers' pipelines load them (PIL: EXIF orientation applied, alpha dropped),
//! raw RGBA from the page's canvas, and the preprocessing of transformers' image processors
//! from `preprocessor_config.json`, with PIL's resampling reproduced exactly.
//!
//! Native and wasm32 alike; no model code here (ARCHITECTURE.md, "Images in").

mod config;
mod decode;
mod error;
mod image;
mod preprocess;
pub mod resample;

pub use config::{ImageProcessorConfig, ProcessorKind, Size};
pub use decode::{DecodeLimits, ImageInfo, ImageKind, decode, decode_with_limits, probe, sniff};
pub use error::{Result, VisionError};
pub use image::{DEFAULT_MAX_PIXELS, Rgb8Image};
pub use preprocess::{PixelValues, pad_batch, preprocess, resize_output_size};
pub use resample::{Resample, resize};
