//! `object-detection`: an image in, labelled boxes out, as transformers'
//! `pipeline("object-detection")` gives them. The image is preprocessed as the repository's
//! `preprocessor_config.json` says (`lantern_vision`: DETR's and YOLOS's aspect-keeping resize,
//! padding and pixel mask), the model gives a class distribution and a box per prediction
//! (DETR's object queries, YOLOS's detection tokens), and the post-processing is the image
//! processors' `post_process_object_detection`: a softmax over the classes, the last ("no
//! object") class dropped, each prediction's best label and score, boxes from centre format
//! to corners scaled by the *original* image's size, predictions scoring above `threshold`
//! (0.5 unless asked) kept in the model's order, corners truncated to whole pixels.
//!
//! ```no_run
//! # async fn demo(source: &impl lantern_pipelines::source::FileSource, jpeg: Vec<u8>) -> Result<(), lantern_pipelines::PipelineError> {
//! use lantern_core::protocol::{Binary, ImageData};
//! use lantern_pipelines::device::Device;
//! use lantern_pipelines::object_detection;
//!
//! let detector = object_detection::load(source, Device::Cpu).await?.pipeline;
//! let image = ImageData::Encoded { bytes: Binary::Bytes(jpeg) };
//! for d in detector.detect_async(image, Some(0.9)).await?.detections {
//!     println!("{} {:.2} {:?}", d.label, d.score, d.bbox);
//! }
//! # Ok(()) }
//! ```

use futures_util::FutureExt;
use lantern_core::protocol::{BoundingBox, Detection, Detections, ImageData};
use lantern_models::ModelError;
use lantern_models::ops::Backend;
use lantern_models::vision::{self, ObjectDetector as Model, RawDetections};
use lantern_vision::{ImageProcessorConfig, PixelValues, Rgb8Image};

use crate::device::{Arithmetic, Device, Loaded, Loader, load_on};
use crate::error::PipelineError;
use crate::source::{FileSource, read_required};
use crate::tasks::{FileChoice, FileList};
use crate::vision::{ImageTaskError, VisionConfig, model_input, read_configs};

pub use crate::vision::REQUIRED;

/// The score a detection must exceed unless the request says otherwise (transformers'
/// default).
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// The files an object detector is read from.
pub fn files<S: FileSource>(source: &S) -> Result<FileChoice, PipelineError> {
    FileList {
        required: &REQUIRED,
        one_of: &[],
        optional: &[],
        runs: "Lantern's object detection runs DETR (with its ResNet backbone) and YOLOS \
               from safetensors with a preprocessor_config.json",
        whose: "the detector's",
    }
    .choose(source)
}

/// Loads a detector from the source onto `device` (the CPU when the GPU cannot take it).
pub async fn load<S: FileSource>(
    source: &S,
    device: Device,
) -> Result<Loaded<ObjectDetector>, PipelineError> {
    let (config_json, config, processor) = read_configs(source).await?;
    let loader = DetectorLoader {
        source,
        config_json: &config_json,
    };
    let loaded = load_on(device, config.largest_buffer(&processor), &loader).await?;
    let model = loaded.pipeline;
    if model.num_labels() != config.labels.len() {
        return Err(ImageTaskError::InvalidConfig {
            file: "config.json",
            reason: format!(
                "id2label names {} labels, but the model's class head has {} (and \"no object\")",
                config.labels.len(),
                model.num_labels()
            ),
        }
        .into());
    }
    Ok(Loaded {
        pipeline: ObjectDetector {
            model,
            config,
            processor,
        },
        fallback: loaded.fallback,
    })
}

struct DetectorLoader<'s, S> {
    source: &'s S,
    config_json: &'s [u8],
}

impl<S: FileSource> Loader for DetectorLoader<'_, S> {
    // Boxes are held to 1e-3 of transformers', logits to 1e-4.
    const ARITHMETIC: Arithmetic = Arithmetic::Exact;
    type Output = Box<dyn Model>;

    async fn load<B: Backend>(&self, backend: B) -> Result<Box<dyn Model>, PipelineError> {
        let weights = read_required(self.source, "model.safetensors").await?;
        Ok(
            vision::load_object_detector_on(backend, self.config_json, &weights)
                .map_err(ImageTaskError::from)?,
        )
    }
}

/// A loaded object detector.
#[derive(Debug)]
pub struct ObjectDetector {
    model: Box<dyn Model>,
    config: VisionConfig,
    processor: ImageProcessorConfig,
}

impl ObjectDetector {
    /// The labels, by id (without "no object").
    pub fn labels(&self) -> &[String] {
        &self.config.labels
    }

    /// `cpu` or `webgpu`.
    pub fn backend_name(&self) -> String {
        self.model.backend_name()
    }

    /// The preprocessing the repository asks for.
    pub fn processor(&self) -> &ImageProcessorConfig {
        &self.processor
    }

    /// `pixel_values` (and DETR's pixel mask) for an image, as the model sees it.
    pub fn preprocess(&self, image: &Rgb8Image) -> Result<PixelValues, ImageTaskError> {
        crate::vision::preprocess(image, &self.processor)
    }

    /// The model's raw outputs for an image.
    pub async fn raw_async(&self, image: &Rgb8Image) -> Result<RawDetections, ImageTaskError> {
        let pixels = self.preprocess(image)?;
        let input = model_input(&pixels);
        Ok(self.model.detect_async(&input).await?)
    }

    /// The detections in a request's image scoring above `threshold` (`None`:
    /// [`DEFAULT_THRESHOLD`]), boxes in pixels of that image.
    pub async fn detect_async(
        &self,
        image: ImageData,
        threshold: Option<f32>,
    ) -> Result<Detections, ImageTaskError> {
        let threshold = check_threshold(threshold)?;
        let image = crate::vision::image_of(image)?;
        let raw = self.raw_async(&image).await?;
        let detections = post_process(
            &raw,
            &self.config.labels,
            (image.height(), image.width()),
            threshold,
        )?;
        Ok(Detections { detections })
    }

    /// [`ObjectDetector::detect_async`] where nothing has to be awaited (the CPU, or a native
    /// GPU whose readbacks block).
    pub fn detect(
        &self,
        image: ImageData,
        threshold: Option<f32>,
    ) -> Result<Detections, ImageTaskError> {
        self.detect_async(image, threshold)
            .now_or_never()
            .unwrap_or_else(|| {
                Err(ImageTaskError::Model(ModelError::Backend(
                    "the model's readback cannot be waited for here: use detect_async".into(),
                )))
            })
    }
}

fn check_threshold(threshold: Option<f32>) -> Result<f32, ImageTaskError> {
    match threshold {
        None => Ok(DEFAULT_THRESHOLD),
        Some(t) if t.is_finite() => Ok(t),
        Some(t) => Err(ImageTaskError::InvalidOption(format!(
            "threshold must be a number (a score from 0 to 1), not {t}"
        ))),
    }
}

/// transformers' `post_process_object_detection` (DETR's and YOLOS's are the same) and the
/// pipeline's box dictionary, for one image of `(height, width)` pixels. In f32, as torch
/// computes it: a softmax over every class, the best class but the last, `cx ∓ w/2`,
/// `cy ∓ h/2` times the image's width and height, truncated towards zero (`box.int()`).
pub fn post_process(
    raw: &RawDetections,
    labels: &[String],
    (height, width): (u32, u32),
    threshold: f32,
) -> Result<Vec<Detection>, ImageTaskError> {
    let shape_ok = raw.classes >= 2
        && raw.queries.checked_mul(raw.classes) == Some(raw.logits.len())
        && raw.queries.checked_mul(4) == Some(raw.boxes.len());
    if !shape_ok {
        return Err(ImageTaskError::Model(ModelError::Shape {
            op: "object detection outputs",
            detail: format!(
                "{} logits and {} box values for {} predictions of {} classes",
                raw.logits.len(),
                raw.boxes.len(),
                raw.queries,
                raw.classes
            ),
        }));
    }
    if raw.classes != labels.len() + 1 {
        return Err(ImageTaskError::InvalidConfig {
            file: "config.json",
            reason: format!(
                "id2label names {} labels, but the model gives {} classes (labels and \"no object\")",
                labels.len(),
                raw.classes
            ),
        });
    }
    let (w, h) = (width as f32, height as f32);
    let mut out = Vec::new();
    for (logits, b) in raw
        .logits
        .chunks_exact(raw.classes)
        .zip(raw.boxes.chunks_exact(4))
    {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = logits.iter().map(|&x| (x - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        // The first of equal maxima, as torch's max gives on the CPU.
        let mut best = 0;
        for (i, e) in exps.iter().enumerate().take(raw.classes - 1) {
            if *e > exps[best] {
                best = i;
            }
        }
        let score = exps[best] / sum;
        // NaN scores (a broken model) are never kept, as `s > threshold` is false for them.
        if score.partial_cmp(&threshold) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let (cx, cy, bw, bh) = (b[0], b[1], b[2], b[3]);
        let corner = |v: f32, scale: f32| (v * scale) as i32;
        out.push(Detection {
            score,
            label: labels[best].clone(),
            bbox: BoundingBox {
                xmin: corner(cx - 0.5 * bw, w),
                ymin: corner(cy - 0.5 * bh, h),
                xmax: corner(cx + 0.5 * bw, w),
                ymax: corner(cy + 0.5 * bh, h),
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn labels() -> Vec<String> {
        vec!["cat".into(), "dog".into()]
    }

    #[test]
    fn best_class_but_no_object_and_corners_in_pixels() {
        // Query 0: "no object" is the largest logit, but the best real class is still
        // reported with its share of the full softmax. Query 1: clearly a dog.
        let raw = RawDetections {
            queries: 2,
            classes: 3,
            logits: vec![1.0, 0.0, 3.0, 0.0, 4.0, 0.0],
            boxes: vec![0.5, 0.5, 0.2, 0.4, 0.25, 0.75, 0.5, 0.5],
        };
        let all = post_process(&raw, &labels(), (300, 400), 0.0).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].label, "cat");
        let e = [1f32.exp(), 1.0, 3f32.exp()];
        assert!((all[0].score - e[0] / (e[0] + e[1] + e[2])).abs() < 1e-7);
        // cx 0.5 ± 0.1 of 400 px, cy 0.5 ± 0.2 of 300 px.
        assert_eq!(
            all[0].bbox,
            BoundingBox {
                xmin: 160,
                ymin: 90,
                xmax: 240,
                ymax: 210
            }
        );
        assert_eq!(all[1].label, "dog");
        // Touching the left and bottom edges.
        assert_eq!(
            all[1].bbox,
            BoundingBox {
                xmin: 0,
                ymin: 150,
                xmax: 200,
                ymax: 300
            }
        );
        let kept = post_process(&raw, &labels(), (300, 400), 0.5).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].label, "dog");
    }

    #[test]
    fn the_threshold_is_strict_and_boxes_may_leave_the_image() {
        let raw = RawDetections {
            queries: 1,
            classes: 2,
            logits: vec![0.0, 0.0],
            boxes: vec![0.0, 1.0, 0.5, 0.5],
        };
        // A score of exactly 0.5 is not above 0.5.
        assert!(
            post_process(&raw, &["a".into()], (10, 10), 0.5)
                .unwrap()
                .is_empty()
        );
        let d = post_process(&raw, &["a".into()], (10, 10), 0.49).unwrap();
        assert_eq!(
            d[0].bbox,
            BoundingBox {
                xmin: -2,
                ymin: 7,
                xmax: 2,
                ymax: 12
            }
        );
    }

    #[test]
    fn mismatched_outputs_are_errors_not_panics() {
        let raw = RawDetections {
            queries: 2,
            classes: 3,
            logits: vec![0.0; 5],
            boxes: vec![0.0; 8],
        };
        assert!(matches!(
            post_process(&raw, &labels(), (1, 1), 0.0),
            Err(ImageTaskError::Model(ModelError::Shape { .. }))
        ));
        let raw = RawDetections {
            queries: 1,
            classes: 4,
            logits: vec![0.0; 4],
            boxes: vec![0.0; 4],
        };
        assert!(matches!(
            post_process(&raw, &labels(), (1, 1), 0.0),
            Err(ImageTaskError::InvalidConfig { .. })
        ));
        let nan = RawDetections {
            queries: 1,
            classes: 3,
            logits: vec![f32::NAN; 3],
            boxes: vec![0.0; 4],
        };
        assert!(
            post_process(&nan, &labels(), (1, 1), -1.0)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn thresholds_must_be_numbers() {
        assert_eq!(check_threshold(None).unwrap(), 0.5);
        assert_eq!(check_threshold(Some(0.0)).unwrap(), 0.0);
        assert!(check_threshold(Some(f32::NAN)).is_err());
        assert!(check_threshold(Some(f32::INFINITY)).is_err());
    }
}
