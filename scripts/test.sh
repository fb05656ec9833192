#!/usr/bin/env bash
# The test command: formatting, clippy (native and wasm32, warnings denied), the native tests,
# and the browser tests in headless Chromium against `lantern mirror` serving real model files.
# Installs what is missing first (scripts/setup.sh), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# Incremental compilation only pays off for rebuilds; CI builds everything once, from scratch.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

started=$SECONDS
step() { printf '\n== %s (%d s so far)\n' "$*" $((SECONDS - started)); }

step setup
scripts/setup.sh
scripts/fixtures.sh

# Crates that must also build for the browser (every library crate but the server-side ones).
wasm_crates=(-p lantern-core -p lantern-audio -p lantern-vision -p lantern-hub -p lantern-models -p lantern-pipelines -p lantern-worker -p lantern-app -p lantern-gpu)

step "the page links nothing heavy"
# The page must paint before the model code arrives: no candle, tokenizers, wgpu or image
# decoders (lantern-vision) in its tree.
heavy=$(cargo tree --locked -p lantern-app --target wasm32-unknown-unknown -e normal --prefix none |
  grep -E '^(candle|tokenizers|wgpu|image|lantern-(models|pipelines|gpu|worker|hub|vision)) ' || true)
if [[ -n "$heavy" ]]; then
  echo "lantern-app depends on heavy crates:"; echo "$heavy"; exit 1
fi

step "cargo fmt --check"
cargo fmt --all --check

step "clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The GPU backend of the op layer is behind a feature (CPU-only builds compile no wgpu).
cargo clippy -p lantern-models --features gpu --all-targets --locked -- -D warnings
cargo clippy -p lantern-pipelines --features gpu --all-targets --locked -- -D warnings
cargo clippy -p lantern-worker --features gpu --all-targets --locked -- -D warnings
step "clippy (wasm32)"
cargo clippy --target wasm32-unknown-unknown "${wasm_crates[@]}" --all-targets --locked -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p lantern-models --features gpu --all-targets --locked -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p lantern-pipelines --features gpu --all-targets --locked -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p lantern-worker --features gpu --all-targets --locked -- -D warnings

step "native tests"
LANTERN_HF_HUB_PYTHON=$(scripts/python-env.sh) cargo test --workspace --locked --exclude lantern-e2e
# The llama forward pass on the GPU backend (lavapipe) against the CPU backend.
cargo test --locked -p lantern-models --features gpu --test gpu
# Encoders on the GPU backend (lavapipe): classifiers against transformers' goldens,
# embeddings against the CPU.
cargo test --locked -p lantern-pipelines --features gpu --test gpu
# The worker on the GPU backend (lavapipe): a device lost mid-answer falls back to the CPU.
cargo test --locked -p lantern-worker --features gpu --test gpu

step "browser tests (headless Chromium, against lantern mirror)"
cargo build -p lantern-cli --locked
# What runs before the browser steps: anything of these kinds beyond it afterwards is a leak.
before=$(test_processes)
mirror_out=$(mktemp)
target/debug/lantern mirror target/fixtures/mirror --addr 127.0.0.1:0 >"$mirror_out" 2>&1 &
mirror_pid=$!
trap 'kill $mirror_pid 2>/dev/null || true; rm -f "$mirror_out"' EXIT
url=$(wait_for_url "$mirror_out" $mirror_pid "lantern mirror")
echo "mirror at $url"
# The URL is read at compile time by the browser tests (a page cannot read our environment).
(cd crates/lantern-hub && LANTERN_TEST_MIRROR=$url cargo test --target wasm32-unknown-unknown --locked --test web)
# WebGPU kernels on SwiftShader against CPU references, on real weights read from the mirror.
(cd crates/lantern-gpu && LANTERN_TEST_MIRROR=$url cargo test --target wasm32-unknown-unknown --locked --test web)
# Embeddings in the browser: the real MiniLM from the mirror via OPFS, held to the reference.
(cd crates/lantern-pipelines && LANTERN_TEST_MIRROR=$url cargo test --target wasm32-unknown-unknown --locked --test web_embeddings)
# Text classification in the browser, on the wasm CPU backend and on WebGPU (SwiftShader),
# held to transformers' goldens; bad repositories and input as typed errors.
(cd crates/lantern-pipelines && LANTERN_TEST_MIRROR=$url cargo test --target wasm32-unknown-unknown --locked --features gpu --test web_text_classification)
# The encoder ops, tiny encoders of every family and tiny Whispers on WebGPU (SwiftShader)
# against their oracles, transformers' goldens and the CPU backend, in a dedicated worker as
# Lantern's worker runs them (the real MiniLM on SwiftShader: tests/e2e/embeddings.rs).
(cd crates/lantern-models && cargo test --target wasm32-unknown-unknown --locked --features gpu --test web_gpu)
# Lantern's simd128 matmul kernels against their portable oracle, bit for bit.
(cd crates/lantern-models && cargo test --target wasm32-unknown-unknown --locked --test kernels)
# Whisper's log-mel features (against transformers' goldens) and the resampler in the browser.
(cd crates/lantern-audio && cargo test --target wasm32-unknown-unknown --locked --test features --test resample)
# Hostile and broken images through the decoder and the preprocessing in the browser.
(cd crates/lantern-vision && cargo test --target wasm32-unknown-unknown --locked --test bad_input)
# Whisper on the wasm CPU backend: tiny models against transformers' goldens, hostile input.
(cd crates/lantern-models && cargo test --target wasm32-unknown-unknown --locked --test whisper)
# The convolution ops (simd128 build), the tiny ResNet, ViT, YOLOS and DETR on the wasm CPU
# backend against transformers' goldens (tiny models and the sample images compiled in).
(cd crates/lantern-models && cargo test --target wasm32-unknown-unknown --locked --test vision --test vision_transformers)
# Hostile GGUF / tokenizer metadata / templates in the browser: typed errors, no abort.
(cd crates/lantern-pipelines && cargo test --target wasm32-unknown-unknown --locked --test bad_input)
kill $mirror_pid
wait $mirror_pid 2>/dev/null || true
no_leftovers "$before" "the browser tests"

step "end-to-end: built Spaces in headless Chromium"
LANTERN_WEB_BUILD=fast scripts/build-web.sh
before=$(test_processes)
# One browser and one model at a time: the machines have 2 cores.
cargo test --locked -p lantern-e2e -- --test-threads=1
# A test interrupted by Ctrl-C, and one killed, leave nothing behind either.
scripts/check-cleanup.sh
no_leftovers "$before" "the end-to-end tests"

step "fuzz: GGUF header, tokenizer from metadata, chat template (60 s)"
scripts/fuzz.sh 60

step "all tests passed"
