//! Arbitrary bytes as a demo's two descriptions: `demo.json` (what the page reads, parsed,
//! written and parsed again the same) and the author's `demo.toml` (what `lantern build`
//! reads: the TOML, the task, the repository reference, the sampling defaults). The first body
//! is shared with the regression test `crates/lantern-pipelines/tests/fuzz_replay.rs`; the
//! manifest is the CLI's own module, whose tests replay this target's files (`manifest.rs`).

#![no_main]

// Each target uses one of the bodies.
#[allow(dead_code)]
#[path = "../../crates/lantern-pipelines/tests/common/fuzz_inputs.rs"]
mod fuzz_inputs;

// The CLI is a binary crate: its manifest module is compiled in here. Only parsing is used.
#[allow(dead_code)]
#[path = "../../crates/lantern-cli/src/manifest.rs"]
mod manifest;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_inputs::demo_json(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(m) = manifest::DemoManifest::parse(text)
    {
        let _ = m.sampling();
    }
});
