#!/usr/bin/env bash
# Embedding benchmark (issue 4): sentences per second for 64 short sentences and for 8 long
# (256-token) texts, all-MiniLM-L6-v2 f32, with peers side by side:
#   Lantern native (1 and 2 threads), Lantern native Q8_0, candle-transformers' BERT native
#   (1 and 2 threads), Lantern wasm in headless Chromium: the pipeline alone (a
#   wasm-bindgen-test, 1 thread; f32 and Q8_0) and Lantern's worker as the page runs it
#   (single-threaded build, threaded build with 1 and 2 threads).
# Prints one JSON line per run and a table with the ratios. Not run by CI (minutes, and the
# numbers only mean something on a quiet machine: check `uptime` first).
#
# Usage: scripts/bench-embeddings.sh [--only native|wasm|worker] [--no-web-build]
#   (--no-web-build reuses target/web/app from an earlier scripts/build-web.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
only=
web_build=true
while (($#)); do
  case $1 in
    --only) only=$2; shift 2 ;;
    --no-web-build) web_build=false; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
scripts/fixtures.sh >/dev/null
model=target/fixtures/mirror/lantern-fixtures/all-MiniLM-L6-v2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo build --release --locked -p lantern-pipelines --example embeddings_bench
cargo build --locked -p lantern-cli
bench=target/release/examples/embeddings_bench
if [[ -z $only || $only == native ]]; then
  for threads in 1 2; do
    for engine in lantern candle; do
      RAYON_NUM_THREADS=$threads $bench "$model" $engine | tee -a "$out"
    done
  done
  RAYON_NUM_THREADS=1 $bench "$model" lantern-q8 | tee -a "$out"
  RAYON_NUM_THREADS=1 $bench - gemm | tee -a "$out"
fi

mirror_log=$(mktemp)
target/debug/lantern mirror target/fixtures/mirror --addr 127.0.0.1:0 >"$mirror_log" 2>&1 &
mirror_pid=$!
trap 'kill $mirror_pid 2>/dev/null || true; rm -f "$out" "$mirror_log"' EXIT
url=$(wait_for_url "$mirror_log" $mirror_pid "lantern mirror")
if [[ -z $only || $only == wasm ]]; then
  (cd crates/lantern-pipelines && LANTERN_TEST_MIRROR=$url cargo test --release --locked \
    --target wasm32-unknown-unknown --test bench_embeddings_web -- --nocapture bench) \
    | sed -n 's/^BENCH //p' | tee -a "$out"
fi

# Lantern's worker wasm in the browser, as the embeddings page runs it (bench/web/bench.js,
# `engine=lantern-embed`; a fresh Chromium per case, page served by `lantern serve` with
# COOP/COEP): the single-threaded build with 1 thread, and the threaded build
# (wasm-bindgen-rayon) with 1 and 2 threads.
if [[ -z $only || $only == worker ]]; then
  ! $web_build || scripts/build-web.sh
  site=target/bench/embed-site
  rm -rf "$site"
  mkdir -p "$site/demos"
  cp bench/web/index.html bench/web/bench.js bench/web/lantern-worker.js "$site/"
  cp -r target/web/app/worker "$site/worker"
  $bench - corpus >"$site/embed-corpus.json"
  tmp=$(mktemp -d)
  HF_HUB_CACHE=$tmp/cache target/debug/lantern build tests/demos/embeddings.toml --out "$tmp/space" \
    --endpoint "$url" --runtime target/web/app >/dev/null
  cp "$tmp/space/demo.json" "$site/demos/embeddings.json"
  # `lantern serve` sends the headers the Space's README.md declares (COOP/COEP/CORP).
  cp "$tmp/space/README.md" "$site/README.md"
  rm -rf "$tmp"
  serve_log=$(mktemp)
  target/debug/lantern serve "$site" --addr 127.0.0.1:0 >"$serve_log" 2>&1 &
  serve_pid=$!
  trap 'kill $mirror_pid $serve_pid 2>/dev/null || true; rm -f "$out" "$mirror_log" "$serve_log"' EXIT
  page=$(wait_for_url "$serve_log" $serve_pid "lantern serve")
  q="engine=lantern-embed&demo=demos/embeddings.json&runs=5"
  python3 bench/browser.py "$page/index.html" "$q&build=st&threads=1" "$q&build=mt&threads=1" \
    "$q&build=mt&threads=2" | tee -a "$out"
fi

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for r in rows:
    if r.get("engine") == "gemm":
        print("f32 matmul GFLOP/s (512 rows, native, 1 thread):", r["gflop_per_s"])
for r in rows:
    if "error" in r:
        print("error:", r.get("engine"), r.get("label"), r["error"])
rows = [r for r in rows if "short_sentences_per_s" in r]
def key(r): return (r["engine"], r.get("threads") or "all")
by = {key(r): r for r in rows}
base = by.get(("lantern", "1"))
print()
print("| engine | threads | short (64) sent/s | long (8 x 256 tok) sent/s | vs Lantern native 1T (short / long) | peak memory |")
print("|---|---|---|---|---|---|")
for r in rows:
    ratio = ""
    if base:
        ratio = f"{r['short_sentences_per_s'] / base['short_sentences_per_s']:.2f}x / {r['long_sentences_per_s'] / base['long_sentences_per_s']:.2f}x"
    mem = f"{r['peak_rss_mib']:.0f} MiB RSS" if "peak_rss_mib" in r else f"{r['wasm_memory_mib']:.0f} MiB wasm memory"
    if r.get("renderer_peak_mib"):
        mem += f" / {r['renderer_peak_mib']:.0f} MiB renderer"
    print(f"| {r['engine']} | {r.get('threads')} | {r['short_sentences_per_s']:.1f} | {r['long_sentences_per_s']:.2f} | {ratio} | {mem} |")
PY
