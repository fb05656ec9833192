//! A build without the GPU backend (cargo feature `gpu` off: the threaded wasm build, whose
//! atomics make wgpu's handles `!Send`): the interface of `gpu.rs`, always answering "CPU".

use lantern_core::protocol::BackendChoice;

use super::{Device, Loader, Selection, refused};
use crate::error::Result;

/// Never made: there is no adapter in this build.
#[derive(Debug)]
pub enum Adapter {}

pub(super) async fn probe(choice: BackendChoice, _fail_after: Option<u32>) -> Result<Selection> {
    let why = "this build of the worker has no WebGPU backend";
    refused(choice, why)?;
    Ok(Selection {
        device: Device::Cpu,
        detail: why.into(),
    })
}

impl Adapter {
    pub(super) async fn load<L: Loader>(
        self,
        _largest_buffer: u64,
        _loader: &L,
    ) -> Result<Result<L::Output, String>> {
        match self {}
    }
}
