//! The kernel checks, each against a CPU reference on real weights. Every check is an async
//! function of the shared context, run by `tests/kernels.rs` on lavapipe and by `tests/web.rs`
//! on SwiftShader in headless Chromium.

use lantern_gpu::{
    AttentionShape, Gpu, GpuError, GpuOptions, MATVEC_MAX_TOKENS, Precision, RopeStyle, Sampling,
    WeightType, Window2d,
};

use super::fixture::{BERT_IDS, Fixture, Matrix, SMOL_IDS, Source, VOCAB_SLICE};
use super::reference as r;
use super::{measured, tol};

/// Real activations derived on the CPU (f64, rounded to f32) from the fixture weights.
#[derive(Debug)]
pub struct Derived {
    /// Pre-attention hidden states of `SMOL_IDS`: rms_norm(embedding) · attn_norm, `[9, 576]`.
    pub h: Vec<f32>,
    /// The same for `LONG` token ids, `[LONG, 576]`.
    pub h_long: Vec<f32>,
    /// Projections of `h`.
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    pub gate: Vec<f32>,
    pub up: Vec<f32>,
    /// silu(gate) * up: the input of ffn_down.
    pub ffn: Vec<f32>,
    /// BERT: word + position + token type embeddings, their layer norm, and its projections.
    pub bert_x: Vec<f32>,
    pub bert_ln: Vec<f32>,
    pub bert_q: Vec<f32>,
    pub bert_k: Vec<f32>,
    pub bert_v: Vec<f32>,
    /// Intermediate dense of `bert_ln` with its bias (the input of GELU).
    pub bert_pre: Vec<f32>,
}

/// Token rows of the longer matrix-product test: two 32-token tiles, the second almost empty.
pub const LONG: usize = 33;

pub struct Ctx {
    pub gpu: Gpu,
    pub fx: Fixture,
    pub d: Derived,
}

fn project(x: &[f32], n: usize, w: &Matrix, bias: Option<&[f32]>) -> Vec<f32> {
    let (y, _) = r::matmul(x, n, &w.values, w.rows, w.cols);
    y.iter()
        .enumerate()
        .map(|(i, &v)| (v + bias.map_or(0.0, |b| f64::from(b[i % w.rows]))) as f32)
        .collect()
}

fn embed(table: &Matrix, ids: impl IntoIterator<Item = u32>) -> Vec<f32> {
    ids.into_iter()
        .flat_map(|id| table.row(id as usize).to_vec())
        .collect()
}

pub fn long_ids() -> impl Iterator<Item = u32> {
    (0..LONG as u32).map(|i| (i * 997 + 13) % VOCAB_SLICE as u32)
}

impl Ctx {
    pub async fn new(src: &impl Source) -> Ctx {
        let gpu = Gpu::new(GpuOptions { precision: Some(Precision::F32), ..GpuOptions::default() })
            .await
            .expect("no GPU adapter (lavapipe natively: source scripts/env.sh; Chromium: --enable-unsafe-webgpu)");
        let fx = Fixture::load(src).await;
        let s = &fx.smol;
        let n = SMOL_IDS.len();
        let hidden = s.embd.cols;
        let h = r::to_f32(&r::rms_norm(
            &embed(&s.embd, SMOL_IDS),
            hidden,
            &s.attn_norm,
            s.eps,
        ));
        let h_long = r::to_f32(&r::rms_norm(
            &embed(&s.embd, long_ids()),
            hidden,
            &s.attn_norm,
            s.eps,
        ));
        let gate = project(&h, n, &s.gate, None);
        let up = project(&h, n, &s.up, None);
        let ffn = gate
            .iter()
            .zip(&up)
            .map(|(&g, &u)| (r::silu(f64::from(g)) * f64::from(u)) as f32)
            .collect();
        let b = &fx.bert;
        let m = BERT_IDS.len();
        let dim = b.ln_w.len();
        let bert_x: Vec<f32> = (0..m * dim)
            .map(|i| b.word[i] + b.pos[i] + b.token_type[i % dim])
            .collect();
        let bert_ln = r::to_f32(&r::layer_norm(&bert_x, dim, &b.ln_w, Some(&b.ln_b), b.eps));
        let d = Derived {
            q: project(&h, n, &s.q, None),
            k: project(&h, n, &s.k, None),
            v: project(&h, n, &s.v, None),
            gate,
            up,
            ffn,
            h,
            h_long,
            bert_q: project(&bert_ln, m, &b.q, Some(&b.q_b)),
            bert_k: project(&bert_ln, m, &b.k, Some(&b.k_b)),
            bert_v: project(&bert_ln, m, &b.v, Some(&b.v_b)),
            bert_pre: project(&bert_ln, m, &b.inter, Some(&b.inter_b)),
            bert_x,
            bert_ln,
        };
        Ctx { gpu, fx, d }
    }

    /// The context's device at every precision it supports.
    pub fn precisions(&self) -> Vec<Gpu> {
        let mut v = vec![self.gpu.clone()];
        if self.gpu.report().shader_f16 {
            v.push(self.gpu.with_precision(Precision::F16).unwrap());
        }
        v
    }
}

fn matmul_tol(p: Precision) -> f64 {
    match p {
        Precision::F32 => tol::MATMUL_F32,
        Precision::F16 => tol::MATMUL_F16,
    }
}

pub async fn probe_reports_the_adapter(c: &Ctx) {
    let rep = c.gpu.report();
    crate::log(&format!(
        "adapter: {} ({}, {:?}), shader-f16 {}, subgroups {} {:?}, max binding {} MiB",
        rep.name,
        rep.backend,
        rep.kind,
        rep.shader_f16,
        rep.subgroups,
        rep.subgroup_sizes,
        rep.limits.max_storage_buffer_binding_size >> 20
    ));
    assert!(rep.limits.check_kernels().is_ok());
    let probed = lantern_gpu::probe().await.unwrap();
    assert_eq!(probed.name, rep.name);
}

/// Matrix-vector (decode) and tiled (prefill) products for every weight type, on SmolLM2's
/// ffn_gate (1536x576, 18 blocks of 32 per row) and ffn_down (576x1536, 6 super-blocks of 256),
/// at every precision the device has.
pub async fn matmul_every_type(c: &Ctx) {
    let s = &c.fx.smol;
    let d = &c.d;
    for ty in WeightType::ALL {
        // (matrix, input rows, token counts): K-quants need 256 columns per block, so ffn_gate's
        // 576 columns exist only in the 32-wide formats.
        let mut cases = vec![(s.down.convert(ty), &d.ffn, vec![1, SMOL_IDS.len()])];
        if ty.block_weights() <= 32 {
            cases.push((
                s.gate.convert(ty),
                &d.h_long,
                vec![1, MATVEC_MAX_TOKENS, LONG],
            ));
        }
        for (w, x, counts) in cases {
            let max_n = *counts.iter().max().unwrap();
            let (y, scale) = r::matmul(&x[..max_n * w.cols], max_n, &w.values, w.rows, w.cols);
            for gpu in c.precisions() {
                let gw = gpu.weight(&w.name, w.ty, w.rows, w.cols, &w.bytes).unwrap();
                for &n in &counts {
                    let gx = gpu.tensor(&x[..n * w.cols], n, w.cols).unwrap();
                    let out = gpu.read(&gpu.matmul(&gx, &gw).unwrap()).await.unwrap();
                    let k = n * w.rows;
                    let path = if n > MATVEC_MAX_TOKENS {
                        "tiled"
                    } else {
                        "matvec"
                    };
                    let what = format!(
                        "matmul {ty:?} weights, {:?} math, {}x{} {path} n={n}",
                        gpu.precision(),
                        w.rows,
                        w.cols
                    );
                    measured(
                        &what,
                        r::dot_error(&out, &y[..k], &scale[..k]),
                        matmul_tol(gpu.precision()),
                    );
                }
            }
        }
    }
}

/// The real Q8_0 embedding table of SmolLM2, and a lookup in every type.
pub async fn embedding_every_type(c: &Ctx) {
    let g = &c.gpu;
    let s = &c.fx.smol;
    let table = g
        .weight(
            "token_embd",
            s.embd.ty,
            s.embd.rows,
            s.embd.cols,
            &s.embd.bytes,
        )
        .unwrap();
    let out = g
        .read(&g.embedding_of(&table, &SMOL_IDS).unwrap())
        .await
        .unwrap();
    let expected = r::to_f64(&embed(&s.embd, SMOL_IDS));
    measured(
        "embedding Q8_0 (real token_embd)",
        r::rel_error(&out, &expected),
        tol::DEQUANT,
    );
    let ids = [0u32, 1535, 17, 700, 17];
    for ty in WeightType::ALL {
        let w = if ty.block_weights() > 32 {
            s.down.convert(ty)
        } else {
            s.gate.convert(ty)
        };
        let ids: Vec<u32> = ids.iter().map(|&i| i % w.rows as u32).collect();
        let t = g.weight(&w.name, w.ty, w.rows, w.cols, &w.bytes).unwrap();
        let out = g.read(&g.embedding_of(&t, &ids).unwrap()).await.unwrap();
        measured(
            &format!("embedding {ty:?}"),
            r::rel_error(&out, &r::to_f64(&embed(&w, ids))),
            tol::DEQUANT,
        );
    }
    assert!(matches!(
        g.embedding_of(&table, &[VOCAB_SLICE as u32]),
        Err(GpuError::Shape { .. })
    ));
}

/// A matrix split over many buffers (as an embedding table beyond the binding limit would be)
/// gives exactly the single-buffer results.
pub async fn split_weights_match_whole(c: &Ctx) {
    let s = &c.fx.smol;
    let split = Gpu::new(GpuOptions {
        precision: Some(Precision::F32),
        max_weight_part_bytes: Some(256 << 10),
        ..GpuOptions::default()
    })
    .await
    .unwrap();
    let e = &s.embd;
    let whole_w = c
        .gpu
        .weight("token_embd", e.ty, e.rows, e.cols, &e.bytes)
        .unwrap();
    let split_w = split
        .weight("token_embd", e.ty, e.rows, e.cols, &e.bytes)
        .unwrap();
    assert_eq!(whole_w.parts(), 1);
    assert!(split_w.parts() > 10, "{} parts", split_w.parts());
    for n in [1, SMOL_IDS.len()] {
        let x = &c.d.h[..n * e.cols];
        let a = c
            .gpu
            .read(
                &c.gpu
                    .matmul(&c.gpu.tensor(x, n, e.cols).unwrap(), &whole_w)
                    .unwrap(),
            )
            .await
            .unwrap();
        let b = split
            .read(
                &split
                    .matmul(&split.tensor(x, n, e.cols).unwrap(), &split_w)
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(a, b, "n={n}");
        let (y, scale) = r::matmul(x, n, &e.values, e.rows, e.cols);
        measured(
            &format!("logits over {} parts n={n}", split_w.parts()),
            r::dot_error(&b, &y, &scale),
            tol::MATMUL_F32,
        );
    }
    let ids = [0u32, 8191, 4096, 1];
    let a = c
        .gpu
        .read(&c.gpu.embedding_of(&whole_w, &ids).unwrap())
        .await
        .unwrap();
    let b = split
        .read(&split.embedding_of(&split_w, &ids).unwrap())
        .await
        .unwrap();
    assert_eq!(a, b);
}

pub async fn rms_norm_real(c: &Ctx) {
    let g = &c.gpu;
    let s = &c.fx.smol;
    let x = embed(&s.embd, SMOL_IDS);
    let n = SMOL_IDS.len();
    let gain = g.tensor(&s.attn_norm, 1, s.attn_norm.len()).unwrap();
    let out = g
        .read(
            &g.rms_norm(&g.tensor(&x, n, s.embd.cols).unwrap(), &gain, s.eps)
                .unwrap(),
        )
        .await
        .unwrap();
    measured(
        "rms_norm",
        r::rel_error(&out, &r::rms_norm(&x, s.embd.cols, &s.attn_norm, s.eps)),
        tol::ROW_F32,
    );
    // Per-head norm of the real q projection, with a real gain vector of one head's length.
    let hd = s.head_dim;
    let head_gain = g.tensor(&s.ffn_norm[..hd], 1, hd).unwrap();
    let q = g.tensor(&c.d.q, n, s.q.rows).unwrap();
    let out = g
        .read(&g.rms_norm_heads(&q, &head_gain, hd, s.eps).unwrap())
        .await
        .unwrap();
    measured(
        "rms_norm_heads",
        r::rel_error(&out, &r::rms_norm(&c.d.q, hd, &s.ffn_norm[..hd], s.eps)),
        tol::ROW_F32,
    );
}

pub async fn layer_norm_real(c: &Ctx) {
    let g = &c.gpu;
    let b = &c.fx.bert;
    let dim = b.ln_w.len();
    let n = BERT_IDS.len();
    let x = g.tensor(&c.d.bert_x, n, dim).unwrap();
    let w = g.tensor(&b.ln_w, 1, dim).unwrap();
    let bias = g.tensor(&b.ln_b, 1, dim).unwrap();
    let out = g
        .read(&g.layer_norm(&x, &w, Some(&bias), b.eps).unwrap())
        .await
        .unwrap();
    measured(
        "layer_norm",
        r::rel_error(
            &out,
            &r::layer_norm(&c.d.bert_x, dim, &b.ln_w, Some(&b.ln_b), b.eps),
        ),
        tol::ROW_F32,
    );
    let out = g
        .read(&g.layer_norm(&x, &w, None, b.eps).unwrap())
        .await
        .unwrap();
    measured(
        "layer_norm without bias",
        r::rel_error(&out, &r::layer_norm(&c.d.bert_x, dim, &b.ln_w, None, b.eps)),
        tol::ROW_F32,
    );
}

/// BERT's feed-forward input on real F32 weights: dense + bias, then GELU (both forms).
pub async fn bert_dense_and_gelu(c: &Ctx) {
    let b = &c.fx.bert;
    let n = BERT_IDS.len();
    let w = &b.inter;
    let (y, scale) = r::matmul(&c.d.bert_ln, n, &w.values, w.rows, w.cols);
    for g in c.precisions() {
        let gw = g.weight(&w.name, w.ty, w.rows, w.cols, &w.bytes).unwrap();
        let x = g.tensor(&c.d.bert_ln, n, w.cols).unwrap();
        let out = g.read(&g.matmul(&x, &gw).unwrap()).await.unwrap();
        let what = format!(
            "matmul F32 weights, {:?} math, {}x{} (BERT intermediate) n={n}",
            g.precision(),
            w.rows,
            w.cols
        );
        measured(
            &what,
            r::dot_error(&out, &y, &scale),
            matmul_tol(g.precision()),
        );
    }
    let g = &c.gpu;
    let pre = r::to_f32(&y);
    let bias = g.tensor(&b.inter_b, 1, w.rows).unwrap();
    let with_bias: Vec<f64> = pre
        .iter()
        .enumerate()
        .map(|(i, &v)| f64::from(v) + f64::from(b.inter_b[i % w.rows]))
        .collect();
    let out = g
        .read(
            &g.add_bias(&g.tensor(&pre, n, w.rows).unwrap(), &bias)
                .unwrap(),
        )
        .await
        .unwrap();
    measured("add_bias", r::rel_error(&out, &with_bias), tol::ELEMENTWISE);
    let x = g.tensor(&c.d.bert_pre, n, w.rows).unwrap();
    let out = g.read(&g.gelu(&x).unwrap()).await.unwrap();
    measured(
        "gelu (erf)",
        r::rel_error(&out, &r::gelu(&c.d.bert_pre, true)),
        tol::ELEMENTWISE,
    );
    let out = g.read(&g.gelu_tanh(&x).unwrap()).await.unwrap();
    measured(
        "gelu (tanh)",
        r::rel_error(&out, &r::gelu(&c.d.bert_pre, false)),
        tol::ELEMENTWISE,
    );
}

pub async fn elementwise_real(c: &Ctx) {
    let g = &c.gpu;
    let d = &c.d;
    let s = &c.fx.smol;
    let n = SMOL_IDS.len();
    let cols = s.gate.rows;
    let gate = g.tensor(&d.gate, n, cols).unwrap();
    let up = g.tensor(&d.up, n, cols).unwrap();
    let pairs = d
        .gate
        .iter()
        .zip(&d.up)
        .map(|(&a, &b)| (f64::from(a), f64::from(b)));
    let expect: [(&str, Vec<f64>); 4] = [
        (
            "silu",
            d.gate.iter().map(|&a| r::silu(f64::from(a))).collect(),
        ),
        (
            "swiglu",
            pairs.clone().map(|(a, b)| r::silu(a) * b).collect(),
        ),
        ("add", pairs.clone().map(|(a, b)| a + b).collect()),
        ("mul", pairs.map(|(a, b)| a * b).collect()),
    ];
    for (name, e) in expect {
        let t = match name {
            "silu" => g.silu(&gate),
            "swiglu" => g.swiglu(&gate, &up),
            "add" => g.add(&gate, &up),
            _ => g.mul(&gate, &up),
        }
        .unwrap();
        measured(
            name,
            r::rel_error(&g.read(&t).await.unwrap(), &e),
            tol::ELEMENTWISE,
        );
    }
    let h = g.tensor(&d.h, n, s.embd.cols).unwrap();
    let v = g.tensor(&s.ffn_norm, 1, s.ffn_norm.len()).unwrap();
    let e: Vec<f64> =
        d.h.iter()
            .enumerate()
            .map(|(i, &x)| f64::from(x) * f64::from(s.ffn_norm[i % s.embd.cols]))
            .collect();
    measured(
        "mul_row",
        r::rel_error(&g.read(&g.mul_row(&h, &v).unwrap()).await.unwrap(), &e),
        tol::ELEMENTWISE,
    );
    assert!(matches!(g.add(&gate, &h), Err(GpuError::Shape { .. })));
}

pub async fn rope_both_styles(c: &Ctx) {
    let g = &c.gpu;
    let s = &c.fx.smol;
    let n = SMOL_IDS.len();
    let cols = s.q.rows;
    for (style, neox) in [(RopeStyle::Interleaved, false), (RopeStyle::Neox, true)] {
        // Full rotation, and a partial one (the last half of each head passes through).
        for dims in [s.head_dim, s.head_dim / 2] {
            let (cos, sin) = r::rope_table(s.rope_base, dims, 16);
            let table = g.rope_table(&cos, &sin, dims / 2).unwrap();
            for first in [0, 5] {
                let mut x = g.tensor(&c.d.q, n, cols).unwrap();
                g.rope(&mut x, s.head_dim, style, &table, first).unwrap();
                let out = g.read(&x).await.unwrap();
                let e = r::rope(&c.d.q, cols, s.head_dim, dims / 2, neox, &cos, &sin, first);
                measured(
                    &format!("rope {style:?} dims={dims} first={first}"),
                    r::rel_error(&out, &e),
                    tol::ROPE,
                );
            }
        }
    }
}

/// Causal attention with SmolLM2's grouped heads (9 query heads over 3 KV heads) over a cache
/// that grows past its first allocation (256 positions) and past several 64-position tiles:
/// a prefill, two more chunks, single-token decode steps, then a rewind that replaces the
/// last positions. The inputs are layer 0's real q/k/v rows, rotated to each position.
pub async fn attention_gqa_with_cache(c: &Ctx) {
    let g = &c.gpu;
    let s = &c.fx.smol;
    let (heads, kv_heads, hd) = (s.heads, s.kv_heads, s.head_dim);
    let (qw, kw) = (heads * hd, kv_heads * hd);
    let total = 335;
    let (cos, sin) = r::rope_table(s.rope_base, hd, total);
    // Position p uses the real row p % 9, rotated to p.
    let rows = |m: &[f32], w: usize| -> Vec<f32> {
        let base: Vec<f32> = (0..total)
            .flat_map(|p| m[(p % SMOL_IDS.len()) * w..][..w].to_vec())
            .collect();
        r::to_f32(&r::rope(&base, w, hd, hd / 2, false, &cos, &sin, 0))
    };
    let (q, k, v) = (
        rows(&c.d.q, qw),
        rows(&c.d.k, kw),
        c.d.v
            .iter()
            .copied()
            .cycle()
            .take(total * kw)
            .collect::<Vec<f32>>(),
    );
    let mut cache = g.kv_cache(kv_heads, hd);
    let mut worst: f64 = 0.0;
    let steps = [
        (0, 130),
        (130, 100),
        (230, 100),
        (330, 1),
        (331, 1),
        (332, 1),
        (333, 1),
        (334, 1),
        (333, 2),
    ];
    for (start, n) in steps {
        let slice = |m: &[f32], w: usize| m[start * w..(start + n) * w].to_vec();
        let (tq, tk, tv) = (
            g.tensor(&slice(&q, qw), n, qw).unwrap(),
            g.tensor(&slice(&k, kw), n, kw).unwrap(),
            g.tensor(&slice(&v, kw), n, kw).unwrap(),
        );
        let shape = AttentionShape {
            heads,
            kv_heads,
            head_dim: hd,
            start_pos: start,
            causal: true,
        };
        let out = g
            .read(&g.attention(&tq, &tk, &tv, &mut cache, shape).unwrap())
            .await
            .unwrap();
        assert_eq!(cache.len(), start + n);
        // Every 9th row of a chunk, and its last.
        for i in (0..n).step_by(9).chain([n - 1]) {
            let p = start + i;
            let e = r::attention_row(&q[p * qw..(p + 1) * qw], &k, &v, p + 1, heads, kv_heads, hd);
            worst = worst.max(r::rel_error(&out[i * qw..(i + 1) * qw], &e));
        }
    }
    measured(
        "attention causal, 9/3 heads, 335 positions",
        worst,
        tol::ATTENTION,
    );
    let bad = AttentionShape {
        heads,
        kv_heads,
        head_dim: hd,
        start_pos: total + 1,
        causal: true,
    };
    let t = g.tensor(&q[..qw], 1, qw).unwrap();
    let kv = g.tensor(&k[..kw], 1, kw).unwrap();
    assert!(matches!(
        g.attention(&t, &kv, &kv, &mut cache, bad),
        Err(GpuError::Shape { .. })
    ));
}

/// Non-causal attention (an encoder), BERT's 12 heads of 32 on real projections.
pub async fn attention_bert(c: &Ctx) {
    let g = &c.gpu;
    let d = &c.d;
    let n = BERT_IDS.len();
    let heads = c.fx.bert.heads;
    let width = c.fx.bert.q.rows;
    let hd = width / heads;
    let mut cache = g.kv_cache(heads, hd);
    let t = |m: &[f32]| g.tensor(m, n, width).unwrap();
    let shape = AttentionShape {
        heads,
        kv_heads: heads,
        head_dim: hd,
        start_pos: 0,
        causal: false,
    };
    let out = g
        .read(
            &g.attention(
                &t(&d.bert_q),
                &t(&d.bert_k),
                &t(&d.bert_v),
                &mut cache,
                shape,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let e: Vec<f64> = (0..n)
        .flat_map(|i| {
            r::attention_row(
                &d.bert_q[i * width..][..width],
                &d.bert_k,
                &d.bert_v,
                n,
                heads,
                heads,
                hd,
            )
        })
        .collect();
    measured(
        "attention non-causal, 12 heads of 32",
        r::rel_error(&out, &e),
        tol::ATTENTION,
    );
}

/// The windows of a 1-D convolution (`unfold1d`) of real hidden states (BERT's embeddings,
/// `[tokens, 384]`), for Whisper's two front-end shapes (kernel 3, padding 1, stride 1 and 2)
/// and a few others: a copy, so exactly the input values and zeros.
pub async fn unfold1d_real(c: &Ctx) {
    let g = &c.gpu;
    let x = &c.d.bert_x;
    let cols = c.fx.bert.ln_w.len();
    let rows = x.len() / cols;
    let t = g.tensor(x, rows, cols).unwrap();
    for (kernel, stride, pad) in [(3, 1, 1), (3, 2, 1), (1, 1, 0), (2, 3, 0), (4, 1, 5)] {
        let y = g.unfold1d(&t, kernel, stride, pad).unwrap();
        let out_rows = (rows + 2 * pad - kernel) / stride + 1;
        assert_eq!((y.rows(), y.cols()), (out_rows, kernel * cols));
        let got = g.read(&y).await.unwrap();
        let mut want = Vec::with_capacity(got.len());
        for i in 0..out_rows {
            for k in 0..kernel {
                let src = (i * stride + k).checked_sub(pad).filter(|&s| s < rows);
                match src {
                    Some(s) => want.extend_from_slice(&x[s * cols..][..cols]),
                    None => want.extend(std::iter::repeat_n(0.0, cols)),
                }
            }
        }
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "unfold1d kernel {kernel} stride {stride} padding {pad}"
        );
    }
    assert!(matches!(
        g.unfold1d(&t, 0, 1, 0),
        Err(GpuError::Shape { .. })
    ));
    assert!(matches!(
        g.unfold1d(&t, rows + 3, 1, 1),
        Err(GpuError::Shape { .. })
    ));
}

/// The pixel that kernel cell `(ky, kx)` of output pixel `(oy, ox)` reads, or `None` in
/// padding: the reference loops of the 2-D window checks.
fn window_source(w: &Window2d, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<usize> {
    let iy = (oy * w.stride + ky)
        .checked_sub(w.top)
        .filter(|&i| i < w.height)?;
    let ix = (ox * w.stride + kx)
        .checked_sub(w.left)
        .filter(|&i| i < w.width)?;
    Some(iy * w.width + ix)
}

/// The 2-D window ops of the conv nets (im2col with padded columns, depthwise convolution,
/// max pooling, the mean of the rows) against plain loops, on windows as the models use them
/// (TF "same" with its uneven padding, symmetric padding, strides 1 and 2, a 7x7 stem, a 1x1
/// image) and odd channel counts; the image values are real BERT activations.
pub async fn window2d_ops(c: &Ctx) {
    let g = &c.gpu;
    let src = &c.d.bert_x;
    #[rustfmt::skip]
    let cases = [
        // height, width, channels, kernel_h, kernel_w, stride, top, left, bottom, right
        (8, 6, 3, 3, 3, 2, 0, 0, 1, 1),
        (7, 5, 5, 3, 3, 1, 1, 1, 1, 1),
        (9, 9, 3, 7, 7, 2, 3, 3, 3, 3),
        (1, 1, 7, 1, 1, 1, 0, 0, 0, 0),
        (1, 1, 5, 3, 3, 1, 1, 1, 1, 1),
        (6, 7, 13, 5, 5, 2, 1, 2, 2, 2),
        (5, 5, 8, 3, 3, 2, 1, 1, 1, 1),
        (4, 6, 3, 1, 3, 1, 0, 1, 0, 1),
        (11, 3, 9, 2, 2, 2, 0, 0, 0, 1),
    ];
    for (h, wd, ch, kh, kw, stride, top, left, bottom, right) in cases {
        let w = Window2d {
            height: h,
            width: wd,
            kernel_h: kh,
            kernel_w: kw,
            stride,
            top,
            left,
            bottom,
            right,
        };
        let what = format!("{w:?} over {ch} channels");
        let (oh, ow) = w.out_size().unwrap();
        let x: Vec<f32> = src
            .iter()
            .copied()
            .cycle()
            .skip(ch)
            .take(h * wd * ch)
            .collect();
        let t = g.tensor(&x, h * wd, ch).unwrap();
        let cells = kh * kw;

        // im2col, exactly as wide as the windows and padded to a multiple of 8 (bit-exact:
        // it only moves values).
        for cols in [cells * ch, (cells * ch).next_multiple_of(8) + 8] {
            let y = g.unfold2d(&t, &w, cols).unwrap();
            assert_eq!((y.rows(), y.cols()), (oh * ow, cols), "{what}");
            let mut want = vec![0f32; oh * ow * cols];
            for oy in 0..oh {
                for ox in 0..ow {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            if let Some(p) = window_source(&w, oy, ox, ky, kx) {
                                let dst = (oy * ow + ox) * cols + (ky * kw + kx) * ch;
                                want[dst..dst + ch].copy_from_slice(&x[p * ch..][..ch]);
                            }
                        }
                    }
                }
            }
            let got = g.read(&y).await.unwrap();
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "unfold2d to {cols} columns, {what}"
            );
        }

        // Depthwise convolution plus bias, against f64 sums.
        let weight: Vec<f32> = src.iter().rev().copied().take(cells * ch).collect();
        let bias: Vec<f32> = src.iter().step_by(3).copied().take(ch).collect();
        let y = g
            .depthwise_conv2d(
                &t,
                &g.tensor(&weight, cells, ch).unwrap(),
                &g.tensor(&bias, 1, ch).unwrap(),
                &w,
            )
            .unwrap();
        assert_eq!((y.rows(), y.cols()), (oh * ow, ch), "{what}");
        let got = g.read(&y).await.unwrap();
        for oy in 0..oh {
            for ox in 0..ow {
                for k in 0..ch {
                    let mut want = f64::from(bias[k]);
                    let mut scale = want.abs();
                    for ky in 0..kh {
                        for kx in 0..kw {
                            if let Some(p) = window_source(&w, oy, ox, ky, kx) {
                                let term = f64::from(weight[(ky * kw + kx) * ch + k])
                                    * f64::from(x[p * ch + k]);
                                want += term;
                                scale += term.abs();
                            }
                        }
                    }
                    let v = f64::from(got[(oy * ow + ox) * ch + k]);
                    assert!(
                        (v - want).abs() <= 1e-6 * scale.max(1.0),
                        "depthwise_conv2d {what} at ({oy}, {ox}, {k}): {v} vs {want}"
                    );
                }
            }
        }

        // Max pooling of all-negative values: a padding cell read as 0 would win.
        let neg: Vec<f32> = x.iter().map(|v| -v.abs() - 1.0).collect();
        let y = g
            .max_pool2d(&g.tensor(&neg, h * wd, ch).unwrap(), &w)
            .unwrap();
        assert_eq!((y.rows(), y.cols()), (oh * ow, ch), "{what}");
        let got = g.read(&y).await.unwrap();
        for oy in 0..oh {
            for ox in 0..ow {
                for k in 0..ch {
                    let mut best = f32::NEG_INFINITY;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            if let Some(p) = window_source(&w, oy, ox, ky, kx) {
                                best = best.max(neg[p * ch + k]);
                            }
                        }
                    }
                    assert_eq!(
                        got[(oy * ow + ox) * ch + k].to_bits(),
                        best.to_bits(),
                        "max_pool2d {what} at ({oy}, {ox}, {k})"
                    );
                }
            }
        }
    }

    // The mean of the rows: a classifier's 7x7 map, a 1x1 image, a detector's long map; f32
    // tree sums against f64.
    for (rows, cols) in [(49, 24), (1, 5), (3000, 7), (257, 300)] {
        let x: Vec<f32> = src
            .iter()
            .copied()
            .cycle()
            .skip(cols)
            .take(rows * cols)
            .collect();
        let y = g.mean_rows(&g.tensor(&x, rows, cols).unwrap()).unwrap();
        assert_eq!((y.rows(), y.cols()), (1, cols));
        let got = g.read(&y).await.unwrap();
        for (k, v) in got.iter().enumerate() {
            let column = x.iter().skip(k).step_by(cols).map(|&v| f64::from(v));
            let (sum, scale) = column.fold((0.0, 0.0), |(s, a), v| (s + v, a + v.abs()));
            let want = sum / rows as f64;
            assert!(
                (f64::from(*v) - want).abs() <= 1e-6 * (scale / rows as f64).max(1e-3),
                "mean_rows {rows}x{cols} column {k}: {v} vs {want}"
            );
        }
    }

    // Bad shapes and indices past 32 bits are typed errors, not panics.
    let t = g.tensor(&src[..4 * 4 * 3], 16, 3).unwrap();
    let ok = Window2d {
        height: 4,
        width: 4,
        kernel_h: 3,
        kernel_w: 3,
        stride: 1,
        top: 1,
        left: 1,
        bottom: 1,
        right: 1,
    };
    let shape = |e: GpuError| matches!(e, GpuError::Shape { .. }) && !e.should_fall_back();
    assert!(
        shape(g.unfold2d(&t, &ok, 26).unwrap_err()),
        "too few columns"
    );
    for bad in [
        Window2d { height: 5, ..ok },
        Window2d { stride: 0, ..ok },
        Window2d { kernel_h: 0, ..ok },
        Window2d { top: 3, ..ok },
        Window2d {
            kernel_w: 9,
            left: 0,
            right: 0,
            ..ok
        },
    ] {
        assert!(shape(g.unfold2d(&t, &bad, 32).unwrap_err()), "{bad:?}");
        assert!(shape(g.max_pool2d(&t, &bad).unwrap_err()), "{bad:?}");
    }
    let b3 = g.tensor(&[0.0; 3], 1, 3).unwrap();
    let w27 = g.tensor(&[0.0; 27], 9, 3).unwrap();
    assert!(shape(g.depthwise_conv2d(&t, &b3, &b3, &ok).unwrap_err()));
    assert!(shape(g.depthwise_conv2d(&t, &w27, &w27, &ok).unwrap_err()));
    assert!(shape(
        g.mean_rows(&g.tensor(&[], 0, 3).unwrap()).unwrap_err()
    ));
    assert!(matches!(
        g.unfold2d(&t, &ok, u32::MAX as usize).unwrap_err(),
        GpuError::LimitsTooSmall { .. }
    ));
}

/// A fork of a KV cache (a beam leaving from another) holds the same positions, and the two
/// then grow apart without touching each other: real rows of SmolLM2's layer 0.
pub async fn kv_cache_fork(c: &Ctx) {
    let g = &c.gpu;
    let s = &c.fx.smol;
    let (heads, kv_heads, hd) = (s.heads, s.kv_heads, s.head_dim);
    let (qw, kw) = (heads * hd, kv_heads * hd);
    let n = SMOL_IDS.len();
    let t = |m: &[f32], w: usize, from: usize, len: usize| {
        g.tensor(&m[from * w..(from + len) * w], len, w).unwrap()
    };
    let shape = |start_pos| AttentionShape {
        heads,
        kv_heads,
        head_dim: hd,
        start_pos,
        causal: true,
    };
    let d = &c.d;
    let mut a = g.kv_cache(kv_heads, hd);
    g.attention(
        &t(&d.q, qw, 0, 6),
        &t(&d.k, kw, 0, 6),
        &t(&d.v, kw, 0, 6),
        &mut a,
        shape(0),
    )
    .unwrap();
    // A fork of the first 5 positions; `a` then takes row 6 at position 6, the fork row 8 at
    // position 5.
    let mut b = g.kv_cache_fork(&a, 5).unwrap();
    assert_eq!((a.len(), b.len()), (6, 5));
    let step = |cache: &mut lantern_gpu::GpuKvCache, row: usize, pos: usize| {
        g.attention(
            &t(&d.q, qw, row, 1),
            &t(&d.k, kw, row, 1),
            &t(&d.v, kw, row, 1),
            cache,
            shape(pos),
        )
        .unwrap()
    };
    let ya = step(&mut a, 6, 6);
    let yb = step(&mut b, 8, 5);
    let (ya, yb) = (g.read(&ya).await.unwrap(), g.read(&yb).await.unwrap());
    // What each cache must hold: rows 0..7 for `a`, rows 0..5 and 8 for the fork.
    let keys = |rows: &[usize], m: &[f32]| -> Vec<f32> {
        rows.iter()
            .flat_map(|&r| m[r * kw..][..kw].to_vec())
            .collect()
    };
    let ra: Vec<usize> = (0..7).collect();
    let rb = [0, 1, 2, 3, 4, 8];
    let ea = r::attention_row(
        &d.q[6 * qw..][..qw],
        &keys(&ra, &d.k),
        &keys(&ra, &d.v),
        7,
        heads,
        kv_heads,
        hd,
    );
    let eb = r::attention_row(
        &d.q[8 * qw..][..qw],
        &keys(&rb, &d.k),
        &keys(&rb, &d.v),
        6,
        heads,
        kv_heads,
        hd,
    );
    measured(
        "attention over a forked KV cache",
        r::rel_error(&ya, &ea).max(r::rel_error(&yb, &eb)),
        tol::ATTENTION,
    );
    assert!(n > 8);
    assert!(matches!(
        g.kv_cache_fork(&a, 8),
        Err(GpuError::Shape { .. })
    ));
    assert_eq!(g.kv_cache_fork(&a, 0).unwrap().len(), 0);
}

/// Logits of the real hidden states over the real (tied) embedding table.
async fn logits(c: &Ctx) -> (Vec<f32>, Vec<f64>, lantern_gpu::GpuTensor) {
    let g = &c.gpu;
    let e = &c.fx.smol.embd;
    let n = SMOL_IDS.len();
    let w = g
        .weight("token_embd", e.ty, e.rows, e.cols, &e.bytes)
        .unwrap();
    let t = g.matmul(&g.tensor(&c.d.h, n, e.cols).unwrap(), &w).unwrap();
    let (y, _) = r::matmul(&c.d.h, n, &e.values, e.rows, e.cols);
    (g.read(&t).await.unwrap(), y, t)
}

pub async fn softmax_real_logits(c: &Ctx) {
    let g = &c.gpu;
    let (gpu_logits, _, t) = logits(c).await;
    let out = g.read(&g.softmax(&t).unwrap()).await.unwrap();
    measured(
        "softmax over 8192 logits",
        r::rel_error(&out, &r::softmax(&gpu_logits, VOCAB_SLICE)),
        tol::ROW_F32,
    );
}

pub async fn argmax_and_sampling(c: &Ctx) {
    let g = &c.gpu;
    let (gpu_logits, ref_logits, t) = logits(c).await;
    let ids = g.read_ids(&g.argmax(&t).unwrap()).await.unwrap();
    for (i, row) in gpu_logits.chunks_exact(VOCAB_SLICE).enumerate() {
        let best = row
            .iter()
            .enumerate()
            .fold(0, |b, (j, &v)| if v > row[b] { j } else { b });
        assert_eq!(ids[i] as usize, best, "row {i}");
        let rr = &ref_logits[i * VOCAB_SLICE..(i + 1) * VOCAB_SLICE];
        let rbest = rr
            .iter()
            .enumerate()
            .fold(0, |b, (j, &v)| if v > rr[b] { j } else { b });
        assert_eq!(
            best, rbest,
            "row {i}: the GPU's argmax differs from the f64 logits' argmax"
        );
    }
    let last = g.rows(&t, SMOL_IDS.len() - 1, 1).unwrap();
    let row = &gpu_logits[(SMOL_IDS.len() - 1) * VOCAB_SLICE..];
    let argmax = ids[SMOL_IDS.len() - 1];
    let greedy = Sampling {
        temperature: 0.0,
        top_k: 0,
        top_p: 1.0,
    };
    assert_eq!(
        g.read_ids(&g.sample(&last, &greedy, 0.5).unwrap())
            .await
            .unwrap(),
        [argmax]
    );
    let top1 = Sampling {
        temperature: 0.7,
        top_k: 1,
        top_p: 1.0,
    };
    assert_eq!(
        g.read_ids(&g.sample(&last, &top1, 0.99).unwrap())
            .await
            .unwrap(),
        [argmax]
    );
    let mut near = 0;
    let mut distinct = std::collections::BTreeSet::new();
    for (temperature, top_k, top_p) in [
        (1.0, 0, 1.0),
        (0.8, 40, 0.9),
        (1.5, 200, 0.95),
        (1.0, 0, 0.5),
    ] {
        let sampling = Sampling {
            temperature,
            top_k,
            top_p,
        };
        for i in 0..24 {
            let u = (i as f32 + 0.37) / 24.0;
            let got = g
                .read_ids(&g.sample(&last, &sampling, u).unwrap())
                .await
                .unwrap()[0];
            let (want, margin) = r::sample(row, temperature, top_k, top_p, u);
            distinct.insert(got);
            if got != want {
                // Only a draw that falls within rounding of a boundary between two tokens may differ.
                assert!(
                    margin < 1e-5,
                    "{sampling:?} u={u}: GPU {got}, reference {want} (margin {margin:e})"
                );
                near += 1;
            }
        }
    }
    crate::log(&format!(
        "sampling: 96 draws, {} distinct tokens, {near} boundary ties",
        distinct.len()
    ));
    assert!(distinct.len() > 5);
}

/// A steady decode loop allocates no buffers and compiles no kernels after its first step, and
/// records each step into one submission.
pub async fn pool_and_pipelines_are_reused(c: &Ctx) {
    let s = &c.fx.smol;
    // A device of its own: native checks run as threads sharing the context's device.
    let local = Gpu::new(GpuOptions {
        precision: Some(Precision::F32),
        ..GpuOptions::default()
    })
    .await
    .unwrap();
    let wq = local
        .weight("q", s.q.ty, s.q.rows, s.q.cols, &s.q.bytes)
        .unwrap();
    let gain = local.tensor(&s.attn_norm, 1, s.attn_norm.len()).unwrap();
    let step = async |i: usize| {
        let x = local
            .tensor(&c.d.h[i * s.q.cols..(i + 1) * s.q.cols], 1, s.q.cols)
            .unwrap();
        let y = local.rms_norm(&x, &gain, s.eps).unwrap();
        let z = local.silu(&local.matmul(&y, &wq).unwrap()).unwrap();
        local.read_ids(&local.argmax(&z).unwrap()).await.unwrap()
    };
    step(0).await;
    let (pool, pipelines, submissions) =
        (local.pool_stats(), local.pipelines(), local.submissions());
    for i in 1..4 {
        step(i).await;
    }
    assert_eq!(
        local.pool_stats().created,
        pool.created,
        "buffers created in a steady loop"
    );
    assert_eq!(
        local.pipelines(),
        pipelines,
        "kernels compiled in a steady loop"
    );
    assert_eq!(
        local.submissions(),
        submissions + 3,
        "one submission per step"
    );
}

pub async fn errors_are_typed(c: &Ctx) {
    let g = &c.gpu;
    let s = &c.fx.smol;
    let e = g
        .weight("bad", WeightType::Q4_0, 2, 32, &[0; 35])
        .unwrap_err();
    assert!(
        matches!(e, GpuError::InvalidWeight { .. }) && !e.should_fall_back(),
        "{e}"
    );
    let e = g
        .weight("bad", WeightType::Q4K, 1, 32, &[0; 18])
        .unwrap_err();
    assert!(matches!(e, GpuError::InvalidWeight { .. }), "{e}");
    let wq = g
        .weight("q", s.q.ty, s.q.rows, s.q.cols, &s.q.bytes)
        .unwrap();
    let x = g.tensor(&[0.0; 8], 1, 8).unwrap();
    assert!(matches!(g.matmul(&x, &wq), Err(GpuError::Shape { .. })));
    if !g.report().shader_f16 {
        assert!(matches!(
            g.with_precision(Precision::F16),
            Err(GpuError::Unsupported { .. })
        ));
    }
    // A lost device: every later call says so, and it is a reason to fall back to the CPU.
    let lost = Gpu::new(GpuOptions::default()).await.unwrap();
    let w = lost
        .weight("q", s.q.ty, s.q.rows, s.q.cols, &s.q.bytes)
        .unwrap();
    let x = lost.tensor(&c.d.h[..s.q.cols], 1, s.q.cols).unwrap();
    let y = lost.matmul(&x, &w).unwrap();
    lost.destroy();
    let e = lost.read(&y).await.unwrap_err();
    assert!(
        matches!(e, GpuError::DeviceLost { .. }) && e.should_fall_back(),
        "{e}"
    );
    assert!(matches!(
        lost.matmul(&x, &w),
        Err(GpuError::DeviceLost { .. })
    ));
    assert_eq!(e.code(), "gpu_device_lost");
}
