//! Lantern's llama family as Qwen2 (q/k/v biases) and Qwen3 (per-head q/k RMS norms) against
//! candle-transformers' `quantized_qwen2` / `quantized_qwen3` on the same GGUF file.
//!
//! No Qwen weights are on the test machines, so each test writes a small synthetic GGUF with
//! seeded random weights under the real tensor names and `qwen2.*` / `qwen3.*` metadata keys
//! (what llama.cpp's converter writes and what both loaders read): 2 layers, 4 query heads
//! sharing 2 KV heads, head_dim 32 (Qwen2, = hidden / heads) or 64 (Qwen3, whose attention
//! width 256 differs from its hidden width 128, as in Qwen3-0.6B), NEOX rotary with Qwen's
//! base 1e6, norm gains and biases far from 1 and 0 so that each one shows in the logits. The
//! file needs no tokenizer: both sides take token ids.
//!
//! Each model runs an 8-token prompt, 4 single-token decode steps and a 3-token chunk through
//! the KV cache (positions 0-14), and the logits of the last token are compared at each of
//! those 6 steps, with an untied (`output.weight`) and a tied output.
//!
//! - All tensors f32: nothing is quantized on either side, so the two must agree to rounding:
//!   max |Δlogit| < [`F32_TOL`] = 1e-3 (measured 6e-6 untied, 2e-5 tied, on logits up to ~12
//!   and ~80). This checks the structure: biases, q/k norms, NEOX rotary pairing, grouped KV
//!   heads, the KV cache, tied/untied output. It also shows that it can fail: candle on a copy
//!   of the file with one bias zeroed (Qwen2) or one q/k norm set to 1 (Qwen3) must be more
//!   than 100x the tolerance away (measured 1.1-4.8).
//! - Quantized matrices (Q4_0, Q4_1, Q8_0, and a Q4_K `ffn_down`; f32 norms and biases):
//!   within [`QUANT_TOL`] of the step's largest |logit|, and Lantern on average no farther
//!   from the same file run in f32 than candle is (see [`QUANT_TOL`] for why they differ).
//!
//! Where candle deviates from llama.cpp (the reference implementation, `llm_build_qwen2` /
//! `llm_build_qwen3`), the test compares against what llama.cpp does:
//! - `quantized_qwen3` builds its RoPE cos/sin tables in the dtype named by `general.dtype`,
//!   a key llama.cpp never writes, and defaults to **f16**: positions, inverse frequencies and
//!   their products are rounded to f16 before cos/sin. At the positions here that moves the
//!   logits by ~3e-3 (measured); past position 2048 f16 can only count in steps of 2, so odd
//!   positions get even positions' angles, and past 65504 the angles overflow. llama.cpp
//!   computes the angles in f32 (as Lantern does, in f64). The Qwen3 files here set
//!   `general.dtype = 0` so that candle's tables are f32.
//! - `quantized_qwen3` on the CPU loses the single-token decode steps from its KV cache when a
//!   multi-token chunk follows them (candle-transformers 0.11.1): a decode step writes K/V only
//!   to its `RawInterleavedKvCache`, while a chunk appends to and attends over its
//!   `InterleavedKvCache`, which holds only the earlier chunks (measured: the chunk's logits
//!   off by ~4 from candle's own one-shot run of the same sequence). The chunk step is
//!   therefore compared against a fresh candle model run on the whole sequence at once, which
//!   is what the cache must reproduce (and what llama.cpp's cache does).
//! - `quantized_qwen2` takes head_dim as `embedding_length / head_count` and ignores
//!   `qwen2.attention.key_length` (llama.cpp reads it, as Lantern does); every real
//!   Qwen2/2.5 has head_dim = hidden / heads, and so do the files here, so this does not show.

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_qwen2, quantized_qwen3};
use lantern_models::gguf::requantize;
use lantern_models::{Logits, ModelBytes, load_causal_lm};

use crate::candle_reference::{max_diff, mean_diff};

/// The prompt, the single-token decode steps and the final chunk (fed after them).
const PROMPT: &[u32] = &[17, 3, 250, 41, 99, 8, 160, 212];
const DECODE: &[u32] = &[5, 77, 291, 130];
const CHUNK: &[u32] = &[64, 2, 199];

/// f32 weights, no quantization anywhere: the two differ by f32 rounding (summation order in
/// the matmuls, softmax and norms).
const F32_TOL: f32 = 1e-3;

/// Quantized weights: max |Δlogit| between Lantern and candle, as a fraction of the step's
/// largest |logit|. Both read the same weight blocks; what differs is how each quantizes a
/// matmul's input (activations) for the integer dot products, and this tolerance covers that:
/// - for 32-wide blocks both round `x / (amax / 127)` to the same integers; Lantern keeps the
///   scale in f32, candle rounds it to f16 (Q8_0/Q8_1): ~2e-4 relative per output (measured
///   3.5e-4 on outputs up to 1.7, a 128-wide Q8_0 matrix);
/// - candle quantizes the input of every Q4_K matrix, and on x86 with VNNI of every Q8_0
///   matrix whose rows are a multiple of 256 wide, to Q8_K blocks of 256 values, so the
///   integers differ: the two are then as far from each other as each is from the f32 product
///   (measured on a 512-wide Q8_0 `ffn_down`: 1.0e-2 apart, 7e-3 each from f32).
///
/// That noise passes through 2 layers, the attention softmax and the output matrix. Measured
/// max |Δlogit|: Qwen2 0.197 (1.9e-2 of the largest logit) untied, 0.578 (7.7e-3) tied; Qwen3
/// 0.201 (2.0e-2) untied, 0.601 (7.7e-3) tied; each side is about as far from the f32 run of
/// the same blocks (mean |Δ| summed over the steps: Lantern 0.18-0.72, candle 0.21-0.80). A
/// dropped bias or q/k norm moves the logits by 0.1-0.7 of the largest logit.
const QUANT_TOL: f32 = 0.04;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arch {
    Qwen2,
    Qwen3,
}

#[derive(Debug, Clone, Copy)]
struct Spec {
    arch: Arch,
    hidden: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    ffn: usize,
    vocab: usize,
    /// No `output.weight`: the logits come from `token_embd.weight`.
    tied: bool,
    /// Quantized matrices (else every tensor is f32).
    quantized: bool,
}

const QWEN2: Spec = Spec {
    arch: Arch::Qwen2,
    hidden: 128,
    heads: 4,
    kv_heads: 2,
    head_dim: 32,
    ffn: 256,
    vocab: 300,
    tied: false,
    quantized: false,
};

const QWEN3: Spec = Spec {
    arch: Arch::Qwen3,
    hidden: 128,
    heads: 4,
    kv_heads: 2,
    head_dim: 64,
    ffn: 512,
    vocab: 300,
    tied: false,
    quantized: false,
};

/// SplitMix64: seeded, the same weights on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// A change made to one tensor's values before it is written (for the sensitivity checks).
type Edit<'a> = &'a dyn Fn(&str, &mut [f32]);

struct Builder<'a> {
    rng: Rng,
    spec: Spec,
    edit: Edit<'a>,
    tensors: Vec<(String, QTensor)>,
}

impl Builder<'_> {
    fn push(&mut self, name: String, shape: &[usize], mut values: Vec<f32>, ty: GgmlDType) {
        (self.edit)(&name, &mut values);
        let t = Tensor::from_vec(values, shape, &Device::Cpu).unwrap();
        let ty = if self.spec.quantized {
            ty
        } else {
            GgmlDType::F32
        };
        self.tensors
            .push((name, QTensor::quantize(&t, ty).unwrap()));
    }

    /// A `rows x cols` matrix (GGUF dims `[cols, rows]`), entries of standard deviation `std`.
    fn matrix(&mut self, name: String, rows: usize, cols: usize, std: f32, ty: GgmlDType) {
        let a = std * 3f32.sqrt();
        let v = (0..rows * cols).map(|_| a * self.rng.uniform()).collect();
        self.push(name, &[rows, cols], v, ty);
    }

    /// An f32 vector, uniform in `center ± spread`.
    fn vector(&mut self, name: String, n: usize, center: f32, spread: f32) {
        let v = (0..n)
            .map(|_| center + spread * self.rng.uniform())
            .collect();
        self.push(name, &[n], v, GgmlDType::F32);
    }
}

/// The GGUF file of `spec` (weights seeded by the architecture, so `edit` changes only what
/// it touches).
fn build(spec: Spec, edit: Edit) -> Vec<u8> {
    use GgmlDType::{Q4_0, Q4_1, Q4K, Q8_0};
    let Spec {
        arch,
        hidden,
        heads,
        kv_heads,
        head_dim,
        ffn,
        vocab,
        tied,
        ..
    } = spec;
    let mut b = Builder {
        rng: Rng(match arch {
            Arch::Qwen2 => 0x5157_454e_0002,
            Arch::Qwen3 => 0x5157_454e_0003,
        }),
        spec,
        edit,
        tensors: Vec::new(),
    };
    let (q_out, kv_out) = (heads * head_dim, kv_heads * head_dim);
    // Embedding rows of std 1: a tied output gives logits of std ~sqrt(hidden) ~ 11.
    b.matrix(
        "token_embd.weight".into(),
        vocab,
        hidden,
        1.0,
        if tied { Q8_0 } else { Q4_1 },
    );
    for i in 0..2 {
        let n = |s: &str| format!("blk.{i}.{s}");
        // The matrix types rotate between the layers, so each matrix role sees two types.
        let ty = |k: usize| [Q4_0, Q4_1, Q8_0][(k + i) % 3];
        let std = |cols: usize| 1.0 / (cols as f32).sqrt();
        b.vector(n("attn_norm.weight"), hidden, 1.0, 0.5);
        b.matrix(n("attn_q.weight"), q_out, hidden, std(hidden), ty(0));
        b.matrix(n("attn_k.weight"), kv_out, hidden, std(hidden), ty(1));
        b.matrix(n("attn_v.weight"), kv_out, hidden, std(hidden), ty(2));
        match arch {
            // Biases of the order of the projections themselves (whose entries have std ~1).
            Arch::Qwen2 => {
                b.vector(n("attn_q.bias"), q_out, 0.0, 1.0);
                b.vector(n("attn_k.bias"), kv_out, 0.0, 1.5);
                b.vector(n("attn_v.bias"), kv_out, 0.0, 1.0);
            }
            Arch::Qwen3 => {
                b.vector(n("attn_q_norm.weight"), head_dim, 1.0, 0.8);
                b.vector(n("attn_k_norm.weight"), head_dim, 1.0, 0.8);
            }
        }
        b.matrix(n("attn_output.weight"), hidden, q_out, std(q_out), ty(3));
        b.vector(n("ffn_norm.weight"), hidden, 1.0, 0.5);
        b.matrix(n("ffn_gate.weight"), ffn, hidden, std(hidden), ty(4));
        b.matrix(n("ffn_up.weight"), ffn, hidden, std(hidden), ty(5));
        // One k-quant (candle quantizes its input to Q8_K): `ffn_down`, whose rows are
        // `ffn` wide, a multiple of the k-quants' 256.
        let down = if i == 1 { Q4K } else { ty(6) };
        b.matrix(n("ffn_down.weight"), hidden, ffn, std(ffn), down);
    }
    b.vector("output_norm.weight".into(), hidden, 1.0, 0.5);
    if !tied {
        b.matrix("output.weight".into(), vocab, hidden, 0.3, Q8_0);
    }

    use gguf_file::Value as V;
    let a = match arch {
        Arch::Qwen2 => "qwen2",
        Arch::Qwen3 => "qwen3",
    };
    let k = |s: &str| format!("{a}.{s}");
    let mut metadata = vec![
        ("general.architecture".to_owned(), V::String(a.into())),
        (
            "general.name".to_owned(),
            V::String(format!("synthetic {a}")),
        ),
        (k("block_count"), V::U32(2)),
        (k("context_length"), V::U32(64)),
        (k("embedding_length"), V::U32(hidden as u32)),
        (k("feed_forward_length"), V::U32(ffn as u32)),
        (k("attention.head_count"), V::U32(heads as u32)),
        (k("attention.head_count_kv"), V::U32(kv_heads as u32)),
        (k("rope.freq_base"), V::F32(1_000_000.0)),
        (k("attention.layer_norm_rms_epsilon"), V::F32(1e-6)),
    ];
    if arch == Arch::Qwen3 {
        metadata.extend([
            (k("attention.key_length"), V::U32(head_dim as u32)),
            (k("attention.value_length"), V::U32(head_dim as u32)),
            // Not a llama.cpp key: makes candle's quantized_qwen3 build its RoPE tables in f32
            // (its default is f16; see the top of this file).
            ("general.dtype".to_owned(), V::U32(0)),
        ]);
    }
    let md: Vec<(&str, &V)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = b.tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut out, &md, &ts).unwrap();
    out.into_inner()
}

fn no_edit(_: &str, _: &mut [f32]) {}

enum Candle {
    Qwen2(quantized_qwen2::ModelWeights),
    Qwen3(quantized_qwen3::ModelWeights),
}

impl Candle {
    fn new(arch: Arch, bytes: &[u8]) -> Candle {
        let mut cursor = std::io::Cursor::new(bytes);
        let content = gguf_file::Content::read(&mut cursor).unwrap();
        let dev = &Device::Cpu;
        match arch {
            Arch::Qwen2 => Candle::Qwen2(
                quantized_qwen2::ModelWeights::from_gguf(content, &mut cursor, dev).unwrap(),
            ),
            Arch::Qwen3 => Candle::Qwen3(
                quantized_qwen3::ModelWeights::from_gguf(content, &mut cursor, dev).unwrap(),
            ),
        }
    }

    /// Logits of the last of `tokens`, run at positions `pos..`.
    fn forward(&mut self, tokens: &[u32], pos: usize) -> Vec<f32> {
        let input = Tensor::new(tokens, &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let out = match self {
            Candle::Qwen2(m) => m.forward(&input, pos),
            Candle::Qwen3(m) => m.forward(&input, pos),
        };
        out.unwrap().flatten_all().unwrap().to_vec1().unwrap()
    }
}

/// The whole token sequence: the prompt, the decode steps, the chunk.
fn sequence() -> Vec<u32> {
    [PROMPT, DECODE, CHUNK].concat()
}

/// The token chunks of a run, each with its start position.
fn steps() -> Vec<(usize, &'static [u32])> {
    let mut out = vec![(0, PROMPT)];
    for (i, t) in DECODE.iter().enumerate() {
        out.push((PROMPT.len() + i, std::slice::from_ref(t)));
    }
    out.push((PROMPT.len() + DECODE.len(), CHUNK));
    out
}

/// Lantern's logits on the file `ours` and candle's on `theirs`, step by step.
fn run(arch: Arch, ours: &[u8], theirs: &[u8]) -> Vec<(Vec<f32>, Vec<f32>)> {
    let mut lantern = load_causal_lm(ModelBytes::new(ours.to_vec())).unwrap();
    let mut candle = Candle::new(arch, theirs);
    steps()
        .into_iter()
        .map(|(pos, tokens)| {
            let mine = lantern.forward(tokens, pos, Logits::Last).unwrap();
            let cand = if arch == Arch::Qwen3 && pos > 0 && tokens.len() > 1 {
                // candle's quantized_qwen3 loses the decode steps here (see the top of the
                // file): its answer is a fresh model's on the whole sequence at once.
                Candle::new(arch, theirs).forward(&sequence()[..pos + tokens.len()], 0)
            } else {
                candle.forward(tokens, pos)
            };
            assert_eq!(mine.len(), cand.len());
            (mine, cand)
        })
        .collect()
}

/// Lantern's logits on `bytes`, step by step.
fn run_lantern(bytes: Vec<u8>) -> Vec<Vec<f32>> {
    let mut lantern = load_causal_lm(ModelBytes::new(bytes)).unwrap();
    steps()
        .into_iter()
        .map(|(pos, tokens)| lantern.forward(tokens, pos, Logits::Last).unwrap())
        .collect()
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0f32, |m, x| m.max(x.abs()))
}

/// f32 weights: Lantern and candle agree to rounding, tied and untied; and candle on a file
/// with one of `edits` applied is far outside that tolerance, so a model that got the edited
/// tensor wrong (ignored it, or applied it at the wrong place) would fail.
fn f32_matches(spec: Spec, edits: &[(&str, Edit)]) {
    for tied in [false, true] {
        let spec = Spec { tied, ..spec };
        let bytes = build(spec, &no_edit);
        let name = format!("{:?} f32 tied={tied}", spec.arch);
        let mut worst = 0f32;
        for (i, (mine, cand)) in run(spec.arch, &bytes, &bytes).iter().enumerate() {
            let d = max_diff(mine, cand);
            eprintln!(
                "{name} step {i}: max |Δlogit| {d:.2e} (|logit| up to {:.1})",
                max_abs(cand)
            );
            assert!(d < F32_TOL, "{name} step {i}: max |Δlogit| {d}");
            worst = worst.max(d);
        }
        eprintln!("{name}: worst max |Δlogit| {worst:.2e} (tolerance {F32_TOL:e})");
    }
    let bytes = build(spec, &no_edit);
    for (what, edit) in edits {
        let wrong = build(spec, *edit);
        assert_ne!(bytes, wrong, "{what}: the edit changed nothing");
        let d = run(spec.arch, &bytes, &wrong)
            .iter()
            .map(|(mine, cand)| max_diff(mine, cand))
            .fold(0f32, f32::max);
        eprintln!(
            "{:?} f32, candle with {what}: max |Δlogit| {d:.3}",
            spec.arch
        );
        assert!(
            d > 100.0 * F32_TOL,
            "{what}: only {d} from the right model, the comparison could not see it"
        );
    }
}

/// Quantized weights, tied and untied: max |Δlogit| between Lantern and candle within
/// [`QUANT_TOL`] of the step's largest |logit|, and Lantern on average no farther from the
/// file's weights run in f32 than candle is.
fn quantized_matches(spec: Spec) {
    for tied in [false, true] {
        let spec = Spec {
            tied,
            quantized: true,
            ..spec
        };
        let bytes = build(spec, &no_edit);
        let name = format!("{:?} quantized tied={tied}", spec.arch);
        let exact = run_lantern(requantize(&bytes, &[], |_| Some(GgmlDType::F32)).unwrap());
        let (mut worst, mut worst_rel, mut mine_total, mut cand_total) = (0f32, 0f32, 0f32, 0f32);
        let runs = run(spec.arch, &bytes, &bytes);
        for (i, ((mine, cand), exact)) in runs.iter().zip(&exact).enumerate() {
            let d = max_diff(mine, cand);
            let rel = d / max_abs(cand);
            let (mine_err, cand_err) = (mean_diff(mine, exact), mean_diff(cand, exact));
            eprintln!(
                "{name} step {i}: max |Δlogit| {d:.3} (|logit| up to {:.1}, relative {rel:.2e}); mean |Δ| to f32: lantern {mine_err:.4}, candle {cand_err:.4}",
                max_abs(cand)
            );
            assert!(
                rel < QUANT_TOL,
                "{name} step {i}: max |Δlogit| {d} is {rel} of the largest logit"
            );
            worst = worst.max(d);
            worst_rel = worst_rel.max(rel);
            mine_total += mine_err;
            cand_total += cand_err;
        }
        eprintln!(
            "{name}: worst max |Δlogit| {worst:.3}, relative {worst_rel:.2e} (tolerance {QUANT_TOL}); mean |Δ| to f32 over all steps: lantern {mine_total:.3}, candle {cand_total:.3}"
        );
        assert!(
            mine_total <= 1.25 * cand_total,
            "{name}: lantern {mine_total} vs candle {cand_total} from f32"
        );
    }
}

/// Sets the named tensor of layer 1 (the last) to `value`.
fn set(tensor: &'static str, value: f32) -> impl Fn(&str, &mut [f32]) {
    move |name: &str, v: &mut [f32]| {
        if name == format!("blk.1.{tensor}") {
            v.fill(value);
        }
    }
}

#[test]
fn qwen2_f32_matches_candle_quantized_qwen2() {
    f32_matches(
        QWEN2,
        &[
            ("no q bias", &set("attn_q.bias", 0.0)),
            ("no k bias", &set("attn_k.bias", 0.0)),
            ("no v bias", &set("attn_v.bias", 0.0)),
        ],
    );
}

#[test]
fn qwen3_f32_matches_candle_quantized_qwen3() {
    f32_matches(
        QWEN3,
        &[
            ("unit q norm", &set("attn_q_norm.weight", 1.0)),
            ("unit k norm", &set("attn_k_norm.weight", 1.0)),
        ],
    );
}

#[test]
fn qwen2_quantized_matches_candle_quantized_qwen2() {
    quantized_matches(QWEN2);
}

#[test]
fn qwen3_quantized_matches_candle_quantized_qwen3() {
    quantized_matches(QWEN3);
}
