//! Whisper's encoder and decoder step times on the CPU backend.
//!
//! `cargo run --release -p lantern-models --example whisper_bench -- DIR [STEPS] [REPEATS]`
//! with `DIR` a folder of `config.json` and `model.safetensors` (the Hub layout), or
//! `random:tiny.en` / `random:base` for random f16 weights of those shapes (speed does not
//! depend on the values). Threads: `RAYON_NUM_THREADS`. Prints one JSON line: the load time,
//! the fastest and median encoder pass (one 30 s segment: convolutions, encoder layers and the
//! cross-attention keys and values of every decoder layer), and the mean time of a decoder
//! step of one token after a 3-token prompt, over `STEPS` steps (default 50) from a fixed
//! token sequence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use lantern_models::ops::cpu::Cpu;
use lantern_models::whisper::{Config, Whisper};
use safetensors::Dtype;
use safetensors::tensor::TensorView;

/// (d_model, layers, heads, vocab) of a released model.
fn shape(name: &str) -> (usize, usize, usize, usize) {
    match name {
        "tiny.en" => (384, 4, 6, 51864),
        "base" => (512, 6, 8, 51865),
        other => panic!("unknown model {other:?} (tiny.en, base)"),
    }
}

/// A random model of `name`'s shapes: its config.json and safetensors file.
fn random(name: &str) -> (Vec<u8>, Vec<u8>) {
    let (d, layers, heads, vocab) = shape(name);
    let config = format!(
        r#"{{"model_type": "whisper", "vocab_size": {vocab}, "num_mel_bins": 80, "d_model": {d},
        "encoder_layers": {layers}, "encoder_attention_heads": {heads}, "encoder_ffn_dim": {ffn},
        "decoder_layers": {layers}, "decoder_attention_heads": {heads}, "decoder_ffn_dim": {ffn},
        "max_source_positions": 1500, "max_target_positions": 448,
        "decoder_start_token_id": 50257, "eos_token_id": 50256}}"#,
        ffn = 4 * d
    );
    let mut tensors: Vec<(String, Vec<usize>)> = vec![
        ("encoder.conv1.weight".into(), vec![d, 80, 3]),
        ("encoder.conv1.bias".into(), vec![d]),
        ("encoder.conv2.weight".into(), vec![d, d, 3]),
        ("encoder.conv2.bias".into(), vec![d]),
        ("encoder.embed_positions.weight".into(), vec![1500, d]),
        ("encoder.layer_norm.weight".into(), vec![d]),
        ("encoder.layer_norm.bias".into(), vec![d]),
        ("decoder.embed_tokens.weight".into(), vec![vocab, d]),
        ("decoder.embed_positions.weight".into(), vec![448, d]),
        ("decoder.layer_norm.weight".into(), vec![d]),
        ("decoder.layer_norm.bias".into(), vec![d]),
    ];
    for side in ["encoder", "decoder"] {
        for i in 0..layers {
            let p = format!("{side}.layers.{i}");
            let mut attn = vec!["self_attn"];
            if side == "decoder" {
                attn.push("encoder_attn");
            }
            for a in attn {
                for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                    tensors.push((format!("{p}.{a}.{proj}.weight"), vec![d, d]));
                    if proj != "k_proj" {
                        tensors.push((format!("{p}.{a}.{proj}.bias"), vec![d]));
                    }
                }
                for part in ["weight", "bias"] {
                    tensors.push((format!("{p}.{a}_layer_norm.{part}"), vec![d]));
                }
            }
            tensors.push((format!("{p}.fc1.weight"), vec![4 * d, d]));
            tensors.push((format!("{p}.fc1.bias"), vec![4 * d]));
            tensors.push((format!("{p}.fc2.weight"), vec![d, 4 * d]));
            tensors.push((format!("{p}.fc2.bias"), vec![d]));
            for part in ["weight", "bias"] {
                tensors.push((format!("{p}.final_layer_norm.{part}"), vec![d]));
            }
        }
    }
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let scale = if name.ends_with("layer_norm.weight") {
                0.0
            } else {
                0.05
            };
            let base = if scale == 0.0 { 1.0 } else { 0.0 };
            (0..n)
                .flat_map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    let v = ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale + base;
                    half::f16::from_f32(v).to_le_bytes()
                })
                .collect()
        })
        .collect();
    let views = tensors.iter().zip(&bytes).map(|((n, shape), b)| {
        (
            format!("model.{n}"),
            TensorView::new(Dtype::F16, shape.clone(), b).unwrap(),
        )
    });
    (
        config.into_bytes(),
        safetensors::serialize(views, None).unwrap(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let source = args
        .first()
        .expect("usage: whisper_bench DIR|random:NAME [STEPS] [REPEATS]");
    let steps: usize = args.get(1).map_or(50, |s| s.parse().unwrap());
    let repeats: usize = args.get(2).map_or(3, |s| s.parse().unwrap());
    let (config, file) = match source.strip_prefix("random:") {
        Some(name) => random(name),
        None => (
            std::fs::read(format!("{source}/config.json")).unwrap(),
            std::fs::read(format!("{source}/model.safetensors")).unwrap(),
        ),
    };
    let cfg = Config::from_json(&config).unwrap();
    let t = Instant::now();
    let model = Whisper::load(Cpu, &cfg, &file).unwrap();
    let load_s = t.elapsed().as_secs_f64();
    drop(file);
    // Speech-like features in the log-mel range.
    let frames = cfg.n_frames();
    let mel: Vec<f32> = (0..cfg.num_mel_bins * frames)
        .map(|i| ((i % 977) as f32 * 0.37).sin() * 0.8 - 0.2)
        .collect();
    let mut times = Vec::new();
    let mut memory = None;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        memory = Some(model.encode(&mel, frames).unwrap());
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let memory = memory.unwrap();
    let prompt = [
        cfg.decoder_start_token_id,
        50362.min(cfg.vocab_size as u32 - 1),
        2,
    ];
    let mut state = model.start(&memory).unwrap();
    let t = Instant::now();
    model.step(&mut state, &prompt).unwrap();
    let prompt_s = t.elapsed().as_secs_f64();
    let steps = steps.min(cfg.max_target_positions - prompt.len());
    let t = Instant::now();
    for i in 0..steps {
        let id = (i as u32 * 7919 + 13) % 50000;
        model.step(&mut state, &[id]).unwrap();
    }
    let step_s = t.elapsed().as_secs_f64() / steps.max(1) as f64;
    println!(
        "{{\"model\": \"{source}\", \"threads\": {}, \"load_s\": {load_s:.3}, \
         \"encode_min_s\": {:.4}, \"encode_median_s\": {:.4}, \"prompt_3_s\": {prompt_s:.4}, \
         \"step_ms\": {:.3}, \"steps\": {steps}}}",
        rayon::current_num_threads(),
        times[0],
        times[times.len() / 2],
        step_s * 1e3
    );
}
