#!/usr/bin/env bash
# Translation / summarization benchmark (issue 15): tokens/s of greedy and beam-4 decoding on
# this machine's CPU, a fixed 60-token input with 64 new tokens (EOS masked, so every engine
# does the same steps), on two random models at real sizes (made once by
# scripts/reference/bench_text2text.py into target/bench-models/text2text/, not committed):
#   t5-small-random        google-t5/t5-small's config (60.5M parameters), summarization
#   opus-mt-en-de-random   Helsinki-NLP/opus-mt-en-de's config (74.4M parameters), translation
# Engines, rounds interleaved so that every engine sees the machine's noise alike:
#   Lantern native       crates/lantern-pipelines/examples/text2text_bench.rs (the pipeline on
#                        the CPU), RAYON_NUM_THREADS=1, 2
#   onnxruntime          PyPI onnxruntime 1.31.1, CPU provider, intra_op_num_threads=1, 2, on
#                        optimum's encoder / decoder / decoder-with-past ONNX graphs (the layout
#                        transformers.js runs)
#   transformers         generate() on torch's CPU, 1 and 2 threads
#   Lantern wasm         the worker in Chromium (bench/web/bench.js `engine=lantern-text2text`):
#                        single-threaded build with 1 thread, threaded build with 2; a `run`
#                        request as the page sends it
#   onnxruntime-web      npm onnxruntime-web 1.31.1 (the same release) in the same Chromium
#                        (`engine=onnxruntime-web-text2text`), wasm with SIMD, 1 and 2 threads
#                        (the page is cross-origin isolated), the same ONNX graphs, decoded by
#                        a JS loop like the native onnxruntime one
# Every run checks its ids against transformers' generate() (same_ids_as_torch), so all engines
# do the same work. Lantern reads bench.json's input_text, which tokenizes to exactly the ids the
# others get. The reference turns off Marian's bad_words_ids, forced_eos_token_id and
# renormalize_logits; a request's options cannot, so the worker's model is served with a
# generation_config.json without them (the native example clears them in the settings).
# Prints one JSON line per run (kept in target/bench/text2text-<time>.jsonl, with the 1-minute
# load average at each run's start) and the tables with the ratios. Not run by CI (minutes,
# torch; the numbers only mean something on a quiet machine: check `uptime` first).
#
# Usage: scripts/bench-text2text.sh [--rounds N] [--runs R] [--only native|browser]
#   (defaults: 1 round, 3 runs)
# LANTERN_REF_VENV: the Python with torch, transformers and optimum-onnx (default
# target/fixtures/venv-torch; pinned packages are added to it: optimum's export needs onnxruntime too). LANTERN_ORT_VENV: onnxruntime's
# (default target/venv-ort, made here with scripts/bench-vision.sh's pins).
# LANTERN_BENCH_BASELINE_WORKER: a copy of an earlier build's target/web/app/worker, run beside
# the current one in the browser rows (an A/B of two versions on the same machine and load).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
rounds=1
runs=3
only=
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
ref=scripts/reference/bench_text2text.py
models=target/bench-models/text2text
names=(t5-small-random opus-mt-en-de-random)
declare -A task=([t5-small-random]=summarization [opus-mt-en-de-random]=translation)

venv=${LANTERN_REF_VENV:-target/fixtures/venv-torch}
want="torch==2.9.1 transformers==4.57.1 tokenizers==0.22.2 safetensors==0.6.2 numpy==2.2.6 huggingface_hub==0.36.2 onnx==1.23.2 onnxruntime==1.31.1 optimum==2.1.0 optimum-onnx==0.1.0"
stamp=$venv/.lantern-requirements-bench-text2text
if [[ ! -x $venv/bin/python || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
  echo "$want" >"$stamp"
fi
ort_venv=${LANTERN_ORT_VENV:-target/venv-ort}
ort_want="onnxruntime==1.31.1 numpy==2.2.6"
if [[ ! -x $ort_venv/bin/python || "$(cat "$ort_venv/.lantern-requirements" 2>/dev/null)" != "$ort_want" ]]; then
  [[ -x $ort_venv/bin/python ]] || python3 -m venv "$ort_venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$ort_venv/bin/pip" install --quiet $ort_want
  echo "$ort_want" >"$ort_venv/.lantern-requirements"
fi
"$venv/bin/python" "$ref" make "$models"
ort_py=$ort_venv/bin/python

native=${CARGO_TARGET_DIR:-target}/release/examples/text2text_bench
[[ $only == browser ]] || cargo build --release --locked -p lantern-pipelines --example text2text_bench

mkdir -p target/bench
out=target/bench/text2text-$(date -u +%Y%m%dT%H%M%SZ).jsonl
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
    echo "bench-text2text: failed: $*" >&2
    echo "{\"round\": $round, \"engine\": \"$engine\", \"model\": \"$name\", \"threads\": $threads, \"missing\": \"failed (exit status $rc), see the log\"}" | tee -a "$out"
  fi
}

if [[ $only != native ]]; then
  [[ -d bench/web/node_modules/onnxruntime-web ]] ||
    (cd bench/web && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
  site=target/bench/text2text-site
  rm -rf "$site"
  mkdir -p "$site/ort" "$site/demos"
  cp bench/web/index.html bench/web/bench.js bench/web/lantern-worker.js "$site/"
  dist=bench/web/node_modules/onnxruntime-web/dist
  cp "$dist/ort.wasm.min.mjs" "$dist/ort-wasm-simd-threaded.mjs" "$dist/ort-wasm-simd-threaded.wasm" "$site/ort/"
  ln -s "$PWD/$models" "$site/models"
  # Lantern's wasm rows: the worker of scripts/build-web.sh (built here when missing), and a
  # demo.json per model made by `lantern build` against `lantern mirror` serving each model's
  # Hub files (hard links to the files behind any symlink: the mirror serves no symlinks) as
  # lantern-bench/NAME, with the reference's generation settings (above). The worker
  # downloads the model from that mirror as a Space does from the Hub.
  [[ -d target/web/app/worker ]] || scripts/build-web.sh
  cargo build --locked -p lantern-cli
  lantern=${CARGO_TARGET_DIR:-target}/debug/lantern
  hub=$tmp/hub
  for name in "${names[@]}"; do
    mkdir -p "$hub/lantern-bench/$name"
    for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do
      ln -L "$models/$name/$f" "$hub/lantern-bench/$name/$f" 2>/dev/null ||
        cp -L "$models/$name/$f" "$hub/lantern-bench/$name/$f"
    done
    python3 - "$models/$name/generation_config.json" "$hub/lantern-bench/$name/generation_config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for key in ("bad_words_ids", "forced_eos_token_id", "renormalize_logits"):
    c.pop(key, None)
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
  done
  "$lantern" mirror "$hub" --addr 127.0.0.1:0 >"$tmp/mirror.log" 2>&1 &
  pids+=($!)
  hub_url=$(wait_for_url "$tmp/mirror.log" $! "lantern mirror")
  for name in "${names[@]}"; do
    printf 'title = "%s"\ntask = "%s"\n\n[model]\nrepo = "lantern-bench/%s"\nrevision = "main"\n' \
      "$name" "${task[$name]}" "$name" >"$tmp/$name.toml"
    HF_HUB_CACHE=$tmp/cache "$lantern" build "$tmp/$name.toml" --out "$tmp/space-$name" \
      --endpoint "$hub_url" --runtime target/web/app >/dev/null
    cp "$tmp/space-$name/demo.json" "$site/demos/$name.json"
  done
  rm -rf "$tmp/cache"
  cp -r target/web/app/worker "$site/worker"
  # An A/B in the same run: another version's worker builds (a copy of an earlier
  # target/web/app/worker) as `st-base` / `mt-base`, reported as "baseline worker" rows.
  if [[ -n ${LANTERN_BENCH_BASELINE_WORKER:-} ]]; then
    cp -r "$LANTERN_BENCH_BASELINE_WORKER/st" "$site/worker/st-base"
    cp -r "$LANTERN_BENCH_BASELINE_WORKER/mt" "$site/worker/mt-base"
  fi
  serve_log=$tmp/serve.log
  "$ort_py" scripts/reference/bench_vision.py serve "$site" >"$serve_log" 2>&1 &
  pids+=($!)
  page=$(wait_for_url "$serve_log" $! "the benchmark page's server")
fi

# One browser case: a fresh headless Chromium (bench/browser.py) on the benchmark page; its
# result (one row per mode) becomes one JSON line per mode.
browser() {
  python3 bench/browser.py "$page/index.html" "$1&model=models/$name&runs=$runs&label=$name" |
    python3 "$ref" rows
}

for round in $(seq "$rounds"); do
  for name in "${names[@]}"; do
    dir=$models/$name
    if [[ $only != browser ]]; then
      for threads in 1 2; do
        RAYON_NUM_THREADS=$threads row lantern "$native" "$dir" --task "${task[$name]}" --runs "$runs"
        OMP_NUM_THREADS=$threads row onnxruntime "$ort_py" "$ref" ort "$dir" --threads "$threads" --runs "$runs"
        OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads \
          row transformers "$venv/bin/python" "$ref" torch "$dir" --threads "$threads" --runs "$runs"
      done
    fi
    if [[ $only != native ]]; then
      for threads in 1 2; do
        build=st
        ((threads == 1)) || build=mt
        row onnxruntime-web browser "engine=onnxruntime-web-text2text&threads=$threads"
        row lantern-wasm browser "engine=lantern-text2text&build=$build&threads=$threads&demo=demos/$name.json&task=${task[$name]}"
        if [[ -n ${LANTERN_BENCH_BASELINE_WORKER:-} ]]; then
          row lantern-wasm-base browser "engine=lantern-text2text&build=$build-base&threads=$threads&demo=demos/$name.json&task=${task[$name]}"
        fi
      done
    fi
  done
done
echo "uptime after: $(uptime)" | tee -a "$out" >&2
echo "results: $out" >&2
python3 "$ref" report "$out"
