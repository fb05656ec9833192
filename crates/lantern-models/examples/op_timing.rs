//! Where a decode step's time goes, per op class, on the CPU backend (native, or wasm32-wasip1
//! under Node for the simd128 kernels): the real matrices of a GGUF file with one token, and
//! attention over a cache of P positions with the model's head shape.
//!
//! `op_timing MODEL.gguf [POSITIONS] [REPEATS]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use lantern_models::gguf::GgufFile;
use lantern_models::ops::cpu::Cpu;
use lantern_models::ops::{AttentionShape, Backend};
use lantern_models::{GgufWeights, ModelBytes};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).unwrap();
    let positions: usize = args.get(2).map_or(192, |a| a.parse().unwrap());
    let repeats: usize = args.get(3).map_or(5, |a| a.parse().unwrap());
    let file = GgufFile::parse(&bytes).unwrap();
    let shapes: Vec<(String, usize, usize)> = file
        .tensors
        .iter()
        .filter(|t| t.dims.len() == 2)
        .map(|t| {
            let (r, c) = t.matrix_shape();
            (t.name.clone(), r, c)
        })
        .collect();
    let md = &file.metadata;
    let heads = md.usize("llama.attention.head_count").unwrap();
    let kv_heads = md.usize("llama.attention.head_count_kv").unwrap();
    let hidden = md.usize("llama.embedding_length").unwrap();
    let layers = md.usize("llama.block_count").unwrap();
    let head_dim = hidden / heads;
    let w = GgufWeights::load(&Cpu, ModelBytes::new(bytes)).unwrap();
    let mut by_class: Vec<(String, f64)> = Vec::new();
    let mut add = |class: &str, s: f64| match by_class.iter_mut().find(|(c, _)| c == class) {
        Some((_, t)) => *t += s,
        None => by_class.push((class.to_owned(), s)),
    };
    for (name, rows, cols) in &shapes {
        let m = w.matrix(&Cpu, name, *rows, *cols).unwrap();
        let x = Cpu.tensor(vec![0.5f32; *cols], 1, *cols).unwrap();
        let class = name.split('.').rev().nth(1).unwrap_or(name).to_owned();
        // The embedding table is the (tied) output matrix.
        let class = if class == "token_embd" {
            "output".into()
        } else {
            class
        };
        Cpu.matmul(&x, &m).unwrap();
        // The fastest of the repeats: other jobs share the cores, and the minimum is what
        // the code costs when it has a core to itself.
        let mut best = f64::INFINITY;
        for _ in 0..repeats {
            let t0 = Instant::now();
            std::hint::black_box(Cpu.matmul(&x, &m).unwrap());
            best = best.min(t0.elapsed().as_secs_f64());
        }
        add(&format!("matmul {class} {:?}", m.dtype()), best);
    }
    let q = Cpu
        .tensor(vec![0.1f32; heads * head_dim], 1, heads * head_dim)
        .unwrap();
    let kv: Vec<f32> = (0..positions * kv_heads * head_dim)
        .map(|i| (i % 17) as f32 * 0.01)
        .collect();
    let k = Cpu
        .tensor(kv.clone(), positions, kv_heads * head_dim)
        .unwrap();
    let one = Cpu
        .tensor(vec![0.1f32; kv_heads * head_dim], 1, kv_heads * head_dim)
        .unwrap();
    let mut cache = Cpu.kv_cache(kv_heads, head_dim).unwrap();
    let qp = Cpu
        .tensor(
            vec![0.1f32; positions * heads * head_dim],
            positions,
            heads * head_dim,
        )
        .unwrap();
    let shape = |start_pos| AttentionShape {
        heads,
        kv_heads,
        head_dim,
        start_pos,
        causal: true,
    };
    Cpu.attention(&qp, &k, &k, &mut cache, shape(0)).unwrap();
    let mut best = f64::INFINITY;
    for _ in 0..repeats * layers {
        let t0 = Instant::now();
        std::hint::black_box(
            Cpu.attention(&q, &one, &one, &mut cache, shape(positions))
                .unwrap(),
        );
        best = best.min(t0.elapsed().as_secs_f64());
    }
    add(
        &format!("attention x{layers} at {positions}"),
        best * layers as f64,
    );
    let total: f64 = by_class.iter().map(|(_, t)| t).sum();
    for (c, t) in &by_class {
        println!("{:>8.3} ms {:>5.1}%  {c}", t * 1e3, 100.0 * t / total);
    }
    println!(
        "{:>8.3} ms  total per decode step ({:.1} tok/s)",
        total * 1e3,
        1.0 / total
    );
}
