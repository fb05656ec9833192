//! Finding an adapter and saying what it offers, before any model is loaded.

use crate::context::{Gpu, GpuOptions};
use crate::error::{GpuError, Result};

/// What kind of device an adapter drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceKind {
    Discrete,
    Integrated,
    Virtual,
    /// A software rasterizer (SwiftShader in Chromium, lavapipe natively): correct, but usually
    /// slower than Lantern's own wasm/native CPU kernels, so a chooser should prefer the CPU.
    Software,
    Other,
}

/// The adapter's identity, features and the limits the kernels care about.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterReport {
    pub name: String,
    /// `vulkan`, `metal`, `dx12`, `gl`, `webgpu`.
    pub backend: String,
    pub driver: String,
    pub kind: DeviceKind,
    /// `shader-f16`: WGSL `f16` arithmetic; the matmul kernels then multiply in f16.
    pub shader_f16: bool,
    /// `subgroups`, with the subgroup size range when known (0 when not reported).
    pub subgroups: bool,
    pub subgroup_sizes: (u32, u32),
    pub limits: AdapterLimits,
}

impl AdapterReport {
    /// Whether the adapter is a software implementation (see [`DeviceKind::Software`]).
    pub fn is_software(&self) -> bool {
        self.kind == DeviceKind::Software
    }
}

/// The subset of WebGPU limits that decides whether a model can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdapterLimits {
    /// Largest single buffer.
    pub max_buffer_size: u64,
    /// Largest storage buffer one kernel can see: a weight larger than this is split by rows.
    pub max_storage_buffer_binding_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_size_x: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_storage_buffers_per_shader_stage: u32,
}

impl AdapterLimits {
    pub(crate) fn from_wgpu(l: &wgpu::Limits) -> AdapterLimits {
        AdapterLimits {
            max_buffer_size: l.max_buffer_size,
            max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
            max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
            max_compute_workgroup_size_x: l.max_compute_workgroup_size_x,
            max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
            max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
        }
    }

    /// What Lantern's kernels need at least: 256-thread workgroups, the matmul tiles in
    /// workgroup memory, five storage buffers per kernel. WebGPU's defaults satisfy all of it, so
    /// this fails only on adapters below the WebGPU baseline.
    pub fn check_kernels(&self) -> Result<()> {
        let need: [(&'static str, u64, u64); 5] = [
            (
                "max_compute_invocations_per_workgroup",
                256,
                self.max_compute_invocations_per_workgroup.into(),
            ),
            (
                "max_compute_workgroup_size_x",
                256,
                self.max_compute_workgroup_size_x.into(),
            ),
            (
                "max_compute_workgroup_storage_size",
                16384,
                self.max_compute_workgroup_storage_size.into(),
            ),
            (
                "max_storage_buffers_per_shader_stage",
                5,
                self.max_storage_buffers_per_shader_stage.into(),
            ),
            (
                "max_compute_workgroups_per_dimension",
                65535,
                self.max_compute_workgroups_per_dimension.into(),
            ),
        ];
        for (limit, required, available) in need {
            if available < required {
                return Err(GpuError::LimitsTooSmall {
                    limit,
                    required,
                    available,
                });
            }
        }
        Ok(())
    }

    /// Whether a buffer of `bytes` (an activation, a KV cache) can exist and be bound whole.
    /// Weights are exempt: they are split by rows ([`crate::GpuWeight`]).
    pub fn check_buffer(&self, bytes: u64) -> Result<()> {
        let bound = self
            .max_storage_buffer_binding_size
            .min(self.max_buffer_size);
        if bytes > bound {
            return Err(GpuError::LimitsTooSmall {
                limit: "max_storage_buffer_binding_size",
                required: bytes,
                available: bound,
            });
        }
        Ok(())
    }
}

/// An adapter, found but not yet opened: report it, then [`GpuAdapter::open`] it.
#[derive(Debug)]
pub struct GpuAdapter {
    pub(crate) adapter: wgpu::Adapter,
    report: AdapterReport,
}

impl GpuAdapter {
    /// Asks the platform for its preferred high-performance adapter. In the browser this is
    /// `navigator.gpu.requestAdapter()`; natively wgpu's `WGPU_BACKEND` / `WGPU_ADAPTER_NAME`
    /// environment variables are honoured (the tests pin lavapipe with them).
    ///
    /// "No adapter" is an ordinary outcome ([`GpuError::NoAdapter`]), never a panic.
    pub async fn request() -> Result<GpuAdapter> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = match wgpu::util::initialize_adapter_from_env(&instance, None).await {
            Ok(adapter) => adapter,
            Err(_) => instance
                .request_adapter(&wgpu::RequestAdapterOptions {
                    // A laptop's discrete GPU, not its integrated one: decoding is bandwidth-bound.
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    ..Default::default()
                })
                .await
                .map_err(|e| GpuError::NoAdapter {
                    reason: e.to_string(),
                })?,
        };
        let report = report_of(&adapter);
        Ok(GpuAdapter { adapter, report })
    }

    pub fn report(&self) -> &AdapterReport {
        &self.report
    }

    /// Creates the device (with `shader-f16` when offered) and the context that runs kernels.
    pub async fn open(self, options: GpuOptions) -> Result<Gpu> {
        Gpu::open(self.adapter, self.report, options).await
    }
}

/// What the default adapter offers, or why there is none.
pub async fn probe() -> Result<AdapterReport> {
    Ok(GpuAdapter::request().await?.report)
}

fn report_of(adapter: &wgpu::Adapter) -> AdapterReport {
    let info = adapter.get_info();
    let features = adapter.features();
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => DeviceKind::Discrete,
        wgpu::DeviceType::IntegratedGpu => DeviceKind::Integrated,
        wgpu::DeviceType::VirtualGpu => DeviceKind::Virtual,
        wgpu::DeviceType::Cpu => DeviceKind::Software,
        wgpu::DeviceType::Other => DeviceKind::Other,
    };
    AdapterReport {
        name: info.name,
        backend: info.backend.to_str().to_owned(),
        driver: if info.driver_info.is_empty() {
            info.driver
        } else {
            format!("{} ({})", info.driver, info.driver_info)
        },
        kind,
        shader_f16: features.contains(wgpu::Features::SHADER_F16),
        subgroups: features.contains(wgpu::Features::SUBGROUP),
        subgroup_sizes: (info.subgroup_min_size, info.subgroup_max_size),
        limits: AdapterLimits::from_wgpu(&adapter.limits()),
    }
}
