//! What the two image tasks (`image_classification`, `object_detection`) share: their files,
//! `config.json`'s labels, `preprocessor_config.json`, turning a request's image into
//! `pixel_values` with `lantern_vision`, and their error type.

use std::collections::BTreeMap;

use lantern_core::protocol::ImageData;
use lantern_models::ModelError;
use lantern_models::vision::ImageInput;
use lantern_vision::{
    ImageProcessorConfig, PixelValues, ProcessorKind, Rgb8Image, Size, VisionError,
};
use serde::Deserialize;

use crate::error::PipelineError;
use crate::source::{FileSource, read_required};
use crate::text_classification::{Problem, labels_by_id};

/// What both image tasks cannot run without.
pub const REQUIRED: [&str; 3] = [
    "config.json",
    "preprocessor_config.json",
    "model.safetensors",
];

/// Errors of the image tasks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageTaskError {
    #[error("{file} is not valid: {reason}")]
    InvalidConfig { file: &'static str, reason: String },
    #[error(
        "config.json has no id2label: an image classifier or object detector names its labels \
         there (a backbone without a head cannot classify or detect)"
    )]
    NoLabels,
    /// `preprocessor_config.json` cannot be followed (a bad size, an unknown processor).
    #[error("preprocessor_config.json: {0}")]
    Preprocessor(VisionError),
    /// The request's image: not an image, truncated, too large, a pixel buffer of the wrong
    /// length.
    #[error("the image: {0}")]
    Image(VisionError),
    /// A request option out of range (`top_k` 0, a threshold that is not a number).
    #[error("{0}")]
    InvalidOption(String),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl From<ImageTaskError> for PipelineError {
    fn from(e: ImageTaskError) -> Self {
        PipelineError::Image(e)
    }
}

/// The parts of `config.json` the image pipelines read (the model reads the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct VisionConfig {
    /// Label names by id (a detector's "no object" class is not among them).
    pub labels: Vec<String>,
    pub problem: Problem,
    /// `model_type`: picks the image processor when `preprocessor_config.json` names none.
    pub model_type: String,
    /// Attention heads and patch size (ViT, YOLOS), for the size of the attention scores.
    heads: usize,
    patch: usize,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    id2label: Option<BTreeMap<String, String>>,
    #[serde(default)]
    problem_type: Option<String>,
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    num_attention_heads: Option<usize>,
    #[serde(default)]
    patch_size: Option<usize>,
}

fn invalid(file: &'static str, reason: impl Into<String>) -> ImageTaskError {
    ImageTaskError::InvalidConfig {
        file,
        reason: reason.into(),
    }
}

impl VisionConfig {
    pub fn from_json(json: &[u8]) -> Result<Self, ImageTaskError> {
        let raw: Raw =
            serde_json::from_slice(json).map_err(|e| invalid("config.json", e.to_string()))?;
        let id2label = raw.id2label.ok_or(ImageTaskError::NoLabels)?;
        if id2label.is_empty() {
            return Err(ImageTaskError::NoLabels);
        }
        let labels = labels_by_id(id2label).map_err(|r| invalid("config.json", r))?;
        let problem = Problem::from_config(raw.problem_type.as_deref(), labels.len())
            .map_err(|r| invalid("config.json", r))?;
        Ok(VisionConfig {
            labels,
            problem,
            model_type: raw.model_type.unwrap_or_default(),
            heads: raw.num_attention_heads.unwrap_or(0),
            patch: raw.patch_size.unwrap_or(16).max(1),
        })
    }

    /// The largest buffer a forward pass asks a GPU for, estimated from the largest input the
    /// processor makes: a convolutional stem's feature maps (16 values a pixel: ResNet's
    /// 64 channels at stride 2, its first stage's 256 at stride 4) or a transformer's
    /// attention scores (heads × tokens²), whichever is larger. Only a guide for
    /// [`crate::device::load_on`]'s "does the model fit the adapter".
    pub fn largest_buffer(&self, processor: &ImageProcessorConfig) -> u64 {
        let pixels = max_input_pixels(processor);
        let feature_maps = pixels * 16 * 4;
        let tokens = pixels / (self.patch as u64 * self.patch as u64) + 100;
        let attention = self.heads as u64 * tokens * tokens * 4;
        feature_maps.max(attention)
    }
}

/// The most pixels the processor makes of an image (for sizing buffers): the crop, the
/// fixed size, or the bounds of an aspect-keeping resize (a 4:1 panorama for
/// `shortest_edge` alone).
fn max_input_pixels(p: &ImageProcessorConfig) -> u64 {
    let sq = |a: u32, b: u32| u64::from(a) * u64::from(b);
    if let (true, Some((h, w))) = (p.do_pad, p.pad_size) {
        return sq(h, w);
    }
    if let (true, Some((h, w))) = (p.do_center_crop, p.crop_size) {
        return sq(h, w);
    }
    match p.size {
        Some(Size::HeightWidth { height, width }) => sq(height, width),
        Some(Size::ShortestEdge(s)) if p.kind == ProcessorKind::ConvNext => sq(s, s),
        Some(Size::ShortestEdge(s)) => sq(s, s) * 4,
        Some(Size::ShortestLongest { shortest, longest }) => sq(shortest, longest),
        Some(Size::MaxHeightWidth {
            max_height,
            max_width,
        }) => sq(max_height, max_width),
        // No resize: the image's own size, up to the decoder's limit.
        None => lantern_vision::DEFAULT_MAX_PIXELS,
    }
}

/// `config.json` and `preprocessor_config.json`, read and checked.
pub(crate) async fn read_configs<S: FileSource>(
    source: &S,
) -> Result<(Vec<u8>, VisionConfig, ImageProcessorConfig), PipelineError> {
    let config_json = read_required(source, "config.json").await?;
    let config = VisionConfig::from_json(&config_json)?;
    let processor_json = read_required(source, "preprocessor_config.json").await?;
    let value: serde_json::Value = serde_json::from_slice(&processor_json)
        .map_err(|e| invalid("preprocessor_config.json", e.to_string()))?;
    let processor = ImageProcessorConfig::from_value(
        &value,
        ProcessorKind::from_model_type(&config.model_type),
    )
    .map_err(ImageTaskError::Preprocessor)?;
    Ok((config_json, config, processor))
}

/// The request's image as RGB: canvas pixels (alpha dropped), or a file decoded as
/// transformers' pipelines load one.
pub fn image_of(data: ImageData) -> Result<Rgb8Image, ImageTaskError> {
    let payload = |e: lantern_core::protocol::wire::WireError| {
        ImageTaskError::InvalidOption(format!("the request's image: {e}"))
    };
    match data {
        ImageData::Rgba {
            pixels,
            width,
            height,
        } => {
            let bytes = pixels.into_bytes().map_err(payload)?;
            Rgb8Image::from_rgba(width, height, &bytes).map_err(ImageTaskError::Image)
        }
        ImageData::Encoded { bytes } => {
            let bytes = bytes.into_bytes().map_err(payload)?;
            lantern_vision::decode(&bytes).map_err(ImageTaskError::Image)
        }
    }
}

/// `pixel_values` for one image.
pub fn preprocess(
    image: &Rgb8Image,
    processor: &ImageProcessorConfig,
) -> Result<PixelValues, ImageTaskError> {
    lantern_vision::preprocess(image, processor).map_err(ImageTaskError::Image)
}

/// The model's view of preprocessed pixels.
pub(crate) fn model_input(pixels: &PixelValues) -> ImageInput<'_> {
    ImageInput {
        pixels: &pixels.data,
        height: pixels.height as usize,
        width: pixels.width as usize,
        mask: pixels.pixel_mask.as_deref(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use lantern_core::protocol::Binary;

    #[test]
    fn labels_and_problem_from_config() {
        let c = VisionConfig::from_json(
            br#"{"model_type":"vit","id2label":{"1":"dog","0":"cat"},"num_attention_heads":3}"#,
        )
        .unwrap();
        assert_eq!(c.labels, ["cat", "dog"]);
        assert_eq!(c.problem, Problem::SingleLabel);
        assert_eq!(c.model_type, "vit");
        let c = VisionConfig::from_json(
            br#"{"id2label":{"0":"a","1":"b"},"problem_type":"multi_label_classification"}"#,
        )
        .unwrap();
        assert_eq!(c.problem, Problem::MultiLabel);
        assert!(matches!(
            VisionConfig::from_json(br#"{"model_type":"vit"}"#),
            Err(ImageTaskError::NoLabels)
        ));
        for bad in [
            &br#"{"id2label":{"0":"a","2":"b"}}"#[..],
            br#"{"id2label":{"0":"a"},"problem_type":"regression"}"#,
            br#"[1]"#,
        ] {
            assert!(
                matches!(
                    VisionConfig::from_json(bad),
                    Err(ImageTaskError::InvalidConfig { .. })
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn bad_images_are_typed_errors() {
        let short = ImageData::Rgba {
            pixels: Binary::Bytes(vec![0; 7]),
            width: 2,
            height: 1,
        };
        assert!(matches!(
            image_of(short),
            Err(ImageTaskError::Image(VisionError::BadPixelBuffer { .. }))
        ));
        let text = ImageData::Encoded {
            bytes: Binary::Bytes(b"hello".to_vec()),
        };
        assert!(matches!(
            image_of(text),
            Err(ImageTaskError::Image(VisionError::NotAnImage))
        ));
        let detached = ImageData::Encoded {
            bytes: Binary::Attached(0),
        };
        assert!(matches!(
            image_of(detached),
            Err(ImageTaskError::InvalidOption(_))
        ));
        let ok = ImageData::Rgba {
            pixels: Binary::Bytes(vec![1, 2, 3, 0, 4, 5, 6, 255]),
            width: 2,
            height: 1,
        };
        assert_eq!(image_of(ok).unwrap().as_bytes(), [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn buffer_estimates_follow_the_processor() {
        let detr = ImageProcessorConfig::from_json(
            r#"{"image_processor_type":"DetrImageProcessor","size":{"shortest_edge":800,"longest_edge":1333}}"#,
        )
        .unwrap();
        let c = VisionConfig::from_json(br#"{"id2label":{"0":"a"}}"#).unwrap();
        assert_eq!(c.largest_buffer(&detr), 800 * 1333 * 64);
        let vit = ImageProcessorConfig::from_json(
            r#"{"image_processor_type":"ViTImageProcessor","size":{"height":224,"width":224}}"#,
        )
        .unwrap();
        let c = VisionConfig::from_json(
            br#"{"id2label":{"0":"a"},"num_attention_heads":12,"patch_size":16}"#,
        )
        .unwrap();
        // 196 patches (+100 for class and detection tokens): 12 × 296² × 4 bytes, more than
        // a convolutional stem's 224² × 64 bytes.
        assert_eq!(c.largest_buffer(&vit), 12 * 296 * 296 * 4);
    }
}
