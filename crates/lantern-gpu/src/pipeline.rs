//! Compiled kernels, cached by what they are specialised for.
//!
//! A kernel is WGSL assembled from `.wgsl` files (a weight format's accessor + a template such as
//! the matrix-vector product), preceded by a prelude that fixes the arithmetic type `H` (`f16`
//! with `shader-f16`, else `f32`). Numbers that only tune a kernel are WGSL `override` constants.
//! Compiling is expensive (the browser translates WGSL to the platform's shader language and
//! the driver compiles that), so each combination is compiled once per device.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::context::lock;
use crate::error::{GpuError, Result};
use crate::platform;
use crate::weights::WeightType;

/// The arithmetic type of the matrix kernels' inner products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// f32 everywhere: closest to the CPU reference.
    F32,
    /// Weights and activations are multiplied in f16 (four products summed in f16, then added
    /// to an f32 accumulator); normalisations, softmax and attention stay f32. Needs `shader-f16`.
    F16,
}

impl Precision {
    fn prelude(self) -> &'static str {
        match self {
            Precision::F32 => "alias H = f32;\n",
            Precision::F16 => "enable f16;\nalias H = f16;\n",
        }
    }
}

/// What a compiled pipeline is specialised for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct KernelKey {
    pub kernel: &'static str,
    pub weights: Option<WeightType>,
    pub precision: Precision,
    /// WGSL `override` constants.
    pub constants: Vec<(&'static str, u32)>,
}

impl KernelKey {
    pub fn new(kernel: &'static str) -> KernelKey {
        KernelKey {
            kernel,
            weights: None,
            precision: Precision::F32,
            constants: Vec::new(),
        }
    }

    pub fn weights(mut self, w: WeightType) -> KernelKey {
        self.weights = Some(w);
        self
    }

    pub fn precision(mut self, p: Precision) -> KernelKey {
        self.precision = p;
        self
    }

    pub fn constant(mut self, name: &'static str, value: u32) -> KernelKey {
        self.constants.push((name, value));
        self
    }

    fn label(&self) -> String {
        let mut s = self.kernel.to_owned();
        if let Some(w) = self.weights {
            s += &format!("/{w:?}");
        }
        s += &format!("/{:?}", self.precision);
        for (k, v) in &self.constants {
            s += &format!("/{k}={v}");
        }
        s
    }
}

/// A compiled kernel and the layout its bind group must follow (kept, because asking a
/// pipeline for its layout creates a new handle each time).
#[derive(Debug)]
pub(crate) struct Compiled {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

pub(crate) struct PipelineCache {
    map: Mutex<HashMap<KernelKey, Arc<Compiled>>>,
}

impl fmt::Debug for PipelineCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineCache")
            .field("pipelines", &lock(&self.map).len())
            .finish()
    }
}

impl PipelineCache {
    pub fn new() -> PipelineCache {
        PipelineCache {
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }

    /// The pipeline for `key`, compiling `source()` (after the precision prelude) on first use.
    ///
    /// Compile errors are caught in an error scope: natively they are known at once and returned;
    /// in the browser the scope resolves later, and the error is recorded as the device's failure,
    /// returned by the next flush or readback.
    pub fn get(
        &self,
        device: &wgpu::Device,
        failure: &Arc<Mutex<Option<GpuError>>>,
        key: &KernelKey,
        source: impl FnOnce() -> String,
    ) -> Result<Arc<Compiled>> {
        if let Some(p) = lock(&self.map).get(key) {
            return Ok(Arc::clone(p));
        }
        let label = key.label();
        let code = format!("{}{}", key.precision.prelude(), source());
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&label),
            source: wgpu::ShaderSource::Wgsl(code.into()),
        });
        let constants: Vec<(&str, f64)> = key
            .constants
            .iter()
            .map(|&(k, v)| (k, f64::from(v)))
            .collect();
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                // Every kernel writes its workgroup memory before reading it; zeroing costs a pass
                // over it at every dispatch.
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        let kernel = label.clone();
        let sink = Arc::clone(failure);
        if let Some(message) = platform::settle_scope(scope.pop(), move |message| {
            crate::context::record_failure(&sink, GpuError::PipelineCompile { kernel, message });
        }) {
            return Err(GpuError::PipelineCompile {
                kernel: label,
                message,
            });
        }
        let layout = pipeline.get_bind_group_layout(0);
        let compiled = Arc::new(Compiled { pipeline, layout });
        lock(&self.map).insert(key.clone(), Arc::clone(&compiled));
        Ok(compiled)
    }
}
