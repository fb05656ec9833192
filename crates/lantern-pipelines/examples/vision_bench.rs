//! Native vision benchmark: images per second of one image classifier on Lantern's CPU
//! backend (`lantern_models::vision`), on a model folder made by
//! scripts/reference/bench_vision.py (`make`): config.json, model.safetensors, the preprocessed
//! input (pixel_values.f32, 3 x 224 x 224 f32) that every engine of scripts/bench-vision.sh
//! gets, and torch's logits on it (reference.json). Timing starts at the preprocessed values,
//! as onnxruntime's does: the model alone.
//!
//! `cargo run --release -p lantern-pipelines --example vision_bench -- MODEL_DIR [--runs R]`
//! prints one JSON line: images/s (the median of R runs of one image after two warm-up runs;
//! the slowest and fastest), the largest |logit - torch's logit|, the top class and the peak
//! resident memory. A family Lantern does not run yet is not a failure: the line says
//! `"missing"` and why, so the script reports the row as missing and goes on.
//! Threads: `RAYON_NUM_THREADS`.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `lantern` CLI does: the peak memory is then what a user of the CLI sees.
    lantern_pipelines::process::use_one_malloc_arena();
    native::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::PathBuf;
    use std::time::Instant;

    use lantern_models::ModelError;
    use lantern_models::ops::cpu::Cpu;
    use lantern_models::vision::{ImageInput, load_image_classifier_on};

    type BoxError = Box<dyn std::error::Error>;

    const WARMUP: usize = 2;

    pub fn main() -> Result<(), BoxError> {
        let args: Vec<String> = std::env::args().collect();
        let usage = "usage: vision_bench MODEL_DIR [--runs R]";
        let dir = PathBuf::from(args.get(1).ok_or(usage)?);
        let runs = match args.get(2).map(String::as_str) {
            Some("--runs") => args.get(3).ok_or(usage)?.parse::<usize>()?.max(1),
            Some(other) => return Err(format!("unknown argument {other}; {usage}").into()),
            None => 10,
        };
        let model = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let threads = rayon::current_num_threads();
        let reference: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("reference.json"))?)?;
        let want: Vec<f64> = reference["logits"]
            .as_array()
            .ok_or("reference.json has no logits")?
            .iter()
            .filter_map(serde_json::Value::as_f64)
            .collect();
        let shape: Vec<usize> = reference["shape"]
            .as_array()
            .ok_or("reference.json has no shape")?
            .iter()
            .filter_map(|v| v.as_u64().and_then(|v| usize::try_from(v).ok()))
            .collect();
        let [3, height, width] = shape[..] else {
            return Err(format!("reference.json's shape {shape:?} is not [3, H, W]").into());
        };
        let pixels: Vec<f32> = std::fs::read(dir.join("pixel_values.f32"))?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let image = ImageInput {
            pixels: &pixels,
            height,
            width,
            mask: None,
        };
        image.check()?;

        let config = std::fs::read(dir.join("config.json"))?;
        let weights = std::fs::read(dir.join("model.safetensors"))?;
        let t0 = Instant::now();
        let classifier = match load_image_classifier_on(Cpu, &config, &weights) {
            Ok(c) => c,
            Err(ModelError::UnsupportedArchitecture(why)) => {
                let row = serde_json::json!({
                    "engine": "lantern", "model": model, "threads": threads,
                    "missing": format!("lantern_models::vision: unsupported: {why}"),
                });
                println!("{row}");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let load_s = t0.elapsed().as_secs_f64();
        drop(weights);

        let mut logits = Vec::new();
        for _ in 0..WARMUP {
            logits = classifier.classify(&image)?;
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            logits = std::hint::black_box(classifier.classify(&image)?);
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let diff = if logits.len() == want.len() {
            logits
                .iter()
                .zip(&want)
                .map(|(&a, &b)| (f64::from(a) - b).abs())
                .fold(0.0, f64::max)
        } else {
            f64::INFINITY
        };
        let top1 = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i);
        let row = serde_json::json!({
            "engine": "lantern",
            "model": model,
            "threads": threads,
            "backend": classifier.backend_name(),
            "runs": runs,
            "load_s": load_s,
            "images_per_s": 1.0 / times[runs / 2],
            "images_per_s_range": [1.0 / times[runs - 1], 1.0 / times[0]],
            "top1": top1,
            // JSON has no infinity: a wrong number of logits is null, which the report flags.
            "logits_max_abs_diff": diff.is_finite().then_some(diff),
            "peak_rss_mib": peak_rss_mib(),
        });
        println!("{row}");
        Ok(())
    }

    fn peak_rss_mib() -> Option<f64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}
