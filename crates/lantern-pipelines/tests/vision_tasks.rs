//! Image classification and object detection natively on the CPU: the tiny random ViT,
//! ResNet, DETR and YOLOS models and the real EfficientNet-Lite0 against transformers'
//! pipelines, broken repositories and bad input.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/vision.rs"]
mod vision;

use std::path::PathBuf;

use futures_util::FutureExt;
use lantern_pipelines::device::Device;
use lantern_pipelines::source::DirSource;
use vision::{CLASSIFIERS, DETECTORS, FILES, TIMM_DETECTORS};

fn model_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/fixtures/mirror/lantern-fixtures")
        .join(name)
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(model_dir("vision-samples").join(name)).unwrap()
}

/// Runs a future that needs no event loop (files from a folder, the CPU backend).
fn ready<T>(f: impl Future<Output = T>) -> T {
    f.now_or_never()
        .expect("nothing here waits for an event loop")
}

fn files(model: &str) -> Vec<(&'static str, Vec<u8>)> {
    FILES
        .iter()
        .map(|f| (*f, std::fs::read(model_dir(model).join(f)).unwrap()))
        .collect()
}

fn classifier(model: &str) {
    let source = DirSource::new(&model_dir(model)).unwrap();
    let backend = ready(vision::check_classifier(
        model,
        &source,
        Device::Cpu,
        &sample,
    ));
    assert_eq!(backend, "cpu");
}

fn detector(model: &str) {
    let source = DirSource::new(&model_dir(model)).unwrap();
    let backend = ready(vision::check_detector(model, &source, Device::Cpu, &sample));
    assert_eq!(backend, "cpu");
}

#[test]
fn tiny_vit_matches_transformers() {
    classifier(CLASSIFIERS[0]);
}

#[test]
fn tiny_resnet_matches_transformers() {
    classifier(CLASSIFIERS[1]);
}

#[test]
fn tiny_detr_matches_transformers() {
    detector(DETECTORS[0]);
}

/// DETR with timm's ResNet (the Hub checkpoints' backbone), bottleneck and basic blocks, read
/// from the committed tests/fixtures/vision (the same files as the mirror's copy).
#[test]
fn tiny_detr_timm_matches_transformers() {
    for model in TIMM_DETECTORS {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/vision")
            .join(model);
        let source = DirSource::new(&dir).unwrap();
        let backend = ready(vision::check_detector(model, &source, Device::Cpu, &sample));
        assert_eq!(backend, "cpu");
    }
}

#[test]
fn tiny_yolos_matches_transformers() {
    detector(DETECTORS[1]);
}

#[test]
fn efficientnet_lite0_gives_fixtures_md_classes() {
    let source = DirSource::new(&model_dir("efficientnet-lite0")).unwrap();
    assert_eq!(
        ready(vision::check_efficientnet(&source, Device::Cpu, &sample)),
        "cpu"
    );
}

#[test]
fn broken_repositories_are_typed_errors() {
    ready(vision::check_bad_repositories(
        &files("tiny-vit-classification"),
        false,
    ));
    ready(vision::check_bad_repositories(
        &files("tiny-detr-resnet"),
        true,
    ));
}

#[test]
fn bad_images_and_options_are_typed_errors_for_a_classifier() {
    let png = sample("chelsea.png");
    let classifier = DirSource::new(&model_dir("tiny-resnet-classification")).unwrap();
    ready(vision::check_bad_input(&classifier, false, &png));
}

#[test]
fn bad_images_and_options_are_typed_errors_for_a_detector() {
    let png = sample("chelsea.png");
    let detector = DirSource::new(&model_dir("tiny-yolos")).unwrap();
    ready(vision::check_bad_input(&detector, true, &png));
}
