//! Element-wise arithmetic and activations.

use super::groups;
use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::pipeline::KernelKey;
use crate::tensor::GpuTensor;

/// The `OP` constant of `elementwise.wgsl`.
#[derive(Debug, Clone, Copy)]
enum Op {
    Add = 0,
    Mul = 1,
    Silu = 2,
    Gelu = 3,
    GeluTanh = 4,
    Swiglu = 5,
    AddRow = 6,
    MulRow = 7,
    Relu = 8,
    Tanh = 9,
    Relu6 = 10,
    Scale = 11,
}

impl Gpu {
    fn elementwise(&self, op: Op, a: &GpuTensor, b: Option<&GpuTensor>) -> Result<GpuTensor> {
        self.elementwise_with(op, a, b, 0.0)
    }

    /// [`Gpu::elementwise`] with the op's number (`Scale`'s factor).
    fn elementwise_with(
        &self,
        op: Op,
        a: &GpuTensor,
        b: Option<&GpuTensor>,
        number: f32,
    ) -> Result<GpuTensor> {
        // Indices in the kernel are u32.
        if u32::try_from(a.len()).is_err() {
            return Err(GpuError::LimitsTooSmall {
                limit: "32-bit indexing of element-wise ops",
                required: a.len() as u64,
                available: u64::from(u32::MAX),
            });
        }
        let y = self.empty(a.rows(), a.cols())?;
        self.dispatch(
            &KernelKey::new("elementwise").constant("OP", op as u32),
            || include_str!("elementwise.wgsl").to_owned(),
            &[a.buffer(), b.unwrap_or(a).buffer(), y.buffer()],
            &[a.len() as u32, a.cols().max(1) as u32, number.to_bits(), 0],
            groups(a.len(), 256),
        )?;
        Ok(y)
    }

    fn binary(
        &self,
        op: Op,
        name: &'static str,
        a: &GpuTensor,
        b: &GpuTensor,
    ) -> Result<GpuTensor> {
        if a.rows() != b.rows() || a.cols() != b.cols() {
            return Err(GpuError::shape(
                name,
                format!("{}x{} vs {}x{}", a.rows(), a.cols(), b.rows(), b.cols()),
            ));
        }
        self.elementwise(op, a, Some(b))
    }

    fn row(&self, op: Op, name: &'static str, a: &GpuTensor, v: &GpuTensor) -> Result<GpuTensor> {
        if v.len() != a.cols() {
            return Err(GpuError::shape(
                name,
                format!("{} values for {} columns", v.len(), a.cols()),
            ));
        }
        self.elementwise(op, a, Some(v))
    }

    /// `a + b`.
    pub fn add(&self, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor> {
        self.binary(Op::Add, "add", a, b)
    }

    /// `a * b`, element-wise.
    pub fn mul(&self, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor> {
        self.binary(Op::Mul, "mul", a, b)
    }

    /// `silu(gate) * up`: the gated feed-forward of llama-family models.
    pub fn swiglu(&self, gate: &GpuTensor, up: &GpuTensor) -> Result<GpuTensor> {
        self.binary(Op::Swiglu, "swiglu", gate, up)
    }

    /// `a + bias` on every row (`bias` is `[1, cols]`).
    pub fn add_bias(&self, a: &GpuTensor, bias: &GpuTensor) -> Result<GpuTensor> {
        self.row(Op::AddRow, "add_bias", a, bias)
    }

    /// `a * v` on every row (`v` is `[1, cols]`).
    pub fn mul_row(&self, a: &GpuTensor, v: &GpuTensor) -> Result<GpuTensor> {
        self.row(Op::MulRow, "mul_row", a, v)
    }

    /// `a * factor`, element-wise.
    pub fn scale(&self, a: &GpuTensor, factor: f32) -> Result<GpuTensor> {
        self.elementwise_with(Op::Scale, a, None, factor)
    }

    /// `x * sigmoid(x)`.
    pub fn silu(&self, a: &GpuTensor) -> Result<GpuTensor> {
        self.elementwise(Op::Silu, a, None)
    }

    /// GELU, exact form with erf (BERT's `gelu`).
    pub fn gelu(&self, a: &GpuTensor) -> Result<GpuTensor> {
        self.elementwise(Op::Gelu, a, None)
    }

    /// GELU, tanh approximation (`gelu_pytorch_tanh`, `gelu_new`).
    pub fn gelu_tanh(&self, a: &GpuTensor) -> Result<GpuTensor> {
        self.elementwise(Op::GeluTanh, a, None)
    }

    /// `max(x, 0)`.
    pub fn relu(&self, a: &GpuTensor) -> Result<GpuTensor> {
        self.elementwise(Op::Relu, a, None)
    }

    /// `min(max(x, 0), 6)` (MobileNet's and EfficientNet-Lite's `relu6`).
    pub fn relu6(&self, a: &GpuTensor) -> Result<GpuTensor> {
        self.elementwise(Op::Relu6, a, None)
    }

    /// `tanh(x)`.
    pub fn tanh(&self, a: &GpuTensor) -> Result<GpuTensor> {
        self.elementwise(Op::Tanh, a, None)
    }
}
