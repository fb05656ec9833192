//! The image-classification and object-detection checks, written once so they can run
//! natively on the CPU (`tests/vision_tasks.rs`) and on other backends later: the tiny random
//! ViT / ResNet / DETR / YOLOS models and the real EfficientNet-Lite0 against transformers'
//! pipelines on scikit-image's photos (`scripts/reference/vision_models.py`,
//! `scripts/reference/efficientnet_lite0.py`), and the typed errors of bad repositories.

use lantern_core::protocol::{Binary, DetectInput, ErrorCode, ImageClassifyInput, ImageData};
use lantern_core::protocol::{TaskInput, TaskOutput};
use lantern_pipelines::device::Device;
use lantern_pipelines::source::{FileSource, MemorySource};
use lantern_pipelines::vision::ImageTaskError;
use lantern_pipelines::{PipelineError, image_classification, object_detection, tasks};

pub const GOLDEN: &str = include_str!("../data/vision_models.golden.json");
/// The DETRs with timm backbones (`scripts/reference/vision_detr_timm.py`).
pub const TIMM_GOLDEN: &str = include_str!("../data/vision_detr_timm.golden.json");
pub const EFFICIENTNET_GOLDEN: &str = include_str!("../data/efficientnet_lite0.golden.json");
/// The bound on logits and scores (the tiny models, against transformers in f32).
pub const TOLERANCE: f32 = 1e-4;
/// EfficientNet-Lite0's bound (against a float64 reference, FIXTURES.md's numbers).
pub const EFFICIENTNET_TOLERANCE: f64 = 0.01;
/// Relative bound on raw box coordinates.
pub const BOX_TOLERANCE: f32 = 1e-3;
/// The tiny classifiers and detectors of the fixture mirror.
pub const CLASSIFIERS: [&str; 2] = ["tiny-vit-classification", "tiny-resnet-classification"];
pub const DETECTORS: [&str; 2] = ["tiny-detr-resnet", "tiny-yolos"];
pub const TIMM_DETECTORS: [&str; 2] = ["tiny-detr-timm-resnet50", "tiny-detr-timm-resnet18"];
/// Every file a fixture repository holds that the pipelines read.
pub const FILES: [&str; 3] = [
    "config.json",
    "preprocessor_config.json",
    "model.safetensors",
];

fn golden(model: &str) -> serde_json::Value {
    let file = if TIMM_DETECTORS.contains(&model) {
        TIMM_GOLDEN
    } else {
        GOLDEN
    };
    let all: serde_json::Value = serde_json::from_str(file).unwrap();
    all["models"][model].clone()
}

fn close(a: f32, b: f64, tol: f32) -> bool {
    (f64::from(a) - b).abs() <= f64::from(tol)
}

fn encoded(bytes: &[u8]) -> ImageData {
    ImageData::Encoded {
        bytes: Binary::Bytes(bytes.to_vec()),
    }
}

/// Holds a tiny classifier to its goldens: the raw logits within [`TOLERANCE`], and the
/// pipeline's every label (`top_k` = all) in the same order with scores within it; `top_k`
/// defaults to 5 and is capped at the number of labels. `image` reads a sample photo.
/// Returns the backend.
pub async fn check_classifier<S: FileSource>(
    model: &str,
    source: &S,
    device: Device,
    image: &dyn Fn(&str) -> Vec<u8>,
) -> String {
    let g = golden(model);
    let classifier = image_classification::load(source, device)
        .await
        .unwrap_or_else(|e| panic!("{model}: {e}"))
        .pipeline;
    for case in g["cases"].as_array().unwrap() {
        let name = case["image"].as_str().unwrap();
        let bytes = image(name);
        let rgb = lantern_vision::decode(&bytes).unwrap();
        let pixels = classifier.preprocess(&rgb).unwrap();
        let shape: Vec<usize> = case["pixel_values_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(shape[1..], pixels.shape(), "{model} {name}");
        let logits = classifier.logits_async(&rgb).await.unwrap();
        let want = case["logits"]["first"].as_array().unwrap();
        assert_eq!(logits.len(), want.len(), "{model} {name}");
        for (i, (a, b)) in logits.iter().zip(want).enumerate() {
            let b = b.as_f64().unwrap();
            assert!(
                close(*a, b, TOLERANCE),
                "{model} {name} logit {i}: {a} vs {b}"
            );
        }
        let all = classifier
            .classify_async(encoded(&bytes), Some(usize::MAX))
            .await
            .unwrap();
        let want = case["pipeline"].as_array().unwrap();
        assert_eq!(all.labels.len(), want.len(), "{model} {name}");
        for (got, w) in all.labels.iter().zip(want) {
            assert_eq!(got.label, w["label"].as_str().unwrap(), "{model} {name}");
            let ws = w["score"].as_f64().unwrap();
            assert!(
                close(got.score, ws, TOLERANCE),
                "{model} {name} {}: {} vs {ws}",
                got.label,
                got.score
            );
        }
        let five = classifier.classify_async(encoded(&bytes), None).await;
        assert_eq!(five.unwrap().labels.len(), want.len().min(5));
    }
    classifier.backend_name()
}

/// Holds a tiny detector to its goldens: raw logits within [`TOLERANCE`] and raw boxes within
/// [`BOX_TOLERANCE`] (relative), and the pipeline at threshold 0 (every prediction) with the
/// same labels in the same order, scores within [`TOLERANCE`] and corners within a pixel;
/// the default threshold (0.5) keeps exactly the golden predictions above it.
pub async fn check_detector<S: FileSource>(
    model: &str,
    source: &S,
    device: Device,
    image: &dyn Fn(&str) -> Vec<u8>,
) -> String {
    let g = golden(model);
    let detector = object_detection::load(source, device)
        .await
        .unwrap_or_else(|e| panic!("{model}: {e}"))
        .pipeline;
    for case in g["cases"].as_array().unwrap() {
        let name = case["image"].as_str().unwrap();
        let bytes = image(name);
        let rgb = lantern_vision::decode(&bytes).unwrap();
        let raw = detector.raw_async(&rgb).await.unwrap();
        for (what, got, tol, relative) in [
            ("logits", &raw.logits, TOLERANCE, false),
            ("pred_boxes", &raw.boxes, BOX_TOLERANCE, true),
        ] {
            let want = case[what]["first"].as_array().unwrap();
            let shape = case[what]["shape"].as_array().unwrap();
            let n: u64 = shape.iter().map(|v| v.as_u64().unwrap()).product();
            assert_eq!(got.len() as u64, n, "{model} {name} {what}");
            for (i, (a, b)) in got.iter().zip(want).enumerate() {
                let b = b.as_f64().unwrap();
                let bound = if relative {
                    tol * (b.abs() as f32).max(1.0)
                } else {
                    tol
                };
                assert!(
                    close(*a, b, bound),
                    "{model} {name} {what}[{i}]: {a} vs {b}"
                );
            }
        }
        let all = detector
            .detect_async(encoded(&bytes), Some(0.0))
            .await
            .unwrap();
        let want = case["pipeline"].as_array().unwrap();
        assert_eq!(all.detections.len(), want.len(), "{model} {name}");
        for (got, w) in all.detections.iter().zip(want) {
            assert_eq!(got.label, w["label"].as_str().unwrap(), "{model} {name}");
            let ws = w["score"].as_f64().unwrap();
            assert!(
                close(got.score, ws, TOLERANCE),
                "{model} {name}: {got:?} vs {w}"
            );
            let b = &w["box"];
            for (corner, v) in [
                ("xmin", got.bbox.xmin),
                ("ymin", got.bbox.ymin),
                ("xmax", got.bbox.xmax),
                ("ymax", got.bbox.ymax),
            ] {
                let wv = b[corner].as_i64().unwrap();
                assert!(
                    (i64::from(v) - wv).abs() <= 1,
                    "{model} {name} {corner}: {got:?} vs {w}"
                );
            }
        }
        let default = detector.detect_async(encoded(&bytes), None).await.unwrap();
        let above = want
            .iter()
            .filter(|w| w["score"].as_f64().unwrap() > 0.5 + f64::from(TOLERANCE))
            .count();
        let near = want
            .iter()
            .filter(|w| (w["score"].as_f64().unwrap() - 0.5).abs() <= f64::from(TOLERANCE))
            .count();
        assert!(
            (above..=above + near).contains(&default.detections.len()),
            "{model} {name}: {} detections above 0.5, golden {above}",
            default.detections.len()
        );
    }
    detector.backend_name()
}

/// EfficientNet-Lite0 (real ImageNet weights) on chelsea and coffee: the top five labels in
/// the reference's order with scores within [`EFFICIENTNET_TOLERANCE`], through the task's
/// door ([`tasks::load`], [`lantern_pipelines::tasks::Pipeline::run`]) as the worker and
/// `lantern run` call it.
pub async fn check_efficientnet<S: FileSource>(
    source: &S,
    device: Device,
    image: &dyn Fn(&str) -> Vec<u8>,
) -> String {
    let g: serde_json::Value = serde_json::from_str(EFFICIENTNET_GOLDEN).unwrap();
    let pipeline = tasks::load(
        lantern_core::Task::ImageClassification,
        source,
        device,
        &Default::default(),
    )
    .await
    .unwrap()
    .pipeline;
    for case in g["cases"].as_array().unwrap() {
        let name = case["image"].as_str().unwrap();
        let input = TaskInput::ImageClassification(ImageClassifyInput {
            image: encoded(&image(name)),
            top_k: None,
        });
        let TaskOutput::ImageClassification(out) = pipeline.run(input).await.unwrap() else {
            panic!("not an image-classification output");
        };
        let want = case["top5"].as_array().unwrap();
        assert_eq!(out.labels.len(), 5);
        for (got, w) in out.labels.iter().zip(want) {
            let ws = w["score"].as_f64().unwrap();
            assert_eq!(got.label, w["label"].as_str().unwrap(), "{name}: {out:?}");
            assert!(
                (f64::from(got.score) - ws).abs() <= EFFICIENTNET_TOLERANCE,
                "{name} {}: {} vs {ws}",
                got.label,
                got.score
            );
        }
    }
    pipeline.backend_name()
}

pub fn with(files: &[(&str, Vec<u8>)], path: &str, bytes: Option<Vec<u8>>) -> MemorySource {
    let mut source = MemorySource::new();
    for (name, content) in files {
        if *name != path {
            source = source.with(name, content.clone());
        }
    }
    if let Some(bytes) = bytes {
        source = source.with(path, bytes);
    }
    source
}

fn edit(files: &[(&str, Vec<u8>)], path: &str, f: impl Fn(&mut serde_json::Value)) -> MemorySource {
    let (_, bytes) = files.iter().find(|(n, _)| *n == path).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    f(&mut v);
    with(files, path, Some(serde_json::to_vec(&v).unwrap()))
}

async fn load_err(detector: bool, source: &MemorySource) -> PipelineError {
    let r = if detector {
        object_detection::load(source, Device::Cpu).await.err()
    } else {
        image_classification::load(source, Device::Cpu).await.err()
    };
    r.expect("loading should have failed")
}

/// Broken repositories are typed errors naming the problem (before any weights are read):
/// missing files, no `id2label`, a `preprocessor_config.json` without its sizes or naming an
/// unknown processor. `files` is a fixture repository's [`FILES`].
pub async fn check_bad_repositories(files: &[(&str, Vec<u8>)], detector: bool) {
    let task = if detector {
        lantern_core::Task::ObjectDetection
    } else {
        lantern_core::Task::ImageClassification
    };
    let missing = with(files, "preprocessor_config.json", None);
    let err = tasks::files_for(task, &missing, tasks::Wanted::Choose)
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), ErrorCode::UnsupportedModel);
    assert!(
        err.to_string().contains("preprocessor_config.json"),
        "{err}"
    );
    let err = load_err(detector, &missing).await;
    assert!(matches!(err, PipelineError::Source(_)), "{err}");
    assert!(
        err.to_string().contains("preprocessor_config.json"),
        "{err}"
    );

    let no_labels = edit(files, "config.json", |c| {
        c.as_object_mut().unwrap().remove("id2label");
    });
    let err = load_err(detector, &no_labels).await;
    assert!(
        matches!(err, PipelineError::Image(ImageTaskError::NoLabels)),
        "{err}"
    );
    assert_eq!(err.error_code(), ErrorCode::UnsupportedModel);

    let no_size = edit(files, "preprocessor_config.json", |c| {
        c.as_object_mut().unwrap().remove("size");
    });
    let err = load_err(detector, &no_size).await;
    assert!(
        matches!(err, PipelineError::Image(ImageTaskError::Preprocessor(_))),
        "{err}"
    );
    assert!(err.to_string().contains("size"), "{err}");
    assert_eq!(err.error_code(), ErrorCode::UnsupportedModel);

    let unknown = edit(files, "preprocessor_config.json", |c| {
        c["image_processor_type"] = "SamImageProcessor".into();
    });
    let err = load_err(detector, &unknown).await;
    assert!(err.to_string().contains("SamImageProcessor"), "{err}");

    let not_json = with(files, "config.json", Some(b"{".to_vec()));
    let err = load_err(detector, &not_json).await;
    assert!(
        matches!(
            err,
            PipelineError::Image(ImageTaskError::InvalidConfig { .. })
        ),
        "{err}"
    );
}

/// Bad images and options on a loaded model: typed errors with the page's `InvalidInput`
/// code, never a panic. Text, a truncated PNG, a pixel buffer of the wrong length, a
/// gigapixel header, `top_k` 0, a NaN threshold, and another task's input.
pub async fn check_bad_input<S: FileSource>(source: &S, detector: bool, png: &[u8]) {
    let task = if detector {
        lantern_core::Task::ObjectDetection
    } else {
        lantern_core::Task::ImageClassification
    };
    let pipeline = tasks::load(task, source, Device::Cpu, &Default::default())
        .await
        .unwrap()
        .pipeline;
    let run = |image: ImageData, bad_option: bool| {
        if detector {
            TaskInput::ObjectDetection(DetectInput {
                image,
                threshold: bad_option.then_some(f32::NAN),
            })
        } else {
            TaskInput::ImageClassification(ImageClassifyInput {
                image,
                top_k: bad_option.then_some(0),
            })
        }
    };
    let mut gigapixel = png[..33].to_vec();
    gigapixel[16..20].copy_from_slice(&20000u32.to_be_bytes());
    gigapixel[20..24].copy_from_slice(&20000u32.to_be_bytes());
    let cases = [
        ("text", encoded(b"not an image at all"), false),
        ("truncated", encoded(&png[..png.len() / 3]), false),
        ("gigapixel", encoded(&gigapixel), false),
        (
            "short rgba",
            ImageData::Rgba {
                pixels: Binary::Bytes(vec![0; 10]),
                width: 2,
                height: 2,
            },
            false,
        ),
        ("option", encoded(png), true),
    ];
    for (what, image, bad_option) in cases {
        let err = pipeline.run(run(image, bad_option)).await.unwrap_err();
        assert_eq!(err.error_code(), ErrorCode::InvalidInput, "{what}: {err}");
    }
    let other = TaskInput::Embeddings {
        sentences: vec!["a".into()],
    };
    let err = pipeline.run(other).await.unwrap_err();
    assert!(matches!(err, PipelineError::WrongTask { .. }), "{err}");
    // A 1×1 image is preprocessed like any other.
    let one = ImageData::Rgba {
        pixels: Binary::Bytes(vec![200, 100, 50, 255]),
        width: 1,
        height: 1,
    };
    let out = pipeline.run(run(one, false)).await;
    assert!(out.is_ok(), "1x1: {out:?}");
}
