//! Vision models: image classifiers (ViT, ResNet, EfficientNet-Lite) and object detectors
//! (DETR with its ResNet backbone, YOLOS), written once over the op layer
//! ([`crate::ops::Backend`]) so the same model runs on the CPU and on WebGPU.
//!
//! A model takes what `lantern-vision`'s preprocessing gives, one image at a time: `3 × height
//! × width` f32 values, channel-major (transformers' `pixel_values` of one batch element), and
//! returns raw outputs (logits, boxes). Labels, softmax, top-k, thresholds and box scaling are
//! the pipelines' (`lantern-pipelines`), as they are transformers' pipelines' and not its models'.
//!
//! The family is chosen from `config.json`'s `model_type` ([`Family`]); a family this crate
//! does not run yet is [`ModelError::UnsupportedArchitecture`], naming it.

mod conv;
mod detr;
pub mod efficientnet_lite;
mod layers;
pub mod resnet;
mod vit;
mod yolos;

use std::fmt;

use crate::LocalFuture;
use crate::error::{ModelError, Result};
use crate::ops::Backend;

pub use detr::Detr;
pub use vit::Vit;
pub use yolos::Yolos;

/// One preprocessed image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageInput<'a> {
    /// `3 × height × width` values, channel-major (R plane, G plane, B plane).
    pub pixels: &'a [f32],
    pub height: usize,
    pub width: usize,
    /// DETR's `pixel_mask` (`height × width`, 1 over the image, 0 over padding); `None`: all 1.
    pub mask: Option<&'a [u8]>,
}

impl ImageInput<'_> {
    /// Checks that `pixels` (and `mask`) hold `height × width` values per plane.
    pub fn check(&self) -> Result<()> {
        let plane = self.height.checked_mul(self.width);
        let ok = self.height > 0
            && self.width > 0
            && plane.and_then(|p| p.checked_mul(3)) == Some(self.pixels.len())
            && self.mask.is_none_or(|m| Some(m.len()) == plane);
        if ok {
            Ok(())
        } else {
            Err(ModelError::InvalidInput {
                what: "image",
                detail: format!(
                    "{} values (mask: {:?}) for 3 x {} x {}",
                    self.pixels.len(),
                    self.mask.map(<[u8]>::len),
                    self.height,
                    self.width
                ),
            })
        }
    }
}

/// What an object detector returns for one image, as transformers' `*ForObjectDetection`
/// outputs (`logits`, `pred_boxes`) before any post-processing.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDetections {
    /// Number of predictions (DETR's object queries, YOLOS's detection tokens).
    pub queries: usize,
    /// Classes per prediction, the last being "no object" (`num_labels + 1`).
    pub classes: usize,
    /// `queries × classes` logits, row-major.
    pub logits: Vec<f32>,
    /// `queries × 4` boxes `(centre x, centre y, width, height)`, relative to the model's input
    /// (0..1), row-major.
    pub boxes: Vec<f32>,
}

/// The vision model families, by `config.json`'s `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Family {
    /// `vit` (and `deit`: the same graph; its distillation token is not used by
    /// `ViTForImageClassification`-style heads).
    Vit,
    /// `resnet` (`ResNetForImageClassification`).
    Resnet,
    /// `efficientnet-lite` (Lantern's conversion of EfficientNet-Lite0, ARCHITECTURE.md
    /// "Vision fixtures").
    EfficientNetLite,
    /// `detr` (`DetrForObjectDetection` with its ResNet backbone).
    Detr,
    /// `yolos` (`YolosForObjectDetection`).
    Yolos,
}

impl Family {
    pub fn from_model_type(model_type: &str) -> Option<Self> {
        Some(match model_type {
            "vit" | "deit" => Family::Vit,
            "resnet" => Family::Resnet,
            "efficientnet-lite" => Family::EfficientNetLite,
            "detr" => Family::Detr,
            "yolos" => Family::Yolos,
            _ => return None,
        })
    }

    /// Reads `model_type` from a `config.json`.
    pub fn from_config(config_json: &[u8]) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_slice(config_json).map_err(|e| ModelError::InvalidConfig {
                name: "config.json",
                reason: e.to_string(),
            })?;
        let model_type = value
            .get("model_type")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| ModelError::InvalidConfig {
                name: "model_type",
                reason: "missing or not a string".into(),
            })?;
        Family::from_model_type(model_type)
            .ok_or_else(|| ModelError::UnsupportedArchitecture(model_type.to_owned()))
    }

    /// Whether the family detects objects (otherwise it classifies images).
    pub fn detects(self) -> bool {
        matches!(self, Family::Detr | Family::Yolos)
    }
}

/// An image classifier of any supported family on any backend. The `_async` form awaits the
/// readback, which in a browser is the only way to read a GPU's result.
pub trait ImageClassifier: fmt::Debug + Send + Sync {
    fn family(&self) -> Family;
    /// The backend's name for reports (`cpu`, `webgpu`).
    fn backend_name(&self) -> String;
    fn num_labels(&self) -> usize;
    /// The logits of one image (`num_labels` values).
    fn classify(&self, image: &ImageInput<'_>) -> Result<Vec<f32>>;
    fn classify_async<'a>(&'a self, image: &'a ImageInput<'a>)
    -> LocalFuture<'a, Result<Vec<f32>>>;
}

/// An object detector of any supported family on any backend.
pub trait ObjectDetector: fmt::Debug + Send + Sync {
    fn family(&self) -> Family;
    fn backend_name(&self) -> String;
    fn num_labels(&self) -> usize;
    fn detect(&self, image: &ImageInput<'_>) -> Result<RawDetections>;
    fn detect_async<'a>(
        &'a self,
        image: &'a ImageInput<'a>,
    ) -> LocalFuture<'a, Result<RawDetections>>;
}

/// Loads an image classifier on `backend` from `config.json` and a safetensors file's bytes
/// (f32, f16 or bf16, transformers' tensor names). The bytes may be dropped once it returns.
pub fn load_image_classifier_on<B: Backend>(
    backend: B,
    config_json: &[u8],
    safetensors: &[u8],
) -> Result<Box<dyn ImageClassifier>> {
    let family = Family::from_config(config_json)?;
    match family {
        Family::Vit => Ok(Box::new(vit::Vit::load(backend, config_json, safetensors)?)),
        Family::EfficientNetLite => Ok(Box::new(efficientnet_lite::EfficientNetLite::load(
            backend,
            config_json,
            safetensors,
        )?)),
        Family::Resnet => Ok(Box::new(resnet::ResNetClassifier::load(
            backend,
            config_json,
            safetensors,
        )?)),
        _ => Err(ModelError::UnsupportedArchitecture(format!(
            "{family:?} image classification is not implemented yet"
        ))),
    }
}

/// Loads an object detector on `backend` (as [`load_image_classifier_on`]).
pub fn load_object_detector_on<B: Backend>(
    backend: B,
    config_json: &[u8],
    safetensors: &[u8],
) -> Result<Box<dyn ObjectDetector>> {
    let family = Family::from_config(config_json)?;
    match family {
        Family::Yolos => Ok(Box::new(yolos::Yolos::load(
            backend,
            config_json,
            safetensors,
        )?)),
        Family::Detr => Ok(Box::new(detr::Detr::load(
            backend,
            config_json,
            safetensors,
        )?)),
        _ => Err(ModelError::UnsupportedArchitecture(format!(
            "{family:?} object detection is not implemented yet"
        ))),
    }
}
