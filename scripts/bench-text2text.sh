#!/usr/bin/env bash
# Translation / summarization benchmark (issue 15), reference side: tokens/s of onnxruntime's
# native CPU provider (the encoder / decoder / decoder-with-past ONNX graphs optimum exports,
# the layout transformers.js runs) and of transformers' generate() on torch's CPU, greedy and
# beam 4, on a fixed 60-token input with 64 new tokens (EOS masked, so every engine does the
# same steps), with 1 and 2 threads, on two random models at real sizes (made once by
# scripts/reference/bench_text2text.py into target/bench-models/text2text/, not committed):
#   t5-small-random        google-t5/t5-small's config (60.5M parameters)
#   opus-mt-en-de-random   Helsinki-NLP/opus-mt-en-de's config (74.4M parameters)
# Every run checks its ids against transformers' generate() (same_ids_as_torch), so all engines
# do the same work. Lantern's own row is for the pipeline's benchmark example to add.
# Prints one JSON line per run (kept in target/bench/text2text-<time>.jsonl, with the 1-minute
# load average at each run's start) and a table. Not run by CI (minutes, torch; the numbers
# only mean something on a quiet machine: check `uptime` first).
#
# Usage: scripts/bench-text2text.sh [--rounds N] [--runs R]   (defaults: 1 round, 3 runs)
# LANTERN_REF_VENV: the Python with torch, transformers and optimum-onnx (default
# target/fixtures/venv-torch; pinned packages are added to it). LANTERN_ORT_VENV: onnxruntime's
# (default target/venv-ort, made here with scripts/bench-vision.sh's pins).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=1
runs=3
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
ref=scripts/reference/bench_text2text.py
models=target/bench-models/text2text
names=(t5-small-random opus-mt-en-de-random)

venv=${LANTERN_REF_VENV:-target/fixtures/venv-torch}
want="torch==2.9.1 transformers==4.57.1 tokenizers==0.22.2 safetensors==0.6.2 numpy==2.2.6 huggingface_hub==0.36.2 onnx==1.23.2 optimum==2.1.0 optimum-onnx==0.1.0"
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

mkdir -p target/bench
out=target/bench/text2text-$(date -u +%Y%m%dT%H%M%SZ).jsonl
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD); $(date -u +%FT%TZ)" | tee -a "$out" >&2
echo "uptime before: $(uptime)" | tee -a "$out" >&2

row() {
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$@" | sed "s/^{/{\"round\": $round, \"load1\": $load, /" | tee -a "$out"
}

for round in $(seq "$rounds"); do
  for name in "${names[@]}"; do
    for threads in 1 2; do
      OMP_NUM_THREADS=$threads row "$ort_venv/bin/python" "$ref" ort "$models/$name" --threads "$threads" --runs "$runs"
      OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads \
        row "$venv/bin/python" "$ref" torch "$models/$name" --threads "$threads" --runs "$runs"
    done
  done
done
echo "uptime after: $(uptime)" | tee -a "$out" >&2
echo "results: $out" >&2

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
bad = False
for model in dict.fromkeys(r["model"] for r in rows):
    print(f"\n{model}: tokens/s (60-token input, 64 new tokens), median of each round's runs (round 1, ...)\n")
    print("| engine | threads | greedy tok/s | beam 4 tok/s | same ids as torch | peak memory | load |")
    print("|---|---|---|---|---|---|---|")
    keys = dict.fromkeys((r["engine"], r["threads"]) for r in rows if r["model"] == model)
    for engine, threads in sorted(keys, key=lambda k: (k[1], k[0])):
        rs = [r for r in rows if r["model"] == model and r["engine"] == engine and r["threads"] == threads]
        cell = lambda mode: ", ".join(f"{r['tokens_per_s']:.1f}" for r in rs if r["mode"] == mode)
        same = all(r["same_ids_as_torch"] for r in rs)
        bad |= not same
        name = "onnxruntime native" if engine == "onnxruntime" else f"transformers (torch {rs[0]['torch']})"
        mem = max(r["peak_rss_mib"] for r in rs)
        load = ", ".join(f"{r['load1']:.1f}" for r in rs if r["mode"] == "greedy")
        print(f"| {name} | {threads} | {cell('greedy')} | {cell('beam4')} | {same} | {mem:.0f} MiB RSS | {load} |")
sys.exit(1 if bad else 0)
PY
