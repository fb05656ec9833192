//! The CPU backend's encoder ops against their scalar oracles.

use lantern_models::ops::cpu::Cpu;

use crate::common::ops::{self, Tol};
use crate::common::ready;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn linear() {
    ready(ops::linear(&Cpu, &Tol::CPU));
}

#[test]
fn layer_norm() {
    ready(ops::layer_norm(&Cpu, &Tol::CPU));
}

#[test]
fn activations() {
    ready(ops::activations(&Cpu, &Tol::CPU));
}

#[test]
fn attend() {
    ready(ops::attend(&Cpu, &Tol::CPU));
}

#[test]
fn attend_biased() {
    ready(ops::attend_biased(&Cpu, &Tol::CPU));
}

#[test]
fn attention_biased() {
    ready(ops::attention_biased(&Cpu, &Tol::CPU));
}

#[test]
fn scale_and_mul() {
    ready(ops::scale_and_mul(&Cpu));
}

#[test]
fn conv1d() {
    ready(ops::conv1d(&Cpu, &Tol::CPU));
}

#[test]
fn fork_cache() {
    ready(ops::fork_cache(&Cpu, &Tol::CPU));
}

#[test]
fn gather_and_table() {
    ready(ops::gather_and_table(&Cpu));
}

#[test]
fn shape_errors() {
    ready(ops::shape_errors(&Cpu));
}
