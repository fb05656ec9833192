//! Fidelity with Python's huggingface_hub: the real client downloads from the mirror.
//!
//! The Python comes from `LANTERN_HF_HUB_PYTHON`, else the virtualenv that
//! `scripts/python-env.sh` makes (`target/fixtures/venv`); the test fails, saying so, when
//! neither exists, rather than passing without having checked anything.

use std::path::Path;
use std::process::Command;

use lantern_mirror::testing;

#[test]
fn huggingface_hub_downloads_from_the_mirror() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = match std::env::var_os("LANTERN_HF_HUB_PYTHON") {
        Some(p) => workspace.join(p),
        None => workspace.join("target/fixtures/venv/bin/python"),
    };
    assert!(
        python.exists(),
        "{} is missing: run scripts/python-env.sh (or set LANTERN_HF_HUB_PYTHON)",
        python.display()
    );
    let mirror = testing::start_fixture_mirror();
    let script = workspace.join("scripts/check-mirror-with-huggingface-hub.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(mirror.url())
        .arg(testing::fixture_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
