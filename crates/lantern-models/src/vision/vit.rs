//! The Vision Transformer (Dosovitskiy et al. 2021, <https://arxiv.org/abs/2010.11929>,
//! section 3.1) over the op layer, with transformers' names and arithmetic
//! (`modeling_vit.py`'s `ViTForImageClassification`; `modeling_deit.py`'s DeiT, which adds a
//! distillation token): a patch embedding, [CLS] (and distillation) token, learned positions,
//! pre-norm layers, a final layer norm and a linear classifier on the [CLS] row.
//!
//! [`Body`] (config, patch embedding, layers, final norm) is YOLOS's too (`super::yolos`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::layers::{PreNormLayer, patch_rows};
use super::{Family, ImageClassifier, ImageInput};
use crate::LocalFuture;
use crate::encoder::config::{MAX_HIDDEN, MAX_LAYERS, activation, invalid, labels, required};
use crate::encoder::model::{Linear, Loader, Norm};
use crate::encoder::weights::Weights;
use crate::error::{ModelError, Result};
use crate::ops::{Activation, AttendShape, Backend, Quantization};

/// Upper bounds against a corrupt config: far above any released ViT (ViT-H/14: 1280 hidden,
/// 32 layers; YOLOS-base: 100 detection tokens, 1344-pixel sides).
const MAX_SIDE: usize = 1 << 13;
pub(crate) const MAX_TOKENS: usize = 1 << 12;

/// `config.json` of ViT, DeiT and YOLOS: every field optional (transformers' defaults apply,
/// as `ViTConfig` / `YolosConfig` fill them).
#[derive(Debug, Deserialize)]
pub(crate) struct Raw {
    model_type: Option<String>,
    hidden_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    intermediate_size: Option<usize>,
    hidden_act: Option<String>,
    layer_norm_eps: Option<f64>,
    image_size: Option<serde_json::Value>,
    patch_size: Option<serde_json::Value>,
    num_channels: Option<usize>,
    qkv_bias: Option<bool>,
    id2label: Option<BTreeMap<String, String>>,
    num_labels: Option<usize>,
    // YOLOS.
    pub num_detection_tokens: Option<usize>,
    pub use_mid_position_embeddings: Option<bool>,
}

impl Raw {
    pub fn parse(json: &[u8]) -> Result<Self> {
        serde_json::from_slice(json).map_err(|e| invalid("config.json", e.to_string()))
    }
}

/// The hyperparameters of a ViT body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub inter: usize,
    pub act: Activation,
    pub eps: f64,
    /// The training image's `(height, width)`: the position embeddings' grid in patches.
    pub image: (usize, usize),
    pub patch: usize,
    pub labels: Vec<String>,
}

/// An int or a `[height, width]` pair (`image_size`, `patch_size`).
fn pair(
    v: Option<&serde_json::Value>,
    name: &'static str,
    default: usize,
) -> Result<(usize, usize)> {
    let side = |v: &serde_json::Value| -> Result<usize> {
        let n = v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| invalid(name, format!("{v} is not a size")))?;
        required(Some(n), name, MAX_SIDE)
    };
    match v {
        None => Ok((default, default)),
        Some(serde_json::Value::Array(a)) if a.len() == 2 => Ok((side(&a[0])?, side(&a[1])?)),
        Some(v) if v.is_array() => Err(invalid(name, format!("{v} is not [height, width]"))),
        Some(v) => side(v).map(|n| (n, n)),
    }
}

impl Config {
    /// `default_image`: the family's `image_size` when the config has none (ViT 224, YOLOS
    /// [512, 864]: their config classes' defaults).
    pub fn from_raw(raw: &Raw, default_image: (usize, usize)) -> Result<Self> {
        let hidden = required(
            Some(raw.hidden_size.unwrap_or(768)),
            "hidden_size",
            MAX_HIDDEN,
        )?;
        let heads = required(
            Some(raw.num_attention_heads.unwrap_or(12)),
            "num_attention_heads",
            MAX_HIDDEN,
        )?;
        if !hidden.is_multiple_of(heads) {
            return Err(invalid(
                "num_attention_heads",
                format!("{heads} heads do not divide hidden_size {hidden}"),
            ));
        }
        if raw.num_channels.is_some_and(|c| c != 3) {
            return Err(invalid("num_channels", "only RGB (3) images are supported"));
        }
        if raw.qkv_bias == Some(false) {
            return Err(ModelError::UnsupportedArchitecture(
                "a ViT without query/key/value biases (qkv_bias: false)".into(),
            ));
        }
        let image = match &raw.image_size {
            None => default_image,
            Some(v) => pair(Some(v), "image_size", 0)?,
        };
        let (ph, pw) = pair(raw.patch_size.as_ref(), "patch_size", 16)?;
        if ph != pw {
            return Err(ModelError::UnsupportedArchitecture(format!(
                "non-square patches {ph}x{pw}"
            )));
        }
        if image.0 < ph || image.1 < ph {
            return Err(invalid(
                "image_size",
                format!("{image:?} is smaller than a {ph}-pixel patch"),
            ));
        }
        let eps = raw.layer_norm_eps.unwrap_or(1e-12);
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(invalid("layer_norm_eps", format!("{eps}")));
        }
        let cfg = Config {
            hidden,
            layers: required(
                Some(raw.num_hidden_layers.unwrap_or(12)),
                "num_hidden_layers",
                MAX_LAYERS,
            )?,
            heads,
            inter: required(
                Some(raw.intermediate_size.unwrap_or(3072)),
                "intermediate_size",
                MAX_HIDDEN * 8,
            )?,
            act: activation(raw.hidden_act.as_deref(), "hidden_act")?,
            eps,
            image,
            patch: ph,
            labels: labels(raw.id2label.clone(), raw.num_labels)?,
        };
        if cfg.patches() > MAX_TOKENS {
            return Err(ModelError::LimitExceeded {
                what: "patches",
                value: cfg.patches() as u64,
                limit: MAX_TOKENS as u64,
            });
        }
        Ok(cfg)
    }

    /// The training image's patch grid, `(rows, columns)`.
    pub fn grid(&self) -> (usize, usize) {
        (self.image.0 / self.patch, self.image.1 / self.patch)
    }

    pub fn patches(&self) -> usize {
        let (h, w) = self.grid();
        h * w
    }

    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}

/// The patch embedding, the layers and the final layer norm.
#[derive(Debug)]
pub(crate) struct Body<B: Backend> {
    pub cfg: Config,
    /// The convolution as a linear layer over [`patch_rows`], without its bias: the bias is
    /// in the rows added after it (the token rows must not get it).
    patch: B::Dense,
    /// The convolution's bias, added on the host to the patch rows' positions.
    pub patch_bias: Vec<f32>,
    layers: Vec<PreNormLayer<B>>,
    norm: Norm<B>,
}

impl<B: Backend> Body<B> {
    /// `prefix`: `vit.` / `deit.` where the file has it (transformers' `*For*` models).
    pub fn load(l: &Loader<'_, '_, B>, cfg: Config) -> Result<Self> {
        let n = |s: &str| format!("{}{s}", l.w.prefix);
        let (h, p) = (cfg.hidden, cfg.patch);
        let name = n("embeddings.patch_embeddings.projection.weight");
        let w = l.w.f32(&[&name], &[h, 3, p, p])?;
        let patch = l
            .backend
            .dense(&name, w, h, 3 * p * p, Quantization::None)?;
        let patch_bias =
            l.w.f32(&[&n("embeddings.patch_embeddings.projection.bias")], &[h])?;
        let layers = (0..cfg.layers)
            .map(|i| {
                PreNormLayer::load(l, &n(&format!("encoder.layer.{i}")), h, cfg.inter, cfg.eps)
            })
            .collect::<Result<_>>()?;
        let norm = l.norm(&n("layernorm"), h, cfg.eps)?;
        Ok(Body {
            cfg,
            patch,
            patch_bias,
            layers,
            norm,
        })
    }

    /// A host tensor of the file, `[rows, hidden]` (tokens, position embeddings).
    pub fn host(w: &Weights<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        w.f32(&[&format!("{}{name}", w.prefix)], shape)
    }

    /// The last hidden state of one image: `before` token rows, the patches, `after` token
    /// rows, plus `added` (`[rows, hidden]`: the tokens, the patches' bias, the positions), then
    /// the layers, `between[i]` added after layer `i` (YOLOS's mid-position embeddings), and the
    /// final norm.
    pub fn forward(
        &self,
        be: &B,
        image: &ImageInput<'_>,
        (before, after): (usize, usize),
        added: &B::Tensor,
        between: &[B::Tensor],
    ) -> Result<B::Tensor> {
        let cfg = &self.cfg;
        let (rows, (gh, gw)) = patch_rows(
            image.pixels,
            image.height,
            image.width,
            cfg.patch,
            before,
            after,
        )?;
        let n = before + gh * gw + after;
        let k = 3 * cfg.patch * cfg.patch;
        let x = be.tensor(rows, n, k)?;
        let mut x = be.linear(&x, &self.patch, None)?;
        be.add_assign(&mut x, added)?;
        let valid = [n];
        let shape = AttendShape {
            heads: cfg.heads,
            head_dim: cfg.head_dim(),
            q_len: n,
            kv_len: n,
            scale: 1.0 / (cfg.head_dim() as f32).sqrt(),
            kv_valid: &valid,
            q_valid: None,
        };
        for (i, layer) in self.layers.iter().enumerate() {
            layer.forward(be, &mut x, &shape, cfg.act)?;
            if let Some(add) = between.get(i) {
                be.add_assign(&mut x, add)?;
            }
        }
        self.norm.apply(be, &x)
    }
}

/// `ViTForImageClassification`, `DeiTForImageClassification` or
/// `DeiTForImageClassificationWithTeacher`.
#[derive(Debug)]
pub struct Vit<B: Backend> {
    backend: B,
    body: Body<B>,
    /// 1 ([CLS]) or 2 ([CLS] and DeiT's distillation token).
    tokens: usize,
    /// `[tokens + patches, hidden]`: the tokens, the patch bias, and the position embeddings.
    added: B::Tensor,
    head: Head<B>,
}

#[derive(Debug)]
enum Head<B: Backend> {
    /// `classifier` on the [CLS] row.
    Cls(Linear<B>),
    /// DeiT with teacher: the mean of `cls_classifier` on the [CLS] row and
    /// `distillation_classifier` on the distillation token's.
    Teacher {
        cls: Linear<B>,
        distillation: Linear<B>,
    },
}

impl<B: Backend> Vit<B> {
    /// Loads the model from `config.json` and a safetensors file's bytes.
    pub fn load(backend: B, config_json: &[u8], safetensors: &[u8]) -> Result<Self> {
        let raw = Raw::parse(config_json)?;
        let deit = raw.model_type.as_deref() == Some("deit");
        let cfg = Config::from_raw(&raw, (224, 224))?;
        let prefix = if deit { "deit." } else { "vit." };
        let w = Weights::parse(safetensors, prefix, "embeddings.cls_token")?;
        let dist_name = format!("{}embeddings.distillation_token", w.prefix);
        let tokens = if w.contains(&dist_name) { 2 } else { 1 };
        let l = Loader {
            backend: &backend,
            w,
            quantization: Quantization::None,
        };
        let h = cfg.hidden;
        let rows = tokens + cfg.patches();
        let mut added = Body::<B>::host(&l.w, "embeddings.position_embeddings", &[1, rows, h])?;
        let cls = Body::<B>::host(&l.w, "embeddings.cls_token", &[1, 1, h])?;
        let mut token_rows = cls;
        if tokens == 2 {
            token_rows.extend(Body::<B>::host(
                &l.w,
                "embeddings.distillation_token",
                &[1, 1, h],
            )?);
        }
        let body = Body::load(&l, cfg)?;
        for (row, pos) in added.chunks_exact_mut(h).enumerate() {
            let add = match token_rows.get(row * h..(row + 1) * h) {
                Some(token) => token,
                None => &body.patch_bias,
            };
            // transformers adds the bias in the convolution and the positions after it; here
            // the bias meets the positions first (a rounding-level difference).
            for (p, a) in pos.iter_mut().zip(add) {
                *p += a;
            }
        }
        let added = backend.tensor(added, rows, h)?;
        let labels = body.cfg.labels.len();
        let head = if l.w.contains("cls_classifier.weight") && tokens == 2 {
            Head::Teacher {
                cls: l.linear("cls_classifier", labels, h)?,
                distillation: l.linear("distillation_classifier", labels, h)?,
            }
        } else {
            Head::Cls(l.linear("classifier", labels, h)?)
        };
        drop(l);
        Ok(Vit {
            backend,
            body,
            tokens,
            added,
            head,
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.body.cfg.labels
    }

    /// The logits of one image, not yet read back: one row, or the two heads' rows of DeiT
    /// with teacher (averaged by [`Vit::finish`]).
    fn pending(&self, image: &ImageInput<'_>) -> Result<B::Tensor> {
        image.check()?;
        let cfg = &self.body.cfg;
        if (image.height, image.width) != cfg.image {
            // As transformers' ViT without `interpolate_pos_encoding`: the positions are the
            // training grid's.
            return Err(ModelError::InvalidInput {
                what: "image",
                detail: format!(
                    "{}x{} pixels; this model takes {}x{} (height x width)",
                    image.height, image.width, cfg.image.0, cfg.image.1
                ),
            });
        }
        let be = &self.backend;
        let x = self
            .body
            .forward(be, image, (self.tokens, 0), &self.added, &[])?;
        match &self.head {
            Head::Cls(c) => c.apply(be, &be.gather_rows(&x, &[0])?),
            Head::Teacher { cls, distillation } => {
                let mut a = cls.apply(be, &be.gather_rows(&x, &[0])?)?;
                let b = distillation.apply(be, &be.gather_rows(&x, &[1])?)?;
                // (a + b) / 2 on the host: the sum here, the halving in `finish`.
                be.add_assign(&mut a, &b)?;
                Ok(a)
            }
        }
    }

    fn finish(&self, mut logits: Vec<f32>) -> Vec<f32> {
        if matches!(self.head, Head::Teacher { .. }) {
            for v in &mut logits {
                *v /= 2.0;
            }
        }
        logits
    }
}

impl<B: Backend> ImageClassifier for Vit<B> {
    fn family(&self) -> Family {
        Family::Vit
    }

    fn backend_name(&self) -> String {
        self.backend.name()
    }

    fn num_labels(&self) -> usize {
        self.body.cfg.labels.len()
    }

    fn classify(&self, image: &ImageInput<'_>) -> Result<Vec<f32>> {
        B::execute(|| {
            let t = self.pending(image)?;
            self.backend.read(&t)
        })
        .map(|v| self.finish(v))
    }

    fn classify_async<'a>(
        &'a self,
        image: &'a ImageInput<'a>,
    ) -> LocalFuture<'a, Result<Vec<f32>>> {
        Box::pin(async move {
            let t = B::execute(|| self.pending(image))?;
            Ok(self.finish(self.backend.read_async(&t).await?))
        })
    }
}
