//! Each encoder op of a backend against a plain scalar oracle in f64, on pseudo-random data
//! (widths multiples of 8, as the GPU's kernels need): `linear` (f32 and Q8_0, with and
//! without a bias, one to many rows), `layer_norm`, the four activations, `attend` (padded
//! self-attention and cross-attention with an item without keys), `gather_rows`, and lookups
//! in a `table`. Also the shape errors each op must return instead of panicking.

use lantern_models::ModelError;
use lantern_models::ops::cpu::Cpu;
use lantern_models::ops::{Activation, AttendShape, AttentionShape, Backend, Quantization};

use super::values;

/// Tolerances of a backend, each relative to the size of what is summed (`sum |w x|` for a
/// product, the largest reference value for the others).
#[derive(Debug, Clone, Copy)]
pub struct Tol {
    pub linear: f64,
    pub linear_q8: f64,
    pub row: f64,
    pub elementwise: f64,
    pub attend: f64,
}

impl Tol {
    /// The CPU: f32 sums in another order than f64 (gemm natively, the packed kernel in wasm);
    /// Q8_0 rounds weights and activations to 8 bits (2⁻⁸ of each term at most). Measured
    /// natively: linear 1.7e-7 (Q8_0 3.7e-3), layer norm 9.2e-8, activations 1.3e-7, attend
    /// 8.3e-8, attend_biased 3.9e-7, attention_biased 1.8e-7 (`attend` covers both).
    pub const CPU: Tol = Tol {
        linear: 1e-5,
        linear_q8: 1.5e-2,
        row: 2e-6,
        elementwise: 5e-7,
        attend: 1e-5,
    };
    /// A GPU multiplying in f32 (lantern-gpu's kernel tolerances: WGSL's `exp` may be 3 + 2|x|
    /// ULP off, erf is A&S 7.1.26 with an absolute error of 1.5e-7); Q8_0 keeps activations f32.
    /// Measured on lavapipe: linear 9.1e-8 (Q8_0 2.5e-3), layer norm 9.4e-8, activations
    /// 1.4e-7, attend 1.0e-7, attend_biased 7.5e-7, attention_biased 3.0e-7 (`attend` covers
    /// both, against f64 and against the CPU backend).
    pub const GPU_F32: Tol = Tol {
        linear: 5e-6,
        linear_q8: 1e-2,
        row: 5e-6,
        elementwise: 5e-6,
        attend: 1e-5,
    };
    /// A GPU multiplying in f16: weights stored as f16 and four-term sums in f16. Measured on
    /// lavapipe: linear 2.9e-4.
    pub const GPU_F16: Tol = Tol {
        linear: 2e-3,
        linear_q8: 1.2e-2,
        ..Tol::GPU_F32
    };
}

/// Reads a tensor back (awaited: a browser's GPU cannot block).
async fn read<B: Backend>(be: &B, t: &B::Tensor) -> Vec<f32> {
    be.read_async(t).await.unwrap()
}

fn check(what: &str, got: &[f32], want: &[f64], scale: &[f64], tol: f64) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0f64;
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        let err = (g as f64 - w).abs() / s.max(1e-30);
        assert!(
            err <= tol,
            "{what}[{i}]: {g} vs {w} (relative {err:.2e} > {tol:.0e})"
        );
        worst = worst.max(err);
    }
    worst
}

/// `exact erf` in f64: its Maclaurin series (accurate to ~1e-13 for |x| <= 5), ±1 beyond.
pub fn erf(x: f64) -> f64 {
    if x.abs() > 5.0 {
        return x.signum();
    }
    let (mut term, mut sum, x2) = (x, x, x * x);
    for n in 1..200 {
        term *= -x2 / n as f64;
        sum += term / (2 * n + 1) as f64;
        if term.abs() < 1e-17 {
            break;
        }
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

pub fn activation(f: Activation, x: f64) -> f64 {
    match f {
        Activation::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
        Activation::GeluTanh => {
            let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
            0.5 * x * (1.0 + u.tanh())
        }
        Activation::Relu => x.max(0.0),
        Activation::Tanh => x.tanh(),
        other => panic!("no oracle for {other:?}"),
    }
}

pub async fn linear<B: Backend>(be: &B, tol: &Tol) {
    let mut worst = [0f64; 2];
    for (m, k, n) in [
        (1, 64, 24),
        (3, 96, 40),
        (4, 32, 8),
        (37, 64, 72),
        (70, 128, 16),
    ] {
        let (x, w, b) = (values(m * k, 1), values(n * k, 2), values(n, 3));
        let xt = be.tensor(x.clone(), m, k).unwrap();
        for (qi, q) in [Quantization::None, Quantization::Q8_0]
            .into_iter()
            .enumerate()
        {
            let d = be.dense("w", w.clone(), n, k, q).unwrap();
            let bias = be.vector_f32(b.clone()).unwrap();
            for with_bias in [false, true] {
                let y = be.linear(&xt, &d, with_bias.then_some(&bias)).unwrap();
                let got = read(be, &y).await;
                let (mut want, mut scale) = (Vec::new(), Vec::new());
                for i in 0..m {
                    for j in 0..n {
                        let mut s = if with_bias { b[j] as f64 } else { 0.0 };
                        let mut size = s.abs();
                        for kk in 0..k {
                            let p = x[i * k + kk] as f64 * w[j * k + kk] as f64;
                            s += p;
                            size += p.abs();
                        }
                        want.push(s);
                        scale.push(size);
                    }
                }
                let t = if qi == 0 { tol.linear } else { tol.linear_q8 };
                let what = format!("linear {q:?} {m}x{k}x{n} bias {with_bias}");
                worst[qi] = worst[qi].max(check(&what, &got, &want, &scale, t));
            }
        }
    }
    crate::log(&format!(
        "measured linear: f32 {:.2e}, Q8_0 {:.2e} of sum |w x|",
        worst[0], worst[1]
    ));
}

pub async fn layer_norm<B: Backend>(be: &B, tol: &Tol) {
    let mut worst = 0f64;
    for (rows, cols) in [(7, 384), (3, 40), (1, 8)] {
        let mut x = values(rows * cols, 4);
        // An offset and a scale, as real hidden states have.
        x.iter_mut().for_each(|v| *v = *v * 3.0 + 0.5);
        let (g, b) = (values(cols, 5), values(cols, 6));
        let y = be
            .layer_norm(
                &be.tensor(x.clone(), rows, cols).unwrap(),
                &be.vector_f32(g.clone()).unwrap(),
                &be.vector_f32(b.clone()).unwrap(),
                1e-5,
            )
            .unwrap();
        let got = read(be, &y).await;
        let mut want = Vec::new();
        for r in x.chunks(cols) {
            let mean = r.iter().map(|&v| v as f64).sum::<f64>() / cols as f64;
            let var = r.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / cols as f64;
            for (c, &v) in r.iter().enumerate() {
                want.push((v as f64 - mean) / (var + 1e-5).sqrt() * g[c] as f64 + b[c] as f64);
            }
        }
        let big = want.iter().fold(0f64, |m, v| m.max(v.abs()));
        worst = worst.max(check(
            &format!("layer_norm {rows}x{cols}"),
            &got,
            &want,
            &vec![big; want.len()],
            tol.row,
        ));
    }
    crate::log(&format!(
        "measured layer_norm: {worst:.2e} of the largest value"
    ));
}

pub async fn activations<B: Backend>(be: &B, tol: &Tol) {
    let mut x: Vec<f32> = values(1000, 7).iter().map(|v| v * 8.0).collect();
    x.extend([0.0, 1e-6, -1e-6, 30.0, -30.0, 12.0, -12.0, 0.5]);
    let n = x.len();
    for f in [
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Relu,
        Activation::Tanh,
    ] {
        let mut t = be.tensor(x.clone(), 1, n).unwrap();
        be.activate(&mut t, f).unwrap();
        let got = read(be, &t).await;
        let want: Vec<f64> = x.iter().map(|&v| activation(f, v as f64)).collect();
        let scale: Vec<f64> = x.iter().map(|&v| (v.abs() as f64).max(1.0)).collect();
        let worst = check(&format!("{f:?}"), &got, &want, &scale, tol.elementwise);
        crate::log(&format!("measured {f:?}: {worst:.2e} of max(1, |x|)"));
    }
}

/// Attention of `q_len` query rows over `kv_len` keys per item, against f64.
async fn attend_case<B: Backend>(
    be: &B,
    tol: &Tol,
    (heads, hd, q_len, kv_len): (usize, usize, usize, usize),
    kv_valid: &[usize],
    q_valid: Option<&[usize]>,
) -> f64 {
    let (batch, width) = (kv_valid.len(), heads * hd);
    let q = values(batch * q_len * width, 8);
    let k = values(batch * kv_len * width, 9);
    let v = values(batch * kv_len * width, 10);
    let scale = 1.0 / (hd as f32).sqrt();
    let shape = AttendShape {
        heads,
        head_dim: hd,
        q_len,
        kv_len,
        scale,
        kv_valid,
        q_valid,
    };
    let t = |d: &[f32], rows| be.tensor(d.to_vec(), rows, width).unwrap();
    let out = be
        .attend(
            &t(&q, batch * q_len),
            &t(&k, batch * kv_len),
            &t(&v, batch * kv_len),
            &shape,
        )
        .unwrap();
    let got = read(be, &out).await;
    let mut want = vec![0f64; got.len()];
    for b in 0..batch {
        let rows = q_valid.map_or(q_len, |v| v[b]);
        let keys = kv_valid[b];
        for i in 0..rows.min(q_len) {
            for h in 0..heads {
                let qi = &q[(b * q_len + i) * width + h * hd..][..hd];
                let s: Vec<f64> = (0..keys)
                    .map(|j| {
                        let kj = &k[(b * kv_len + j) * width + h * hd..][..hd];
                        qi.iter()
                            .zip(kj)
                            .map(|(&a, &c)| a as f64 * c as f64)
                            .sum::<f64>()
                            * scale as f64
                    })
                    .collect();
                let m = s.iter().copied().fold(f64::MIN, f64::max);
                let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
                for d in 0..hd {
                    want[(b * q_len + i) * width + h * hd + d] = (0..keys)
                        .map(|j| {
                            (s[j] - m).exp() / z * v[(b * kv_len + j) * width + h * hd + d] as f64
                        })
                        .sum();
                }
            }
        }
    }
    check(
        &format!("attend {heads}x{hd} q {q_len} kv {kv_len} {kv_valid:?} {q_valid:?}"),
        &got,
        &want,
        &vec![1.0; want.len()],
        tol.attend,
    )
}

pub async fn attend<B: Backend>(be: &B, tol: &Tol) {
    let mut worst = 0f64;
    // Encoder self-attention: a padded batch, an item without tokens.
    let lens = [11, 5, 0, 1];
    worst = worst.max(attend_case(be, tol, (3, 8, 11, 11), &lens, Some(&lens)).await);
    let lens = [70, 64, 3];
    worst = worst.max(attend_case(be, tol, (2, 32, 70, 70), &lens, Some(&lens)).await);
    // Whisper's heads of 64, rows in several blocks of 64, keys in tiles of 8 with a ragged
    // end; heads of 128, the widest the GPU's row kernel takes.
    worst = worst.max(attend_case(be, tol, (3, 64, 150, 150), &[150, 77], Some(&[150, 100])).await);
    worst = worst.max(attend_case(be, tol, (1, 128, 20, 33), &[33], None).await);
    // Cross-attention: one query row over a long memory, some of it padding.
    worst = worst.max(attend_case(be, tol, (4, 16, 1, 150), &[150, 97], None).await);
    worst = worst.max(attend_case(be, tol, (2, 64, 5, 9), &[9, 4], Some(&[5, 2])).await);
    crate::log(&format!("measured attend: max error {worst:.2e}"));
}

pub async fn gather_and_table<B: Backend>(be: &B) {
    let (rows, cols) = (13, 16);
    let x = values(rows * cols, 11);
    let t = be.tensor(x.clone(), rows, cols).unwrap();
    let pick = [0usize, 5, 6, 7, 12, 0, 3];
    let got = read(be, &be.gather_rows(&t, &pick).unwrap()).await;
    let want: Vec<f32> = pick
        .iter()
        .flat_map(|&r| x[r * cols..][..cols].to_vec())
        .collect();
    assert_eq!(got, want, "gather_rows");
    let table = be.table("table", x.clone(), rows, cols).unwrap();
    let ids = [12u32, 0, 4, 4];
    let got = read(be, &be.embedding(&table, &ids).unwrap()).await;
    let want: Vec<f32> = ids
        .iter()
        .flat_map(|&r| x[r as usize * cols..][..cols].to_vec())
        .collect();
    assert_eq!(got, want, "embedding from a table");
    // concat_rows puts parts back one under the other, exactly; no parts, or parts of other
    // widths, are shape errors.
    let parts = [
        be.gather_rows(&t, &[3]).unwrap(),
        be.gather_rows(&t, &[7, 8, 9]).unwrap(),
        be.gather_rows(&t, &[0]).unwrap(),
    ];
    let got = read(
        be,
        &be.concat_rows(&parts.iter().collect::<Vec<_>>()).unwrap(),
    )
    .await;
    let want: Vec<f32> = [3usize, 7, 8, 9, 0]
        .iter()
        .flat_map(|&r| x[r * cols..][..cols].to_vec())
        .collect();
    assert_eq!(got, want, "concat_rows");
    assert!(be.concat_rows(&[]).is_err(), "concat_rows of nothing");
    let narrow = be.tensor(vec![0.0; 8], 1, 8).unwrap();
    assert!(
        be.concat_rows(&[&parts[0], &narrow]).is_err(),
        "concat_rows of other widths"
    );
}

/// The windows of a 1-D convolution (`unfold1d`) followed by `linear`: a convolution, against
/// a direct f64 convolution (PyTorch's `Conv1d` with a `[out, channels, kernel]` weight), for
/// Whisper's two front-end shapes and a few others; and the windows themselves, which are
/// copies (exactly the input values, and zeros).
pub async fn conv1d<B: Backend>(be: &B, tol: &Tol) {
    let mut worst = 0f64;
    for (len, channels, out, kernel, stride, pad) in [
        (50, 16, 24, 3, 1, 1),
        (50, 24, 24, 3, 2, 1),
        (49, 24, 16, 3, 2, 1),
        (7, 8, 8, 1, 1, 0),
        (9, 8, 16, 4, 3, 2),
        (3, 8, 8, 5, 1, 2),
    ] {
        let x = values(len * channels, 21);
        // PyTorch's layout, [out][channel][tap].
        let w = values(out * channels * kernel, 22);
        let b = values(out, 23);
        let xt = be.tensor(x.clone(), len, channels).unwrap();
        let windows = be.unfold1d(&xt, kernel, stride, pad).unwrap();
        let out_len = (len + 2 * pad - kernel) / stride + 1;
        let tap = |t: usize, k: usize| (t * stride + k).checked_sub(pad).filter(|&s| s < len);
        let got = read(be, &windows).await;
        let mut want = Vec::with_capacity(got.len());
        for t in 0..out_len {
            for k in 0..kernel {
                match tap(t, k) {
                    Some(s) => want.extend_from_slice(&x[s * channels..][..channels]),
                    None => want.extend(std::iter::repeat_n(0.0, channels)),
                }
            }
        }
        assert!(
            got.len() == want.len()
                && got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
            "unfold1d {len}x{channels} kernel {kernel} stride {stride} padding {pad}"
        );
        // [out][tap][channel], the windows' order.
        let wk: Vec<f32> = (0..out)
            .flat_map(|o| {
                let w = &w;
                (0..kernel).flat_map(move |k| {
                    (0..channels).map(move |c| w[(o * channels + c) * kernel + k])
                })
            })
            .collect();
        let d = be
            .dense("conv", wk, out, kernel * channels, Quantization::None)
            .unwrap();
        let bias = be.vector_f32(b.clone()).unwrap();
        let y = read(be, &be.linear(&windows, &d, Some(&bias)).unwrap()).await;
        let (mut want, mut scale) = (Vec::new(), Vec::new());
        for t in 0..out_len {
            for o in 0..out {
                let (mut s, mut size) = (b[o] as f64, (b[o] as f64).abs());
                for k in 0..kernel {
                    let Some(src) = tap(t, k) else { continue };
                    for c in 0..channels {
                        let p = x[src * channels + c] as f64
                            * w[(o * channels + c) * kernel + k] as f64;
                        s += p;
                        size += p.abs();
                    }
                }
                want.push(s);
                scale.push(size);
            }
        }
        let what = format!(
            "conv1d {len}x{channels} -> {out}, kernel {kernel} stride {stride} padding {pad}"
        );
        worst = worst.max(check(&what, &y, &want, &scale, tol.linear));
    }
    crate::log(&format!(
        "measured conv1d (unfold1d + linear): {worst:.2e} of sum |w x|"
    ));
    let x = be.tensor(values(24, 12), 3, 8).unwrap();
    let shape = |e: ModelError| matches!(e, ModelError::Shape { .. });
    assert!(shape(be.unfold1d(&x, 0, 1, 0).unwrap_err()), "kernel 0");
    assert!(shape(be.unfold1d(&x, 3, 0, 1).unwrap_err()), "stride 0");
    assert!(
        shape(be.unfold1d(&x, 6, 1, 1).unwrap_err()),
        "a kernel longer than the input"
    );
}

/// A forked KV cache (a beam leaving from another) holds the first positions of its source,
/// and the two grow apart without touching each other: causal attention over each against
/// f64.
pub async fn fork_cache<B: Backend>(be: &B, tol: &Tol) {
    let (heads, hd) = (2, 8);
    let width = heads * hd;
    let n = 9;
    let (q, k, v) = (
        values(n * width, 31),
        values(n * width, 32),
        values(n * width, 33),
    );
    let t = |m: &[f32], row: usize, rows: usize| {
        be.tensor(m[row * width..][..rows * width].to_vec(), rows, width)
            .unwrap()
    };
    let shape = |start_pos| AttentionShape {
        heads,
        kv_heads: heads,
        head_dim: hd,
        start_pos,
        causal: true,
    };
    let mut a = be.kv_cache(heads, hd).unwrap();
    be.attention(&t(&q, 0, 6), &t(&k, 0, 6), &t(&v, 0, 6), &mut a, shape(0))
        .unwrap();
    let mut b = be.fork_cache(&a, 5).unwrap();
    assert!(matches!(
        be.fork_cache(&a, 7),
        Err(ModelError::Shape { .. })
    ));
    // `a` takes row 6 at position 6, the fork row 8 at position 5.
    let ya = be
        .attention(&t(&q, 6, 1), &t(&k, 6, 1), &t(&v, 6, 1), &mut a, shape(6))
        .unwrap();
    let yb = be
        .attention(&t(&q, 8, 1), &t(&k, 8, 1), &t(&v, 8, 1), &mut b, shape(5))
        .unwrap();
    let (ya, yb) = (read(be, &ya).await, read(be, &yb).await);
    let expect = |qrow: usize, rows: &[usize]| -> Vec<f64> {
        let mut out = vec![0f64; width];
        for h in 0..heads {
            let s: Vec<f64> = rows
                .iter()
                .map(|&j| {
                    (0..hd)
                        .map(|d| {
                            q[qrow * width + h * hd + d] as f64 * k[j * width + h * hd + d] as f64
                        })
                        .sum::<f64>()
                        / (hd as f64).sqrt()
                })
                .collect();
            let m = s.iter().copied().fold(f64::MIN, f64::max);
            let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
            for d in 0..hd {
                out[h * hd + d] = rows
                    .iter()
                    .zip(&s)
                    .map(|(&j, &sj)| (sj - m).exp() / z * v[j * width + h * hd + d] as f64)
                    .sum();
            }
        }
        out
    };
    let ones = vec![1.0; width];
    let worst = check(
        "attention over the source cache",
        &ya,
        &expect(6, &[0, 1, 2, 3, 4, 5, 6]),
        &ones,
        tol.attend,
    )
    .max(check(
        "attention over the fork",
        &yb,
        &expect(8, &[0, 1, 2, 3, 4, 8]),
        &ones,
        tol.attend,
    ));
    crate::log(&format!(
        "measured attention over forked caches: {worst:.2e}"
    ));
}

/// Wrong shapes are typed errors, never panics.
pub async fn shape_errors<B: Backend>(be: &B) {
    let x = be.tensor(values(24, 12), 3, 8).unwrap();
    let shape = |e: ModelError| matches!(e, ModelError::Shape { .. });
    let d = be
        .dense("w", values(16 * 16, 13), 16, 16, Quantization::None)
        .unwrap();
    assert!(shape(be.linear(&x, &d, None).unwrap_err()));
    let d = be
        .dense("w", values(16 * 8, 13), 16, 8, Quantization::None)
        .unwrap();
    let b = be.vector_f32(values(8, 14)).unwrap();
    assert!(shape(be.linear(&x, &d, Some(&b)).unwrap_err()));
    assert!(
        be.dense("w", values(10, 1), 2, 8, Quantization::None)
            .is_err()
    );
    assert!(be.table("t", values(10, 1), 2, 8).is_err());
    assert!(shape(
        be.layer_norm(&x, &b, &be.vector_f32(values(4, 1)).unwrap(), 1e-5)
            .unwrap_err()
    ));
    assert!(shape(be.gather_rows(&x, &[0, 3]).unwrap_err()));
    let att = |kv_valid: &[usize], q_len, kv_len| {
        be.attend(
            &x,
            &x,
            &x,
            &AttendShape {
                heads: 2,
                head_dim: 4,
                q_len,
                kv_len,
                scale: 0.5,
                kv_valid,
                q_valid: None,
            },
        )
    };
    assert!(att(&[3], 3, 3).is_ok());
    assert!(
        shape(att(&[4], 3, 3).unwrap_err()),
        "more valid keys than keys"
    );
    assert!(
        shape(att(&[1, 1], 3, 3).unwrap_err()),
        "rows of another batch"
    );
    assert!(
        shape(att(&[1], 2, 3).unwrap_err()),
        "rows of another length"
    );
}

/// Softmax-weighted sums of one query row against f64: `s[j]` are the scores (scaled, bias
/// added) of keys `keys[j]`, `v_at(key, d)` the values. Returns `hd` values.
fn weighted(s: &[f64], keys: &[usize], hd: usize, v_at: impl Fn(usize, usize) -> f64) -> Vec<f64> {
    let m = s.iter().copied().fold(f64::MIN, f64::max);
    let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
    (0..hd)
        .map(|d| {
            keys.iter()
                .zip(s)
                .map(|(&j, &sj)| (sj - m).exp() / z * v_at(j, d))
                .sum()
        })
        .collect()
}

/// A bias of `rows x cols` values in [-3, 3], with `big` in the columns from `big_from` on:
/// keys that padding or causality hide must not get weight from it (a bias of 8 over scores
/// of a few units would take most of the weight if it were read).
fn bias_values(rows: usize, cols: usize, seed: u64, big_from: usize) -> Vec<f32> {
    let mut b = values(rows * cols, seed);
    for (i, x) in b.iter_mut().enumerate() {
        *x = if i % cols >= big_from { 8.0 } else { *x * 3.0 };
    }
    b
}

/// `((heads, head_dim, q_len, kv_len), scale, kv_valid, q_valid)` of one
/// [`attend_biased_case`].
type BiasedCase<'a> = (
    (usize, usize, usize, usize),
    f32,
    &'a [usize],
    Option<&'a [usize]>,
);

/// One [`Backend::attend_biased`] call against f64 and against the CPU backend on the same
/// input. `kv_valid[0]` should be `kv_len`: the bias columns past the shortest item's keys are
/// large, read as real keys by the longest item and ignored as padding by the others.
async fn attend_biased_case<B: Backend>(
    be: &B,
    tol: &Tol,
    (heads, hd, q_len, kv_len): (usize, usize, usize, usize),
    scale: f32,
    kv_valid: &[usize],
    q_valid: Option<&[usize]>,
) -> f64 {
    let (batch, width) = (kv_valid.len(), heads * hd);
    let q = values(batch * q_len * width, 41);
    let k = values(batch * kv_len * width, 42);
    let v = values(batch * kv_len * width, 43);
    let shortest = kv_valid.iter().copied().min().unwrap_or(0);
    let bias = bias_values(heads * q_len, kv_len, 44, shortest);
    let shape = AttendShape {
        heads,
        head_dim: hd,
        q_len,
        kv_len,
        scale,
        kv_valid,
        q_valid,
    };
    async fn run<B: Backend>(
        be: &B,
        (q, k, v, bias): (&[f32], &[f32], &[f32], &[f32]),
        shape: &AttendShape<'_>,
    ) -> Vec<f32> {
        let (batch, width) = (shape.batch(), shape.width());
        let t = |d: &[f32], rows, cols| be.tensor(d.to_vec(), rows, cols).unwrap();
        let out = be
            .attend_biased(
                &t(q, batch * shape.q_len, width),
                &t(k, batch * shape.kv_len, width),
                &t(v, batch * shape.kv_len, width),
                &t(bias, shape.heads * shape.q_len, shape.kv_len),
                shape,
            )
            .unwrap();
        read(be, &out).await
    }
    let got = run(be, (&q, &k, &v, &bias), &shape).await;
    let cpu = run(&Cpu, (&q, &k, &v, &bias), &shape).await;
    let mut want = vec![0f64; got.len()];
    for b in 0..batch {
        let rows = q_valid.map_or(q_len, |v| v[b]);
        let keys: Vec<usize> = (0..kv_valid[b]).collect();
        for i in 0..rows {
            for h in 0..heads {
                let qi = &q[(b * q_len + i) * width + h * hd..][..hd];
                let s: Vec<f64> = keys
                    .iter()
                    .map(|&j| {
                        let kj = &k[(b * kv_len + j) * width + h * hd..][..hd];
                        let dot: f64 = qi.iter().zip(kj).map(|(&a, &c)| a as f64 * c as f64).sum();
                        dot * scale as f64 + bias[(h * q_len + i) * kv_len + j] as f64
                    })
                    .collect();
                let o = weighted(&s, &keys, hd, |j, d| {
                    v[(b * kv_len + j) * width + h * hd + d] as f64
                });
                want[(b * q_len + i) * width + h * hd..][..hd].copy_from_slice(&o);
            }
        }
    }
    let what = format!(
        "attend_biased {heads}x{hd} q {q_len} kv {kv_len} scale {scale} {kv_valid:?} {q_valid:?}"
    );
    let ones = vec![1.0; want.len()];
    let cpu64: Vec<f64> = cpu.iter().map(|&x| x as f64).collect();
    check(&what, &got, &want, &ones, tol.attend).max(check(
        &format!("{what} against the CPU backend"),
        &got,
        &cpu64,
        &ones,
        tol.attend,
    ))
}

/// [`Backend::attend_biased`] (T5's encoder self-attention and cross-attention with a relative
/// position bias): bias rows per head and query row, shared by the items of a padded batch;
/// padding keys get no weight from a large bias; scales other than `1 / sqrt(head_dim)` (T5's
/// 1); the shapes of each backend's paths (few rows over a long memory, many rows split into
/// blocks, natively more than 512 keys through `gemm`). Wrong bias shapes are typed errors.
pub async fn attend_biased<B: Backend>(be: &B, tol: &Tol) {
    let mut worst = 0f64;
    let cases: [BiasedCase; 8] = [
        // Encoder self-attention, T5's scale 1, a padded batch.
        ((4, 16, 11, 11), 1.0, &[11, 6, 1], Some(&[11, 6, 1])),
        // Many rows (the GPU's row kernel), an item whose query rows are partly padding.
        ((3, 16, 20, 20), 0.37, &[20, 13], Some(&[20, 9])),
        // One item of many rows, split into blocks of rows across threads on the CPU.
        ((2, 16, 150, 150), 1.0, &[150], None),
        // Heads of 64 and of 8 (the row kernel's widest tiles and the narrowest).
        ((2, 64, 17, 17), 0.125, &[17, 16], None),
        ((3, 8, 5, 5), 2.0, &[5, 2], Some(&[5, 2])),
        // Cross-attention: one and a few decoder rows over an encoder memory with padding.
        ((4, 16, 1, 37), 1.0, &[37, 20], None),
        ((2, 16, 5, 9), 1.0, &[9, 4], Some(&[5, 2])),
        // More than 512 keys (natively `gemm` on the CPU), rows in blocks of 64.
        ((2, 16, 70, 520), 1.0, &[520, 300], Some(&[70, 66])),
    ];
    for (dims, scale, kv_valid, q_valid) in cases {
        worst = worst.max(attend_biased_case(be, tol, dims, scale, kv_valid, q_valid).await);
    }
    crate::log(&format!("measured attend_biased: max error {worst:.2e}"));

    let x = be.tensor(values(24, 12), 3, 8).unwrap();
    let shape = AttendShape {
        heads: 2,
        head_dim: 4,
        q_len: 3,
        kv_len: 3,
        scale: 1.0,
        kv_valid: &[3],
        q_valid: None,
    };
    let is_shape = |e: ModelError| matches!(e, ModelError::Shape { .. });
    let bias = |rows, cols| be.tensor(values(rows * cols, 3), rows, cols).unwrap();
    assert!(be.attend_biased(&x, &x, &x, &bias(6, 3), &shape).is_ok());
    for (rows, cols) in [(3, 3), (6, 4), (6, 2), (12, 3)] {
        assert!(
            is_shape(
                be.attend_biased(&x, &x, &x, &bias(rows, cols), &shape)
                    .unwrap_err()
            ),
            "a {rows}x{cols} bias"
        );
    }
}

/// [`Backend::attention_biased`] (T5's decoder self-attention): a cache filled by a prompt, then
/// more rows at `start_pos > 0`, one decode step, and a rewind to an earlier position; grouped
/// KV heads; causal and not; scales 1 and others. The bias columns of future positions are
/// large: causality comes from the shape, not from the bias. Against f64 and the CPU backend.
/// Wrong bias shapes are typed errors.
pub async fn attention_biased<B: Backend>(be: &B, tol: &Tol) {
    let mut worst = 0f64;
    for (heads, kv_heads, hd, causal, scale) in [
        (4, 4, 16, true, 1.0f32),
        (4, 2, 16, true, 0.3),
        (2, 2, 8, false, 1.0),
        (3, 1, 64, true, 0.125),
    ] {
        let (width, kv_width) = (heads * hd, kv_heads * hd);
        // Row r of these is the row at position r (the rewind replaces positions 5 and 6 with
        // rows 8 and 9).
        let q = values(10 * width, 51);
        let k = values(10 * kv_width, 52);
        let v = values(10 * kv_width, 53);
        let mut cache = be.kv_cache(kv_heads, hd).unwrap();
        let mut cpu_cache = Cpu.kv_cache(kv_heads, hd).unwrap();
        // (first source row, rows, start position): the key rows held at each position.
        let mut held: Vec<usize> = Vec::new();
        for (seed, (src, n, start_pos)) in [(0, 4, 0), (4, 3, 4), (7, 1, 7), (8, 2, 5)]
            .into_iter()
            .enumerate()
        {
            held.truncate(start_pos);
            held.extend(src..src + n);
            let total = start_pos + n;
            let shape = AttentionShape {
                heads,
                kv_heads,
                head_dim: hd,
                start_pos,
                causal,
            };
            let bias = values(heads * n * total, 60 + seed as u64);
            // Future positions (query row i sees start_pos + i + 1 when causal) get 8.
            let bias: Vec<f32> = bias
                .iter()
                .enumerate()
                .map(|(at, &b)| {
                    let (row, col) = (at / total, at % total);
                    if causal && col > start_pos + row % n {
                        8.0
                    } else {
                        b * 3.0
                    }
                })
                .collect();
            let rows = |m: &[f32], w: usize| m[src * w..][..n * w].to_vec();
            async fn run<C: Backend>(
                be: &C,
                cache: &mut C::KvCache,
                (q, k, v, bias): (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>),
                shape: AttentionShape,
                scale: f32,
            ) -> Vec<f32> {
                let n = q.len() / (shape.heads * shape.head_dim);
                let kw = shape.kv_heads * shape.head_dim;
                let total = shape.start_pos + n;
                let out = be
                    .attention_biased(
                        &be.tensor(q, n, shape.heads * shape.head_dim).unwrap(),
                        &be.tensor(k, n, kw).unwrap(),
                        &be.tensor(v, n, kw).unwrap(),
                        cache,
                        shape,
                        scale,
                        &be.tensor(bias, shape.heads * n, total).unwrap(),
                    )
                    .unwrap();
                read(be, &out).await
            }
            let input = (
                rows(&q, width),
                rows(&k, kv_width),
                rows(&v, kv_width),
                bias.clone(),
            );
            let got = run(be, &mut cache, input.clone(), shape, scale).await;
            let cpu = run(&Cpu, &mut cpu_cache, input, shape, scale).await;
            let mut want = vec![0f64; n * width];
            for i in 0..n {
                let visible = if causal { start_pos + i + 1 } else { total };
                let keys: Vec<usize> = (0..visible).collect();
                for h in 0..heads {
                    let kvh = h / (heads / kv_heads);
                    let qi = &q[(src + i) * width + h * hd..][..hd];
                    let s: Vec<f64> = keys
                        .iter()
                        .map(|&t| {
                            let kt = &k[held[t] * kv_width + kvh * hd..][..hd];
                            let dot: f64 =
                                qi.iter().zip(kt).map(|(&a, &c)| a as f64 * c as f64).sum();
                            dot * scale as f64 + bias[(h * n + i) * total + t] as f64
                        })
                        .collect();
                    let o = weighted(&s, &keys, hd, |t, d| {
                        v[held[t] * kv_width + kvh * hd + d] as f64
                    });
                    want[i * width + h * hd..][..hd].copy_from_slice(&o);
                }
            }
            let what = format!(
                "attention_biased {heads}/{kv_heads} heads of {hd}, causal {causal}, scale \
                 {scale}, {n} rows at {start_pos}"
            );
            let ones = vec![1.0; want.len()];
            let cpu64: Vec<f64> = cpu.iter().map(|&x| x as f64).collect();
            worst = worst
                .max(check(&what, &got, &want, &ones, tol.attend))
                .max(check(
                    &format!("{what} against the CPU backend"),
                    &got,
                    &cpu64,
                    &ones,
                    tol.attend,
                ));
        }
    }
    crate::log(&format!("measured attention_biased: max error {worst:.2e}"));

    let (heads, hd) = (2, 4);
    let x = be.tensor(values(3 * 8, 12), 3, 8).unwrap();
    let is_shape = |e: ModelError| matches!(e, ModelError::Shape { .. });
    for (start_pos, rows, cols) in [(0, 3, 3), (0, 6, 4), (2, 6, 3), (0, 6, 2)] {
        let mut cache = be.kv_cache(heads, hd).unwrap();
        if start_pos > 0 {
            be.attention(
                &be.tensor(values(2 * 8, 1), 2, 8).unwrap(),
                &be.tensor(values(2 * 8, 2), 2, 8).unwrap(),
                &be.tensor(values(2 * 8, 3), 2, 8).unwrap(),
                &mut cache,
                AttentionShape {
                    heads,
                    kv_heads: heads,
                    head_dim: hd,
                    start_pos: 0,
                    causal: true,
                },
            )
            .unwrap();
        }
        let bias = be.tensor(values(rows * cols, 4), rows, cols).unwrap();
        let shape = AttentionShape {
            heads,
            kv_heads: heads,
            head_dim: hd,
            start_pos,
            causal: true,
        };
        assert!(
            is_shape(
                be.attention_biased(&x, &x, &x, &mut cache, shape, 1.0, &bias)
                    .unwrap_err()
            ),
            "a {rows}x{cols} bias at {start_pos}"
        );
    }
}

/// [`Backend::scale`] and [`Backend::mul_assign`]: one IEEE f32 multiplication per value,
/// correctly rounded on every backend (WGSL's `*` too), so the results are exact; different
/// shapes are a typed error.
pub async fn scale_and_mul<B: Backend>(be: &B) {
    let (rows, cols) = (7, 24);
    let x = values(rows * cols, 71);
    let y = values(rows * cols, 72);
    for factor in [22.627417f32, 0.0625, -1.5, 0.0] {
        let mut t = be.tensor(x.clone(), rows, cols).unwrap();
        be.scale(&mut t, factor).unwrap();
        let want: Vec<f32> = x.iter().map(|&v| v * factor).collect();
        assert_eq!(read(be, &t).await, want, "scale by {factor}");
    }
    let mut t = be.tensor(x.clone(), rows, cols).unwrap();
    be.mul_assign(&mut t, &be.tensor(y.clone(), rows, cols).unwrap())
        .unwrap();
    let want: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    assert_eq!(read(be, &t).await, want, "mul_assign");
    let other = be.tensor(y[..cols * 6].to_vec(), 6, cols).unwrap();
    assert!(matches!(
        be.mul_assign(&mut t, &other),
        Err(ModelError::Shape { .. })
    ));
}
