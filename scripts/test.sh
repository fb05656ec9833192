#!/usr/bin/env bash
# The test command: formatting, clippy (native and wasm32, warnings denied), the native tests,
# and the browser tests in headless Chromium against `lantern mirror` serving real model files.
# Installs what is missing first (scripts/setup.sh), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '\n== %s\n' "$*"; }

step setup
scripts/setup.sh
scripts/fixtures.sh

# Crates that must also build for the browser (every library crate but the server-side ones).
wasm_crates=(-p lantern-core -p lantern-hub)

step "cargo fmt --check"
cargo fmt --all --check

step "clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "clippy (wasm32)"
cargo clippy --target wasm32-unknown-unknown "${wasm_crates[@]}" --all-targets --locked -- -D warnings

step "native tests"
LANTERN_HF_HUB_PYTHON=$(scripts/python-env.sh) cargo test --workspace --locked

step "browser tests (headless Chromium, against lantern mirror)"
cargo build -p lantern-cli --locked
mirror_out=$(mktemp)
target/debug/lantern mirror target/fixtures/mirror --addr 127.0.0.1:0 >"$mirror_out" 2>&1 &
mirror_pid=$!
trap 'kill $mirror_pid 2>/dev/null || true; rm -f "$mirror_out"' EXIT
for _ in $(seq 100); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$mirror_out" | head -n1 || true)
  [[ -n "$url" ]] && break
  kill -0 $mirror_pid 2>/dev/null || { cat "$mirror_out"; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "lantern mirror did not start"; cat "$mirror_out"; exit 1; }
echo "mirror at $url"
# The URL is read at compile time by the browser tests (a page cannot read our environment).
(cd crates/lantern-hub && LANTERN_TEST_MIRROR=$url cargo test --target wasm32-unknown-unknown --locked --test web)

step "all tests passed"
