//! DETR (Carion et al. 2020, <https://arxiv.org/abs/2005.12872>) over the op layer, with
//! transformers' names and arithmetic (`modeling_detr.py`'s `DetrForObjectDetection`, its
//! backbone transformers' own ResNet or timm's, as the Hub's `facebook/detr-resnet-50` has it):
//!
//! - the ResNet's last stage ([`super::resnet::ResNetBackbone`]; timm's names and layout
//!   mapped by [`ResNetConfig::from_timm`]), a 1×1 convolution to `d_model` (a linear layer
//!   over the feature map's rows);
//! - the sine position embedding of the pixel mask (downsampled, nearest, to the feature map),
//!   computed on the host per call as `DetrSinePositionEmbedding(normalize=True)` computes it;
//! - post-norm encoder layers with the positions added to the queries' and keys' input (the
//!   encoders' layer, [`crate::encoder::model::Layer::forward_at`]);
//! - post-norm decoder layers over zero inputs with learned query positions: self-attention,
//!   cross-attention to the encoder's output (its positions added to the keys), a
//!   feed-forward layer; a final layer norm;
//! - a linear class head and a 3-layer box MLP with a sigmoid.
//!
//! Padding (mask 0) is left out of every attention's keys by gathering the real rows, which is
//! what transformers' additive mask of the dtype's minimum amounts to.

use serde::Deserialize;

use super::layers::{Mlp, sigmoid};
use super::resnet::{ResNetBackbone, ResNetConfig, ResNetNames};
use super::{Family, ImageInput, ObjectDetector, RawDetections};
use crate::LocalFuture;
use crate::encoder::config::{MAX_HIDDEN, MAX_LAYERS, activation, invalid, labels, required};
use crate::encoder::model::{Layer, Linear, Loader, Norm};
use crate::encoder::weights::Weights;
use crate::error::{ModelError, Result};
use crate::ops::{Activation, AttendShape, Backend, Quantization};

/// `nn.LayerNorm`'s default, which every DETR layer norm uses.
const LAYER_NORM_EPS: f64 = 1e-5;
const MAX_QUERIES: usize = 1 << 12;

#[derive(Debug, Deserialize)]
struct Raw {
    d_model: Option<usize>,
    encoder_layers: Option<usize>,
    decoder_layers: Option<usize>,
    encoder_attention_heads: Option<usize>,
    decoder_attention_heads: Option<usize>,
    encoder_ffn_dim: Option<usize>,
    decoder_ffn_dim: Option<usize>,
    activation_function: Option<String>,
    num_queries: Option<usize>,
    position_embedding_type: Option<String>,
    use_timm_backbone: Option<bool>,
    dilation: Option<bool>,
    backbone: Option<String>,
    backbone_kwargs: Option<serde_json::Value>,
    num_channels: Option<usize>,
    backbone_config: Option<serde_json::Value>,
    id2label: Option<std::collections::BTreeMap<String, String>>,
    num_labels: Option<usize>,
}

#[derive(Debug, Clone)]
struct Config {
    d: usize,
    enc_heads: usize,
    dec_heads: usize,
    act: Activation,
    queries: usize,
    labels: usize,
}

/// Multi-head attention's four projections.
#[derive(Debug)]
struct Attention<B: Backend> {
    q: Linear<B>,
    k: Linear<B>,
    v: Linear<B>,
    out: Linear<B>,
}

#[derive(Debug)]
struct DecoderLayer<B: Backend> {
    attn: Attention<B>,
    attn_norm: Norm<B>,
    cross: Attention<B>,
    cross_norm: Norm<B>,
    up: Linear<B>,
    down: Linear<B>,
    out_norm: Norm<B>,
}

/// `DetrForObjectDetection`.
#[derive(Debug)]
pub struct Detr<B: Backend> {
    backend: B,
    cfg: Config,
    backbone: ResNetBackbone<B>,
    projection: Linear<B>,
    encoder: Vec<Layer<B>>,
    decoder: Vec<DecoderLayer<B>>,
    decoder_norm: Norm<B>,
    /// `[queries, d]`: the learned query positions.
    query_positions: B::Tensor,
    classes: Linear<B>,
    boxes: Mlp<B>,
}

struct Pending<T> {
    logits: T,
    boxes: T,
}

impl<B: Backend> Detr<B> {
    pub fn load(backend: B, config_json: &[u8], safetensors: &[u8]) -> Result<Self> {
        let raw: Raw = serde_json::from_slice(config_json)
            .map_err(|e| invalid("config.json", e.to_string()))?;
        if raw.dilation == Some(true) {
            return Err(ModelError::UnsupportedArchitecture(
                "DETR with a dilated last stage (DC5)".into(),
            ));
        }
        match raw.position_embedding_type.as_deref().unwrap_or("sine") {
            "sine" => {}
            other => {
                return Err(ModelError::UnsupportedArchitecture(format!(
                    "DETR with {other:?} position embeddings"
                )));
            }
        }
        // transformers' default is timm's `resnet50`, as the Hub's checkpoints have it.
        let (resnet, names) = if raw.use_timm_backbone.unwrap_or(true) {
            let name = raw.backbone.as_deref().unwrap_or("resnet50");
            // transformers hands `num_channels` to timm unless `backbone_kwargs` has `in_chans`.
            let in_chans = raw.backbone_kwargs.as_ref().and_then(|k| k.get("in_chans"));
            if let (None, Some(n)) = (in_chans, raw.num_channels.filter(|&n| n != 3)) {
                return Err(invalid("num_channels", format!("{n}; RGB images have 3")));
            }
            let cfg = ResNetConfig::from_timm(name, raw.backbone_kwargs.as_ref())?;
            (cfg, ResNetNames::Timm)
        } else {
            let backbone_cfg = raw
                .backbone_config
                .as_ref()
                .ok_or_else(|| invalid("backbone_config", "missing"))?;
            let resnet = ResNetConfig::from_value(backbone_cfg)?;
            // The backbone runs to its last stage; another `out_features` would be another map.
            let last = format!("stage{}", resnet.hidden_sizes.len());
            if let Some(out) = backbone_cfg.get("out_features")
                && *out != serde_json::json!([last])
            {
                return Err(ModelError::UnsupportedArchitecture(format!(
                    "a DETR backbone with out_features {out} (only [{last:?}] is supported)"
                )));
            }
            (resnet, ResNetNames::Transformers)
        };
        let d = required(Some(raw.d_model.unwrap_or(256)), "d_model", MAX_HIDDEN)?;
        let heads = |v: Option<usize>, name| -> Result<usize> {
            let h = required(Some(v.unwrap_or(8)), name, MAX_HIDDEN)?;
            if d.is_multiple_of(h) {
                Ok(h)
            } else {
                Err(invalid(
                    name,
                    format!("{h} heads do not divide d_model {d}"),
                ))
            }
        };
        let cfg = Config {
            d,
            enc_heads: heads(raw.encoder_attention_heads, "encoder_attention_heads")?,
            dec_heads: heads(raw.decoder_attention_heads, "decoder_attention_heads")?,
            act: activation(
                Some(raw.activation_function.as_deref().unwrap_or("relu")),
                "activation_function",
            )?,
            queries: required(
                Some(raw.num_queries.unwrap_or(100)),
                "num_queries",
                MAX_QUERIES,
            )?,
            labels: labels(raw.id2label.clone(), raw.num_labels)?.len(),
        };
        let enc_layers = required(
            Some(raw.encoder_layers.unwrap_or(6)),
            "encoder_layers",
            MAX_LAYERS,
        )?;
        let dec_layers = required(
            Some(raw.decoder_layers.unwrap_or(6)),
            "decoder_layers",
            MAX_LAYERS,
        )?;
        let enc_ffn = required(
            Some(raw.encoder_ffn_dim.unwrap_or(2048)),
            "encoder_ffn_dim",
            MAX_HIDDEN * 8,
        )?;
        let dec_ffn = required(
            Some(raw.decoder_ffn_dim.unwrap_or(2048)),
            "decoder_ffn_dim",
            MAX_HIDDEN * 8,
        )?;

        let w = Weights::parse(safetensors, "model.", "input_projection.weight")?;
        let prefix = w.prefix;
        let n = |s: &str| format!("{prefix}{s}");
        let backbone = ResNetBackbone::load_from(
            &backend,
            &resnet,
            names,
            &w,
            &n("backbone.conv_encoder.model."),
        )?;
        let l = Loader {
            backend: &backend,
            w,
            quantization: Quantization::None,
        };
        let c = backbone.out_channels();
        let name = n("input_projection.weight");
        let pw = l.w.f32(&[&name], &[d, c, 1, 1])?;
        let projection = Linear {
            w: backend.dense(&name, pw, d, c, Quantization::None)?,
            b: l.vector(&[&n("input_projection.bias")], d)?,
        };
        let eps = LAYER_NORM_EPS;
        let attention = |p: &str| -> Result<Attention<B>> {
            Ok(Attention {
                q: l.linear(&format!("{p}.q_proj"), d, d)?,
                k: l.linear(&format!("{p}.k_proj"), d, d)?,
                v: l.linear(&format!("{p}.v_proj"), d, d)?,
                out: l.linear(&format!("{p}.out_proj"), d, d)?,
            })
        };
        let encoder = (0..enc_layers)
            .map(|i| {
                let p = n(&format!("encoder.layers.{i}"));
                let a = attention(&format!("{p}.self_attn"))?;
                Ok(Layer {
                    query: a.q,
                    key: a.k,
                    value: a.v,
                    attn_out: a.out,
                    attn_norm: l.norm(&format!("{p}.self_attn_layer_norm"), d, eps)?,
                    up: l.linear(&format!("{p}.fc1"), enc_ffn, d)?,
                    down: l.linear(&format!("{p}.fc2"), d, enc_ffn)?,
                    out_norm: l.norm(&format!("{p}.final_layer_norm"), d, eps)?,
                })
            })
            .collect::<Result<_>>()?;
        let decoder = (0..dec_layers)
            .map(|i| {
                let p = n(&format!("decoder.layers.{i}"));
                Ok(DecoderLayer {
                    attn: attention(&format!("{p}.self_attn"))?,
                    attn_norm: l.norm(&format!("{p}.self_attn_layer_norm"), d, eps)?,
                    cross: attention(&format!("{p}.encoder_attn"))?,
                    cross_norm: l.norm(&format!("{p}.encoder_attn_layer_norm"), d, eps)?,
                    up: l.linear(&format!("{p}.fc1"), dec_ffn, d)?,
                    down: l.linear(&format!("{p}.fc2"), d, dec_ffn)?,
                    out_norm: l.norm(&format!("{p}.final_layer_norm"), d, eps)?,
                })
            })
            .collect::<Result<_>>()?;
        let decoder_norm = l.norm(&n("decoder.layernorm"), d, eps)?;
        let qp =
            l.w.f32(&[&n("query_position_embeddings.weight")], &[cfg.queries, d])?;
        let query_positions = backend.tensor(qp, cfg.queries, d)?;
        let classes = l.linear("class_labels_classifier", cfg.labels + 1, d)?;
        let boxes = Mlp::load(&l, "bbox_predictor", &[d, d, d, 4])?;
        drop(l);
        Ok(Detr {
            backend,
            cfg,
            backbone,
            projection,
            encoder,
            decoder,
            decoder_norm,
            query_positions,
            classes,
            boxes,
        })
    }

    fn pending(&self, image: &ImageInput<'_>) -> Result<Pending<B::Tensor>> {
        image.check()?;
        let be = &self.backend;
        let cfg = &self.cfg;
        let d = cfg.d;
        let map = self.backbone.forward(be, image)?;
        let (fh, fw) = (map.height, map.width);
        let mask = downsample_mask(image, fh, fw);
        let real: Vec<usize> = (0..fh * fw).filter(|&i| mask[i]).collect();
        if real.is_empty() {
            return Err(ModelError::InvalidInput {
                what: "mask",
                detail: "the pixel mask leaves no position of the feature map".into(),
            });
        }
        let kv_rows = (real.len() < fh * fw).then_some(real.as_slice());
        let mut x = self.projection.apply(be, &map.features)?;
        drop(map);
        let positions = be.tensor(sine_positions(&mask, fh, fw, d / 2), fh * fw, d)?;
        let enc_valid = [real.len()];
        let enc_head_dim = d / cfg.enc_heads;
        let enc_shape = AttendShape {
            heads: cfg.enc_heads,
            head_dim: enc_head_dim,
            q_len: fh * fw,
            kv_len: real.len(),
            scale: 1.0 / (enc_head_dim as f32).sqrt(),
            kv_valid: &enc_valid,
            q_valid: None,
        };
        for layer in &self.encoder {
            x = layer.forward_at(be, &x, Some(&positions), kv_rows, &enc_shape, cfg.act)?;
        }
        // The cross-attention's keys input: the encoder's output plus its positions.
        let mut memory_pos = be.gather_rows(&x, &(0..fh * fw).collect::<Vec<_>>())?;
        be.add_assign(&mut memory_pos, &positions)?;
        drop(positions);
        let q = cfg.queries;
        let dec_head_dim = d / cfg.dec_heads;
        let queries = [q];
        let self_shape = AttendShape {
            heads: cfg.dec_heads,
            head_dim: dec_head_dim,
            q_len: q,
            kv_len: q,
            scale: 1.0 / (dec_head_dim as f32).sqrt(),
            kv_valid: &queries,
            q_valid: None,
        };
        let cross_shape = AttendShape {
            kv_len: real.len(),
            kv_valid: &enc_valid,
            ..self_shape
        };
        let qpos = &self.query_positions;
        let all_queries: Vec<usize> = (0..q).collect();
        let mut h = be.tensor(vec![0f32; q * d], q, d)?;
        for layer in &self.decoder {
            // Self-attention: positions on the queries' and keys' input.
            let mut with = be.gather_rows(&h, &all_queries)?;
            be.add_assign(&mut with, qpos)?;
            let a = &layer.attn;
            let ctx = be.attend(
                &a.q.apply(be, &with)?,
                &a.k.apply(be, &with)?,
                &a.v.apply(be, &h)?,
                &self_shape,
            )?;
            let mut y = a.out.apply(be, &ctx)?;
            be.add_assign(&mut y, &h)?;
            h = layer.attn_norm.apply(be, &y)?;
            // Cross-attention: query positions on the queries, the image's on the keys.
            let mut with = be.gather_rows(&h, &all_queries)?;
            be.add_assign(&mut with, qpos)?;
            let c = &layer.cross;
            let (mut k, mut v) = (c.k.apply(be, &memory_pos)?, c.v.apply(be, &x)?);
            if let Some(rows) = kv_rows {
                (k, v) = (be.gather_rows(&k, rows)?, be.gather_rows(&v, rows)?);
            }
            let ctx = be.attend(&c.q.apply(be, &with)?, &k, &v, &cross_shape)?;
            let mut y = c.out.apply(be, &ctx)?;
            be.add_assign(&mut y, &h)?;
            h = layer.cross_norm.apply(be, &y)?;
            // Feed-forward.
            let mut u = layer.up.apply(be, &h)?;
            be.activate(&mut u, cfg.act)?;
            let mut y = layer.down.apply(be, &u)?;
            be.add_assign(&mut y, &h)?;
            h = layer.out_norm.apply(be, &y)?;
        }
        let h = self.decoder_norm.apply(be, &h)?;
        Ok(Pending {
            logits: self.classes.apply(be, &h)?,
            boxes: self.boxes.apply(be, &h)?,
        })
    }

    fn finish(&self, logits: Vec<f32>, mut boxes: Vec<f32>) -> RawDetections {
        sigmoid(&mut boxes);
        RawDetections {
            queries: self.cfg.queries,
            classes: self.cfg.labels + 1,
            logits,
            boxes,
        }
    }
}

/// The pixel mask at the feature map's size, as `interpolate(mode="nearest")` samples it:
/// source index `min(floor(dst · in/out), in − 1)` in f32 (the identity at the same size).
fn downsample_mask(image: &ImageInput<'_>, fh: usize, fw: usize) -> Vec<bool> {
    let Some(mask) = image.mask else {
        return vec![true; fh * fw];
    };
    let index = |dst: usize, input: usize, output: usize| {
        if input == output {
            dst
        } else if output == 2 * input {
            dst >> 1
        } else {
            let scale = input as f32 / output as f32;
            ((dst as f32 * scale).floor() as usize).min(input - 1)
        }
    };
    let mut out = Vec::with_capacity(fh * fw);
    for y in 0..fh {
        let sy = index(y, image.height, fh);
        for x in 0..fw {
            let sx = index(x, image.width, fw);
            out.push(mask[sy * image.width + sx] != 0);
        }
    }
    out
}

/// `DetrSinePositionEmbedding(steps, temperature=10000, normalize=True, scale=2π)` of a mask,
/// in f32 as PyTorch computes it: `[fh * fw, 2 * steps]` rows, the y half then the x half, each
/// `sin, cos, sin, ...` of the normalised cumulative mask over `10000^(2⌊i/2⌋/steps)`.
fn sine_positions(mask: &[bool], fh: usize, fw: usize, steps: usize) -> Vec<f32> {
    let scale = std::f64::consts::TAU as f32;
    let mut y_embed = vec![0f32; fh * fw];
    let mut x_embed = vec![0f32; fh * fw];
    for y in 0..fh {
        for x in 0..fw {
            let m = f32::from(u8::from(mask[y * fw + x]));
            let i = y * fw + x;
            y_embed[i] = m + if y > 0 { y_embed[i - fw] } else { 0.0 };
            x_embed[i] = m + if x > 0 { x_embed[i - 1] } else { 0.0 };
        }
    }
    let eps = 1e-6f32;
    let dim_t: Vec<f32> = (0..steps)
        .map(|i| 10000f32.powf(2.0 * (i / 2) as f32 / steps as f32))
        .collect();
    let mut out = Vec::with_capacity(fh * fw * 2 * steps);
    for y in 0..fh {
        for x in 0..fw {
            let i = y * fw + x;
            let ye = y_embed[i] / (y_embed[(fh - 1) * fw + x] + eps) * scale;
            let xe = x_embed[i] / (x_embed[y * fw + fw - 1] + eps) * scale;
            for e in [ye, xe] {
                out.extend(dim_t.iter().enumerate().map(|(k, &t)| {
                    let v = e / t;
                    if k % 2 == 0 { v.sin() } else { v.cos() }
                }));
            }
        }
    }
    out
}

impl<B: Backend> ObjectDetector for Detr<B> {
    fn family(&self) -> Family {
        Family::Detr
    }

    fn backend_name(&self) -> String {
        self.backend.name()
    }

    fn num_labels(&self) -> usize {
        self.cfg.labels
    }

    fn detect(&self, image: &ImageInput<'_>) -> Result<RawDetections> {
        let (logits, boxes) = B::execute(|| {
            let p = self.pending(image)?;
            Ok::<_, ModelError>((self.backend.read(&p.logits)?, self.backend.read(&p.boxes)?))
        })?;
        Ok(self.finish(logits, boxes))
    }

    fn detect_async<'a>(
        &'a self,
        image: &'a ImageInput<'a>,
    ) -> LocalFuture<'a, Result<RawDetections>> {
        Box::pin(async move {
            let p = B::execute(|| self.pending(image))?;
            let logits = self.backend.read_async(&p.logits).await?;
            let boxes = self.backend.read_async(&p.boxes).await?;
            Ok(self.finish(logits, boxes))
        })
    }
}
