//! Parts the vision transformers share: the pre-norm ViT layer, the detection heads' MLP, the
//! patch embedding's host side, and PyTorch's bicubic interpolation for YOLOS's positions.
//! The linear layers and norms are the encoders' ([`crate::encoder::model`]).

use crate::encoder::model::{Linear, Loader, Norm};
use crate::error::{ModelError, Result};
use crate::ops::{Activation, AttendShape, Backend};

/// A pre-norm transformer layer with ViT's tensor names (`modeling_vit.py`'s `ViTLayer`;
/// YOLOS and DeiT have the same): `x += attn(layernorm_before(x))`, then
/// `x += mlp(layernorm_after(x))`.
#[derive(Debug)]
pub(crate) struct PreNormLayer<B: Backend> {
    before: Norm<B>,
    query: Linear<B>,
    key: Linear<B>,
    value: Linear<B>,
    out: Linear<B>,
    after: Norm<B>,
    up: Linear<B>,
    down: Linear<B>,
}

impl<B: Backend> PreNormLayer<B> {
    /// Layer `prefix` (`vit.encoder.layer.3`).
    pub fn load(
        l: &Loader<'_, '_, B>,
        prefix: &str,
        hidden: usize,
        inter: usize,
        eps: f64,
    ) -> Result<Self> {
        let p = |s: &str| format!("{prefix}.{s}");
        Ok(PreNormLayer {
            before: l.norm(&p("layernorm_before"), hidden, eps)?,
            query: l.linear(&p("attention.attention.query"), hidden, hidden)?,
            key: l.linear(&p("attention.attention.key"), hidden, hidden)?,
            value: l.linear(&p("attention.attention.value"), hidden, hidden)?,
            out: l.linear(&p("attention.output.dense"), hidden, hidden)?,
            after: l.norm(&p("layernorm_after"), hidden, eps)?,
            up: l.linear(&p("intermediate.dense"), inter, hidden)?,
            down: l.linear(&p("output.dense"), hidden, inter)?,
        })
    }

    /// `x` after the layer.
    pub fn forward(
        &self,
        be: &B,
        x: &mut B::Tensor,
        shape: &AttendShape<'_>,
        act: Activation,
    ) -> Result<()> {
        let h = self.before.apply(be, x)?;
        let (q, k, v) = (
            self.query.apply(be, &h)?,
            self.key.apply(be, &h)?,
            self.value.apply(be, &h)?,
        );
        drop(h);
        let ctx = be.attend(&q, &k, &v, shape)?;
        drop((q, k, v));
        be.add_assign(x, &self.out.apply(be, &ctx)?)?;
        drop(ctx);
        let mut u = self.up.apply(be, &self.after.apply(be, x)?)?;
        be.activate(&mut u, act)?;
        be.add_assign(x, &self.down.apply(be, &u)?)
    }
}

/// DETR's and YOLOS's prediction head (`DetrMLPPredictionHead`): linear layers with ReLU
/// between them.
#[derive(Debug)]
pub(crate) struct Mlp<B: Backend> {
    layers: Vec<Linear<B>>,
}

impl<B: Backend> Mlp<B> {
    /// `prefix.layers.{i}` for `sizes` `[in, hidden, ..., out]`.
    pub fn load(l: &Loader<'_, '_, B>, prefix: &str, sizes: &[usize]) -> Result<Self> {
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, io)| l.linear(&format!("{prefix}.layers.{i}"), io[1], io[0]))
            .collect::<Result<_>>()?;
        Ok(Mlp { layers })
    }

    pub fn apply(&self, be: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let mut y: Option<B::Tensor> = None;
        for (i, layer) in self.layers.iter().enumerate() {
            let mut out = layer.apply(be, y.as_ref().unwrap_or(x))?;
            if i + 1 < self.layers.len() {
                be.activate(&mut out, Activation::Relu)?;
            }
            y = Some(out);
        }
        y.ok_or_else(|| ModelError::shape("mlp", "a head without layers"))
    }
}

/// The logistic function on the host, after readback (the boxes: four values per
/// prediction; the op layer has no sigmoid).
pub(crate) fn sigmoid(v: &mut [f32]) {
    for x in v {
        *x = 1.0 / (1.0 + (-*x).exp());
    }
}

/// The rows a patch embedding multiplies: a convolution with kernel = stride = `patch` over
/// `3 × height × width` pixels is a linear layer over each patch's `3 × patch × patch` values
/// (channel, then row, then column: the order of `Conv2d.weight`'s `[out, 3, p, p]`, so the
/// weight is used as stored). Patches run row by row, as `flatten(2).transpose(1, 2)` orders
/// them; pixels past the last whole patch are dropped, as the convolution drops them.
/// `before` and `after` zero rows frame the patches: the token rows ([CLS], detection tokens)
/// whose values are added afterwards. Returns the rows and the grid `(rows, columns)`.
pub(crate) fn patch_rows(
    pixels: &[f32],
    height: usize,
    width: usize,
    patch: usize,
    before: usize,
    after: usize,
) -> Result<(Vec<f32>, (usize, usize))> {
    let (gh, gw) = (height / patch, width / patch);
    if gh == 0 || gw == 0 || pixels.len() != 3 * height * width {
        return Err(ModelError::InvalidInput {
            what: "image",
            detail: format!(
                "{height}x{width} pixels ({} values) hold no whole {patch}x{patch} patch",
                pixels.len()
            ),
        });
    }
    let k = 3 * patch * patch;
    let mut rows = vec![0f32; (before + gh * gw + after) * k];
    for py in 0..gh {
        for px in 0..gw {
            let row = &mut rows[(before + py * gw + px) * k..][..k];
            for c in 0..3 {
                for y in 0..patch {
                    let src = &pixels[(c * height + py * patch + y) * width + px * patch..];
                    row[(c * patch + y) * patch..][..patch].copy_from_slice(&src[..patch]);
                }
            }
        }
    }
    Ok((rows, (gh, gw)))
}

/// PyTorch's `interpolate(mode="bicubic", align_corners=False)` without scale factors (the
/// output size given), on the CPU in f32 as its kernel computes it: source coordinate
/// `(dst + 0.5) · in/out − 0.5`, Keys' cubic with `a = −0.75` over the four nearest samples
/// (indices clamped to the edge), the column taps summed first, then the rows', in tap order.
/// `src` holds `ih × iw` positions of `channels` values each (position-major, as a ViT's
/// position embeddings); the result `oh × ow` positions likewise.
pub(crate) fn bicubic(
    src: &[f32],
    channels: usize,
    (ih, iw): (usize, usize),
    (oh, ow): (usize, usize),
) -> Vec<f32> {
    let ys = cubic_taps(ih, oh);
    let xs = cubic_taps(iw, ow);
    let mut out = vec![0f32; oh * ow * channels];
    for (oy, (yi, yw)) in ys.iter().enumerate() {
        for (ox, (xi, xw)) in xs.iter().enumerate() {
            let dst = &mut out[(oy * ow + ox) * channels..][..channels];
            for (c, d) in dst.iter_mut().enumerate() {
                // Tap order, as PyTorch accumulates: the first product, then += the rest.
                let row = |i: usize| {
                    let base = yi[i] * iw;
                    let mut acc = src[(base + xi[0]) * channels + c] * xw[0];
                    for (&x, &w) in xi.iter().zip(xw).skip(1) {
                        acc += src[(base + x) * channels + c] * w;
                    }
                    acc
                };
                let mut acc = row(0) * yw[0];
                for (i, &w) in yw.iter().enumerate().skip(1) {
                    acc += row(i) * w;
                }
                *d = acc;
            }
        }
    }
    out
}

/// Per output index: the four source indices and their weights.
fn cubic_taps(input: usize, output: usize) -> Vec<([usize; 4], [f32; 4])> {
    const A: f32 = -0.75;
    let conv1 = |x: f32| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let conv2 = |x: f32| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    let scale = input as f32 / output as f32;
    let last = input as i64 - 1;
    (0..output)
        .map(|dst| {
            let real = scale * (dst as f32 + 0.5) - 0.5;
            let floor = real.floor();
            let t = real - floor;
            let idx =
                std::array::from_fn(|j| (floor as i64 - 1 + j as i64).clamp(0, last) as usize);
            (
                idx,
                [conv2(t + 1.0), conv1(t), conv1(1.0 - t), conv2(2.0 - t)],
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bicubic_at_the_same_size_is_the_identity() {
        let src: Vec<f32> = (0..4 * 6 * 2).map(|i| (i as f32 * 0.37).sin()).collect();
        assert_eq!(bicubic(&src, 2, (4, 6), (4, 6)), src);
    }

    /// PyTorch's values (scripts/reference/vision_transformers.py) on its own deterministic
    /// grids, to larger, smaller and odd sizes.
    #[test]
    fn bicubic_matches_pytorch() {
        let golden: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/data/vision_transformers.golden.json"
        ))
        .unwrap();
        let cases = golden["bicubic"].as_array().unwrap();
        assert_eq!(cases.len(), 5);
        for case in cases {
            let size = |k: &str| {
                let v: Vec<usize> = serde_json::from_value(case[k].clone()).unwrap();
                (v[0], v[1])
            };
            let c = case["channels"].as_u64().unwrap() as usize;
            let ((ih, iw), out) = (size("input"), size("output"));
            // PyTorch's input is channel-major; ours position-major.
            let mut src = vec![0f32; c * ih * iw];
            for i in 0..c * ih * iw {
                let v = ((i * 7919) % 255) as f32 / 127.5 - 1.0;
                src[(i % (ih * iw)) * c + i / (ih * iw)] = v;
            }
            let got = bicubic(&src, c, (ih, iw), out);
            let want: Vec<f32> = serde_json::from_value(case["values"].clone()).unwrap();
            let positions = out.0 * out.1;
            let mut worst = 0f32;
            for (i, &w) in want.iter().enumerate() {
                let g = got[(i % positions) * c + i / positions];
                worst = worst.max((g - w).abs());
            }
            assert!(worst <= 1e-6, "{ih}x{iw} -> {out:?}: {worst}");
        }
    }

    #[test]
    fn patches_follow_conv2d_weight_order() {
        // 3 x 2 x 4 pixels, patch 2: two patches side by side.
        let pixels: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let (rows, grid) = patch_rows(&pixels, 2, 4, 2, 1, 0).unwrap();
        assert_eq!(grid, (1, 2));
        assert_eq!(&rows[..12], &[0.0; 12]);
        // Patch 0: channel 0 rows (0,1),(4,5); channel 1: +8; channel 2: +16.
        assert_eq!(
            &rows[12..24],
            &[0., 1., 4., 5., 8., 9., 12., 13., 16., 17., 20., 21.]
        );
        assert_eq!(&rows[24..28], &[2., 3., 6., 7.]);
        assert!(patch_rows(&pixels, 2, 4, 3, 0, 0).is_err());
    }
}
