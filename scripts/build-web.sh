#!/usr/bin/env bash
# Builds the browser runtime into target/web/app: the page (Trunk, Leptos) and the worker's wasm
# twice — single-threaded (st/) and threaded for cross-origin-isolated pages (mt/: nightly,
# build-std, atomics, wasm-bindgen-rayon; TOOLCHAIN.md §8). `lantern build` copies this folder
# into every Space it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export PATH="$PWD/tools/npm/node_modules/.bin:$PATH"

out=target/web/app
nightly=$(cat scripts/nightly-toolchain)

# LANTERN_WEB_BUILD=fast (the tests use it): the page without fat LTO and with parallel
# codegen, a shorter build for a slightly bigger page. (The worker is built that way always:
# the worker profile in Cargo.toml says why.) Spaces you publish should use the default build.
if [[ "${LANTERN_WEB_BUILD:-release}" == fast ]]; then
  export CARGO_PROFILE_WASM_PAGE_LTO=false CARGO_PROFILE_WASM_PAGE_CODEGEN_UNITS=16
fi

echo "build-web: page (trunk)"
trunk build --release --offline

echo "build-web: worker, single-threaded, with the WebGPU backend"
# Only this build can hold the GPU backend (wgpu's handles are Send + Sync in a browser only
# without atomics); worker.js loads it whenever the GPU may be used.
cargo build --locked --target wasm32-unknown-unknown -p lantern-worker --features gpu \
  --profile wasm-worker
wasm-bindgen --target web --no-typescript --out-dir "$out/worker/st" \
  target/wasm32-unknown-unknown/wasm-worker/lantern_worker.wasm

echo "build-web: worker, threaded"
# RUSTFLAGS replaces the config's rustflags, so simd128 is repeated here. The link args make the
# memory shared and importable (without them the build succeeds but threads cannot work).
flags=(-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128
       -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory
       -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size
       -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base)
# Never through clippy-driver (scripts/test.sh lints the other two builds through it): the
# stable toolchain's driver cannot compile against the nightly's std.
env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS RUSTFLAGS="${flags[*]}" cargo "+$nightly" build --locked --target wasm32-unknown-unknown \
  -p lantern-worker --features threads --profile wasm-worker \
  -Z build-std=panic_abort,std --target-dir target/threads
wasm-bindgen --target web --no-typescript --out-dir "$out/worker/mt" \
  target/threads/wasm32-unknown-unknown/wasm-worker/lantern_worker.wasm

du -sh "$out" "$out"/worker/st/*.wasm "$out"/worker/mt/*.wasm
