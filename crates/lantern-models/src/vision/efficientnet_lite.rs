//! EfficientNet-Lite (Lantern's conversion of the Lite0 checkpoint, ARCHITECTURE.md "Vision
//! fixtures"; tensor names from `scripts/efficientnet_lite0_to_hf.py`, the reference forward
//! pass `scripts/reference/efficientnet_lite0.py`).
//!
//! A 3×3 stride-2 stem, then MBConv blocks as `config.json`'s `blocks` table lists them (a 1×1
//! expansion unless the ratio is 1, a depthwise k×k convolution with the block's stride, a
//! 1×1 projection without activation, the input added back where `residual`), a 1×1 head
//! convolution, global average pooling and the classifier. Every convolution pads TF's "same"
//! way and has its BatchNorm folded in; the activation is ReLU6 (Lite drops the squeeze-and-
//! excitation and swish of EfficientNet for quantization-friendly ops).

use serde::Deserialize;

use super::conv::TensorClassifier;
use super::conv::{ConvBn, ConvSpec, Pad, image_rows};
use super::{Family, ImageInput};
use crate::encoder::weights::Weights;
use crate::error::{ModelError, Result};
use crate::ops::{Activation, Backend, Quantization};

#[derive(Debug, Clone, Deserialize)]
struct BlockConfig {
    in_channels: usize,
    out_channels: usize,
    expand_ratio: usize,
    kernel_size: usize,
    stride: usize,
    residual: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct Config {
    #[serde(default = "three")]
    num_channels: usize,
    stem_channels: usize,
    head_channels: usize,
    blocks: Vec<BlockConfig>,
    #[serde(default = "relu6")]
    hidden_act: String,
    #[serde(default = "tf_same")]
    padding: String,
    #[serde(default = "bn_eps")]
    batch_norm_eps: f32,
    num_labels: Option<usize>,
    id2label: Option<serde_json::Map<String, serde_json::Value>>,
}

fn three() -> usize {
    3
}
fn relu6() -> String {
    "relu6".into()
}
fn tf_same() -> String {
    "tf_same".into()
}
fn bn_eps() -> f32 {
    1e-3
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ModelError {
    ModelError::InvalidConfig {
        name,
        reason: reason.into(),
    }
}

#[derive(Debug)]
struct Block<B: Backend> {
    expand: Option<ConvBn<B>>,
    depthwise: ConvBn<B>,
    project: ConvBn<B>,
    residual: bool,
}

/// `EfficientNetLiteForImageClassification` on backend `B`.
#[derive(Debug)]
pub struct EfficientNetLite<B: Backend> {
    backend: B,
    stem: ConvBn<B>,
    blocks: Vec<Block<B>>,
    head: ConvBn<B>,
    classifier: B::Dense,
    classifier_bias: B::Vector,
    num_labels: usize,
}

impl<B: Backend> EfficientNetLite<B> {
    /// Loads the model from `config.json` and a safetensors file (f32, f16 or bf16).
    pub fn load(backend: B, config_json: &[u8], safetensors: &[u8]) -> Result<Self> {
        let cfg: Config = serde_json::from_slice(config_json)
            .map_err(|e| invalid("config.json", e.to_string()))?;
        let activation = match cfg.hidden_act.as_str() {
            "relu6" => Activation::Relu6,
            "relu" => Activation::Relu,
            "silu" | "swish" => Activation::Silu,
            other => return Err(invalid("hidden_act", format!("{other:?} is not supported"))),
        };
        if cfg.padding != "tf_same" {
            return Err(invalid(
                "padding",
                format!("{:?}; only \"tf_same\" is supported", cfg.padding),
            ));
        }
        if cfg.num_channels != 3 {
            return Err(invalid(
                "num_channels",
                format!("{}; RGB images have 3", cfg.num_channels),
            ));
        }
        let eps = cfg.batch_norm_eps;
        let w = Weights::parse_any(safetensors, "")?;
        let conv = |weight: &str, norm: &str, inp, out, size, stride, depthwise, act| {
            ConvBn::load(
                &backend,
                &w,
                ConvSpec {
                    weight,
                    norm,
                    in_channels: inp,
                    out_channels: out,
                    size,
                    stride,
                    pad: Pad::TfSame,
                    depthwise,
                    eps,
                    activation: act,
                },
            )
        };
        let stem = conv(
            "efficientnet.embeddings.convolution.weight",
            "efficientnet.embeddings.batchnorm",
            3,
            cfg.stem_channels,
            3,
            2,
            false,
            Some(activation),
        )?;
        let mut blocks = Vec::with_capacity(cfg.blocks.len());
        let mut channels = cfg.stem_channels;
        for (i, b) in cfg.blocks.iter().enumerate() {
            if b.in_channels != channels || b.expand_ratio == 0 {
                return Err(invalid(
                    "blocks",
                    format!(
                        "block {i}: {} input channels after {channels}, expansion {}",
                        b.in_channels, b.expand_ratio
                    ),
                ));
            }
            if b.residual && (b.stride != 1 || b.in_channels != b.out_channels) {
                return Err(invalid(
                    "blocks",
                    format!("block {i}: a residual needs stride 1 and equal channels"),
                ));
            }
            let d = format!("efficientnet.encoder.blocks.{i}.");
            let hidden = b
                .in_channels
                .checked_mul(b.expand_ratio)
                .ok_or_else(|| invalid("blocks", format!("block {i}: expansion overflows")))?;
            let expand = if b.expand_ratio != 1 {
                Some(conv(
                    &format!("{d}expansion.expand_conv.weight"),
                    &format!("{d}expansion.expand_bn"),
                    b.in_channels,
                    hidden,
                    1,
                    1,
                    false,
                    Some(activation),
                )?)
            } else {
                None
            };
            let depthwise = conv(
                &format!("{d}depthwise_conv.depthwise_conv.weight"),
                &format!("{d}depthwise_conv.depthwise_norm"),
                hidden,
                hidden,
                b.kernel_size,
                b.stride,
                true,
                Some(activation),
            )?;
            let project = conv(
                &format!("{d}projection.project_conv.weight"),
                &format!("{d}projection.project_bn"),
                hidden,
                b.out_channels,
                1,
                1,
                false,
                None,
            )?;
            blocks.push(Block {
                expand,
                depthwise,
                project,
                residual: b.residual,
            });
            channels = b.out_channels;
        }
        let head = conv(
            "efficientnet.encoder.top_conv.weight",
            "efficientnet.encoder.top_bn",
            channels,
            cfg.head_channels,
            1,
            1,
            false,
            Some(activation),
        )?;
        let num_labels = cfg
            .num_labels
            .or(cfg.id2label.as_ref().map(serde_json::Map::len))
            .filter(|&n| n > 0)
            .ok_or_else(|| invalid("num_labels", "missing (and no id2label)"))?;
        let classifier = w.f32(&["classifier.weight"], &[num_labels, cfg.head_channels])?;
        let classifier = backend.dense(
            "classifier.weight",
            classifier,
            num_labels,
            cfg.head_channels,
            Quantization::None,
        )?;
        let classifier_bias = backend.vector_f32(w.f32(&["classifier.bias"], &[num_labels])?)?;
        Ok(EfficientNetLite {
            backend,
            stem,
            blocks,
            head,
            classifier,
            classifier_bias,
            num_labels,
        })
    }

    /// The logits of one image as a `[1, num_labels]` tensor on the backend.
    pub fn logits(&self, image: &ImageInput<'_>) -> Result<B::Tensor> {
        let b = &self.backend;
        let x = image_rows(b, image)?;
        let (mut x, mut h, mut w) = self.stem.forward(b, &x, image.height, image.width)?;
        for block in &self.blocks {
            let expanded;
            let (inner, eh, ew) = match &block.expand {
                Some(c) => {
                    let (e, eh, ew) = c.forward(b, &x, h, w)?;
                    expanded = e;
                    (&expanded, eh, ew)
                }
                None => (&x, h, w),
            };
            let (d, dh, dw) = block.depthwise.forward(b, inner, eh, ew)?;
            let (mut y, ph, pw) = block.project.forward(b, &d, dh, dw)?;
            if block.residual {
                b.add_assign(&mut y, &x)?;
            }
            (x, h, w) = (y, ph, pw);
        }
        let (x, _, _) = self.head.forward(b, &x, h, w)?;
        let pooled = b.mean_rows(&x)?;
        b.linear(&pooled, &self.classifier, Some(&self.classifier_bias))
    }
}

impl<B: Backend> TensorClassifier for EfficientNetLite<B> {
    type B = B;
    const FAMILY: Family = Family::EfficientNetLite;

    fn backend(&self) -> &B {
        &self.backend
    }

    fn labels(&self) -> usize {
        self.num_labels
    }

    fn logits(&self, image: &ImageInput<'_>) -> Result<B::Tensor> {
        EfficientNetLite::logits(self, image)
    }
}
