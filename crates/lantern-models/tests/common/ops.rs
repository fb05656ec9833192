//! Each encoder op of a backend against a plain scalar oracle in f64, on pseudo-random data
//! (widths multiples of 8, as the GPU's kernels need): `linear` (f32 and Q8_0, with and
//! without a bias, one to many rows), `layer_norm`, the four activations, `attend` (padded
//! self-attention and cross-attention with an item without keys), `gather_rows`, and lookups
//! in a `table`. Also the shape errors each op must return instead of panicking.

use lantern_models::ModelError;
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
    /// 8.3e-8.
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
    /// 1.4e-7, attend 1.0e-7.
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
