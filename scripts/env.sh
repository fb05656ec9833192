# Sourced by the scripts: the environment the tools need (TOOLCHAIN.md, "CI environment").
export PATH="$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
# Mesa's WSI probing complains without it; lavapipe needs no display.
mkdir -p -m 700 "${CARGO_TARGET_DIR:-target}/xdg-runtime"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$PWD/${CARGO_TARGET_DIR:-target}/xdg-runtime}
export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
# wasm-bindgen-test-runner waits this long for a browser test (default 20 s is tight for
# downloads of real model files in debug builds).
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-180}
