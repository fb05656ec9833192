//! YOLOS (Fang et al. 2021, <https://arxiv.org/abs/2106.00666>) over the op layer, with
//! transformers' names and arithmetic (`modeling_yolos.py`'s `YolosForObjectDetection`): a
//! ViT body ([`super::vit::Body`]) over [CLS], the patches and learned detection tokens, its
//! position embeddings (and the mid-position embeddings added after every layer but the last)
//! interpolated bicubically from the training grid to the input's, as
//! `InterpolateInitialPositionEmbeddings` / `InterpolateMidPositionEmbeddings` do on every
//! call; then two MLP heads on the detection tokens' rows: class logits, and boxes through a
//! sigmoid.

use super::layers::{Mlp, bicubic, sigmoid};
use super::vit::{Body, Config, Raw};
use super::{Family, ImageInput, ObjectDetector, RawDetections};
use crate::LocalFuture;
use crate::encoder::config::invalid;
use crate::encoder::model::Loader;
use crate::encoder::weights::Weights;
use crate::error::{ModelError, Result};
use crate::ops::{Backend, Quantization};

/// Far above any released YOLOS (100).
const MAX_DETECTION_TOKENS: usize = 1 << 12;

/// `YolosForObjectDetection`.
#[derive(Debug)]
pub struct Yolos<B: Backend> {
    backend: B,
    body: Body<B>,
    detections: usize,
    /// `[1 + patches + detections, hidden]` on the host: the position embeddings at the
    /// training grid.
    positions: Vec<f32>,
    /// Per layer but the last, the same shape: the mid-position embeddings (none without
    /// `use_mid_position_embeddings`).
    mid: Vec<Vec<f32>>,
    /// [CLS] and the detection tokens, `[1 + detections, hidden]`, on the host.
    tokens: Vec<f32>,
    classes: Mlp<B>,
    boxes: Mlp<B>,
}

/// The detection tokens' logits and boxes, not yet read back.
struct Pending<T> {
    logits: T,
    boxes: T,
}

impl<B: Backend> Yolos<B> {
    pub fn load(backend: B, config_json: &[u8], safetensors: &[u8]) -> Result<Self> {
        let raw = Raw::parse(config_json)?;
        let cfg = Config::from_raw(&raw, (512, 864))?;
        let detections = raw.num_detection_tokens.unwrap_or(100);
        if detections == 0 || detections > MAX_DETECTION_TOKENS {
            return Err(invalid(
                "num_detection_tokens",
                format!("{detections} is not between 1 and {MAX_DETECTION_TOKENS}"),
            ));
        }
        let use_mid = raw.use_mid_position_embeddings.unwrap_or(true);
        let w = Weights::parse(safetensors, "vit.", "embeddings.cls_token")?;
        let l = Loader {
            backend: &backend,
            w,
            quantization: Quantization::None,
        };
        let h = cfg.hidden;
        let rows = 1 + cfg.patches() + detections;
        let positions = Body::<B>::host(&l.w, "embeddings.position_embeddings", &[1, rows, h])?;
        let mid = if use_mid && cfg.layers > 1 {
            let all = Body::<B>::host(
                &l.w,
                "encoder.mid_position_embeddings",
                &[cfg.layers - 1, 1, rows, h],
            )?;
            all.chunks_exact(rows * h).map(<[f32]>::to_vec).collect()
        } else {
            Vec::new()
        };
        let mut tokens = Body::<B>::host(&l.w, "embeddings.cls_token", &[1, 1, h])?;
        tokens.extend(Body::<B>::host(
            &l.w,
            "embeddings.detection_tokens",
            &[1, detections, h],
        )?);
        let labels = cfg.labels.len();
        let body = Body::load(&l, cfg)?;
        let classes = Mlp::load(&l, "class_labels_classifier", &[h, h, h, labels + 1])?;
        let boxes = Mlp::load(&l, "bbox_predictor", &[h, h, h, 4])?;
        drop(l);
        Ok(Yolos {
            backend,
            body,
            detections,
            positions,
            mid,
            tokens,
            classes,
            boxes,
        })
    }

    /// `table` (`[1 + patches + detections, hidden]` at the training grid) at the patch grid
    /// `grid`: [CLS]'s row, the patches' rows interpolated, the detection tokens' rows.
    fn at_grid(&self, table: &[f32], grid: (usize, usize)) -> Vec<f32> {
        let cfg = &self.body.cfg;
        let h = cfg.hidden;
        let patches = cfg.patches();
        let mut out = Vec::with_capacity((1 + grid.0 * grid.1 + self.detections) * h);
        out.extend_from_slice(&table[..h]);
        out.extend(bicubic(&table[h..(1 + patches) * h], h, cfg.grid(), grid));
        out.extend_from_slice(&table[(1 + patches) * h..]);
        out
    }

    fn pending(&self, image: &ImageInput<'_>) -> Result<Pending<B::Tensor>> {
        image.check()?;
        let be = &self.backend;
        let cfg = &self.body.cfg;
        let h = cfg.hidden;
        let grid = (image.height / cfg.patch, image.width / cfg.patch);
        let patches = grid.0 * grid.1;
        if patches == 0 || patches > super::vit::MAX_TOKENS {
            return Err(ModelError::InvalidInput {
                what: "image",
                detail: format!(
                    "{}x{} pixels make {}x{} patches of {} (1 to {} are supported)",
                    image.height,
                    image.width,
                    grid.0,
                    grid.1,
                    cfg.patch,
                    super::vit::MAX_TOKENS
                ),
            });
        }
        let n = 1 + patches + self.detections;
        // The token rows, the patch bias and the positions, added to the patch embedding.
        let mut added = self.at_grid(&self.positions, grid);
        for (row, pos) in added.chunks_exact_mut(h).enumerate() {
            let add = match row {
                0 => &self.tokens[..h],
                r if r <= patches => &self.body.patch_bias,
                r => &self.tokens[(r - patches) * h..][..h],
            };
            for (p, a) in pos.iter_mut().zip(add) {
                *p += a;
            }
        }
        let added = be.tensor(added, n, h)?;
        let mid = self
            .mid
            .iter()
            .map(|m| be.tensor(self.at_grid(m, grid), n, h))
            .collect::<Result<Vec<_>>>()?;
        let x = self
            .body
            .forward(be, image, (1, self.detections), &added, &mid)?;
        let det = be.gather_rows(&x, &((1 + patches)..n).collect::<Vec<_>>())?;
        drop(x);
        Ok(Pending {
            logits: self.classes.apply(be, &det)?,
            boxes: self.boxes.apply(be, &det)?,
        })
    }

    fn finish(&self, logits: Vec<f32>, mut boxes: Vec<f32>) -> RawDetections {
        sigmoid(&mut boxes);
        RawDetections {
            queries: self.detections,
            classes: self.body.cfg.labels.len() + 1,
            logits,
            boxes,
        }
    }
}

impl<B: Backend> ObjectDetector for Yolos<B> {
    fn family(&self) -> Family {
        Family::Yolos
    }

    fn backend_name(&self) -> String {
        self.backend.name()
    }

    fn num_labels(&self) -> usize {
        self.body.cfg.labels.len()
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
