//! CPU references in f64, and the error measures.

use candle_core::{Device, Tensor};

/// `x · wᵀ` in f64 for `n` rows of `x`, with `sum |w_i x_i|` of every output (the scale its
/// rounding error is measured against).
pub fn matmul(x: &[f32], n: usize, w: &[f32], rows: usize, cols: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(x.len(), n * cols);
    assert_eq!(w.len(), rows * cols);
    let mut y = Vec::with_capacity(n * rows);
    let mut scale = Vec::with_capacity(n * rows);
    for xr in x.chunks_exact(cols) {
        for wr in w.chunks_exact(cols) {
            let (mut s, mut a) = (0f64, 0f64);
            for (&wi, &xi) in wr.iter().zip(xr) {
                let p = f64::from(wi) * f64::from(xi);
                s += p;
                a += p.abs();
            }
            y.push(s);
            scale.push(a);
        }
    }
    (y, scale)
}

/// Largest `|gpu - ref| / scale` over the outputs of a matrix product.
pub fn dot_error(gpu: &[f32], y: &[f64], scale: &[f64]) -> f64 {
    assert_eq!(gpu.len(), y.len());
    gpu.iter()
        .zip(y)
        .zip(scale)
        .map(|((&g, &r), &s)| (f64::from(g) - r).abs() / s.max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max)
}

/// Largest `|gpu - ref|` over the largest `|ref|`.
pub fn rel_error(gpu: &[f32], r: &[f64]) -> f64 {
    assert_eq!(gpu.len(), r.len());
    let top = r
        .iter()
        .fold(0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    gpu.iter()
        .zip(r)
        .map(|(&g, &r)| (f64::from(g) - r).abs())
        .fold(0.0, f64::max)
        / top
}

pub fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

pub fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

pub fn rms_norm(x: &[f32], cols: usize, gain: &[f32], eps: f32) -> Vec<f64> {
    x.chunks_exact(cols)
        .flat_map(|r| {
            let ms = r.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / cols as f64;
            let inv = 1.0 / (ms + f64::from(eps)).sqrt();
            r.iter()
                .zip(gain.iter().cycle())
                .map(move |(&v, &g)| f64::from(v) * inv * f64::from(g))
                .collect::<Vec<_>>()
        })
        .collect()
}

pub fn layer_norm(
    x: &[f32],
    cols: usize,
    gain: &[f32],
    bias: Option<&[f32]>,
    eps: f32,
) -> Vec<f64> {
    x.chunks_exact(cols)
        .flat_map(|r| {
            let mean = r.iter().map(|&v| f64::from(v)).sum::<f64>() / cols as f64;
            let var = r
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / cols as f64;
            let inv = 1.0 / (var + f64::from(eps)).sqrt();
            (0..cols)
                .map(|c| {
                    (f64::from(r[c]) - mean) * inv * f64::from(gain[c])
                        + bias.map_or(0.0, |b| f64::from(b[c]))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

pub fn softmax(x: &[f32], cols: usize) -> Vec<f64> {
    x.chunks_exact(cols)
        .flat_map(|r| {
            let m = r.iter().fold(f64::MIN, |m, &v| m.max(f64::from(v)));
            let e: Vec<f64> = r.iter().map(|&v| (f64::from(v) - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(move |v| v / s)
        })
        .collect()
}

pub fn silu(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

/// GELU by candle (exact erf form, or the tanh approximation), in f64.
pub fn gelu(x: &[f32], exact: bool) -> Vec<f64> {
    let t = Tensor::from_vec(to_f64(x), x.len(), &Device::Cpu).unwrap();
    let y = if exact { t.gelu_erf() } else { t.gelu() };
    y.unwrap().to_vec1::<f64>().unwrap()
}

/// cos/sin tables (f32, from f64 angles) for `positions` positions: llama.cpp's frequencies
/// `base^(-2i/dims)`.
pub fn rope_table(base: f32, dims: usize, positions: usize) -> (Vec<f32>, Vec<f32>) {
    let half = dims / 2;
    let (mut cos, mut sin) = (Vec::new(), Vec::new());
    for p in 0..positions {
        for i in 0..half {
            let a = p as f64 * f64::from(base).powf(-2.0 * i as f64 / dims as f64);
            cos.push(a.cos() as f32);
            sin.push(a.sin() as f32);
        }
    }
    (cos, sin)
}

/// RoPE of `x` (`[n, cols]`), row `i` at table position `first + i`.
#[allow(clippy::too_many_arguments)]
pub fn rope(
    x: &[f32],
    cols: usize,
    head_dim: usize,
    half: usize,
    neox: bool,
    cos: &[f32],
    sin: &[f32],
    first: usize,
) -> Vec<f64> {
    let mut y = to_f64(x);
    for (i, row) in y.chunks_exact_mut(cols).enumerate() {
        for head in row.chunks_exact_mut(head_dim) {
            for j in 0..half {
                let (a, b) = if neox {
                    (j, j + half)
                } else {
                    (2 * j, 2 * j + 1)
                };
                let t = (first + i) * half + j;
                let (c, s) = (f64::from(cos[t]), f64::from(sin[t]));
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0 * c - x1 * s;
                head[b] = x0 * s + x1 * c;
            }
        }
    }
    y
}

/// Attention of query row `q` (`heads * head_dim`) at absolute position `pos` over cached keys
/// and values (`[positions, kv_heads * head_dim]`).
#[allow(clippy::too_many_arguments)]
pub fn attention_row(
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    visible: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
) -> Vec<f64> {
    let width = kv_heads * head_dim;
    let scale = 1.0 / (head_dim as f64).sqrt();
    let mut out = vec![0f64; heads * head_dim];
    for h in 0..heads {
        let kvh = h / (heads / kv_heads);
        let qh = &q[h * head_dim..(h + 1) * head_dim];
        let scores: Vec<f64> = (0..visible)
            .map(|t| {
                let k = &keys[t * width + kvh * head_dim..][..head_dim];
                qh.iter()
                    .zip(k)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum::<f64>()
                    * scale
            })
            .collect();
        let m = scores.iter().fold(f64::MIN, |m, &s| m.max(s));
        let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
        let z: f64 = e.iter().sum();
        for (t, p) in e.iter().enumerate() {
            let v = &values[t * width + kvh * head_dim..][..head_dim];
            for d in 0..head_dim {
                out[h * head_dim + d] += p / z * f64::from(v[d]);
            }
        }
    }
    out
}

/// The sampler of `sample.wgsl`, step by step in f64 on the same logits: keep values >= the
/// k-th largest, then the most probable until their mass reaches top_p, then walk in index
/// order. Returns the id and the distance of `u * total` from the nearest boundary between
/// kept tokens (in units of the total), to tell a rounding tie from a real difference.
pub fn sample(logits: &[f32], temperature: f32, top_k: usize, top_p: f32, u: f32) -> (u32, f64) {
    let n = logits.len();
    let mut sorted: Vec<f32> = logits.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let kmin = if top_k > 0 && top_k < n {
        sorted[top_k - 1]
    } else {
        f32::NEG_INFINITY
    };
    let m = f64::from(sorted[0]);
    let inv_t = f64::from(1.0 / temperature);
    let p: Vec<f64> = logits
        .iter()
        .map(|&x| {
            if x >= kmin {
                ((f64::from(x) - m) * inv_t).exp()
            } else {
                0.0
            }
        })
        .collect();
    let total: f64 = p.iter().sum();
    let pmin = if top_p > 0.0 && top_p < 1.0 {
        let mut ps: Vec<f64> = p.iter().copied().filter(|&v| v > 0.0).collect();
        ps.sort_by(|a, b| b.total_cmp(a));
        let need = f64::from(top_p) * total;
        let mut acc = 0.0;
        let mut thr = 0.0;
        for v in ps {
            acc += v;
            thr = v;
            if acc >= need {
                break;
            }
        }
        thr
    } else {
        0.0
    };
    let kept: Vec<f64> = p
        .iter()
        .map(|&v| if v >= pmin && v > 0.0 { v } else { 0.0 })
        .collect();
    let kept_total: f64 = kept.iter().sum();
    let target = f64::from(u) * kept_total;
    let mut run = 0.0;
    let mut last = 0;
    for (i, &v) in kept.iter().enumerate() {
        if v > 0.0 {
            let before = run;
            run += v;
            last = i;
            if run > target {
                let margin = (target - before).min(run - target) / kept_total;
                return (i as u32, margin);
            }
        }
    }
    (last as u32, 0.0)
}
