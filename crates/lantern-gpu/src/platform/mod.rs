//! The few things that differ between a browser and a native process: how to wait for the GPU.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::{settle_scope, wait};
#[cfg(target_arch = "wasm32")]
pub(crate) use web::{settle_scope, wait};
