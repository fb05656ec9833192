//! The WebGPU side of [`super::select`] and [`super::load_on`] (cargo feature `gpu`).

use lantern_core::protocol::BackendChoice;
use lantern_models::ops::gpu::Gpu;
use lantern_models::ops::gpu::lantern_gpu::{AdapterReport, GpuAdapter, GpuOptions, Precision};

use super::{Arithmetic, Device, Loader, Selection, refused};
use crate::error::Result;

/// An adapter worth opening, found before the model is downloaded.
#[derive(Debug)]
pub struct Adapter {
    adapter: GpuAdapter,
    choice: BackendChoice,
    fail_after: Option<u32>,
}

pub(super) async fn probe(choice: BackendChoice, fail_after: Option<u32>) -> Result<Selection> {
    let cpu = |why: String| -> Result<Selection> {
        refused(choice, &why)?;
        Ok(Selection {
            device: Device::Cpu,
            detail: why,
        })
    };
    let adapter = match GpuAdapter::request().await {
        Ok(a) => a,
        Err(e) => return cpu(format!("no WebGPU adapter ({e})")),
    };
    let report = adapter.report().clone();
    if choice == BackendChoice::Auto && report.is_software() {
        return Ok(Selection {
            device: Device::Cpu,
            detail: format!(
                "the WebGPU adapter ({}) is a software renderer, slower than the CPU",
                report.name
            ),
        });
    }
    if let Err(e) = report.limits.check_kernels() {
        return cpu(format!("the WebGPU adapter is too small: {e}"));
    }
    Ok(Selection {
        detail: describe(&report),
        device: Device::Gpu(Adapter {
            adapter,
            choice,
            fail_after,
        }),
    })
}

fn describe(r: &AdapterReport) -> String {
    format!(
        "WebGPU: {} ({}{})",
        if r.name.is_empty() {
            "unnamed adapter"
        } else {
            &r.name
        },
        if r.shader_f16 {
            "f16 kernels"
        } else {
            "f32 kernels"
        },
        if r.is_software() { ", software" } else { "" },
    )
}

impl Adapter {
    /// Opens the device and loads the model on it: `Ok(Err(why))` means "use the CPU" (the
    /// model does not fit, or the device did not open); a forced WebGPU makes those errors.
    pub(super) async fn load<L: Loader>(
        self,
        largest_buffer: u64,
        loader: &L,
    ) -> Result<Result<L::Output, String>> {
        let report = self.adapter.report().clone();
        if let Err(e) = report.limits.check_buffer(largest_buffer) {
            let why = format!("the model does not fit the WebGPU adapter ({e})");
            refused(self.choice, &why)?;
            return Ok(Err(why));
        }
        let options = GpuOptions {
            precision: match L::ARITHMETIC {
                Arithmetic::Fast => None,
                Arithmetic::Exact => Some(Precision::F32),
            },
            ..GpuOptions::default()
        };
        let gpu = match self.adapter.open(options).await {
            Ok(gpu) => gpu,
            Err(e) => {
                let why = format!("the WebGPU device did not open ({e})");
                refused(self.choice, &why)?;
                return Ok(Err(why));
            }
        };
        let mut backend = Gpu::new(gpu);
        if let Some(n) = self.fail_after {
            backend = backend.lose_device_after(n);
        }
        loader.load(backend).await.map(Ok)
    }
}
