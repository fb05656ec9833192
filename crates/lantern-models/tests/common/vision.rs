//! The vision families on a backend against the CPU backend and transformers' goldens
//! (crates/lantern-pipelines/tests/data/vision_models.golden.json, scripts/reference/vision_models.py):
//! the tiny ResNet and ViT classifiers and the tiny YOLOS and DETR (ResNet backbone) detectors
//! of tests/fixtures/vision on scikit-image's chelsea and coffee, preprocessed by
//! `lantern-vision`. Run natively by `tests/gpu.rs` (lavapipe) and in headless Chromium by
//! `tests/web_gpu.rs` (SwiftShader); the models, the goldens and the two images are compiled
//! in. Results are read with the async calls, the only ones a browser's GPU allows.

use lantern_models::ops::Backend;
use lantern_models::ops::cpu::Cpu;
use lantern_models::vision::{ImageInput, load_image_classifier_on, load_object_detector_on};
use lantern_vision::{ImageProcessorConfig, PixelValues, decode, preprocess};
use serde_json::Value;

use super::max_diff;

/// How far a backend may be from the CPU backend (absolute, on logits and boxes) and from the
/// golden's leading values (absolute on logits, relative on boxes: what the CPU is held to in
/// tests/vision.rs and tests/vision_transformers.rs, plus the backend's own distance).
#[derive(Debug, Clone, Copy)]
pub struct VisionTol {
    pub vs_cpu: f32,
    pub logits: f64,
    pub boxes_rel: f64,
}

impl VisionTol {
    /// f32 on the GPU. Measured on lavapipe against the CPU at most 8.8e-8 (ResNet), 8.9e-7
    /// (ViT), 2.1e-7 (YOLOS), 1.7e-6 (DETR), against transformers 2.8e-6 (DETR's logits); the
    /// limits leave room for other adapters' orders of summation.
    pub const GPU_F32: VisionTol = VisionTol {
        vs_cpu: 1e-4,
        logits: 2e-4,
        boxes_rel: 2e-3,
    };
}

pub const CLASSIFIERS: [&str; 2] = ["tiny-resnet-classification", "tiny-vit-classification"];
pub const DETECTORS: [&str; 2] = ["tiny-yolos", "tiny-detr-resnet"];

/// A file of a tiny model (tests/fixtures/vision, about 900 KB for the six), compiled in.
pub fn fixture(model: &str, file: &str) -> &'static [u8] {
    macro_rules! files {
        ($($model:literal),*) => {
            match (model, file) {
                $(
                    ($model, "config.json") => include_bytes!(concat!(
                        "../../../../tests/fixtures/vision/", $model, "/config.json")),
                    ($model, "preprocessor_config.json") => include_bytes!(concat!(
                        "../../../../tests/fixtures/vision/", $model,
                        "/preprocessor_config.json")),
                    ($model, "model.safetensors") => include_bytes!(concat!(
                        "../../../../tests/fixtures/vision/", $model, "/model.safetensors")),
                )*
                _ => panic!("no fixture {model}/{file}"),
            }
        };
    }
    files!(
        "tiny-resnet-classification",
        "tiny-vit-classification",
        "tiny-yolos",
        "tiny-detr-resnet",
        "tiny-detr-timm-resnet50",
        "tiny-detr-timm-resnet18"
    )
}

/// A sample image from the fixture mirror (scripts/fixtures.sh), compiled in.
pub fn sample(name: &str) -> &'static [u8] {
    macro_rules! samples {
        ($file:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/fixtures/mirror/lantern-fixtures/vision-samples/",
                $file
            ))
        };
    }
    match name {
        "chelsea.png" => samples!("chelsea.png"),
        "coffee.png" => samples!("coffee.png"),
        other => panic!("no compiled-in sample {other}"),
    }
}

fn golden_cases(model: &str) -> Vec<Value> {
    let golden: Value = serde_json::from_str(include_str!(
        "../../../lantern-pipelines/tests/data/vision_models.golden.json"
    ))
    .unwrap();
    golden["models"][model]["cases"].as_array().unwrap().clone()
}

/// `image` decoded and preprocessed as `model`'s preprocessor config says.
pub fn pixels(model: &str, image: &str) -> PixelValues {
    let cfg = ImageProcessorConfig::from_json(
        std::str::from_utf8(fixture(model, "preprocessor_config.json")).unwrap(),
    )
    .unwrap();
    preprocess(&decode(sample(image)).unwrap(), &cfg).unwrap()
}

pub fn input(p: &PixelValues) -> ImageInput<'_> {
    ImageInput {
        pixels: &p.data,
        height: p.height as usize,
        width: p.width as usize,
        mask: p.pixel_mask.as_deref(),
    }
}

pub fn softmax(z: &[f32]) -> Vec<f64> {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = z.iter().map(|&v| f64::from(v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// The indices of the `n` largest values, largest first.
pub fn top(p: &[f64], n: usize) -> Vec<usize> {
    let mut i: Vec<usize> = (0..p.len()).collect();
    i.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    i.truncate(n);
    i
}

/// Compares `got` with a golden summary (shape, sum, abs sum, leading values) and returns the
/// largest difference of the leading values; `tol(expected)` is the tolerance of one value.
pub fn against_summary(what: &str, got: &[f32], summary: &Value, tol: impl Fn(f64) -> f64) -> f64 {
    let shape: Vec<usize> = serde_json::from_value(summary["shape"].clone()).unwrap();
    assert_eq!(
        got.len(),
        shape.iter().product::<usize>(),
        "{what}: shape {shape:?}"
    );
    let first: Vec<f64> = serde_json::from_value(summary["first"].clone()).unwrap();
    let mut worst = 0f64;
    for (i, (&g, &e)) in got.iter().zip(&first).enumerate() {
        let d = (f64::from(g) - e).abs();
        assert!(d <= tol(e), "{what}[{i}]: {g} against {e}");
        worst = worst.max(d);
    }
    let n = got.len() as f64;
    let sum: f64 = got.iter().map(|&v| f64::from(v)).sum();
    let abs: f64 = got.iter().map(|&v| f64::from(v).abs()).sum();
    let (esum, eabs) = (
        summary["sum"].as_f64().unwrap(),
        summary["abs_sum"].as_f64().unwrap(),
    );
    // The sums of n values, each within its tolerance.
    let sum_tol = tol(eabs / n) * n;
    assert!(
        (sum - esum).abs() <= sum_tol,
        "{what}: sum {sum} against {esum}"
    );
    assert!(
        (abs - eabs).abs() <= sum_tol,
        "{what}: abs sum {abs} against {eabs}"
    );
    worst
}

/// Every tiny family on `backend` against the CPU and the goldens: the classifiers' logits,
/// their top-5 order and probabilities (the pipeline's, within 0.01), the detectors' logits
/// and boxes. Returns the largest |Δ| against the CPU per family.
pub async fn tiny_models<B: Backend>(
    backend: impl Fn() -> B,
    tol: &VisionTol,
) -> Vec<(String, f32)> {
    let mut measured = Vec::new();
    for name in CLASSIFIERS {
        let (config, weights) = (
            fixture(name, "config.json"),
            fixture(name, "model.safetensors"),
        );
        let model = load_image_classifier_on(backend(), config, weights).unwrap();
        let cpu = load_image_classifier_on(Cpu, config, weights).unwrap();
        let labels: Value = serde_json::from_slice::<Value>(config).unwrap()["id2label"].clone();
        let mut worst = 0f32;
        for case in golden_cases(name) {
            let image = case["image"].as_str().unwrap();
            let what = format!("{name} {image} on {}", model.backend_name());
            let px = pixels(name, image);
            let got = model.classify_async(&input(&px)).await.unwrap();
            let want = cpu.classify(&input(&px)).unwrap();
            let vs_cpu = max_diff(&got, &want);
            let vs_golden = against_summary(&what, &got, &case["logits"], |_| tol.logits);
            let probs = softmax(&got);
            let order: Vec<String> = top(&probs, 5)
                .iter()
                .map(|i| labels[i.to_string()].as_str().unwrap().to_owned())
                .collect();
            let pipeline = case["pipeline"].as_array().unwrap();
            let want_order: Vec<&str> = pipeline
                .iter()
                .map(|p| p["label"].as_str().unwrap())
                .collect();
            assert_eq!(order, want_order, "{what}: top-5");
            for (i, p) in top(&probs, 5).iter().zip(pipeline) {
                let d = (probs[*i] - p["score"].as_f64().unwrap()).abs();
                assert!(
                    d <= 0.01,
                    "{what}: probability of {} off by {d}",
                    p["label"]
                );
            }
            crate::log(&format!(
                "{what}: logits against the CPU {vs_cpu:.2e} (tolerance {:.0e}), against \
                 transformers {vs_golden:.2e} ({:.0e})",
                tol.vs_cpu, tol.logits
            ));
            assert!(vs_cpu <= tol.vs_cpu, "{what}: against the CPU {vs_cpu}");
            worst = worst.max(vs_cpu);
        }
        measured.push((name.to_owned(), worst));
    }
    for name in DETECTORS {
        let (config, weights) = (
            fixture(name, "config.json"),
            fixture(name, "model.safetensors"),
        );
        let model = load_object_detector_on(backend(), config, weights).unwrap();
        let cpu = load_object_detector_on(Cpu, config, weights).unwrap();
        let mut worst = 0f32;
        for case in golden_cases(name) {
            let image = case["image"].as_str().unwrap();
            let what = format!("{name} {image} on {}", model.backend_name());
            let px = pixels(name, image);
            let got = model.detect_async(&input(&px)).await.unwrap();
            let want = cpu.detect(&input(&px)).unwrap();
            assert_eq!((got.queries, got.classes), (want.queries, want.classes));
            let vs_cpu = max_diff(&got.logits, &want.logits).max(max_diff(&got.boxes, &want.boxes));
            let logits = against_summary(&what, &got.logits, &case["logits"], |_| tol.logits);
            let boxes = against_summary(&what, &got.boxes, &case["pred_boxes"], |e| {
                tol.boxes_rel * e.abs()
            });
            crate::log(&format!(
                "{what}: logits and boxes against the CPU {vs_cpu:.2e} (tolerance {:.0e}), \
                 against transformers logits {logits:.2e} ({:.0e}), boxes {boxes:.2e} ({:.0e} \
                 relative)",
                tol.vs_cpu, tol.logits, tol.boxes_rel
            ));
            assert!(vs_cpu <= tol.vs_cpu, "{what}: against the CPU {vs_cpu}");
            worst = worst.max(vs_cpu);
        }
        measured.push((name.to_owned(), worst));
    }
    measured
}
