#!/usr/bin/env bash
# Embedding benchmark (issue 4): sentences per second for 64 short sentences and for 8 long
# (256-token) texts, all-MiniLM-L6-v2 f32, with peers side by side:
#   Lantern native (1 and 2 threads), Lantern native Q8_0, candle-transformers' BERT native
#   (1 and 2 threads), Lantern wasm in headless Chromium (1 thread; f32 and Q8_0).
# Prints one JSON line per run and a table with the ratios. Not run by CI (minutes, and the
# numbers only mean something on a quiet machine: check `uptime` first).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/fixtures.sh >/dev/null
model=target/fixtures/mirror/lantern-fixtures/all-MiniLM-L6-v2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo build --release --locked -p lantern-pipelines --example embeddings_bench
cargo build --locked -p lantern-cli
bench=target/release/examples/embeddings_bench
for threads in 1 2; do
  for engine in lantern candle; do
    RAYON_NUM_THREADS=$threads $bench "$model" $engine | tee -a "$out"
  done
done
RAYON_NUM_THREADS=1 $bench "$model" lantern-q8 | tee -a "$out"

mirror_log=$(mktemp)
target/debug/lantern mirror target/fixtures/mirror --addr 127.0.0.1:0 >"$mirror_log" 2>&1 &
mirror_pid=$!
trap 'kill $mirror_pid 2>/dev/null || true; rm -f "$out" "$mirror_log"' EXIT
url=
for _ in $(seq 100); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$mirror_log" | head -n1 || true)
  [[ -n "$url" ]] && break
  sleep 0.1
done
[[ -n "$url" ]] || { echo "lantern mirror did not start" >&2; exit 1; }
(cd crates/lantern-pipelines && LANTERN_TEST_MIRROR=$url cargo test --release --locked \
  --target wasm32-unknown-unknown --test bench_embeddings_web -- --nocapture bench) \
  | sed -n 's/^BENCH //p' | tee -a "$out"

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
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
    print(f"| {r['engine']} | {r.get('threads')} | {r['short_sentences_per_s']:.1f} | {r['long_sentences_per_s']:.2f} | {ratio} | {mem} |")
PY
