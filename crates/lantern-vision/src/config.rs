//! `preprocessor_config.json`, read as transformers' image processors read it: the processor
//! class picks the defaults and which `size` forms are allowed; legacy forms (`"size": 224`,
//! `"max_size": 1333`, `feature_extractor_type`) are understood; unknown keys are ignored.
//!
//! Where transformers would fall back to a class default for a missing `size` or `crop_size`,
//! Lantern refuses with an error naming the key: a configuration without its sizes is a broken
//! upload, and silently preprocessing at 224 px would hide it. Values that cannot work (a zero
//! or a 100000-pixel side, a NaN mean, a zero standard deviation) are errors too.

use serde_json::{Map, Value};

use crate::error::{Result, VisionError};
use crate::resample::{MAX_SIDE, Resample};

/// The image processor classes Lantern implements (by transformers' class names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProcessorKind {
    /// `ViTImageProcessor`: resize to `{height, width}`.
    Vit,
    /// `DeiTImageProcessor`: resize to `{height, width}`, centre crop.
    Deit,
    /// `BeitImageProcessor`: resize to `{height, width}`, centre crop.
    Beit,
    /// `ConvNextImageProcessor` (ResNet, ConvNeXt): `shortest_edge` with `crop_pct`.
    ConvNext,
    /// `CLIPImageProcessor`: `shortest_edge` (or `{height, width}`), centre crop.
    Clip,
    /// `BitImageProcessor`: as CLIP.
    Bit,
    /// `DetrImageProcessor`: aspect-keeping resize, padding with a pixel mask.
    Detr,
    /// `YolosImageProcessor`: aspect-keeping resize to multiples of 16, padding.
    Yolos,
}

impl ProcessorKind {
    /// From an `image_processor_type` or `feature_extractor_type` value (the `Fast` variants
    /// map to the same steps: Lantern follows the PIL-based classes).
    pub fn from_class_name(name: &str) -> Option<Self> {
        let base = name
            .strip_suffix("ImageProcessorFast")
            .or_else(|| name.strip_suffix("ImageProcessor"))
            .or_else(|| name.strip_suffix("FeatureExtractor"))?;
        Some(match base {
            "ViT" => Self::Vit,
            "DeiT" => Self::Deit,
            "Beit" | "BEiT" => Self::Beit,
            "ConvNext" => Self::ConvNext,
            "CLIP" => Self::Clip,
            "Bit" => Self::Bit,
            "Detr" => Self::Detr,
            "Yolos" => Self::Yolos,
            _ => return None,
        })
    }

    /// From a `model_type` of `config.json`, for the configurations that name no processor.
    pub fn from_model_type(model_type: &str) -> Option<Self> {
        Some(match model_type {
            "vit" => Self::Vit,
            "deit" => Self::Deit,
            "beit" => Self::Beit,
            "resnet" | "convnext" => Self::ConvNext,
            "clip" => Self::Clip,
            "bit" => Self::Bit,
            "detr" => Self::Detr,
            "yolos" => Self::Yolos,
            _ => return None,
        })
    }

    fn defaults(self) -> Defaults {
        const STANDARD: [f64; 3] = [0.5, 0.5, 0.5];
        const IMAGENET_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
        const IMAGENET_STD: [f64; 3] = [0.229, 0.224, 0.225];
        const CLIP_MEAN: [f64; 3] = [0.48145466, 0.4578275, 0.40821073];
        const CLIP_STD: [f64; 3] = [0.26862954, 0.26130258, 0.27577711];
        let (resample, mean, std, do_center_crop, do_pad) = match self {
            Self::Vit => (Resample::Bilinear, STANDARD, STANDARD, false, false),
            Self::Deit | Self::Beit => (Resample::Bicubic, STANDARD, STANDARD, true, false),
            Self::ConvNext => (Resample::Bilinear, STANDARD, STANDARD, false, false),
            Self::Clip | Self::Bit => (Resample::Bicubic, CLIP_MEAN, CLIP_STD, true, false),
            Self::Detr | Self::Yolos => {
                (Resample::Bilinear, IMAGENET_MEAN, IMAGENET_STD, false, true)
            }
        };
        Defaults {
            resample,
            mean,
            std,
            do_center_crop,
            do_pad,
        }
    }
}

struct Defaults {
    resample: Resample,
    mean: [f64; 3],
    std: [f64; 3],
    do_center_crop: bool,
    do_pad: bool,
}

/// The resize target, in the forms transformers' `size` dictionaries take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// `{"height", "width"}`: exactly that size, aspect ratio not kept.
    HeightWidth {
        /// Output height.
        height: u32,
        /// Output width.
        width: u32,
    },
    /// `{"shortest_edge"}`: the short side to this, the long side in proportion.
    ShortestEdge(u32),
    /// `{"shortest_edge", "longest_edge"}` (DETR, YOLOS): as `ShortestEdge`, scaled down further
    /// when the long side would exceed `longest`.
    ShortestLongest {
        /// Target short side.
        shortest: u32,
        /// Limit on the long side.
        longest: u32,
    },
    /// `{"max_height", "max_width"}` (DETR, YOLOS): the largest aspect-keeping size inside.
    MaxHeightWidth {
        /// Height limit.
        max_height: u32,
        /// Width limit.
        max_width: u32,
    },
}

/// A parsed `preprocessor_config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageProcessorConfig {
    /// The processor class.
    pub kind: ProcessorKind,
    /// `do_resize`.
    pub do_resize: bool,
    /// `size` (present when `do_resize`).
    pub size: Option<Size>,
    /// `resample`.
    pub resample: Resample,
    /// `crop_pct` (ConvNext: the resize goes to `shortest_edge / crop_pct` before the crop).
    pub crop_pct: f64,
    /// `do_center_crop`.
    pub do_center_crop: bool,
    /// `crop_size` as (height, width) (present when `do_center_crop`).
    pub crop_size: Option<(u32, u32)>,
    /// `do_rescale`.
    pub do_rescale: bool,
    /// `rescale_factor`.
    pub rescale_factor: f64,
    /// `do_normalize`.
    pub do_normalize: bool,
    /// `image_mean`, in the f32 that NumPy makes of it.
    pub image_mean: [f32; 3],
    /// `image_std`, in the f32 that NumPy makes of it.
    pub image_std: [f32; 3],
    /// `do_pad` (DETR, YOLOS: zeros at the bottom and right, after normalisation).
    pub do_pad: bool,
    /// `pad_size` as (height, width), when set.
    pub pad_size: Option<(u32, u32)>,
}

fn err(key: &str, problem: impl Into<String>) -> VisionError {
    VisionError::Config {
        key: key.to_string(),
        problem: problem.into(),
    }
}

fn get_bool(obj: &Map<String, Value>, key: &str, default: bool) -> Result<bool> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(err(key, format!("must be true or false, not {other}"))),
    }
}

fn side(key: &str, v: &Value) -> Result<u32> {
    let n = v
        .as_u64()
        .ok_or_else(|| err(key, format!("must be a whole number of pixels, not {v}")))?;
    if n == 0 || n > u64::from(MAX_SIDE) {
        return Err(err(key, format!("is {n}: must be 1 to {MAX_SIDE} pixels")));
    }
    Ok(n as u32)
}

/// A `size`-like value in any form transformers accepts, as a `Size`. `int_form` says what a
/// bare number means for this processor; `max_size` is DETR's legacy companion key.
fn parse_size(key: &str, v: &Value, int_form: IntSize, max_size: Option<u32>) -> Result<Size> {
    match v {
        Value::Number(_) => {
            let n = side(key, v)?;
            Ok(match int_form {
                IntSize::Square => Size::HeightWidth {
                    height: n,
                    width: n,
                },
                IntSize::Shortest => Size::ShortestEdge(n),
                IntSize::ShortestLongest => Size::ShortestLongest {
                    shortest: n,
                    longest: max_size.unwrap_or(1333),
                },
            })
        }
        Value::Array(a) if a.len() == 2 => Ok(Size::HeightWidth {
            height: side(key, &a[0])?,
            width: side(key, &a[1])?,
        }),
        Value::Object(o) => {
            let k = |sub: &str| format!("{key}.{sub}");
            let get = |sub: &str| -> Result<Option<u32>> {
                o.get(sub)
                    .filter(|v| !v.is_null())
                    .map(|v| side(&k(sub), v))
                    .transpose()
            };
            let (h, w) = (get("height")?, get("width")?);
            let (se, le) = (get("shortest_edge")?, get("longest_edge")?);
            let (mh, mw) = (get("max_height")?, get("max_width")?);
            match (h, w, se, le, mh, mw) {
                (Some(height), Some(width), None, None, None, None) => {
                    Ok(Size::HeightWidth { height, width })
                }
                (None, None, Some(s), None, None, None) => Ok(Size::ShortestEdge(s)),
                (None, None, Some(shortest), Some(longest), None, None) => {
                    Ok(Size::ShortestLongest { shortest, longest })
                }
                (None, None, None, None, Some(max_height), Some(max_width)) => {
                    Ok(Size::MaxHeightWidth {
                        max_height,
                        max_width,
                    })
                }
                _ => Err(err(
                    key,
                    format!(
                        "must hold height+width, shortest_edge, shortest_edge+longest_edge or max_height+max_width; got {}",
                        Value::Object(o.clone())
                    ),
                )),
            }
        }
        other => Err(err(
            key,
            format!("must be a number or a size object, not {other}"),
        )),
    }
}

#[derive(Clone, Copy)]
enum IntSize {
    Square,
    Shortest,
    ShortestLongest,
}

fn triple(obj: &Map<String, Value>, key: &str, default: [f64; 3]) -> Result<[f64; 3]> {
    let v = match obj.get(key) {
        None | Some(Value::Null) => return Ok(default),
        Some(v) => v,
    };
    let num = |v: &Value| -> Result<f64> {
        v.as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| err(key, format!("must hold finite numbers, not {v}")))
    };
    match v {
        Value::Number(_) => {
            let x = num(v)?;
            Ok([x; 3])
        }
        Value::Array(a) if a.len() == 3 => Ok([num(&a[0])?, num(&a[1])?, num(&a[2])?]),
        Value::Array(a) if a.len() == 1 => Ok([num(&a[0])?; 3]),
        other => Err(err(
            key,
            format!("must be a number or a list of 3 numbers (one per RGB channel), not {other}"),
        )),
    }
}

impl ImageProcessorConfig {
    /// Parses the text of a `preprocessor_config.json`.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| VisionError::ConfigJson(e.to_string()))?;
        Self::from_value(&value, None)
    }

    /// Parses a configuration; `fallback` is the processor to assume when the file names
    /// none (transformers picks it from the model's `model_type`).
    pub fn from_value(value: &Value, fallback: Option<ProcessorKind>) -> Result<Self> {
        let obj = value
            .as_object()
            .ok_or_else(|| VisionError::ConfigJson(format!("got {}", kind_of(value))))?;
        let class = ["image_processor_type", "feature_extractor_type"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_str).map(|s| (*k, s)));
        let kind = match (class, fallback) {
            (Some((_, name)), _) => ProcessorKind::from_class_name(name)
                .ok_or_else(|| VisionError::UnsupportedProcessor(name.to_string()))?,
            (None, Some(kind)) => kind,
            (None, None) => {
                return Err(err(
                    "image_processor_type",
                    "is missing (and no model type was given to pick the processor)",
                ));
            }
        };
        let d = kind.defaults();

        let do_resize = get_bool(obj, "do_resize", true)?;
        let max_size = obj
            .get("max_size")
            .filter(|v| !v.is_null())
            .map(|v| side("max_size", v))
            .transpose()?;
        let int_form = match kind {
            ProcessorKind::Vit | ProcessorKind::Deit | ProcessorKind::Beit => IntSize::Square,
            ProcessorKind::ConvNext | ProcessorKind::Clip | ProcessorKind::Bit => IntSize::Shortest,
            ProcessorKind::Detr | ProcessorKind::Yolos => IntSize::ShortestLongest,
        };
        let size = match obj.get("size").filter(|v| !v.is_null()) {
            Some(v) => Some(parse_size("size", v, int_form, max_size)?),
            None if do_resize => return Err(err("size", "is missing (do_resize is true)")),
            None => None,
        };
        if let Some(size) = size {
            let allowed = matches!(
                (kind, size),
                (
                    ProcessorKind::Vit | ProcessorKind::Deit | ProcessorKind::Beit,
                    Size::HeightWidth { .. },
                ) | (ProcessorKind::ConvNext, Size::ShortestEdge(_))
                    | (
                        ProcessorKind::Clip | ProcessorKind::Bit,
                        Size::ShortestEdge(_) | Size::HeightWidth { .. },
                    )
                    | (
                        ProcessorKind::Detr | ProcessorKind::Yolos,
                        Size::ShortestLongest { .. }
                            | Size::MaxHeightWidth { .. }
                            | Size::HeightWidth { .. },
                    )
            );
            if !allowed {
                return Err(err(
                    "size",
                    format!("{size:?} is not a form {kind:?} resizes to"),
                ));
            }
        }

        let resample = match obj.get("resample").filter(|v| !v.is_null()) {
            None => d.resample,
            Some(v) => v.as_i64().and_then(Resample::from_pil).ok_or_else(|| {
                err(
                    "resample",
                    format!("must be a PIL filter number 0 to 5, not {v}"),
                )
            })?,
        };

        let crop_pct = match obj.get("crop_pct").filter(|v| !v.is_null()) {
            None => 224.0 / 256.0,
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite() && *x > 0.0 && *x <= 1.0)
                .ok_or_else(|| err("crop_pct", format!("must be a number in (0, 1], not {v}")))?,
        };
        if let (ProcessorKind::ConvNext, Some(Size::ShortestEdge(s))) = (kind, size)
            && s < 384
            && f64::from(s) / crop_pct > f64::from(MAX_SIDE)
        {
            return Err(err(
                "crop_pct",
                format!(
                    "{crop_pct} makes the resize before the crop {} pixels",
                    f64::from(s) / crop_pct
                ),
            ));
        }

        let crop_applies = matches!(
            kind,
            ProcessorKind::Deit | ProcessorKind::Beit | ProcessorKind::Clip | ProcessorKind::Bit
        );
        let do_center_crop = crop_applies && get_bool(obj, "do_center_crop", d.do_center_crop)?;
        let crop_size = match obj.get("crop_size").filter(|v| !v.is_null()) {
            Some(v) if do_center_crop => match parse_size("crop_size", v, IntSize::Square, None)? {
                Size::HeightWidth { height, width } => Some((height, width)),
                other => {
                    return Err(err(
                        "crop_size",
                        format!("must be height+width, not {other:?}"),
                    ));
                }
            },
            None if do_center_crop => {
                return Err(err("crop_size", "is missing (do_center_crop is true)"));
            }
            _ => None,
        };

        let do_rescale = get_bool(obj, "do_rescale", true)?;
        let rescale_factor = match obj.get("rescale_factor").filter(|v| !v.is_null()) {
            None => 1.0 / 255.0,
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    err(
                        "rescale_factor",
                        format!("must be a positive number, not {v}"),
                    )
                })?,
        };
        let do_normalize = get_bool(obj, "do_normalize", true)?;
        let mean = triple(obj, "image_mean", d.mean)?;
        let std = triple(obj, "image_std", d.std)?;
        if let Some(s) = std.iter().find(|s| **s <= 0.0 || (**s as f32) == 0.0) {
            return Err(err("image_std", format!("holds {s}: each must be above 0")));
        }

        let pad_applies = matches!(kind, ProcessorKind::Detr | ProcessorKind::Yolos);
        let do_pad = pad_applies && get_bool(obj, "do_pad", d.do_pad)?;
        let pad_size = match obj.get("pad_size").filter(|v| !v.is_null()) {
            Some(v) if do_pad => match parse_size("pad_size", v, IntSize::Square, None)? {
                Size::HeightWidth { height, width } => Some((height, width)),
                other => {
                    return Err(err(
                        "pad_size",
                        format!("must be height+width, not {other:?}"),
                    ));
                }
            },
            _ => None,
        };

        Ok(Self {
            kind,
            do_resize,
            size,
            resample,
            crop_pct,
            do_center_crop,
            crop_size,
            do_rescale,
            rescale_factor,
            do_normalize,
            image_mean: mean.map(|x| x as f32),
            image_std: std.map(|x| x as f32),
            do_pad,
            pad_size,
        })
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
