#!/usr/bin/env bash
# Vision benchmark (issue 14): images per second of image classification on this machine's
# CPU, one 224x224 image at a time (batch 1, what a page classifying a dropped photo does),
# Lantern against onnxruntime natively and in the same headless Chromium, on the same weights
# and the same input, rounds interleaved so that every engine sees the machine's noise alike:
#   Lantern native       crates/lantern-pipelines/examples/vision_bench.rs
#                        (lantern_models::vision on the CPU), RAYON_NUM_THREADS=1, 2
#   onnxruntime          PyPI onnxruntime 1.31.1, CPU provider, intra_op_num_threads=1, 2
#   Lantern wasm         the worker in Chromium (bench/web/bench.js `engine=lantern-vision`):
#                        single-threaded build with 1 thread, threaded build with 2
#   onnxruntime-web      npm onnxruntime-web 1.31.1 (the same release), wasm with SIMD, 1 thread,
#                        its wasm files served from bench/web/node_modules (no CDN)
# Models (made once into target/bench-models/ by scripts/reference/bench_vision.py `make`,
# not committed; the ONNX files are `torch.onnx.export`s of the same weights):
#   efficientnet-lite0   the real ImageNet weights of the fixture (4.7M parameters; convolutions,
#                        depthwise ones; 0.4 G multiply-adds an image)
#   vit-base-random      ViTForImageClassification, transformers' default ViTConfig (base/16 at
#                        224, 86.6M parameters, 17.6 G multiply-adds an image), random, seed 0
# Input: chelsea.png preprocessed once by transformers' processor of each model (so the time is
# the model's alone, for every engine); each run classifies it once; images/s is the median
# run's after warm-up (--runs per engine and round). Every engine's logits are checked against
# torch's (max |Δ| ≤ 1e-3), so all do the same work. Lantern's wasm rows run the worker on
# chelsea.png as the page does (decoding and preprocessing included) and are checked on the
# top-5 probabilities (bench/web/bench.js says why). A row that cannot run says "missing" (and
# why); the others run regardless.
# Prints one JSON line per run (kept in target/bench/vision-<time>.jsonl, with the 1-minute load
# average at each run's start) and the tables. Not run by CI (minutes, torch for the models;
# the numbers only mean something on a quiet machine).
#
# Usage: scripts/bench-vision.sh [--rounds N] [--runs R] [--only native|browser]
#   (defaults: 2 rounds, 10 runs)
# LANTERN_REF_VENV: the Python with torch, transformers and onnx, for `make` (default
# target/fixtures/venv-torch; pinned packages are added to it). LANTERN_ORT_VENV: onnxruntime's
# (default target/venv-ort, made here).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
rounds=2
runs=10
only=
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mirror=target/fixtures/mirror
[[ -f $mirror/lantern-fixtures/efficientnet-lite0/model.safetensors ]] || scripts/fixtures.sh >/dev/null
ref=scripts/reference/bench_vision.py
models=target/bench-models
names=(efficientnet-lite0 vit-base-random)

venv=${LANTERN_REF_VENV:-target/fixtures/venv-torch}
want="torch==2.9.1 transformers==4.57.1 tokenizers==0.22.2 safetensors==0.6.2 numpy==2.2.6 huggingface_hub==0.36.2 pillow==12.0.0 onnx==1.23.2"
stamp=$venv/.lantern-requirements-bench-vision
if [[ ! -x $venv/bin/python || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
  echo "$want" >"$stamp"
fi
# onnxruntime in a venv of its own: the release pinned beside onnxruntime-web's, whatever the
# torch venv holds.
ort_venv=${LANTERN_ORT_VENV:-target/venv-ort}
ort_want="onnxruntime==1.31.1 numpy==2.2.6"
if [[ ! -x $ort_venv/bin/python || "$(cat "$ort_venv/.lantern-requirements" 2>/dev/null)" != "$ort_want" ]]; then
  [[ -x $ort_venv/bin/python ]] || python3 -m venv "$ort_venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$ort_venv/bin/pip" install --quiet $ort_want
  echo "$ort_want" >"$ort_venv/.lantern-requirements"
fi
ort_py=$ort_venv/bin/python
"$venv/bin/python" "$ref" make "$models" "$mirror"

native=${CARGO_TARGET_DIR:-target}/release/examples/vision_bench
[[ $only == browser ]] || cargo build --release --locked -p lantern-pipelines --example vision_bench

mkdir -p target/bench
out=target/bench/vision-$(date -u +%Y%m%dT%H%M%SZ).jsonl
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo +changes); $(chromium --version 2>/dev/null | xargs); $(date -u +%FT%TZ)" | tee -a "$out" >&2
echo "uptime before: $(uptime)" | tee -a "$out" >&2

tmp=$(mktemp -d)
pids=()
cleanup() {
  ((${#pids[@]} == 0)) || kill "${pids[@]}" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Runs a command (engine ENGINE) that prints JSON lines, adding the round and the 1-minute
# load average at its start to each. A failing engine is reported (a "missing" row) and the run
# goes on. Usage: row ENGINE COMMAND...
row() {
  local engine=$1 load rc=0
  shift
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$@" >"$tmp/row" || rc=$?
  if ((rc == 0)); then
    sed "s/^{/{\"round\": $round, \"load1\": $load, /" "$tmp/row" | tee -a "$out"
  else
    echo "bench-vision: failed: $*" >&2
    echo "{\"round\": $round, \"engine\": \"$engine\", \"model\": \"$name\", \"threads\": $threads, \"missing\": \"failed (exit status $rc), see the log\"}" | tee -a "$out"
  fi
}

if [[ $only != native ]]; then
  [[ -d bench/web/node_modules/onnxruntime-web ]] ||
    (cd bench/web && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
  site=target/bench/vision-site
  rm -rf "$site"
  mkdir -p "$site/ort" "$site/demos"
  cp bench/web/index.html bench/web/bench.js bench/web/lantern-worker.js "$site/"
  dist=bench/web/node_modules/onnxruntime-web/dist
  cp "$dist/ort.wasm.min.mjs" "$dist/ort-wasm-simd-threaded.mjs" "$dist/ort-wasm-simd-threaded.wasm" "$site/ort/"
  ln -s "$PWD/$models" "$site/models"
  cp "$mirror/lantern-fixtures/vision-samples/chelsea.png" "$site/"
  # Lantern's wasm rows: the worker of scripts/build-web.sh (built here when missing), and a
  # demo.json per model made by `lantern build` against `lantern mirror` serving each model's
  # Hub files (hard links to the files behind any symlink: the mirror serves no symlinks) as lantern-bench/NAME. The worker
  # downloads the model from that mirror as a Space does from the Hub.
  [[ -d target/web/app/worker ]] || scripts/build-web.sh
  cargo build --locked -p lantern-cli
  lantern=${CARGO_TARGET_DIR:-target}/debug/lantern
  hub=$tmp/hub
  for name in "${names[@]}"; do
    mkdir -p "$hub/lantern-bench/$name"
    for f in config.json preprocessor_config.json model.safetensors; do
      ln -L "$models/$name/$f" "$hub/lantern-bench/$name/$f" 2>/dev/null ||
        cp -L "$models/$name/$f" "$hub/lantern-bench/$name/$f"
    done
  done
  "$lantern" mirror "$hub" --addr 127.0.0.1:0 >"$tmp/mirror.log" 2>&1 &
  pids+=($!)
  hub_url=$(wait_for_url "$tmp/mirror.log" $! "lantern mirror")
  for name in "${names[@]}"; do
    printf 'title = "%s"\ntask = "image-classification"\n\n[model]\nrepo = "lantern-bench/%s"\nrevision = "main"\n' \
      "$name" "$name" >"$tmp/$name.toml"
    HF_HUB_CACHE=$tmp/cache "$lantern" build "$tmp/$name.toml" --out "$tmp/space-$name" \
      --endpoint "$hub_url" --runtime target/web/app >/dev/null
    cp "$tmp/space-$name/demo.json" "$site/demos/$name.json"
  done
  rm -rf "$tmp/cache"
  cp -r target/web/app/worker "$site/worker"
  serve_log=$tmp/serve.log
  "$ort_py" "$ref" serve "$site" >"$serve_log" 2>&1 &
  pids+=($!)
  page=$(wait_for_url "$serve_log" $! "the benchmark page's server")
fi

# One browser case: a fresh headless Chromium (bench/browser.py) on the benchmark page.
browser() {
  python3 bench/browser.py "$page/index.html" "$1&model=models/$name&runs=$runs&label=$name"
}

for round in $(seq "$rounds"); do
  for name in "${names[@]}"; do
    dir=$models/$name
    if [[ $only != browser ]]; then
      for threads in 1 2; do
        RAYON_NUM_THREADS=$threads row lantern "$native" "$dir" --runs "$runs"
        OMP_NUM_THREADS=$threads row onnxruntime "$ort_py" "$ref" ort "$dir" \
          --threads "$threads" --runs "$runs"
      done
    fi
    if [[ $only != native ]]; then
      threads=1
      row onnxruntime-web browser "engine=onnxruntime-web&threads=1"
      row lantern-wasm browser "engine=lantern-vision&build=st&threads=1&demo=demos/$name.json"
      threads=2
      row lantern-wasm browser "engine=lantern-vision&build=mt&threads=2&demo=demos/$name.json"
    fi
  done
done
echo "uptime after: $(uptime)" | tee -a "$out" >&2
echo "results: $out" >&2
python3 "$ref" report "$out"
