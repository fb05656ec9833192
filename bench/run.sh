#!/usr/bin/env bash
# The text-generation benchmark (issue 3), in one invocation: on the same GGUF files and the same
# 128-token chat prompt (bench/prompt.json through SmolLM2's template), prefill tokens/s and
# decode tokens/s for 128 new tokens, load time and peak memory, for
#   - natively: Lantern (crates/lantern-pipelines/examples/text_generation_bench.rs) and
#     llama.cpp's llama-bench (bench/llama_cpp.py; built by bench/llamacpp-build.sh),
#     1 and 2 threads;
#   - in one headless Chromium (a fresh profile per case, page served by `lantern serve` with
#     COOP/COEP): Lantern's worker wasm (the single-threaded build with 1 thread, the threaded
#     build with 2) and wllama 3.8.1 (npm, bench/web/package.json) with 1 and 2 threads.
# Every case runs one warm-up and then RUNS measured runs; the table shows the median and the
# min–max. Results: target/bench/results-*.jsonl and target/bench/report-*.md.
#
# Usage: bench/run.sh [--runs N] [--models Q4_1,Q4_0,Q8_0,Q4_K_M] [--only native|browser]
#                     [--no-build]
# Not run by CI: it takes tens of minutes, and the numbers only mean something on a quiet
# machine (the report records the load average seen during the run).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

runs=5
models=Q4_1,Q4_0,Q8_0,Q4_K_M
only=
build=true
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --no-build) build=false; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
IFS=, read -ra models <<<"$models"

out=target/bench
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$out/results-$stamp.jsonl
report=$out/report-$stamp.md
mirror_dir=target/fixtures/mirror

model_repo() {
  case $1 in
    Q4_1) echo lantern-fixtures/SmolLM2-135M-Instruct-GGUF ;;
    *) echo lantern-fixtures/SmolLM2-135M-Instruct-requantized-GGUF ;;
  esac
}
model_file() { echo "SmolLM2-135M-Instruct.$1.gguf"; }
model_path() { echo "$mirror_dir/$(model_repo "$1")/$(model_file "$1")"; }

scripts/fixtures.sh >/dev/null
bench/llamacpp-build.sh
if [[ ! -d bench/web/node_modules/@wllama/wllama ]]; then
  (cd bench/web && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
fi
if $build; then
  cargo build --release --locked -p lantern-pipelines --example text_generation_bench
  cargo build --release --locked -p lantern-cli
  [[ $only == native ]] || scripts/build-web.sh
fi
native=target/release/examples/text_generation_bench
lantern=target/release/lantern

# The machine's load, sampled every 5 s while the benchmark runs (other jobs share the cores).
load_log=$out/load-$stamp.txt
(while true; do cut -d' ' -f1 /proc/loadavg >>"$load_log"; sleep 5; done) &
load_pid=$!
pids=($load_pid)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT

{
  echo "{\"machine\": \"$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB\", \"chromium\": \"$(chromium --version 2>/dev/null | xargs)\", \"runs\": $runs, \"date\": \"$stamp\", \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo +changes)\"}"
} >"$results"

# The rendered prompt (the chat template applied) and its token count; wllama takes text.
$native "$(model_path Q4_1)" bench/prompt.json --prompt-only >"$out/prompt-rendered.json"
python3 - "$out/prompt-rendered.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["tokens"] == 128, f"bench/prompt.json renders to {r['tokens']} tokens, not 128"
PY

if [[ $only != browser ]]; then
  for m in "${models[@]}"; do
    path=$(model_path "$m")
    for t in 1 2; do
      echo "bench: Lantern native, $m, $t thread(s)" >&2
      RAYON_NUM_THREADS=$t $native "$path" bench/prompt.json "$runs" | tee -a "$results"
    done
    echo "bench: llama.cpp native, $m" >&2
    python3 bench/llama_cpp.py work/llamacpp/bin/llama-bench "$path" "$runs" 1,2 | tee -a "$results"
  done
fi

if [[ $only != native ]]; then
  # The mirror serves the model files; one `lantern build` per file pins it into a demo.json.
  mirror_log=$(mktemp)
  $lantern mirror "$mirror_dir" --addr 127.0.0.1:0 >"$mirror_log" 2>&1 &
  pids+=($!)
  mirror=$(wait_for_url "$mirror_log" $! "lantern mirror")

  site=$out/site
  rm -rf "$site"
  mkdir -p "$site/demos" "$site/wllama"
  cp bench/web/index.html bench/web/bench.js bench/web/lantern-worker.js "$site/"
  cp -r target/web/app/worker "$site/worker"
  cp -r bench/web/node_modules/@wllama/wllama/esm "$site/wllama/esm"
  python3 - bench/prompt.json "$out/prompt-rendered.json" "$site/prompt.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
p.update(text=r["text"], tokens=r["tokens"])
json.dump(p, open(sys.argv[3], "w"))
PY
  for m in "${models[@]}"; do
    cat >"$out/demo-$m.toml" <<EOF
title = "bench $m"
task = "text-generation"
[model]
repo = "$(model_repo "$m")"
revision = "main"
files = ["$(model_file "$m")"]
EOF
    tmp=$(mktemp -d)
    HF_HUB_CACHE=$tmp/cache $lantern build "$out/demo-$m.toml" --out "$tmp/space" \
      --endpoint "$mirror" --runtime target/web/app >/dev/null
    cp "$tmp/space/demo.json" "$site/demos/$m.json"
    # `lantern serve` sends the headers the Space's README.md declares (COOP/COEP/CORP).
    cp "$tmp/space/README.md" "$site/README.md"
    rm -rf "$tmp"
  done

  serve_log=$(mktemp)
  $lantern serve "$site" --addr 127.0.0.1:0 >"$serve_log" 2>&1 &
  pids+=($!)
  page=$(wait_for_url "$serve_log" $! "lantern serve")

  for m in "${models[@]}"; do
    url="$mirror/$(model_repo "$m")/resolve/main/$(model_file "$m")"
    bytes=$(stat -c %s "$(model_path "$m")")
    cases=(
      "engine=lantern&build=st&threads=1&demo=demos/$m.json&runs=$runs&label=$m"
      "engine=lantern&build=mt&threads=2&demo=demos/$m.json&runs=$runs&label=$m"
      "engine=wllama&threads=1&model=$url&runs=$runs&label=$m"
      "engine=wllama&threads=2&model=$url&runs=$runs&label=$m"
    )
    echo "bench: browser, $m" >&2
    python3 bench/browser.py "$page/index.html" "${cases[@]}" |
      python3 -c "
import json, sys
for line in sys.stdin:
    r = json.loads(line); r['model'] = '$(model_file "$m")'; r['file_bytes'] = $bytes
    print(json.dumps(r), flush=True)" | tee -a "$results"
  done
fi

kill $load_pid 2>/dev/null || true
python3 bench/report.py "$results" "$load_log" | tee "$report"
echo "bench: results in $results, report in $report" >&2
