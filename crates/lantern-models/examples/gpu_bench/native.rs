//! The benchmark itself (native only: it opens the GPU through Vulkan/Metal/D3D12 and blocks on
//! readbacks).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use candle_core::Device;
use candle_core::quantized::{GgmlDType, ggml_file::qtensor_from_ggml, gguf_file};
use lantern_models::gguf::GgufFile;
use lantern_models::llama::Model;
use lantern_models::ops::gpu::{Gpu, lantern_gpu};
use lantern_models::{CausalLm, Logits, ModelBytes};

struct Args {
    model: Option<String>,
    synthetic: Option<Shape>,
    prompt: usize,
    decode: usize,
    precision: Option<lantern_gpu::Precision>,
    bandwidth_gbs: Option<f64>,
}

fn args() -> Args {
    let mut a = Args {
        model: None,
        synthetic: None,
        prompt: 128,
        decode: 128,
        precision: None,
        bandwidth_gbs: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--model" => a.model = Some(v()),
            "--synthetic" => {
                a.synthetic = Some(match v().as_str() {
                    "llama-1b" => LLAMA_1B,
                    "smollm2-135m" => SMOLLM2_135M,
                    other => panic!("unknown shape {other} (llama-1b, smollm2-135m)"),
                })
            }
            "--prompt" => a.prompt = v().parse().expect("--prompt N"),
            "--decode" => a.decode = v().parse().expect("--decode N"),
            "--precision" => {
                a.precision = match v().as_str() {
                    "f32" => Some(lantern_gpu::Precision::F32),
                    "f16" => Some(lantern_gpu::Precision::F16),
                    _ => None,
                }
            }
            "--bandwidth-gbs" => a.bandwidth_gbs = Some(v().parse().expect("--bandwidth-gbs GB/s")),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        a.model.is_some() != a.synthetic.is_some(),
        "give --model FILE or --synthetic SHAPE"
    );
    a
}

/// xorshift64*: reproducible random bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// The dimensions of a llama-family model.
#[derive(Debug, Clone, Copy)]
struct Shape {
    name: &'static str,
    layers: usize,
    hidden: usize,
    ffn: usize,
    heads: usize,
    kv_heads: usize,
    vocab: usize,
}

/// Llama-3.2-1B: 1.24 B parameters, the output tied to the embedding table.
const LLAMA_1B: Shape = Shape {
    name: "synthetic-llama-3.2-1b-q4_0",
    layers: 16,
    hidden: 2048,
    ffn: 8192,
    heads: 32,
    kv_heads: 8,
    vocab: 128_256,
};
/// SmolLM2-135M, for machines without the fixture file (a GPU machine cannot download it).
const SMOLLM2_135M: Shape = Shape {
    name: "synthetic-smollm2-135m-q4_0",
    layers: 30,
    hidden: 576,
    ffn: 1536,
    heads: 9,
    kv_heads: 3,
    vocab: 49_152,
};

/// A GGUF file of `shape` with random Q4_0 matrices and unit norms.
fn synthetic(shape: Shape) -> Vec<u8> {
    let Shape {
        layers,
        hidden,
        ffn,
        heads,
        kv_heads,
        vocab,
        name,
    } = shape;
    let head_dim = hidden / heads;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let q4_0 = |rng: &mut Rng, rows: usize, cols: usize| {
        let mut raw = vec![0u8; rows * cols / 32 * 18];
        rng.fill(&mut raw);
        // Scale of each block: f16 0.0044 (0x1c83), so weights have a std of about 0.02 and the
        // activations stay finite through the layers.
        for block in raw.chunks_exact_mut(18) {
            block[..2].copy_from_slice(&[0x83, 0x1c]);
        }
        qtensor_from_ggml(GgmlDType::Q4_0, &raw, vec![rows, cols], &Device::Cpu).unwrap()
    };
    let ones = |n: usize| {
        let raw: Vec<u8> = (0..n).flat_map(|_| 1f32.to_le_bytes()).collect();
        qtensor_from_ggml(GgmlDType::F32, &raw, vec![n], &Device::Cpu).unwrap()
    };
    let mut tensors = vec![
        (
            "token_embd.weight".to_owned(),
            q4_0(&mut rng, vocab, hidden),
        ),
        ("output_norm.weight".to_owned(), ones(hidden)),
    ];
    for i in 0..layers {
        let n = |s: &str| format!("blk.{i}.{s}");
        tensors.push((n("attn_norm.weight"), ones(hidden)));
        tensors.push((n("attn_q.weight"), q4_0(&mut rng, heads * head_dim, hidden)));
        tensors.push((
            n("attn_k.weight"),
            q4_0(&mut rng, kv_heads * head_dim, hidden),
        ));
        tensors.push((
            n("attn_v.weight"),
            q4_0(&mut rng, kv_heads * head_dim, hidden),
        ));
        tensors.push((
            n("attn_output.weight"),
            q4_0(&mut rng, hidden, heads * head_dim),
        ));
        tensors.push((n("ffn_norm.weight"), ones(hidden)));
        tensors.push((n("ffn_gate.weight"), q4_0(&mut rng, ffn, hidden)));
        tensors.push((n("ffn_up.weight"), q4_0(&mut rng, ffn, hidden)));
        tensors.push((n("ffn_down.weight"), q4_0(&mut rng, hidden, ffn)));
    }
    use gguf_file::Value as V;
    let metadata = [
        ("general.architecture", V::String("llama".into())),
        ("general.name", V::String(name.into())),
        ("llama.block_count", V::U32(layers as u32)),
        ("llama.embedding_length", V::U32(hidden as u32)),
        ("llama.feed_forward_length", V::U32(ffn as u32)),
        ("llama.attention.head_count", V::U32(heads as u32)),
        ("llama.attention.head_count_kv", V::U32(kv_heads as u32)),
        ("llama.context_length", V::U32(8192)),
        ("llama.attention.layer_norm_rms_epsilon", V::F32(1e-5)),
        ("llama.rope.freq_base", V::F32(500_000.0)),
        ("llama.rope.dimension_count", V::U32(head_dim as u32)),
        ("llama.vocab_size", V::U32(vocab as u32)),
    ];
    let md: Vec<(&str, &V)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let ts: Vec<(&str, &candle_core::quantized::QTensor)> =
        tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut out, &md, &ts).unwrap();
    out.into_inner()
}

/// Bytes one decode step reads: every layer matrix and the output head (the embedding table
/// when tied); the lookup of one embedding row is negligible.
fn decode_bytes(bytes: &[u8]) -> u64 {
    let file = GgufFile::parse(bytes).unwrap();
    let tied = file.tensor("output.weight").is_none();
    file.tensors
        .iter()
        .filter(|t| t.dims.len() == 2 && (t.name != "token_embd.weight" || tied))
        .map(|t| t.len as u64)
        .sum()
}

/// Bandwidth the device reaches through our own kernels: element-wise adds of 64 MB tensors
/// (two reads and a write per value), timed from submission to the readback of one value.
fn measure_bandwidth(gpu: &lantern_gpu::Gpu) -> f64 {
    let n = 16 << 20;
    let a = gpu.tensor(&vec![1.0; n], 1, n).unwrap();
    let b = gpu.tensor(&vec![2.0; n], 1, n).unwrap();
    let sync = |t: &lantern_gpu::GpuTensor| {
        pollster::block_on(gpu.read(&gpu.rows(t, 0, 1).unwrap())).unwrap()
    };
    sync(&gpu.add(&a, &b).unwrap());
    let reps = 8;
    let t = Instant::now();
    let mut last = None;
    for _ in 0..reps {
        last = Some(gpu.add(&a, &b).unwrap());
    }
    sync(&last.unwrap());
    (reps * 3 * n * 4) as f64 / t.elapsed().as_secs_f64() / 1e9
}

fn argmax(v: &[f32]) -> u32 {
    v.iter()
        .enumerate()
        .fold(0, |b, (i, &x)| if x > v[b] { i } else { b }) as u32
}

pub fn main() {
    let a = args();
    let (name, bytes) = match (&a.model, a.synthetic) {
        (Some(path), _) => (path.clone(), std::fs::read(path).unwrap()),
        (None, Some(shape)) => {
            let t = Instant::now();
            let b = synthetic(shape);
            eprintln!(
                "{}: {} MB in {:.1} s",
                shape.name,
                b.len() >> 20,
                t.elapsed().as_secs_f64()
            );
            (shape.name.to_owned(), b)
        }
        (None, None) => unreachable!("checked in args()"),
    };
    let read_per_token = decode_bytes(&bytes);
    let options = lantern_gpu::GpuOptions {
        precision: a.precision,
        ..Default::default()
    };
    let device = pollster::block_on(lantern_gpu::Gpu::new(options)).expect("no GPU adapter");
    let report = device.report().clone();
    eprintln!(
        "adapter: {} ({}, {:?}), shader-f16 {}",
        report.name, report.backend, report.kind, report.shader_f16
    );
    let precision = device.precision();
    let measured_gbs = measure_bandwidth(&device);
    device.trim();
    let t = Instant::now();
    let mut model = Model::load(Gpu::new(device), ModelBytes::new(bytes)).unwrap();
    let load_s = t.elapsed().as_secs_f64();

    // Prompt tokens: any ids of the vocabulary (the speed does not depend on them).
    let vocab = model.vocab_size() as u32;
    let prompt: Vec<u32> = (0..a.prompt as u32)
        .map(|i| (i * 7919 + 1) % vocab)
        .collect();
    // Warm-up: compiles every kernel and fills the buffer pool.
    let logits = model.forward(&prompt, 0, Logits::Last).unwrap();
    model
        .forward(&[argmax(&logits)], prompt.len(), Logits::Last)
        .unwrap();
    model.clear_cache();

    let t = Instant::now();
    let logits = model.forward(&prompt, 0, Logits::Last).unwrap();
    let prefill_s = t.elapsed().as_secs_f64();
    assert!(logits.iter().all(|v| v.is_finite()), "non-finite logits");
    let mut next = argmax(&logits);
    let t = Instant::now();
    for step in 0..a.decode {
        let logits = model
            .forward(&[next], prompt.len() + step, Logits::Last)
            .unwrap();
        next = argmax(&logits);
    }
    let decode_s = t.elapsed().as_secs_f64();
    let decode_tok_s = a.decode as f64 / decode_s;
    // The same steps with the argmax taken on the GPU: 4 bytes come back instead of the logits
    // (the worker's greedy path). The difference is the cost of reading the logits per token.
    let at = prompt.len() + a.decode;
    let t = Instant::now();
    for step in 0..a.decode {
        next = pollster::block_on(model.forward_argmax_async(&[next], at + step)).unwrap();
    }
    let argmax_tok_s = a.decode as f64 / t.elapsed().as_secs_f64();
    // The bound from the GPU's nominal bandwidth when given, else from what our own element-wise
    // kernel reached.
    let bound = a.bandwidth_gbs.unwrap_or(measured_gbs) * 1e9 / read_per_token as f64;
    let json = format!(
        "{{\"model\":\"{name}\",\"adapter\":\"{}\",\"backend\":\"{}\",\"precision\":\"{precision:?}\",\"load_s\":{load_s:.2},\
         \"decode_bytes_per_token\":{read_per_token},\"prefill_tokens\":{},\"prefill_tok_s\":{:.1},\"decode_tokens\":{},\
         \"decode_tok_s\":{decode_tok_s:.2},\"decode_gpu_argmax_tok_s\":{argmax_tok_s:.2},\"nominal_bandwidth_gbs\":{},\"measured_bandwidth_gbs\":{measured_gbs:.1},\
         \"decode_bound_tok_s\":{bound:.1},\"fraction_of_bound\":{:.3}}}",
        report.name.replace('"', "'"),
        report.backend,
        a.prompt,
        a.prompt as f64 / prefill_s,
        a.decode,
        a.bandwidth_gbs
            .map_or("null".to_owned(), |b| format!("{b:.0}")),
        decode_tok_s / bound,
    );
    println!("{json}");
}
