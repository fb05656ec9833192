//! ResNet as transformers writes it (`ResNetModel`, `ResNetForImageClassification`): an
//! embedder (7×7 stride-2 convolution + BatchNorm + activation, 3×3 stride-2 max pooling),
//! stages of basic (two 3×3) or bottleneck (1×1, 3×3, 1×1 at a quarter of the width) layers
//! whose first layer may stride and gets a 1×1 convolution + BatchNorm shortcut when the shape
//! changes, then (for classification) global average pooling and a linear classifier.
//!
//! [`ResNetBackbone`] is the part up to the last stage's feature map, on its own so that DETR
//! (whose backbone is this ResNet with frozen BatchNorm: the same arithmetic at inference) can
//! use it under its own tensor prefix, in transformers' names or in timm's
//! ([`ResNetNames::Timm`], [`ResNetConfig::from_timm`]: DETR's Hub checkpoints).

use serde::Deserialize;

use super::conv::TensorClassifier;
use super::conv::{ConvBn, ConvSpec, Pad, image_rows};
use super::{Family, ImageInput};
use crate::encoder::weights::Weights;
use crate::error::{ModelError, Result};
use crate::ops::{Activation, Backend, Quantization, Window2d};

/// PyTorch's `BatchNorm2d` default (and DETR's frozen BatchNorm's).
const BN_EPS: f32 = 1e-5;

fn invalid(name: &'static str, reason: impl Into<String>) -> ModelError {
    ModelError::InvalidConfig {
        name,
        reason: reason.into(),
    }
}

/// The fields of transformers' `ResNetConfig` the forward pass reads (a classifier's
/// `config.json`, or DETR's `backbone_config`).
#[derive(Debug, Clone, Deserialize)]
pub struct ResNetConfig {
    #[serde(default = "three")]
    pub num_channels: usize,
    pub embedding_size: usize,
    pub hidden_sizes: Vec<usize>,
    pub depths: Vec<usize>,
    /// `basic` or `bottleneck`.
    #[serde(default = "bottleneck")]
    pub layer_type: String,
    #[serde(default = "relu")]
    pub hidden_act: String,
    #[serde(default)]
    pub downsample_in_first_stage: bool,
    #[serde(default)]
    pub downsample_in_bottleneck: bool,
}

fn three() -> usize {
    3
}
fn bottleneck() -> String {
    "bottleneck".into()
}
fn relu() -> String {
    "relu".into()
}

impl ResNetConfig {
    /// From a JSON object (`config.json`, or DETR's `backbone_config`).
    pub fn from_value(value: &serde_json::Value) -> Result<Self> {
        ResNetConfig::deserialize(value).map_err(|e| invalid("resnet config", e.to_string()))
    }

    /// Channels of the last stage's feature map.
    pub fn out_channels(&self) -> usize {
        self.hidden_sizes
            .last()
            .copied()
            .unwrap_or(self.embedding_size)
    }

    /// The ResNet of timm's `create_model(name, **kwargs)` (DETR's `use_timm_backbone`, the
    /// Hub's `facebook/detr-resnet-50` and `-101`), as a transformers config of the same
    /// arithmetic. timm's `ResNet` with the default stem (`conv1` 7×7 stride 2 to 64 channels,
    /// `bn1`, ReLU, `maxpool` 3×3 stride 2) and `BasicBlock`/`Bottleneck` puts a stage's stride
    /// in the first block's 3×3 convolution (`conv2` of a bottleneck: transformers'
    /// `downsample_in_bottleneck: false`), never in the first stage, and gives a block a 1×1
    /// `downsample` convolution + BatchNorm when its shape changes, as transformers' ResNet
    /// does; a stage of `channels[i]` ends in `channels[i]` (basic) or `4 · channels[i]`
    /// (bottleneck, whose inner width is `channels[i]`) channels.
    ///
    /// `kwargs` is DETR's `backbone_kwargs`: `layers` and `channels` replace the named model's,
    /// `in_chans` must be 3, `out_indices` must end at the last stage (4, DETR's map) and
    /// `output_stride` be 32 (16 or 8 dilate the last stages: DC5, unsupported). Any other
    /// keyword could change the layout (`stem_type`, `avg_down`, ...) and is refused by name.
    pub fn from_timm(name: &str, kwargs: Option<&serde_json::Value>) -> Result<Self> {
        let (bottleneck, mut layers): (bool, Vec<usize>) = match name {
            "resnet18" => (false, vec![2, 2, 2, 2]),
            "resnet34" => (false, vec![3, 4, 6, 3]),
            "resnet50" => (true, vec![3, 4, 6, 3]),
            "resnet101" => (true, vec![3, 4, 23, 3]),
            "resnet152" => (true, vec![3, 8, 36, 3]),
            other => {
                return Err(ModelError::UnsupportedArchitecture(format!(
                    "the timm backbone {other:?} (resnet18, resnet34, resnet50, resnet101 and \
                     resnet152 are supported)"
                )));
            }
        };
        let mut channels = vec![64, 128, 256, 512];
        let sizes = |v: &serde_json::Value, key: &'static str| -> Result<Vec<usize>> {
            let sizes: Vec<usize> = serde_json::from_value(v.clone())
                .map_err(|e| invalid(key, format!("backbone_kwargs: {e}")))?;
            if sizes.len() != 4 || sizes.contains(&0) {
                return Err(invalid(
                    key,
                    format!("backbone_kwargs: {sizes:?}, wanted four positive sizes"),
                ));
            }
            Ok(sizes)
        };
        let kwargs = match kwargs {
            None | Some(serde_json::Value::Null) => serde_json::Map::new(),
            Some(serde_json::Value::Object(m)) => m.clone(),
            Some(other) => {
                return Err(invalid(
                    "backbone_kwargs",
                    format!("{other} is not an object"),
                ));
            }
        };
        for (key, value) in &kwargs {
            match key.as_str() {
                "layers" => layers = sizes(value, "layers")?,
                "channels" => channels = sizes(value, "channels")?,
                "in_chans" if value.as_u64() == Some(3) => {}
                "in_chans" => {
                    return Err(invalid(
                        "in_chans",
                        format!("backbone_kwargs: {value}; RGB images have 3"),
                    ));
                }
                "output_stride" if value.as_u64() == Some(32) => {}
                "out_indices" if value.as_array().and_then(|a| a.last()?.as_u64()) == Some(4) => {}
                _ => {
                    return Err(ModelError::UnsupportedArchitecture(format!(
                        "a timm backbone with backbone_kwargs {key:?}: {value}"
                    )));
                }
            }
        }
        let expansion = if bottleneck { 4 } else { 1 };
        Ok(ResNetConfig {
            num_channels: 3,
            embedding_size: 64,
            hidden_sizes: channels.iter().map(|c| c * expansion).collect(),
            depths: layers,
            layer_type: if bottleneck { "bottleneck" } else { "basic" }.into(),
            hidden_act: "relu".into(),
            downsample_in_first_stage: false,
            downsample_in_bottleneck: false,
        })
    }

    fn activation(&self) -> Result<Activation> {
        Ok(match self.hidden_act.as_str() {
            "relu" => Activation::Relu,
            "relu6" => Activation::Relu6,
            "gelu" => Activation::Gelu,
            "silu" | "swish" => Activation::Silu,
            "tanh" => Activation::Tanh,
            other => return Err(invalid("hidden_act", format!("{other:?} is not supported"))),
        })
    }
}

/// How a checkpoint names a ResNet's tensors (after its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResNetNames {
    /// transformers' `ResNetModel`: `embedder.embedder.{convolution,normalization}`,
    /// `encoder.stages.S.layers.L.{layer.I,shortcut}.{convolution,normalization}`.
    Transformers,
    /// timm's (and torchvision's) `ResNet`: `conv1`, `bn1`, `layer{S+1}.L.conv{I+1}`,
    /// `layer{S+1}.L.bn{I+1}`, `layer{S+1}.L.downsample.{0,1}` (convolution, BatchNorm).
    Timm,
}

impl ResNetNames {
    /// The stem's convolution weight and BatchNorm prefix.
    fn stem(self) -> (String, String) {
        match self {
            ResNetNames::Transformers => (
                "embedder.embedder.convolution.weight".into(),
                "embedder.embedder.normalization".into(),
            ),
            ResNetNames::Timm => ("conv1.weight".into(), "bn1".into()),
        }
    }

    /// Convolution `i` of layer `l` of stage `s` (all from 0).
    fn conv(self, s: usize, l: usize, i: usize) -> (String, String) {
        match self {
            ResNetNames::Transformers => {
                let p = format!("encoder.stages.{s}.layers.{l}.layer.{i}");
                (
                    format!("{p}.convolution.weight"),
                    format!("{p}.normalization"),
                )
            }
            ResNetNames::Timm => {
                let p = format!("layer{}.{l}", s + 1);
                (
                    format!("{p}.conv{}.weight", i + 1),
                    format!("{p}.bn{}", i + 1),
                )
            }
        }
    }

    /// The shortcut's convolution of layer `l` of stage `s`.
    fn shortcut(self, s: usize, l: usize) -> (String, String) {
        match self {
            ResNetNames::Transformers => {
                let p = format!("encoder.stages.{s}.layers.{l}.shortcut");
                (
                    format!("{p}.convolution.weight"),
                    format!("{p}.normalization"),
                )
            }
            ResNetNames::Timm => {
                let p = format!("layer{}.{l}.downsample", s + 1);
                (format!("{p}.0.weight"), format!("{p}.1"))
            }
        }
    }
}

#[derive(Debug)]
struct Layer<B: Backend> {
    shortcut: Option<ConvBn<B>>,
    convs: Vec<ConvBn<B>>,
}

/// A ResNet up to its last stage: an image in, a `[h * w, channels]` feature map out.
#[derive(Debug)]
pub struct ResNetBackbone<B: Backend> {
    embedder: ConvBn<B>,
    layers: Vec<Layer<B>>,
    activation: Activation,
    out_channels: usize,
}

/// A feature map: `[height * width, channels]`, one row per position (row-major over y then x).
#[derive(Debug)]
pub struct FeatureMap<T> {
    pub features: T,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl<B: Backend> ResNetBackbone<B> {
    /// Loads the backbone's tensors under `prefix` (`resnet.` in a classifier,
    /// `model.backbone.conv_encoder.model.` in DETR), named as `names` says, from a safetensors
    /// file.
    pub fn load(
        backend: &B,
        cfg: &ResNetConfig,
        names: ResNetNames,
        safetensors: &[u8],
        prefix: &str,
    ) -> Result<Self> {
        let w = Weights::parse_any(safetensors, "")?;
        Self::load_from(backend, cfg, names, &w, prefix)
    }

    pub(crate) fn load_from(
        backend: &B,
        cfg: &ResNetConfig,
        names: ResNetNames,
        w: &Weights<'_>,
        prefix: &str,
    ) -> Result<Self> {
        let activation = cfg.activation()?;
        let bottleneck = match cfg.layer_type.as_str() {
            "bottleneck" => true,
            "basic" => false,
            other => return Err(invalid("layer_type", format!("{other:?}"))),
        };
        if cfg.num_channels != 3 {
            return Err(invalid(
                "num_channels",
                format!("{}; RGB images have 3", cfg.num_channels),
            ));
        }
        if cfg.hidden_sizes.len() != cfg.depths.len() || cfg.depths.is_empty() {
            return Err(invalid(
                "depths",
                format!(
                    "{} stages of depths {:?} for hidden sizes {:?}",
                    cfg.depths.len(),
                    cfg.depths,
                    cfg.hidden_sizes
                ),
            ));
        }
        let conv = |(weight, norm): (String, String), inp, out, size, stride, act| {
            ConvBn::load(
                backend,
                w,
                ConvSpec {
                    weight: &format!("{prefix}{weight}"),
                    norm: &format!("{prefix}{norm}"),
                    in_channels: inp,
                    out_channels: out,
                    size,
                    stride,
                    pad: Pad::Symmetric(size / 2),
                    depthwise: false,
                    eps: BN_EPS,
                    activation: act,
                },
            )
        };
        let embedder = conv(
            names.stem(),
            cfg.num_channels,
            cfg.embedding_size,
            7,
            2,
            Some(activation),
        )?;
        let mut layers = Vec::new();
        let mut inp = cfg.embedding_size;
        for (s, (&out, &depth)) in cfg.hidden_sizes.iter().zip(&cfg.depths).enumerate() {
            let stage_stride = if s == 0 && !cfg.downsample_in_first_stage {
                1
            } else {
                2
            };
            for l in 0..depth {
                let (lin, stride) = if l == 0 {
                    (inp, stage_stride)
                } else {
                    (out, 1)
                };
                let shortcut = if lin != out || stride != 1 {
                    Some(conv(names.shortcut(s, l), lin, out, 1, stride, None)?)
                } else {
                    None
                };
                let convs = if bottleneck {
                    let mid = out / 4;
                    if mid == 0 {
                        return Err(invalid(
                            "hidden_sizes",
                            format!("{out} channels: a bottleneck needs at least 4"),
                        ));
                    }
                    let (s1, s3) = if cfg.downsample_in_bottleneck {
                        (stride, 1)
                    } else {
                        (1, stride)
                    };
                    vec![
                        conv(names.conv(s, l, 0), lin, mid, 1, s1, Some(activation))?,
                        conv(names.conv(s, l, 1), mid, mid, 3, s3, Some(activation))?,
                        conv(names.conv(s, l, 2), mid, out, 1, 1, None)?,
                    ]
                } else {
                    vec![
                        conv(names.conv(s, l, 0), lin, out, 3, stride, Some(activation))?,
                        conv(names.conv(s, l, 1), out, out, 3, 1, None)?,
                    ]
                };
                layers.push(Layer { shortcut, convs });
            }
            inp = out;
        }
        Ok(ResNetBackbone {
            embedder,
            layers,
            activation,
            out_channels: inp,
        })
    }

    /// Channels of the feature map.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Residual layers (blocks), over all stages.
    pub fn layers(&self) -> usize {
        self.layers.len()
    }

    /// The last stage's feature map of one image.
    pub fn forward(&self, backend: &B, image: &ImageInput<'_>) -> Result<FeatureMap<B::Tensor>> {
        let x = image_rows(backend, image)?;
        let (x, h, w) = self
            .embedder
            .forward(backend, &x, image.height, image.width)?;
        let pool = Window2d::symmetric(h, w, 3, 2, 1);
        let (ph, pw) = pool.check("max_pool2d", h * w)?;
        let (mut x, mut h, mut w) = (backend.max_pool2d(&x, &pool)?, ph, pw);
        for layer in &self.layers {
            let (mut y, mut yh, mut yw) = (None, h, w);
            for conv in &layer.convs {
                let (t, th, tw) = conv.forward(backend, y.as_ref().unwrap_or(&x), yh, yw)?;
                (y, yh, yw) = (Some(t), th, tw);
            }
            let mut y =
                y.ok_or_else(|| ModelError::shape("resnet", "a layer without convolutions"))?;
            match &layer.shortcut {
                Some(s) => {
                    let (r, _, _) = s.forward(backend, &x, h, w)?;
                    backend.add_assign(&mut y, &r)?;
                }
                None => backend.add_assign(&mut y, &x)?,
            }
            backend.activate(&mut y, self.activation)?;
            (x, h, w) = (y, yh, yw);
        }
        Ok(FeatureMap {
            features: x,
            height: h,
            width: w,
            channels: self.out_channels,
        })
    }
}

/// `ResNetForImageClassification` on backend `B`.
#[derive(Debug)]
pub struct ResNetClassifier<B: Backend> {
    backend: B,
    backbone: ResNetBackbone<B>,
    classifier: B::Dense,
    classifier_bias: B::Vector,
    num_labels: usize,
}

impl<B: Backend> ResNetClassifier<B> {
    /// Loads the model from `config.json` and a safetensors file (f32, f16 or bf16).
    pub fn load(backend: B, config_json: &[u8], safetensors: &[u8]) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_slice(config_json)
            .map_err(|e| invalid("config.json", e.to_string()))?;
        let cfg = ResNetConfig::from_value(&value)?;
        let num_labels = value
            .get("num_labels")
            .and_then(serde_json::Value::as_u64)
            .map(|n| n as usize)
            .or_else(|| {
                value
                    .get("id2label")
                    .and_then(serde_json::Value::as_object)
                    .map(serde_json::Map::len)
            })
            .filter(|&n| n > 0)
            .ok_or_else(|| invalid("num_labels", "missing (and no id2label)"))?;
        let w = Weights::parse_any(safetensors, "")?;
        let backbone =
            ResNetBackbone::load_from(&backend, &cfg, ResNetNames::Transformers, &w, "resnet.")?;
        let c = backbone.out_channels();
        let classifier = w.f32(&["classifier.1.weight"], &[num_labels, c])?;
        let classifier = backend.dense(
            "classifier.1.weight",
            classifier,
            num_labels,
            c,
            Quantization::None,
        )?;
        let classifier_bias = backend.vector_f32(w.f32(&["classifier.1.bias"], &[num_labels])?)?;
        Ok(ResNetClassifier {
            backend,
            backbone,
            classifier,
            classifier_bias,
            num_labels,
        })
    }

    /// The logits of one image as a `[1, num_labels]` tensor on the backend.
    pub fn logits(&self, image: &ImageInput<'_>) -> Result<B::Tensor> {
        let b = &self.backend;
        let map = self.backbone.forward(b, image)?;
        let pooled = b.mean_rows(&map.features)?;
        b.linear(&pooled, &self.classifier, Some(&self.classifier_bias))
    }
}

impl<B: Backend> TensorClassifier for ResNetClassifier<B> {
    type B = B;
    const FAMILY: Family = Family::Resnet;

    fn backend(&self) -> &B {
        &self.backend
    }

    fn labels(&self) -> usize {
        self.num_labels
    }

    fn logits(&self, image: &ImageInput<'_>) -> Result<B::Tensor> {
        ResNetClassifier::logits(self, image)
    }
}
