//! Lantern against transformers (scripts/reference/vision_preprocess.py): image loading
//! (`load_image`: PIL, EXIF orientation, RGB) and the image processors' `pixel_values`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use lantern_vision::{ImageProcessorConfig, Rgb8Image, decode, preprocess};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The fixture mirror (scripts/fixtures.sh; `LANTERN_FIXTURES` overrides the folder).
fn mirror() -> PathBuf {
    match std::env::var_os("LANTERN_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/mirror"),
    }
}

fn image_bytes(name: &str) -> Vec<u8> {
    let path = match name.strip_prefix("mirror:") {
        Some(n) => mirror().join("lantern-fixtures/vision-samples").join(n),
        None => data("images").join(name),
    };
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/fixtures.sh for the mirror files)",
            path.display()
        )
    })
}

fn golden(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(data(name)).unwrap()).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn max_abs_diff(a: &[u8], b: &[u8]) -> u8 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
fn decoding_matches_pil_load_image() {
    let g = golden("decode.golden.json");
    let mut report = Vec::new();
    for img in g["images"].as_array().unwrap() {
        let file = img["file"].as_str().unwrap();
        let ours = decode(&image_bytes(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (w, h) = (
            img["width"].as_u64().unwrap(),
            img["height"].as_u64().unwrap(),
        );
        assert_eq!(
            (u64::from(ours.width()), u64::from(ours.height())),
            (w, h),
            "{file}: size (EXIF orientation)"
        );
        let exact = sha256(ours.as_bytes()) == img["rgb_sha256"].as_str().unwrap();
        if file.ends_with(".jpg") {
            // JPEG decoders may differ in the IDCT and chroma upsampling (libjpeg-turbo in PIL,
            // zune-jpeg here): compared with PIL's pixels, saved beside the JPEG.
            let pil = decode(&image_bytes(&format!("{file}.pil.png"))).unwrap();
            let diff = max_abs_diff(ours.as_bytes(), pil.as_bytes());
            let mean = ours
                .as_bytes()
                .iter()
                .zip(pil.as_bytes())
                .map(|(a, b)| f64::from(a.abs_diff(*b)))
                .sum::<f64>()
                / ours.as_bytes().len() as f64;
            report.push(format!(
                "{file}: |Lantern - PIL| max {diff}, mean {mean:.3} grey levels"
            ));
            assert!(diff <= JPEG_MAX, "{file}: {diff} grey levels from PIL");
            assert!(
                mean <= JPEG_MEAN,
                "{file}: {mean} grey levels from PIL on average"
            );
        } else if file == "grey16.png" {
            // PIL clips 16-bit grey to 255; Lantern keeps the high byte (ARCHITECTURE.md).
            assert!(
                !exact,
                "grey16.png: expected Lantern to differ from PIL's clipping"
            );
        } else {
            assert!(exact, "{file}: RGB differs from PIL's load_image");
        }
    }
    println!("{}", report.join("\n"));
}

/// The differences allowed between zune-jpeg's and libjpeg-turbo's pixels. Measured: CMYK and
/// grey at most 1 level; the 4:2:0 colour photo of noise (the worst case for chroma
/// upsampling) at most 12, 0.45 on average (ARCHITECTURE.md).
const JPEG_MAX: u8 = 16;
const JPEG_MEAN: f64 = 1.0;

#[test]
fn preprocessing_matches_transformers() {
    let g = golden("preprocess.golden.json");
    let processors = g["processors"].as_object().unwrap();
    let mut exact = 0;
    let mut worst = 0f32;
    let cases = g["cases"].as_array().unwrap();
    let mut decoded: std::collections::HashMap<String, Rgb8Image> = Default::default();
    for case in cases {
        let image = case["image"].as_str().unwrap();
        let key = case["processor"].as_str().unwrap();
        let img = decoded
            .entry(image.to_string())
            .or_insert_with(|| decode(&image_bytes(image)).unwrap());
        let cfg = ImageProcessorConfig::from_value(&processors[key], None)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        let pv = preprocess(img, &cfg).unwrap_or_else(|e| panic!("{image} {key}: {e}"));
        let what = format!("{image} / {key}");
        let shape: Vec<usize> = case["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(pv.shape().to_vec(), shape, "{what}: shape");
        let orig = &case["original_size"];
        assert_eq!(
            (pv.original_size.0 as u64, pv.original_size.1 as u64),
            (orig[0].as_u64().unwrap(), orig[1].as_u64().unwrap()),
            "{what}: original size"
        );
        for s in case["samples"].as_array().unwrap() {
            let (i, v) = (
                s[0].as_u64().unwrap() as usize,
                s[1].as_f64().unwrap() as f32,
            );
            let d = (pv.data[i] - v).abs();
            worst = worst.max(d);
            assert!(d <= 1e-5, "{what}: value {i} is {} against {v}", pv.data[i]);
        }
        let sum: f64 = pv.data.iter().map(|&v| f64::from(v)).sum();
        let want = case["sum"].as_f64().unwrap();
        assert!(
            (sum - want).abs() <= 1e-5 * pv.data.len() as f64,
            "{what}: sum {sum} against {want}"
        );
        let max = pv.data.iter().copied().fold(f32::MIN, f32::max);
        let min = pv.data.iter().copied().fold(f32::MAX, f32::min);
        assert!(
            (max - case["max"].as_f64().unwrap() as f32).abs() <= 1e-5,
            "{what}: max"
        );
        assert!(
            (min - case["min"].as_f64().unwrap() as f32).abs() <= 1e-5,
            "{what}: min"
        );
        if let Some(m) = case.get("pixel_mask_sum") {
            let ours: u64 = pv
                .pixel_mask
                .as_ref()
                .expect("a pixel mask")
                .iter()
                .map(|&b| u64::from(b))
                .sum();
            assert_eq!(ours, m.as_u64().unwrap(), "{what}: pixel mask");
        }
        let bytes: Vec<u8> = pv.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        if sha256(&bytes) == case["sha256"].as_str().unwrap() {
            exact += 1;
        } else {
            println!("{what}: not bit-exact");
        }
    }
    println!(
        "{exact} of {} cases bit-exact; largest sampled difference {worst:e}",
        cases.len()
    );
    // Every value equal to transformers', bit for bit (the tolerance above is the issue's; the
    // implementation reproduces PIL's integer arithmetic and NumPy's float steps exactly).
    assert_eq!(exact, cases.len(), "cases not bit-exact");
}
