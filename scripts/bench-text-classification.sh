#!/usr/bin/env bash
# Text-classification benchmark (issue 12): inputs per second of Lantern's native
# text-classification pipeline and of transformers' `pipeline("text-classification")` on torch's
# CPU, side by side on the same inputs: 64 short sentences, 8 texts of 256 tokens, 64 sentence
# pairs (NLI-style), with 1 and 2 threads, on two classifiers at real sizes (made once by
# scripts/reference/bench_text_classification.py into target/bench-models/, not committed):
#   minilm-l6-sst2-head          all-MiniLM-L6-v2's real BERT encoder + a random 2-label head
#   distilbert-base-sst2-random  distilbert-base-uncased-finetuned-sst-2-english's shape, random
# Each round runs, per model and thread count, Lantern (crates/lantern-pipelines/examples/
# classification_bench.rs, RAYON_NUM_THREADS) and then transformers (torch.set_num_threads;
# batch size 1, the pipeline's default, and 16, Lantern's batch), in separate processes; the
# rounds repeat that, so both engines see the machine's noise alike. Also checks that both give
# the same labels and scores (max |Δscore| ≤ 1e-4) on every input, so they do the same work.
# Prints one JSON line per run (kept in target/bench/classification-<time>.jsonl) and the tables.
# Not run by CI (minutes, torch; the numbers only mean something on a quiet machine: check
# `uptime` first).
#
# Usage: scripts/bench-text-classification.sh [--rounds N]   (default 2)
# LANTERN_REF_VENV: the Python with torch and transformers (default target/fixtures/venv-torch,
# made here with scripts/reference-text-classification.sh's pins if it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
rounds=2
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
minilm=target/fixtures/mirror/lantern-fixtures/all-MiniLM-L6-v2
[[ -f $minilm/model.safetensors ]] || scripts/fixtures.sh >/dev/null

venv=${LANTERN_REF_VENV:-target/fixtures/venv-torch}
want="torch==2.9.1 transformers==4.57.1 tokenizers==0.22.2 safetensors==0.6.2 numpy==2.2.6 huggingface_hub==0.36.2"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
  echo "$want" >"$venv/.lantern-requirements"
fi
py=$venv/bin/python
models=target/bench-models
"$py" scripts/reference/bench_text_classification.py make "$models" "$minilm"

cargo build --release --locked -p lantern-pipelines --example classification_bench
bench=${CARGO_TARGET_DIR:-target}/release/examples/classification_bench

mkdir -p target/bench
out=target/bench/classification-$(date -u +%Y%m%dT%H%M%SZ).jsonl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD); $(date -u +%FT%TZ)" | tee -a "$out" >&2
echo "uptime before: $(uptime)" | tee -a "$out" >&2

# Runs a command that prints JSON lines, adding the round and the 1-minute load average at its
# start to each.
row() {
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$@" | sed "s/^{/{\"round\": $round, \"load1\": $load, /" | tee -a "$out"
}

for name in minilm-l6-sst2-head distilbert-base-sst2-random; do
  "$bench" "$models/$name" --corpus >"$tmp/$name.corpus.json"
done
for round in $(seq "$rounds"); do
  for name in minilm-l6-sst2-head distilbert-base-sst2-random; do
    for threads in 1 2; do
      scores_l=() scores_t=()
      if [[ $round == 1 && $threads == 1 ]]; then
        scores_l=(--scores "$tmp/$name.lantern.json")
        scores_t=(--scores "$tmp/$name.transformers.json")
      fi
      RAYON_NUM_THREADS=$threads row "$bench" "$models/$name" "${scores_l[@]}"
      OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads RAYON_NUM_THREADS=$threads \
        row "$py" scripts/reference/bench_text_classification.py run "$models/$name" \
        "$tmp/$name.corpus.json" --threads "$threads" "${scores_t[@]}"
    done
  done
done
echo "uptime after: $(uptime)" | tee -a "$out" >&2

# Scores: every input's labels in the same order, and the largest score difference.
for name in minilm-l6-sst2-head distilbert-base-sst2-random; do
  python3 - "$name" "$tmp/$name.lantern.json" "$tmp/$name.transformers.json" <<'PY' | tee -a "$out"
import json, sys
name, lantern, ref = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
worst, same_order, n, spread = 0.0, True, 0, []
for s in ref:
    for a, b in zip(lantern[s], ref[s], strict=True):
        same_order &= [x["label"] for x in a] == [x["label"] for x in b]
        sa = {x["label"]: x["score"] for x in a}
        for x in b:
            worst = max(worst, abs(sa[x["label"]] - x["score"]))
        # How far apart the inputs' scores are: a check on scores that are all 0.5 (or 1.0)
        # would compare little.
        spread.append(min(b, key=lambda x: x["label"])["score"])
        n += 1
label = min(x["label"] for x in ref["short"][0])
print(json.dumps({"check": name, "inputs": n, "max_abs_score_diff": worst, "same_label_order": same_order,
                  "label": label, "score_range": [min(spread), max(spread)]}))
PY
done
echo "results: $out" >&2

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
sets = [("short", "64 short"), ("long", "8 x 256 tok"), ("pairs", "64 pairs")]
def eng(r):
    if r["engine"] == "lantern":
        return "Lantern native"
    return f"transformers (torch {r['torch']}), batch {r['batch_size']}"
bad = False
for c in (r for r in rows if "check" in r):
    ok = c["max_abs_score_diff"] <= 1e-4 and c["same_label_order"]
    bad |= not ok
    lo, hi = c["score_range"]
    print(f"scores {c['check']}: {c['inputs']} inputs ({c['label']} scored {lo:.3f}–{hi:.3f}), "
          f"max |Δscore| {c['max_abs_score_diff']:.2e}, same label order: {c['same_label_order']} "
          f"{'ok' if ok else '✗ (limit 1e-4)'}")
runs = [r for r in rows if "engine" in r]
for model in dict.fromkeys(r["model"] for r in runs):
    mine = [r for r in runs if r["model"] == model]
    print(f"\n{model}: inputs/s, median of 5 runs per round (round 1, round 2, ...); load = 1-minute load at each run's start\n")
    print("| engine | threads | " + " | ".join(f"{t}/s" for _, t in sets) + " | peak memory | load |")
    print("|---|---|" + "---|" * len(sets) + "---|---|")
    keys = list(dict.fromkeys((r["engine"], r.get("batch_size"), r["threads"]) for r in mine))
    keys.sort(key=lambda k: (k[2], k[0] != "lantern", k[1] or 0))
    by = {}
    for r in mine:
        by.setdefault((r["engine"], r.get("batch_size"), r["threads"]), []).append(r)
    for k in keys:
        rs = sorted(by[k], key=lambda r: r["round"])
        cells = [", ".join(f"{r[s + '_per_s']:.1f}" for r in rs) for s, _ in sets]
        mem = max(r["peak_rss_mib"] for r in rs)
        load = ", ".join(f"{r['load1']:.1f}" for r in rs)
        print(f"| {eng(rs[0])} | {k[2]} | " + " | ".join(cells) + f" | {mem:.0f} MiB RSS | {load} |")
    print(f"\n{model}: Lantern / transformers, same round and threads (round 1, round 2, ...)\n")
    print("| threads | against | " + " | ".join(t for _, t in sets) + " |")
    print("|---|---|" + "---|" * len(sets))
    for threads in dict.fromkeys(k[2] for k in keys):
        lantern = {r["round"]: r for r in by.get(("lantern", None, threads), [])}
        for bs in sorted({k[1] for k in keys if k[0] == "transformers"}):
            ref = {r["round"]: r for r in by.get(("transformers", bs, threads), [])}
            common = sorted(set(lantern) & set(ref))
            cells = [", ".join(f"{lantern[i][s + '_per_s'] / ref[i][s + '_per_s']:.2f}x" for i in common) for s, _ in sets]
            print(f"| {threads} | transformers batch {bs} | " + " | ".join(cells) + " |")
sys.exit(1 if bad else 0)
PY
