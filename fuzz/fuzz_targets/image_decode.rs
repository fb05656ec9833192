//! Arbitrary bytes as an image file through lantern-vision's decoder (PNG, JPEG, WebP, GIF,
//! BMP; header limits, EXIF orientation, conversion to RGB), then through the preprocessing of
//! one of several image processors (chosen by the data's last byte). Errors are fine; panics,
//! hangs and runaway allocations are findings. Also the bytes as a `preprocessor_config.json`.

#![no_main]

use lantern_vision::{DecodeLimits, ImageProcessorConfig, decode_with_limits, preprocess};

const CONFIGS: [&str; 5] = [
    r#"{"image_processor_type": "ViTImageProcessor", "size": {"height": 32, "width": 24}, "resample": 2}"#,
    r#"{"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 40}, "crop_size": 32, "resample": 3}"#,
    r#"{"image_processor_type": "ConvNextImageProcessor", "size": {"shortest_edge": 32}, "resample": 1}"#,
    r#"{"image_processor_type": "DetrImageProcessor", "size": {"shortest_edge": 48, "longest_edge": 64}}"#,
    r#"{"image_processor_type": "YolosImageProcessor", "size": {"shortest_edge": 48, "longest_edge": 64}, "resample": 0}"#,
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ImageProcessorConfig::from_json(text);
    }
    // A small limit keeps each run fast: the limit itself is what is exercised.
    let limits = DecodeLimits { max_pixels: 1 << 20 };
    let Ok(img) = decode_with_limits(data, limits) else {
        return;
    };
    let which = data.last().map_or(0, |b| usize::from(*b) % CONFIGS.len());
    if let Ok(cfg) = ImageProcessorConfig::from_json(CONFIGS[which]) {
        let _ = preprocess(&img, &cfg);
    }
});
