//! The convolution ops of the op layer against direct NCHW loops written here, and the
//! convolutional image classifiers against transformers / the NumPy reference:
//! EfficientNet-Lite0's real weights (`lantern-fixtures/efficientnet-lite0`, golden
//! `efficientnet_lite0.golden.json`) and the tiny ResNet (`tests/fixtures/vision`, golden
//! `vision_models.golden.json`), both on chelsea.png and coffee.png preprocessed by
//! `lantern-vision` as the pipeline does. Needs the fixture files (`scripts/fixtures.sh`).
//!
//! Also in headless Chromium (wasm-bindgen-test: the simd128 build of the ops, and the tiny
//! ResNet with its files and the two images compiled in); EfficientNet-Lite0's 18 MB stay
//! native.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_arguments)]

use lantern_models::ModelError;
use lantern_models::ops::cpu::Cpu;
use lantern_models::ops::{
    Activation, Backend, Padding2d, Quantization, Window2d, conv2d_weight_for_unfold,
    dense_columns, depthwise_weight_layout, fold_batch_norm,
};
use lantern_models::vision::{ImageInput, load_image_classifier_on};
use serde_json::Value;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::vision::{fixture, input, sample, softmax, top};
use common::{max_diff, values};

/// A file of the tiny ResNet (`tests/fixtures/vision`), compiled in.
fn tiny_resnet_file(file: &str) -> &'static [u8] {
    fixture("tiny-resnet-classification", file)
}

fn log(line: &str) {
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{line}");
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{line}");
}

/// `[c, h, w]` planes to `[h * w, c]` rows.
fn to_rows(x: &[f32], c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut r = vec![0f32; x.len()];
    for ch in 0..c {
        for i in 0..h * w {
            r[i * c + ch] = x[ch * h * w + i];
        }
    }
    r
}

/// `[h * w, c]` rows to `[c, h, w]` planes.
fn to_planes(x: &[f32], c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut r = vec![0f32; x.len()];
    for ch in 0..c {
        for i in 0..h * w {
            r[ch * h * w + i] = x[i * c + ch];
        }
    }
    r
}

/// The oracle: a grouped 2-D convolution over NCHW by direct loops, reading a zero (or
/// skipping, for `None`) outside the image. `w` is `[out, in / groups, k, k]`.
fn conv_nchw(
    x: &[f32],
    (c, h, wd): (usize, usize, usize),
    w: &[f32],
    out: usize,
    k: usize,
    stride: usize,
    pad: Padding2d,
    groups: usize,
    bias: Option<&[f32]>,
) -> (Vec<f32>, usize, usize) {
    let oh = (h + pad.top + pad.bottom - k) / stride + 1;
    let ow = (wd + pad.left + pad.right - k) / stride + 1;
    let per_group_in = c / groups;
    let per_group_out = out / groups;
    let mut y = vec![0f32; out * oh * ow];
    for o in 0..out {
        let g = o / per_group_out;
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = bias.map_or(0.0, |b| b[o]) as f64;
                for ci in 0..per_group_in {
                    let cin = g * per_group_in + ci;
                    for ky in 0..k {
                        for kx in 0..k {
                            let iy = (oy * stride + ky) as isize - pad.top as isize;
                            let ix = (ox * stride + kx) as isize - pad.left as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                continue;
                            }
                            let xv = x[(cin * h + iy as usize) * wd + ix as usize];
                            let wv = w[((o * per_group_in + ci) * k + ky) * k + kx];
                            acc += f64::from(xv) * f64::from(wv);
                        }
                    }
                }
                y[(o * oh + oy) * ow + ox] = acc as f32;
            }
        }
    }
    (y, oh, ow)
}

fn pads() -> Vec<(usize, usize, usize, usize, usize, usize, Padding2d)> {
    // (h, w, in, out, k, stride, padding)
    vec![
        (7, 5, 3, 4, 3, 2, Padding2d::tf_same(7, 5, 3, 2)),
        (8, 8, 2, 3, 3, 1, Padding2d::symmetric(1)),
        (9, 6, 3, 2, 7, 2, Padding2d::symmetric(3)),
        (6, 7, 2, 5, 5, 2, Padding2d::tf_same(6, 7, 5, 2)),
        (5, 5, 3, 3, 1, 2, Padding2d::default()),
        (4, 9, 16, 9, 3, 1, Padding2d::tf_same(4, 9, 3, 1)),
        (
            5,
            6,
            2,
            2,
            3,
            2,
            Padding2d {
                top: 0,
                left: 2,
                bottom: 1,
                right: 0,
            },
        ),
    ]
}

#[test]
fn tf_same_padding_puts_the_odd_cell_after() {
    // 224 / 2 with a 3x3 kernel: one cell in all, at the bottom and right (TF).
    let p = Padding2d::tf_same(224, 224, 3, 2);
    assert_eq!((p.top, p.bottom, p.left, p.right), (0, 1, 0, 1));
    // 112 / 2 with 5x5: (56 - 1) * 2 + 5 - 112 = 3 -> 1 before, 2 after.
    let p = Padding2d::tf_same(112, 113, 5, 2);
    assert_eq!((p.top, p.bottom), (1, 2));
    assert_eq!((p.left, p.right), (2, 2));
    let w = Window2d::tf_same(7, 7, 3, 1);
    assert_eq!(w.out_size(), Some((7, 7)));
    assert_eq!(
        Window2d::tf_same(224, 224, 3, 2).out_size(),
        Some((112, 112))
    );
}

#[test]
fn unfold2d_and_linear_are_a_convolution() {
    let b = Cpu;
    for (i, &(h, wd, c, out, k, stride, pad)) in pads().iter().enumerate() {
        let x = values(c * h * wd, 10 + i as u64);
        let w = values(out * c * k * k, 20 + i as u64);
        let bias = values(out, 30 + i as u64);
        let (want, oh, ow) = conv_nchw(&x, (c, h, wd), &w, out, k, stride, pad, 1, Some(&bias));
        let window = Window2d {
            height: h,
            width: wd,
            kernel_h: k,
            kernel_w: k,
            stride,
            padding: pad,
        };
        let t = b.tensor(to_rows(&x, c, h, wd), h * wd, c).unwrap();
        // Exactly as wide as the windows, and padded with zero columns as the conv nets run
        // (`dense_columns`, plus one more block): the same convolution.
        let used = k * k * c;
        for width in [used, dense_columns(used) + 8] {
            let cols = b.unfold2d(&t, &window, width).unwrap();
            assert_eq!((cols.rows, cols.cols), (oh * ow, width), "case {i}");
            assert!(
                cols.data
                    .chunks_exact(width)
                    .all(|r| r[used..].iter().all(|&v| v == 0.0)),
                "case {i}: padding columns"
            );
            let dense = b
                .dense(
                    "w",
                    conv2d_weight_for_unfold(&w, out, c, k, k, width).unwrap(),
                    out,
                    width,
                    Quantization::None,
                )
                .unwrap();
            let y = b.linear(&cols, &dense, Some(&bias)).unwrap();
            let got = to_planes(&y.data, out, oh, ow);
            let d = max_diff(&got, &want);
            assert!(d < 1e-5, "case {i}, {width} columns: {d}");
        }
    }
}

#[test]
fn depthwise_conv2d_matches_grouped_convolution() {
    let b = Cpu;
    // Channel counts around the 8-lane blocks (1, 7, 8, 9, 24).
    for (i, &(h, wd, _, _, k, stride, pad)) in pads().iter().enumerate() {
        for c in [1, 7, 8, 9, 24] {
            let seed = (i * 100 + c) as u64;
            let x = values(c * h * wd, seed);
            let w = values(c * k * k, seed + 1);
            let bias = values(c, seed + 2);
            let (want, oh, ow) = conv_nchw(&x, (c, h, wd), &w, c, k, stride, pad, c, Some(&bias));
            let window = Window2d {
                height: h,
                width: wd,
                kernel_h: k,
                kernel_w: k,
                stride,
                padding: pad,
            };
            let t = b.tensor(to_rows(&x, c, h, wd), h * wd, c).unwrap();
            let lw = depthwise_weight_layout(&w, c, k, k).unwrap();
            let y = b.depthwise_conv2d(&t, &lw, &bias, &window).unwrap();
            assert_eq!((y.rows, y.cols), (oh * ow, c));
            let d = max_diff(&to_planes(&y.data, c, oh, ow), &want);
            assert!(d < 1e-5, "case {i}, {c} channels: {d}");
        }
    }
}

#[test]
fn depthwise_conv2d_of_a_large_image_runs_in_parallel_the_same() {
    // Above the parallel threshold: the split over output rows must not change the result.
    let b = Cpu;
    let (h, wd, c, k) = (40, 33, 32, 5);
    let pad = Padding2d::tf_same(h, wd, k, 2);
    let x = values(c * h * wd, 7);
    let w = values(c * k * k, 8);
    let bias = values(c, 9);
    let (want, oh, ow) = conv_nchw(&x, (c, h, wd), &w, c, k, 2, pad, c, Some(&bias));
    let t = b.tensor(to_rows(&x, c, h, wd), h * wd, c).unwrap();
    let window = Window2d::tf_same(h, wd, k, 2);
    let lw = depthwise_weight_layout(&w, c, k, k).unwrap();
    let y = b.depthwise_conv2d(&t, &lw, &bias, &window).unwrap();
    assert!(max_diff(&to_planes(&y.data, c, oh, ow), &want) < 1e-5);
    let cols = b
        .unfold2d(&t, &window, window.kernel_h * window.kernel_w * t.cols)
        .unwrap();
    assert_eq!(cols.rows, oh * ow);
}

#[test]
fn max_pool2d_ignores_padding() {
    let b = Cpu;
    for (h, wd, c, k, stride, pad) in [(7, 6, 3, 3, 2, 1), (8, 8, 9, 3, 2, 1), (5, 4, 2, 2, 1, 0)] {
        // Negative values everywhere: a zero from padding would win if it were read.
        let x: Vec<f32> = values(c * h * wd, 5).iter().map(|v| v - 2.0).collect();
        let oh = (h + 2 * pad - k) / stride + 1;
        let ow = (wd + 2 * pad - k) / stride + 1;
        let mut want = vec![f32::NEG_INFINITY; c * oh * ow];
        for ch in 0..c {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ky in 0..k {
                        for kx in 0..k {
                            let iy = (oy * stride + ky) as isize - pad as isize;
                            let ix = (ox * stride + kx) as isize - pad as isize;
                            if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                let v = x[(ch * h + iy as usize) * wd + ix as usize];
                                let o = &mut want[(ch * oh + oy) * ow + ox];
                                *o = o.max(v);
                            }
                        }
                    }
                }
            }
        }
        let t = b.tensor(to_rows(&x, c, h, wd), h * wd, c).unwrap();
        let y = b
            .max_pool2d(&t, &Window2d::symmetric(h, wd, k, stride, pad))
            .unwrap();
        assert_eq!(to_planes(&y.data, c, oh, ow), want);
    }
}

#[test]
fn mean_rows_is_global_average_pooling() {
    let b = Cpu;
    let (rows, cols) = (49, 13);
    let x = values(rows * cols, 3);
    let y = b
        .mean_rows(&b.tensor(x.clone(), rows, cols).unwrap())
        .unwrap();
    assert_eq!((y.rows, y.cols), (1, cols));
    for c in 0..cols {
        let want = (0..rows).map(|r| f64::from(x[r * cols + c])).sum::<f64>() / rows as f64;
        assert!((f64::from(y.data[c]) - want).abs() < 1e-6);
    }
}

#[test]
fn relu6_and_silu() {
    let b = Cpu;
    let x = vec![-3.0, -0.0, 0.5, 5.9, 6.0, 7.5, 100.0, f32::NAN];
    let mut t = b.tensor(x.clone(), 1, x.len()).unwrap();
    b.activate(&mut t, Activation::Relu6).unwrap();
    assert_eq!(&t.data[..7], &[0.0, 0.0, 0.5, 5.9, 6.0, 6.0, 6.0]);
    assert!(t.data[7].is_nan());
    let x = vec![-100.0f32, -2.0, -0.5, 0.0, 0.5, 2.0, 30.0];
    let mut t = b.tensor(x.clone(), 1, x.len()).unwrap();
    b.activate(&mut t, Activation::Silu).unwrap();
    for (g, v) in t.data.iter().zip(&x) {
        let want = f64::from(*v) / (1.0 + (-f64::from(*v)).exp());
        assert!(
            (f64::from(*g) - want).abs() < 1e-6,
            "silu({v}) = {g}, not {want}"
        );
    }
}

#[test]
fn folded_batch_norm_equals_conv_then_norm() {
    let (c, h, wd, out, k) = (3, 6, 5, 4, 3);
    let pad = Padding2d::symmetric(1);
    let x = values(c * h * wd, 41);
    let w = values(out * c * k * k, 42);
    let gamma = values(out, 43);
    let beta = values(out, 44);
    let mean = values(out, 45);
    let var: Vec<f32> = values(out, 46).iter().map(|v| v.abs() + 0.1).collect();
    let eps = 1e-3;
    let (y, oh, ow) = conv_nchw(&x, (c, h, wd), &w, out, k, 1, pad, 1, None);
    let mut want = y.clone();
    for o in 0..out {
        for v in &mut want[o * oh * ow..(o + 1) * oh * ow] {
            *v = (*v - mean[o]) / (var[o] + eps).sqrt() * gamma[o] + beta[o];
        }
    }
    let (mut fw, mut fb) = (w.clone(), vec![0f32; out]);
    fold_batch_norm(&mut fw, &mut fb, &gamma, &beta, &mean, &var, eps).unwrap();
    let (got, _, _) = conv_nchw(&x, (c, h, wd), &fw, out, k, 1, pad, 1, Some(&fb));
    assert!(max_diff(&got, &want) < 1e-5);
    // Statistics of the wrong length are a shape error.
    let err = fold_batch_norm(&mut fw, &mut fb, &gamma[..2], &beta, &mean, &var, eps);
    assert!(matches!(err, Err(ModelError::Shape { .. })));
}

#[test]
fn bad_shapes_are_errors() {
    let b = Cpu;
    let t = b.tensor(values(12 * 3, 1), 12, 3).unwrap();
    let shape = |r: Result<lantern_models::ops::cpu::CpuTensor, ModelError>| {
        assert!(matches!(r, Err(ModelError::Shape { .. })), "{r:?}");
    };
    // 12 rows are not 5 x 3 pixels.
    shape(b.unfold2d(&t, &Window2d::symmetric(5, 3, 3, 1, 1), 27));
    // A zero stride, a kernel larger than the padded image, padding as wide as the kernel.
    shape(b.unfold2d(&t, &Window2d::symmetric(4, 3, 3, 0, 1), 27));
    shape(b.unfold2d(&t, &Window2d::symmetric(4, 3, 7, 1, 1), 27));
    shape(b.max_pool2d(&t, &Window2d::symmetric(4, 3, 2, 1, 2)));
    // Depthwise weights or biases of the wrong length.
    let win = Window2d::tf_same(4, 3, 3, 1);
    shape(b.depthwise_conv2d(&t, &vec![0.0; 26], &vec![0.0; 3], &win));
    shape(b.depthwise_conv2d(&t, &vec![0.0; 27], &vec![0.0; 2], &win));
    shape(b.mean_rows(&b.tensor(Vec::new(), 0, 3).unwrap()));
    assert!(matches!(
        conv2d_weight_for_unfold(&[0.0; 10], 2, 2, 2, 2, 8),
        Err(ModelError::Shape { .. })
    ));
    // Fewer columns than the unfolded values, for the input or the weight.
    shape(b.unfold2d(&t, &win, 26));
    assert!(matches!(
        conv2d_weight_for_unfold(&[0.0; 16], 2, 2, 2, 2, 7),
        Err(ModelError::Shape { .. })
    ));
    assert!(matches!(
        depthwise_weight_layout(&[0.0; 10], 2, 2, 2),
        Err(ModelError::Shape { .. })
    ));
}

#[cfg(not(target_arch = "wasm32"))]
fn mirror() -> std::path::PathBuf {
    match std::env::var_os("LANTERN_FIXTURES") {
        Some(d) => std::path::PathBuf::from(d),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/fixtures/mirror"),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn read(path: std::path::PathBuf) -> Vec<u8> {
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/fixtures.sh)", path.display()))
}

fn classify(
    model: &dyn lantern_models::vision::ImageClassifier,
    pv: &lantern_vision::PixelValues,
) -> Vec<f32> {
    model.classify(&input(pv)).unwrap()
}

/// The sample image preprocessed by `lantern-vision` with `preprocessor_config.json`.
fn pixels(image: &str, preprocessor: &[u8]) -> lantern_vision::PixelValues {
    let img = lantern_vision::decode(sample(image)).unwrap();
    let cfg =
        lantern_vision::ImageProcessorConfig::from_json(std::str::from_utf8(preprocessor).unwrap())
            .unwrap();
    lantern_vision::preprocess(&img, &cfg).unwrap()
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn efficientnet_lite0_matches_the_reference() {
    let repo = mirror().join("lantern-fixtures/efficientnet-lite0");
    let config = read(repo.join("config.json"));
    let pre = read(repo.join("preprocessor_config.json"));
    let model =
        load_image_classifier_on(Cpu, &config, &read(repo.join("model.safetensors"))).unwrap();
    assert_eq!(model.num_labels(), 1000);
    let golden: Value = serde_json::from_str(include_str!(
        "../../lantern-pipelines/tests/data/efficientnet_lite0.golden.json"
    ))
    .unwrap();
    for case in golden["cases"].as_array().unwrap() {
        let name = case["image"].as_str().unwrap();
        let pv = pixels(name, &pre);
        let logits = classify(&*model, &pv);
        let probs = softmax(&logits);
        let want: Vec<(usize, f64)> = case["top5"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["index"].as_u64().unwrap() as usize,
                    t["score"].as_f64().unwrap(),
                )
            })
            .collect();
        let got = top(&probs, 5);
        let first16: Vec<f32> = case["logits_first16"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let d16 = max_diff(&logits[..16], &first16);
        let top_logit_diff = case["top5"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (f64::from(logits[t["index"].as_u64().unwrap() as usize])
                    - t["logit"].as_f64().unwrap())
                .abs()
            })
            .fold(0f64, f64::max);
        let sum: f64 = logits.iter().map(|&v| f64::from(v)).sum();
        let abs_sum: f64 = logits.iter().map(|&v| f64::from(v).abs()).sum();
        let prob_diff = want
            .iter()
            .map(|&(i, p)| (probs[i] - p).abs())
            .fold(0f64, f64::max);
        log(&format!(
            "efficientnet-lite0 {name}: top-5 {got:?} (golden {:?}), top-5 probabilities within \
             {prob_diff:.2e}, logits first16 within {d16:.2e}, top-5 logits within \
             {top_logit_diff:.2e}, sum {sum:.4} (golden {:.4}), abs sum {abs_sum:.4} (golden {:.4})",
            want.iter().map(|w| w.0).collect::<Vec<_>>(),
            case["logits_sum"].as_f64().unwrap(),
            case["logits_abs_sum"].as_f64().unwrap(),
        ));
        assert_eq!(
            got,
            want.iter().map(|w| w.0).collect::<Vec<_>>(),
            "{name}: top-5"
        );
        // The tolerance on probabilities.
        assert!(prob_diff <= 0.01, "{name}: probabilities {prob_diff}");
        // f32 against a float64 reference through 18 layers: measured far below these.
        assert!(d16 <= 2e-3, "{name}: logits_first16 {d16}");
        assert!(
            top_logit_diff <= 2e-3,
            "{name}: top-5 logits {top_logit_diff}"
        );
        assert!(
            (sum - case["logits_sum"].as_f64().unwrap()).abs() <= 0.05,
            "{name}: sum {sum}"
        );
        assert!(
            (abs_sum - case["logits_abs_sum"].as_f64().unwrap()).abs() <= 0.05,
            "{name}: abs sum {abs_sum}"
        );
    }
}

#[test]
fn tiny_resnet_matches_transformers() {
    let config = tiny_resnet_file("config.json");
    let pre = tiny_resnet_file("preprocessor_config.json");
    let model =
        load_image_classifier_on(Cpu, config, tiny_resnet_file("model.safetensors")).unwrap();
    assert_eq!(model.num_labels(), 5);
    let labels: Value = serde_json::from_slice::<Value>(config).unwrap()["id2label"].clone();
    let golden: Value = serde_json::from_str(include_str!(
        "../../lantern-pipelines/tests/data/vision_models.golden.json"
    ))
    .unwrap();
    for case in golden["models"]["tiny-resnet-classification"]["cases"]
        .as_array()
        .unwrap()
    {
        let name = case["image"].as_str().unwrap();
        let pv = pixels(name, pre);
        let shape = case["pixel_values_shape"].as_array().unwrap();
        assert_eq!(pv.height as u64, shape[2].as_u64().unwrap());
        assert_eq!(pv.width as u64, shape[3].as_u64().unwrap());
        let logits = classify(&*model, &pv);
        let want: Vec<f32> = case["logits"]["first"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let d = max_diff(&logits, &want);
        let probs = softmax(&logits);
        let order = top(&probs, 5);
        let mut prob_diff = 0f64;
        for (rank, item) in case["pipeline"].as_array().unwrap().iter().enumerate() {
            let label = labels[order[rank].to_string()].as_str().unwrap();
            assert_eq!(
                label,
                item["label"].as_str().unwrap(),
                "{name}: rank {rank}"
            );
            prob_diff = prob_diff.max((probs[order[rank]] - item["score"].as_f64().unwrap()).abs());
        }
        log(&format!(
            "tiny-resnet {name}: logits within {d:.2e}, pipeline scores within {prob_diff:.2e}"
        ));
        assert!(d <= 1e-4, "{name}: logits {d}");
        assert!(prob_diff <= 1e-4, "{name}: scores {prob_diff}");
    }
}

#[test]
fn bad_configs_and_images_are_errors() {
    let config = tiny_resnet_file("config.json");
    let weights = tiny_resnet_file("model.safetensors");
    let model = load_image_classifier_on(Cpu, config, weights).unwrap();
    // Pixels that do not make 3 planes.
    let bad = ImageInput {
        pixels: &[0.0; 10],
        height: 2,
        width: 2,
        mask: None,
    };
    assert!(matches!(
        model.classify(&bad),
        Err(ModelError::InvalidInput { .. })
    ));
    // A 1x1 image still runs (every window has a real cell).
    let one = ImageInput {
        pixels: &[0.1, 0.2, 0.3],
        height: 1,
        width: 1,
        mask: None,
    };
    assert_eq!(model.classify(&one).unwrap().len(), 5);
    // A stage list that does not match the weights.
    let mut cfg: Value = serde_json::from_slice(config).unwrap();
    cfg["hidden_sizes"] = serde_json::json!([16, 64]);
    let r = load_image_classifier_on(Cpu, cfg.to_string().as_bytes(), weights);
    assert!(matches!(r, Err(ModelError::TensorShape { .. })), "{r:?}");
    cfg["hidden_sizes"] = serde_json::json!([16]);
    let r = load_image_classifier_on(Cpu, cfg.to_string().as_bytes(), weights);
    assert!(matches!(r, Err(ModelError::InvalidConfig { .. })), "{r:?}");
    // Truncated weights.
    let r = load_image_classifier_on(Cpu, config, &weights[..weights.len() / 2]);
    assert!(r.is_err());
}
