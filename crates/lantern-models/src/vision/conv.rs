//! A convolution with its BatchNorm folded in, the building block of the convolutional
//! families (ResNet, EfficientNet-Lite), and the image's move from the preprocessor's
//! channel-major planes to the op layer's one-row-per-pixel layout.

use crate::LocalFuture;
use crate::encoder::weights::Weights;
use crate::error::{ModelError, Result};
use crate::ops::{
    Activation, Backend, Quantization, Window2d, conv2d_weight_for_unfold, dense_columns,
    depthwise_weight_layout, fold_batch_norm,
};
use crate::vision::{Family, ImageClassifier, ImageInput};

/// How a convolution pads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pad {
    /// TF's "same" (EfficientNet-Lite's `padding: tf_same`): depends on the input's size.
    TfSame,
    /// `n` cells on every side (PyTorch's `Conv2d(padding=n)`).
    Symmetric(usize),
}

#[derive(Debug)]
enum Kernel<B: Backend> {
    /// `[out, cols]`: `kh * kw * in` values, then zeros up to `cols` (`dense_columns`), run as
    /// `unfold2d` to `cols` columns + `linear`; or `linear` alone on the input for a 1×1
    /// convolution with stride 1 where `in == cols` (`pointwise`).
    Dense {
        weight: B::Dense,
        cols: usize,
        pointwise: bool,
    },
    /// `[kh * kw, channels]`.
    Depthwise(B::Vector),
}

/// One `Conv2d` (no bias of its own) + `BatchNorm2d`, folded at load, and an optional
/// activation after it.
#[derive(Debug)]
pub(crate) struct ConvBn<B: Backend> {
    kernel: Kernel<B>,
    bias: B::Vector,
    size: usize,
    stride: usize,
    pad: Pad,
    activation: Option<Activation>,
}

/// What [`ConvBn::load`] reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvSpec<'a> {
    /// The convolution's weight tensor.
    pub weight: &'a str,
    /// The BatchNorm's prefix (`….weight`, `.bias`, `.running_mean`, `.running_var`).
    pub norm: &'a str,
    pub in_channels: usize,
    pub out_channels: usize,
    pub size: usize,
    pub stride: usize,
    pub pad: Pad,
    /// One filter per channel (`groups == in_channels == out_channels`).
    pub depthwise: bool,
    pub eps: f32,
    pub activation: Option<Activation>,
}

impl<B: Backend> ConvBn<B> {
    pub fn load(backend: &B, w: &Weights<'_>, spec: ConvSpec<'_>) -> Result<Self> {
        let ConvSpec {
            in_channels: inp,
            out_channels: out,
            size: k,
            ..
        } = spec;
        if inp == 0 || out == 0 || k == 0 || spec.stride == 0 || (spec.depthwise && inp != out) {
            return Err(ModelError::InvalidConfig {
                name: "convolution",
                reason: format!(
                    "{:?}: {inp} -> {out} channels, kernel {k}, stride {}, depthwise {}",
                    spec.weight, spec.stride, spec.depthwise
                ),
            });
        }
        let per_filter = if spec.depthwise { 1 } else { inp };
        let mut weight = w.f32(&[spec.weight], &[out, per_filter, k, k])?;
        let vector = |suffix: &str| {
            let name = format!("{}.{suffix}", spec.norm);
            w.f32(&[name.as_str()], &[out])
        };
        let (gamma, beta) = (vector("weight")?, vector("bias")?);
        let (mean, var) = (vector("running_mean")?, vector("running_var")?);
        let mut bias = vec![0f32; out];
        fold_batch_norm(&mut weight, &mut bias, &gamma, &beta, &mean, &var, spec.eps)?;
        let kernel = if spec.depthwise {
            Kernel::Depthwise(backend.vector_f32(depthwise_weight_layout(&weight, out, k, k)?)?)
        } else {
            let cols = dense_columns(k * k * inp);
            let laid = conv2d_weight_for_unfold(&weight, out, inp, k, k, cols)?;
            Kernel::Dense {
                weight: backend.dense(spec.weight, laid, out, cols, Quantization::None)?,
                cols,
                pointwise: k == 1 && cols == inp,
            }
        };
        Ok(ConvBn {
            kernel,
            bias: backend.vector_f32(bias)?,
            size: k,
            stride: spec.stride,
            pad: spec.pad,
            activation: spec.activation,
        })
    }

    fn window(&self, height: usize, width: usize) -> Window2d {
        match self.pad {
            Pad::TfSame => Window2d::tf_same(height, width, self.size, self.stride),
            Pad::Symmetric(p) => Window2d::symmetric(height, width, self.size, self.stride, p),
        }
    }

    /// Runs on `x` (`[height * width, in]`); returns `[h * w, out]` and the new `(h, w)`.
    pub fn forward(
        &self,
        backend: &B,
        x: &B::Tensor,
        height: usize,
        width: usize,
    ) -> Result<(B::Tensor, usize, usize)> {
        let window = self.window(height, width);
        let (oh, ow) = window.check("conv2d", height * width)?;
        let mut y = match &self.kernel {
            Kernel::Depthwise(w) => backend.depthwise_conv2d(x, w, &self.bias, &window)?,
            // A 1×1 convolution over a multiple of 8 channels is a product with `x` as it is;
            // over other channel counts the unfold only appends the zero columns.
            Kernel::Dense {
                weight,
                pointwise: true,
                ..
            } if self.stride == 1 && window.padding == Default::default() => {
                backend.linear(x, weight, Some(&self.bias))?
            }
            Kernel::Dense { weight, cols, .. } => backend.linear(
                &backend.unfold2d(x, &window, *cols)?,
                weight,
                Some(&self.bias),
            )?,
        };
        if let Some(f) = self.activation {
            backend.activate(&mut y, f)?;
        }
        Ok((y, oh, ow))
    }
}

/// The image as `[height * width, 3]` on `backend` (one row per pixel), from the
/// preprocessor's channel-major planes.
pub(crate) fn image_rows<B: Backend>(backend: &B, image: &ImageInput<'_>) -> Result<B::Tensor> {
    image.check()?;
    let plane = image.height * image.width;
    let mut data = vec![0f32; plane * 3];
    for (c, values) in image.pixels.chunks_exact(plane).enumerate() {
        for (i, &v) in values.iter().enumerate() {
            data[i * 3 + c] = v;
        }
    }
    backend.tensor(data, plane, 3)
}

/// A classifier whose forward pass ends in one logits tensor on its backend (the conv nets).
/// Reading that tensor back, synchronously or awaited, is the same for every such family, so
/// one `ImageClassifier` implementation below serves them all.
pub trait TensorClassifier: std::fmt::Debug + Send + Sync {
    type B: Backend;
    const FAMILY: Family;
    fn backend(&self) -> &Self::B;
    fn labels(&self) -> usize;
    /// The `[1, labels]` logits of one image, not yet read back.
    fn logits(&self, image: &ImageInput<'_>) -> Result<<Self::B as Backend>::Tensor>;
}

impl<T: TensorClassifier> ImageClassifier for T {
    fn family(&self) -> Family {
        T::FAMILY
    }

    fn backend_name(&self) -> String {
        self.backend().name()
    }

    fn num_labels(&self) -> usize {
        self.labels()
    }

    fn classify(&self, image: &ImageInput<'_>) -> Result<Vec<f32>> {
        let t = T::B::execute(|| self.logits(image))?;
        self.backend().read(&t)
    }

    fn classify_async<'a>(
        &'a self,
        image: &'a ImageInput<'a>,
    ) -> LocalFuture<'a, Result<Vec<f32>>> {
        Box::pin(async move {
            let t = T::B::execute(|| self.logits(image))?;
            self.backend().read_async(&t).await
        })
    }
}
