//! `image-classification`: an image in, labels with scores out, as transformers'
//! `pipeline("image-classification")` gives them: the image preprocessed as the repository's
//! `preprocessor_config.json` says (`lantern_vision`), the model's logits, a softmax over the
//! labels (a sigmoid per label for `multi_label_classification` or a single label), names
//! from `config.json`'s `id2label`, the best `top_k` (5 unless asked; at most every label).
//!
//! The model is any of [`lantern_models::vision`]'s classifiers (ViT, ResNet,
//! EfficientNet-Lite) from safetensors, on the CPU or a GPU.
//!
//! ```no_run
//! # async fn demo(source: &impl lantern_pipelines::source::FileSource, png: Vec<u8>) -> Result<(), lantern_pipelines::PipelineError> {
//! use lantern_core::protocol::{Binary, ImageData};
//! use lantern_pipelines::device::Device;
//! use lantern_pipelines::image_classification;
//!
//! let classifier = image_classification::load(source, Device::Cpu).await?.pipeline;
//! let image = ImageData::Encoded { bytes: Binary::Bytes(png) };
//! let labels = classifier.classify_async(image, Some(3)).await?;
//! println!("{}: {:.3}", labels.labels[0].label, labels.labels[0].score);
//! # Ok(()) }
//! ```

use futures_util::FutureExt;
use lantern_core::protocol::{ImageData, ImageLabels, LabelScore};
use lantern_models::ModelError;
use lantern_models::ops::Backend;
use lantern_models::vision::{self, ImageClassifier as Model};
use lantern_vision::{ImageProcessorConfig, PixelValues, Rgb8Image};

use crate::device::{Arithmetic, Device, Loaded, Loader, load_on};
use crate::error::PipelineError;
use crate::source::{FileSource, read_required};
use crate::tasks::{FileChoice, FileList};
use crate::text_classification::scores;
use crate::vision::{ImageTaskError, VisionConfig, model_input, read_configs};

pub use crate::vision::REQUIRED;

/// Labels an answer holds unless the request says otherwise (transformers' default).
pub const DEFAULT_TOP_K: usize = 5;

/// The files an image classifier is read from.
pub fn files<S: FileSource>(source: &S) -> Result<FileChoice, PipelineError> {
    FileList {
        required: &REQUIRED,
        one_of: &[],
        optional: &[],
        runs: "Lantern's image classification runs ViT, ResNet and EfficientNet-Lite \
               classifiers from safetensors with a preprocessor_config.json",
        whose: "the classifier's",
    }
    .choose(source)
}

/// Loads a classifier from the source onto `device` (the CPU when the GPU cannot take it).
pub async fn load<S: FileSource>(
    source: &S,
    device: Device,
) -> Result<Loaded<ImageClassifier>, PipelineError> {
    let (config_json, config, processor) = read_configs(source).await?;
    let loader = ClassifierLoader {
        source,
        config_json: &config_json,
    };
    let loaded = load_on(device, config.largest_buffer(&processor), &loader).await?;
    let model = loaded.pipeline;
    if model.num_labels() != config.labels.len() {
        return Err(ImageTaskError::InvalidConfig {
            file: "config.json",
            reason: format!(
                "id2label names {} labels, but the model's head has {}",
                config.labels.len(),
                model.num_labels()
            ),
        }
        .into());
    }
    Ok(Loaded {
        pipeline: ImageClassifier {
            model,
            config,
            processor,
        },
        fallback: loaded.fallback,
    })
}

struct ClassifierLoader<'s, S> {
    source: &'s S,
    config_json: &'s [u8],
}

impl<S: FileSource> Loader for ClassifierLoader<'_, S> {
    // Held to 1e-4 of transformers' logits, as the encoders are.
    const ARITHMETIC: Arithmetic = Arithmetic::Exact;
    type Output = Box<dyn Model>;

    async fn load<B: Backend>(&self, backend: B) -> Result<Box<dyn Model>, PipelineError> {
        let weights = read_required(self.source, "model.safetensors").await?;
        Ok(
            vision::load_image_classifier_on(backend, self.config_json, &weights)
                .map_err(ImageTaskError::from)?,
        )
    }
}

/// A loaded image classifier.
#[derive(Debug)]
pub struct ImageClassifier {
    model: Box<dyn Model>,
    config: VisionConfig,
    processor: ImageProcessorConfig,
}

impl ImageClassifier {
    /// The labels, by id.
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

    /// `pixel_values` for an image, as the model sees it.
    pub fn preprocess(&self, image: &Rgb8Image) -> Result<PixelValues, ImageTaskError> {
        crate::vision::preprocess(image, &self.processor)
    }

    /// The raw logits of an image (one per label).
    pub async fn logits_async(&self, image: &Rgb8Image) -> Result<Vec<f32>, ImageTaskError> {
        let pixels = self.preprocess(image)?;
        let input = model_input(&pixels);
        Ok(self.model.classify_async(&input).await?)
    }

    /// The best `top_k` labels of a request's image (`None`: [`DEFAULT_TOP_K`]).
    pub async fn classify_async(
        &self,
        image: ImageData,
        top_k: Option<usize>,
    ) -> Result<ImageLabels, ImageTaskError> {
        let top_k = check_top_k(top_k)?;
        let image = crate::vision::image_of(image)?;
        let logits = self.logits_async(&image).await?;
        Ok(rank(&logits, &self.config, top_k))
    }

    /// [`ImageClassifier::classify_async`] where nothing has to be awaited (the CPU, or a
    /// native GPU whose readbacks block).
    pub fn classify(
        &self,
        image: ImageData,
        top_k: Option<usize>,
    ) -> Result<ImageLabels, ImageTaskError> {
        self.classify_async(image, top_k)
            .now_or_never()
            .unwrap_or_else(|| {
                Err(ImageTaskError::Model(ModelError::Backend(
                    "the model's readback cannot be waited for here: use classify_async".into(),
                )))
            })
    }
}

fn check_top_k(top_k: Option<usize>) -> Result<usize, ImageTaskError> {
    match top_k {
        None => Ok(DEFAULT_TOP_K),
        Some(0) => Err(ImageTaskError::InvalidOption(
            "top_k must be at least 1".into(),
        )),
        Some(k) => Ok(k),
    }
}

/// Scores, names and the best `top_k`, as transformers' pipeline post-processes logits:
/// sorted by score, ties in id order (a stable sort), at most every label.
fn rank(logits: &[f32], config: &VisionConfig, top_k: usize) -> ImageLabels {
    let mut labels: Vec<LabelScore> = scores::scores(logits, config.problem)
        .into_iter()
        .zip(&config.labels)
        .map(|(score, label)| LabelScore {
            label: label.clone(),
            score,
        })
        .collect();
    labels.sort_by(|a, b| b.score.total_cmp(&a.score));
    labels.truncate(top_k);
    ImageLabels { labels }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(extra: &str) -> VisionConfig {
        VisionConfig::from_json(
            format!(r#"{{"id2label":{{"0":"cat","1":"cup","2":"dog"}}{extra}}}"#).as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn softmax_labels_best_first_and_top_k() {
        let out = rank(&[1.0, 3.0, 2.0], &config(""), 5);
        let names: Vec<&str> = out.labels.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(names, ["cup", "dog", "cat"]);
        let want = [0.665_240_94, 0.244_728_48, 0.090_030_57];
        for (l, w) in out.labels.iter().zip(want) {
            assert!((l.score - w).abs() < 1e-7, "{out:?}");
        }
        assert_eq!(rank(&[1.0, 3.0, 2.0], &config(""), 1).labels.len(), 1);
        // Ties keep id order.
        let tied = rank(&[0.0, 0.0, 0.0], &config(""), 3);
        let names: Vec<&str> = tied.labels.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(names, ["cat", "cup", "dog"]);
    }

    #[test]
    fn multi_label_models_score_each_label_alone() {
        let c = config(r#","problem_type":"multi_label_classification""#);
        let out = rank(&[0.0, 2.0, -50.0], &c, 3);
        assert!((out.labels[0].score - 0.880_797).abs() < 1e-6);
        assert!((out.labels[1].score - 0.5).abs() < 1e-7);
        assert!(out.labels[2].score < 1e-20);
    }

    #[test]
    fn top_k_defaults_to_five_and_zero_is_refused() {
        assert_eq!(check_top_k(None).unwrap(), 5);
        assert_eq!(check_top_k(Some(1000)).unwrap(), 1000);
        assert!(matches!(
            check_top_k(Some(0)),
            Err(ImageTaskError::InvalidOption(_))
        ));
    }
}
