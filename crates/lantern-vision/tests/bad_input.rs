//! Bad input: typed errors that name the problem, never a panic — natively and in headless
//! Chromium (`cargo test --target wasm32-unknown-unknown --test bad_input`, run by
//! scripts/test.sh), where a panic would end the worker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use lantern_vision::{
    DecodeLimits, ImageProcessorConfig, Rgb8Image, VisionError, decode, decode_with_limits,
    preprocess, probe,
};

/// A PNG signature and IHDR chunk (with a correct CRC) announcing `w` × `h` RGB pixels, and
/// nothing else.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A test image, compiled in (a browser test has no file system).
fn sample(name: &str) -> Vec<u8> {
    macro_rules! images {
        ($($file:literal),*) => {
            match name {
                $($file => include_bytes!(concat!("data/images/", $file)).to_vec(),)*
                other => panic!("no test image {other}"),
            }
        };
    }
    images!(
        "odd.png",
        "exif6.jpg",
        "lossless.webp",
        "palette.gif",
        "image.bmp",
        "cmyk.jpg"
    )
}

#[test]
fn a_gigapixel_header_is_refused_before_decoding() {
    let bytes = png_header(20_000, 20_000);
    let info = probe(&bytes).unwrap();
    assert_eq!((info.width, info.height), (20_000, 20_000));
    let err = decode(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            VisionError::TooLarge {
                width: 20_000,
                height: 20_000,
                ..
            }
        ),
        "{err:?}"
    );
    // The same header followed by (bogus) image data goes through the decoder's own header.
    let mut with_data = bytes.clone();
    with_data.extend_from_slice(&[0, 0, 0, 4, b'I', b'D', b'A', b'T', 1, 2, 3, 4, 0, 0, 0, 0]);
    assert!(matches!(
        decode(&with_data).unwrap_err(),
        VisionError::TooLarge { .. }
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("20000x20000") && msg.contains("400.0 megapixels"),
        "{msg}"
    );
    // A lower limit applies to an ordinary photo too.
    let limits = DecodeLimits { max_pixels: 800 };
    let err = decode_with_limits(&sample("odd.png"), limits).unwrap_err();
    assert!(
        matches!(
            err,
            VisionError::TooLarge {
                width: 37,
                height: 23,
                limit: 800
            }
        ),
        "{err:?}"
    );
}

#[test]
fn not_an_image_and_empty() {
    assert!(matches!(decode(b"").unwrap_err(), VisionError::Empty));
    assert!(matches!(
        decode(b"hello, world: not an image").unwrap_err(),
        VisionError::NotAnImage
    ));
    // TIFF is recognised but not decoded.
    let err = decode(b"II*\0\x08\0\0\0").unwrap_err();
    assert!(
        matches!(err, VisionError::UnsupportedFormat(ref f) if f == "TIFF"),
        "{err:?}"
    );
}

#[test]
fn truncated_files_are_typed_errors() {
    for name in [
        "odd.png",
        "exif6.jpg",
        "lossless.webp",
        "palette.gif",
        "image.bmp",
        "cmyk.jpg",
    ] {
        let bytes = sample(name);
        for cut in [8, 30, bytes.len() / 2, bytes.len() - 10] {
            match decode(&bytes[..cut]) {
                Err(
                    VisionError::Truncated { .. }
                    | VisionError::Malformed { .. }
                    | VisionError::NotAnImage,
                ) => {}
                // A JPEG cut inside its last scan still decodes (the decoder fills the rest),
                // as libjpeg does with a warning.
                Ok(img) if name.ends_with(".jpg") && cut > 100 => {
                    assert!(img.width() > 0);
                }
                other => panic!("{name} cut at {cut}: {other:?}"),
            }
        }
    }
    // Most truncations are named as such.
    let bytes = sample("odd.png");
    let err = decode(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, VisionError::Truncated { .. }), "{err:?}");
}

#[test]
fn zero_sized_and_bad_buffers() {
    assert!(decode(&png_header(0, 5)).is_err());
    let err = Rgb8Image::from_rgba(2, 2, &[0; 15]).unwrap_err();
    assert!(
        matches!(
            err,
            VisionError::BadPixelBuffer {
                expected: 16,
                got: 15,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        Rgb8Image::from_rgba(0, 2, &[]).unwrap_err(),
        VisionError::NoPixels { .. }
    ));
    assert!(matches!(
        Rgb8Image::from_rgba(100_000, 100_000, &[]).unwrap_err(),
        VisionError::TooLarge { .. }
    ));
}

#[test]
fn rgba_from_a_canvas_drops_alpha() {
    let img = Rgb8Image::from_rgba(2, 1, &[1, 2, 3, 0, 4, 5, 6, 255]).unwrap();
    assert_eq!(img.as_bytes(), &[1, 2, 3, 4, 5, 6]);
}

fn config_err(json: &str) -> (String, String) {
    match ImageProcessorConfig::from_json(json).unwrap_err() {
        VisionError::Config { key, problem } => (key, problem),
        other => panic!("{json}: {other:?}"),
    }
}

#[test]
fn configurations_with_nonsense_name_the_key() {
    let vit = r#""image_processor_type": "ViTImageProcessor""#;
    assert_eq!(config_err(&format!("{{{vit}}}")).0, "size");
    assert_eq!(
        config_err(&format!(
            r#"{{{vit}, "size": {{"height": 0, "width": 5}}}}"#
        ))
        .0,
        "size.height"
    );
    assert_eq!(
        config_err(&format!(r#"{{{vit}, "size": 100000}}"#)).0,
        "size"
    );
    assert_eq!(
        config_err(&format!(
            r#"{{{vit}, "size": 224, "image_std": [0.5, 0, 0.5]}}"#
        ))
        .0,
        "image_std"
    );
    assert_eq!(
        config_err(&format!(
            r#"{{{vit}, "size": 224, "image_mean": [0.5, "x", 0.5]}}"#
        ))
        .0,
        "image_mean"
    );
    assert_eq!(
        config_err(&format!(r#"{{{vit}, "size": 224, "resample": 9}}"#)).0,
        "resample"
    );
    assert_eq!(
        config_err(&format!(r#"{{{vit}, "size": 224, "rescale_factor": -1}}"#)).0,
        "rescale_factor"
    );
    assert_eq!(
        config_err(&format!(r#"{{{vit}, "size": {{"shortest_edge": 224}}}}"#)).0,
        "size"
    );
    assert_eq!(
        config_err(r#"{"image_processor_type": "CLIPImageProcessor", "size": 256}"#).0,
        "crop_size"
    );
    assert_eq!(
        config_err(
            r#"{"image_processor_type": "ConvNextImageProcessor", "size": 224, "crop_pct": 0}"#
        )
        .0,
        "crop_pct"
    );
    assert_eq!(config_err(r#"{"size": 224}"#).0, "image_processor_type");
    assert!(matches!(
        ImageProcessorConfig::from_json(r#"{"image_processor_type": "SamImageProcessor"}"#)
            .unwrap_err(),
        VisionError::UnsupportedProcessor(_)
    ));
    assert!(matches!(
        ImageProcessorConfig::from_json("[1]").unwrap_err(),
        VisionError::ConfigJson(_)
    ));
    assert!(matches!(
        ImageProcessorConfig::from_json("{").unwrap_err(),
        VisionError::ConfigJson(_)
    ));
}

#[test]
fn legacy_configurations_and_unknown_keys() {
    // facebook/detr-resnet-50's preprocessor_config.json (a feature extractor, int size).
    let detr = ImageProcessorConfig::from_json(
        r#"{"do_normalize": true, "do_resize": true, "feature_extractor_type": "DetrFeatureExtractor",
            "format": "coco_detection", "image_mean": [0.485, 0.456, 0.406],
            "image_std": [0.229, 0.224, 0.225], "max_size": 1333, "size": 800, "something_new": 1}"#,
    )
    .unwrap();
    assert_eq!(
        detr.size,
        Some(lantern_vision::Size::ShortestLongest {
            shortest: 800,
            longest: 1333
        })
    );
    assert!(detr.do_pad);
    // microsoft/resnet-50's.
    let resnet = ImageProcessorConfig::from_json(
        r#"{"crop_pct": 0.875, "do_normalize": true, "do_resize": true,
            "feature_extractor_type": "ConvNextFeatureExtractor", "image_mean": [0.485, 0.456, 0.406],
            "image_std": [0.229, 0.224, 0.225], "resample": 3, "size": 224}"#,
    )
    .unwrap();
    assert_eq!(resnet.size, Some(lantern_vision::Size::ShortestEdge(224)));
    let img = Rgb8Image::from_rgb(451, 300, vec![128; 451 * 300 * 3]).unwrap();
    let pv = preprocess(&img, &resnet).unwrap();
    assert_eq!(pv.shape(), [3, 224, 224]);
    assert_eq!(pv.resized_size, (256, 384));
}

#[test]
fn tiny_images_are_handled() {
    // 1×1 and 1×N through every resize form: either an image or a typed error.
    let yolos = ImageProcessorConfig::from_json(
        r#"{"image_processor_type": "YolosImageProcessor", "size": {"shortest_edge": 8, "longest_edge": 12}}"#,
    )
    .unwrap();
    let one = Rgb8Image::from_rgb(1, 1, vec![200, 30, 90]).unwrap();
    // YOLOS rounds sides down to multiples of 16: 8 px becomes 0, an error naming the size.
    let err = preprocess(&one, &yolos).unwrap_err();
    assert!(matches!(err, VisionError::Preprocess { .. }), "{err:?}");
    let strip = Rgb8Image::from_rgb(1000, 1, vec![7; 3000]).unwrap();
    let vit = ImageProcessorConfig::from_json(
        r#"{"image_processor_type": "ViTImageProcessor", "size": 16}"#,
    )
    .unwrap();
    assert_eq!(preprocess(&strip, &vit).unwrap().shape(), [3, 16, 16]);
}
