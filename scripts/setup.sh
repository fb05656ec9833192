#!/usr/bin/env bash
# Installs what the build and the tests need, skipping whatever is already there, so it is fast
# on a prepared machine and complete on a fresh one (TOOLCHAIN.md says why each pin).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

# What is downloaded rather than compiled (Debian packages, the nightly, npm's binaryen, the
# Python side) goes on in the background while the tools below compile: on a fresh 2-core
# machine the compiling is what takes the time, and the downloads fit beside it.
downloads() {
  # Debian packages: a real headless Chromium and its driver for browser tests; Mesa's
  # lavapipe for native WebGPU tests.
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  [[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ]] || missing+=(mesa-vulkan-drivers libvulkan1)
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi

  # The threaded worker needs a nightly with rust-src (build-std with atomics), pinned.
  local nightly
  nightly=$(cat scripts/nightly-toolchain)
  if ! rustup run "$nightly" rustc --version >/dev/null 2>&1 ||
     ! rustup component list --toolchain "$nightly" --installed 2>/dev/null | grep -q '^rust-src'; then
    echo "setup: installing $nightly with rust-src"
    rustup toolchain install "$nightly" --profile minimal --component rust-src >/dev/null
  fi

  # wasm-opt from npm's binaryen 132 (Debian's 108 produces modules that fail to load).
  if [[ "$(tools/npm/node_modules/.bin/wasm-opt --version 2>/dev/null)" != *"version 132"* ]]; then
    echo "setup: installing binaryen 132 (npm)"
    (cd tools/npm && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
  fi

  # Python side: huggingface_hub, the reference client our mirror and cache must agree with.
  scripts/python-env.sh >/dev/null
}

# Rust: rust-toolchain.toml pins the toolchain; make sure it and the wasm target are present.
if ! command -v rustup >/dev/null; then
  echo "setup: rustup is required (https://rustup.rs)" >&2
  exit 1
fi
toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy \
  --target wasm32-unknown-unknown >/dev/null 2>&1 ||
  rustup target add wasm32-unknown-unknown --toolchain "$toolchain"

downloads &
downloads_pid=$!

# wasm-bindgen-cli, compiled from crates.io (the one tool that is; the page is built without
# Trunk since stop 26, scripts/build-web.sh says why): without the release profile's full
# optimization, since it does no heavy work of its own (it rewrites a module in a second or
# two), in a target folder of its own that later runs reuse.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1
tools_target=${CARGO_TARGET_DIR:-$PWD/target}/tools

# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock exactly.
want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$want" ]]; then
  echo "setup: installing wasm-bindgen-cli $want (have: ${have:-none})"
  # Not --locked: its lockfile pins a webpki-roots release the registry no longer offers.
  cargo install wasm-bindgen-cli --version "$want" --force --target-dir "$tools_target"
fi

if ! wait "$downloads_pid"; then
  echo "setup: a download failed (Debian packages, the nightly, npm or the Python side): see above" >&2
  exit 1
fi
