//! The vision transformers (ViT, YOLOS, DETR) on the CPU backend against transformers: the
//! tiny fixtures of tests/fixtures/vision on scikit-image's chelsea and coffee, decoded and
//! preprocessed by `lantern-vision`, compared with the raw outputs in
//! crates/lantern-pipelines/tests/data/vision_models.golden.json (scripts/reference/vision_models.py),
//! and YOLOS at other input sizes against crates/lantern-models/tests/data/vision_transformers.golden.json
//! (scripts/reference/vision_transformers.py). The images come from the fixture mirror
//! (scripts/fixtures.sh).
//!
//! Also in headless Chromium (wasm-bindgen-test, the simd128 build of the ops): the tiny models,
//! the goldens and the two images are compiled in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lantern_models::ops::cpu::Cpu;
use lantern_models::vision::{
    ImageInput, ObjectDetector, load_image_classifier_on, load_object_detector_on,
};
use serde_json::Value;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::ready;
use common::vision::{against_summary as check, fixture, input, pixels};

/// The logits' tolerance (absolute), and the boxes' (relative to their value).
const LOGITS_TOL: f64 = 1e-4;
const BOXES_REL_TOL: f64 = 1e-3;

fn log(line: &str) {
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{line}");
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{line}");
}

fn golden() -> Value {
    serde_json::from_str(include_str!(
        "../../lantern-pipelines/tests/data/vision_models.golden.json"
    ))
    .unwrap()
}

/// The timm-backbone DETRs' goldens (scripts/reference/vision_detr_timm.py).
fn timm_golden() -> Value {
    serde_json::from_str(include_str!(
        "../../lantern-pipelines/tests/data/vision_detr_timm.golden.json"
    ))
    .unwrap()
}

fn sizes_golden() -> Value {
    serde_json::from_str(include_str!("data/vision_transformers.golden.json")).unwrap()
}

fn cases(model: &str) -> Vec<Value> {
    let golden = if model.starts_with("tiny-detr-timm") {
        timm_golden()
    } else {
        golden()
    };
    golden["models"][model]["cases"].as_array().unwrap().clone()
}

#[test]
fn vit_matches_transformers() {
    let name = "tiny-vit-classification";
    let model = load_image_classifier_on(
        Cpu,
        fixture(name, "config.json"),
        fixture(name, "model.safetensors"),
    )
    .unwrap();
    assert_eq!(model.num_labels(), 5);
    for case in cases(name) {
        let image = case["image"].as_str().unwrap();
        let px = pixels(name, image);
        let shape: Vec<usize> = serde_json::from_value(case["pixel_values_shape"].clone()).unwrap();
        assert_eq!(shape[1..], px.shape(), "{image}: preprocessing");
        let logits = model.classify(&input(&px)).unwrap();
        let worst = check(&format!("{image} logits"), &logits, &case["logits"], |_| {
            LOGITS_TOL
        });
        log(&format!(
            "{name} {image}: logits max abs diff {worst:.2e} (tolerance {LOGITS_TOL:.0e})"
        ));
        let again = ready(model.classify_async(&input(&px))).unwrap();
        assert_eq!(again, logits, "the async path");
    }
}

#[test]
fn vit_rejects_another_size() {
    let name = "tiny-vit-classification";
    let model = load_image_classifier_on(
        Cpu,
        fixture(name, "config.json"),
        fixture(name, "model.safetensors"),
    )
    .unwrap();
    let px = vec![0f32; 3 * 64 * 80];
    let err = model
        .classify(&ImageInput {
            pixels: &px,
            height: 64,
            width: 80,
            mask: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("64x80"), "{err}");
    let err = model
        .classify(&ImageInput {
            pixels: &px[1..],
            height: 64,
            width: 80,
            mask: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("image"), "{err}");
}

#[test]
fn detector_families_load_as_detectors_only() {
    let name = "tiny-vit-classification";
    assert!(
        load_object_detector_on(
            Cpu,
            fixture(name, "config.json"),
            fixture(name, "model.safetensors"),
        )
        .is_err()
    );
}

fn boxes_tol(e: f64) -> f64 {
    BOXES_REL_TOL * e.abs()
}

fn detector(name: &str) -> Box<dyn ObjectDetector> {
    load_object_detector_on(
        Cpu,
        fixture(name, "config.json"),
        fixture(name, "model.safetensors"),
    )
    .unwrap()
}

/// Checks one image's detections against a case's `logits` and `pred_boxes` summaries.
fn check_detections(what: &str, model: &dyn ObjectDetector, image: &ImageInput<'_>, case: &Value) {
    let d = model.detect(image).unwrap();
    assert_eq!(d.logits.len(), d.queries * d.classes);
    assert_eq!(d.boxes.len(), d.queries * 4);
    let logits = check(
        &format!("{what} logits"),
        &d.logits,
        &case["logits"],
        |_| LOGITS_TOL,
    );
    let boxes = check(
        &format!("{what} boxes"),
        &d.boxes,
        &case["pred_boxes"],
        boxes_tol,
    );
    log(&format!(
        "{what}: logits max abs diff {logits:.2e} (tolerance {LOGITS_TOL:.0e}), boxes {boxes:.2e} \
         (tolerance {BOXES_REL_TOL:.0e} relative)"
    ));
    let again = ready(model.detect_async(image)).unwrap();
    assert_eq!(again, d, "the async path");
}

#[test]
fn yolos_matches_transformers() {
    let name = "tiny-yolos";
    let model = detector(name);
    assert_eq!(model.num_labels(), 4);
    for case in cases(name) {
        let image = case["image"].as_str().unwrap();
        let px = pixels(name, image);
        let shape: Vec<usize> = serde_json::from_value(case["pixel_values_shape"].clone()).unwrap();
        assert_eq!(shape[1..], px.shape(), "{image}: preprocessing");
        check_detections(&format!("{name} {image}"), &*model, &input(&px), &case);
    }
}

/// The deterministic pixels of scripts/reference/vision_transformers.py.
fn synthetic(height: usize, width: usize) -> Vec<f32> {
    (0..3 * height * width)
        .map(|i| ((i * 7919) % 255) as f32 / 127.5 - 1.0)
        .collect()
}

/// Input sizes whose patch grid is not the training one: the position embeddings are
/// interpolated (bicubic), as transformers does.
#[test]
fn yolos_interpolates_positions_as_transformers() {
    let model = detector("tiny-yolos");
    let golden = sizes_golden();
    let cases = golden["yolos_sizes"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let (h, w) = (
            case["height"].as_u64().unwrap() as usize,
            case["width"].as_u64().unwrap() as usize,
        );
        let px = synthetic(h, w);
        let image = ImageInput {
            pixels: &px,
            height: h,
            width: w,
            mask: None,
        };
        check_detections(&format!("tiny-yolos {h}x{w}"), &*model, &image, case);
    }
    // Smaller than one patch.
    let px = synthetic(8, 64);
    let err = model
        .detect(&ImageInput {
            pixels: &px,
            height: 8,
            width: 64,
            mask: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("patch"), "{err}");
}

#[test]
fn detr_matches_transformers() {
    // transformers' ResNet, then timm's (the Hub checkpoints' backbone) with bottleneck and
    // basic blocks.
    for name in [
        "tiny-detr-resnet",
        "tiny-detr-timm-resnet50",
        "tiny-detr-timm-resnet18",
    ] {
        let model = detector(name);
        assert_eq!(model.num_labels(), 4);
        for case in cases(name) {
            let image = case["image"].as_str().unwrap();
            let px = pixels(name, image);
            let shape: Vec<usize> =
                serde_json::from_value(case["pixel_values_shape"].clone()).unwrap();
            assert_eq!(shape[1..], px.shape(), "{image}: preprocessing");
            check_detections(&format!("{name} {image}"), &*model, &input(&px), &case);
        }
    }
}

/// A safetensors file of zeros (f16) with the given tensors.
#[cfg(not(target_arch = "wasm32"))]
fn zeros_safetensors(tensors: &[(String, Vec<usize>)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, shape) in tensors {
        let bytes = 2 * shape.iter().product::<usize>();
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    let mut head = serde_json::to_vec(&header).unwrap();
    head.resize(head.len().next_multiple_of(8), b' ');
    let mut file = Vec::with_capacity(8 + head.len() + offset);
    file.extend_from_slice(&(head.len() as u64).to_le_bytes());
    file.extend_from_slice(&head);
    file.resize(file.len() + offset, 0);
    file
}

/// The Hub's facebook/detr-resnet-50 and -101 (timm backbone) as transformers builds them: every
/// tensor name and shape of `DetrForObjectDetection` at those configs
/// (crates/lantern-models/tests/data/detr_timm_tensors.json, scripts/reference/vision_detr_timm.py),
/// as zeros. They load with the config transformers writes and with the older one without
/// `backbone_kwargs`, and timm's layer counts are the ones the names show.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn detr_hub_architectures_load() {
    use lantern_models::vision::resnet::{ResNetBackbone, ResNetConfig, ResNetNames};
    let all: Value = serde_json::from_str(include_str!("data/detr_timm_tensors.json")).unwrap();
    for (name, backbone) in [
        ("detr-resnet-50", "resnet50"),
        ("detr-resnet-101", "resnet101"),
    ] {
        let arch = &all[name];
        let tensors: Vec<(String, Vec<usize>)> =
            serde_json::from_value(arch["tensors"].clone()).unwrap();
        let file = zeros_safetensors(&tensors);
        let mut config = arch["config"].clone();
        assert_eq!(config["backbone"], backbone);
        assert_eq!(config["use_timm_backbone"], true);
        let model =
            load_object_detector_on(Cpu, &serde_json::to_vec(&config).unwrap(), &file).unwrap();
        assert_eq!(model.num_labels(), 91, "{name}");
        config.as_object_mut().unwrap().remove("backbone_kwargs");
        load_object_detector_on(Cpu, &serde_json::to_vec(&config).unwrap(), &file).unwrap();

        // Stage s+1's blocks are the `layer{s+1}.{l}.conv1` tensors; its width is conv3's.
        let prefix = "model.backbone.conv_encoder.model.";
        let (mut depths, mut widths) = (vec![0usize; 4], vec![0usize; 4]);
        for (t, shape) in &tensors {
            let Some(rest) = t.strip_prefix(prefix) else {
                continue;
            };
            let parts: Vec<&str> = rest.split('.').collect();
            if let [stage, _, "conv3", "weight"] = parts[..] {
                let s: usize = stage.strip_prefix("layer").unwrap().parse().unwrap();
                depths[s - 1] += 1;
                widths[s - 1] = shape[0];
            }
        }
        let cfg = ResNetConfig::from_timm(backbone, None).unwrap();
        assert_eq!(cfg.depths, depths, "{name}");
        assert_eq!(cfg.hidden_sizes, widths, "{name}");
        let resnet = ResNetBackbone::load(&Cpu, &cfg, ResNetNames::Timm, &file, prefix).unwrap();
        assert_eq!(resnet.layers(), depths.iter().sum::<usize>(), "{name}");
        assert_eq!(resnet.out_channels(), 2048, "{name}");
    }
}

/// A padded input (the bottom and right masked, zeros there): the mask downsampled to the
/// feature map, the sine positions of a partial mask, padding left out of the attention.
#[test]
fn detr_masks_padding_as_transformers() {
    let model = detector("tiny-detr-resnet");
    let golden = sizes_golden();
    let cases = golden["detr_padded"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let size = |case: &Value, k: &str| case[k].as_u64().unwrap() as usize;
    for case in cases {
        let (h, w) = (size(case, "height"), size(case, "width"));
        let (rh, rw) = (size(case, "real_height"), size(case, "real_width"));
        let mut px = synthetic(h, w);
        let mut mask = vec![0u8; h * w];
        for (i, v) in px.iter_mut().enumerate() {
            let (y, x) = ((i / w) % h, i % w);
            if y >= rh || x >= rw {
                *v = 0.0;
            } else {
                mask[y * w + x] = 1;
            }
        }
        let image = ImageInput {
            pixels: &px,
            height: h,
            width: w,
            mask: Some(&mask),
        };
        check_detections(
            &format!("tiny-detr-resnet {h}x{w} padded from {rh}x{rw}"),
            &*model,
            &image,
            case,
        );
    }
    // A mask with nothing real is an error, not NaNs.
    let px = synthetic(64, 64);
    let none = vec![0u8; 64 * 64];
    let err = model
        .detect(&ImageInput {
            pixels: &px,
            height: 64,
            width: 64,
            mask: Some(&none),
        })
        .unwrap_err();
    assert!(err.to_string().contains("mask"), "{err}");
}

/// Broken configs and files are typed errors that name the problem, never panics.
#[test]
fn bad_configs_and_files_are_typed_errors() {
    let edit = |model: &str, key: &str, value: Value| -> Vec<u8> {
        let mut cfg: Value = serde_json::from_slice(fixture(model, "config.json")).unwrap();
        cfg[key] = value;
        serde_json::to_vec(&cfg).unwrap()
    };
    let vit = "tiny-vit-classification";
    let weights = fixture(vit, "model.safetensors");
    for (key, value, names) in [
        (
            "num_attention_heads",
            serde_json::json!(5),
            "num_attention_heads",
        ),
        ("num_channels", serde_json::json!(1), "num_channels"),
        ("qkv_bias", serde_json::json!(false), "qkv_bias"),
        ("image_size", serde_json::json!(8), "image_size"),
        ("image_size", serde_json::json!([64, 64, 3]), "image_size"),
        ("hidden_act", serde_json::json!("swish"), "hidden_act"),
        ("hidden_size", serde_json::json!(48), "position_embeddings"),
    ] {
        let err = load_image_classifier_on(Cpu, &edit(vit, key, value), weights).unwrap_err();
        assert!(err.to_string().contains(names), "{key}: {err}");
    }
    let err =
        load_image_classifier_on(Cpu, fixture(vit, "config.json"), &weights[..1000]).unwrap_err();
    assert!(!err.to_string().is_empty());
    let yolos = "tiny-yolos";
    let err = load_object_detector_on(
        Cpu,
        &edit(yolos, "num_detection_tokens", serde_json::json!(7)),
        fixture(yolos, "model.safetensors"),
    )
    .unwrap_err();
    // The file's positions are for 10 detection tokens.
    assert!(err.to_string().contains("position_embeddings"), "{err}");
    let detr = "tiny-detr-resnet";
    for (key, value) in [
        ("position_embedding_type", serde_json::json!("learned")),
        ("dilation", serde_json::json!(true)),
    ] {
        let err = load_object_detector_on(
            Cpu,
            &edit(detr, key, value),
            fixture(detr, "model.safetensors"),
        )
        .unwrap_err();
        assert!(
            matches!(err, lantern_models::ModelError::UnsupportedArchitecture(_)),
            "{key}: {err}"
        );
    }
    // transformers' names read as timm's: the missing tensor is named.
    let err = load_object_detector_on(
        Cpu,
        &edit(detr, "use_timm_backbone", serde_json::json!(true)),
        fixture(detr, "model.safetensors"),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("model.backbone.conv_encoder.model.conv1.weight"),
        "{err}"
    );
    // timm backbones that are not the plain ResNets, or not laid out as them.
    let timm = "tiny-detr-timm-resnet50";
    let kwargs = |extra: Value| {
        let mut cfg: Value = serde_json::from_slice(fixture(timm, "config.json")).unwrap();
        for (k, v) in extra.as_object().unwrap() {
            cfg["backbone_kwargs"][k] = v.clone();
        }
        cfg
    };
    let mut named = serde_json::from_slice::<Value>(fixture(timm, "config.json")).unwrap();
    named["backbone"] = serde_json::json!("efficientnet_b0");
    let mut dilated = serde_json::from_slice::<Value>(fixture(timm, "config.json")).unwrap();
    dilated["dilation"] = serde_json::json!(true);
    for (what, cfg, names) in [
        ("backbone", named, "efficientnet_b0"),
        ("dilation", dilated, "DC5"),
        (
            "stem_type",
            kwargs(serde_json::json!({"stem_type": "deep"})),
            "stem_type",
        ),
        (
            "output_stride",
            kwargs(serde_json::json!({"output_stride": 16})),
            "output_stride",
        ),
        (
            "out_indices",
            kwargs(serde_json::json!({"out_indices": [1, 2, 3]})),
            "out_indices",
        ),
    ] {
        let err = load_object_detector_on(
            Cpu,
            &serde_json::to_vec(&cfg).unwrap(),
            fixture(timm, "model.safetensors"),
        )
        .unwrap_err();
        assert!(
            matches!(err, lantern_models::ModelError::UnsupportedArchitecture(_)),
            "{what}: {err}"
        );
        assert!(err.to_string().contains(names), "{what}: {err}");
    }
    for (what, cfg, names) in [
        (
            "layers",
            kwargs(serde_json::json!({"layers": [2, 1, 1]})),
            "layers",
        ),
        (
            "in_chans",
            kwargs(serde_json::json!({"in_chans": 1})),
            "in_chans",
        ),
        // The file has two blocks in the first stage, not three.
        (
            "more layers",
            kwargs(serde_json::json!({"layers": [3, 1, 1, 1]})),
            "layer1.2.conv1.weight",
        ),
        // Nor a stage of 16 channels.
        (
            "channels",
            kwargs(serde_json::json!({"channels": [16, 4, 4, 8]})),
            "layer1.0.conv1.weight",
        ),
    ] {
        let err = load_object_detector_on(
            Cpu,
            &serde_json::to_vec(&cfg).unwrap(),
            fixture(timm, "model.safetensors"),
        )
        .unwrap_err();
        assert!(err.to_string().contains(names), "{what}: {err}");
    }
}
