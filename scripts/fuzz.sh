#!/usr/bin/env bash
# Fuzzes what reads a model file before its weights — the GGUF header parser, the tokenizer
# built from GGUF metadata, the chat template (fuzz/fuzz_targets/) — for a bounded time,
# starting from the committed seeds (fuzz/seeds) and past crashes (fuzz/regressions).
#
#   scripts/fuzz.sh [SECONDS]      (default 60): a smoke run of the two GGUF targets
#   scripts/fuzz.sh --campaign SECONDS [TARGET ...]
#       every target (or those named) in turn for SECONDS each, on a corpus kept between
#       campaigns (fuzz/corpus/campaign/TARGET, git-ignored, seeded from the committed seeds and test
#       files), and a table: target, executions, executions/s, corpus size, coverage (edges and
#       features), peak RSS, crashes. A crash does not stop the campaign; it is in the table and
#       fuzz/artifacts/TARGET/, and the script exits non-zero at the end. The table is printed
#       and kept in target/fuzz-campaign/.
#
# Built with the pinned nightly of scripts/nightly-toolchain (cargo-fuzz needs nightly for
# -Zsanitizer=address and the coverage instrumentation), under AddressSanitizer. Exits non-zero
# on a crash (a panic, a sanitizer report, an allocation over the limits below, an input that
# runs past the timeout); the input is then in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

campaign=0
if [[ ${1:-} == --campaign ]]; then
  campaign=1
  shift
fi
seconds=${1:-60}
shift || true
nightly=$(cat scripts/nightly-toolchain)
# cargo-fuzz is installed here, not by scripts/setup.sh: only fuzzing needs it, and the test
# command no longer fuzzes (ARCHITECTURE.md, "CI time").
if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz 0.13.2" ]]; then
  echo "fuzz: installing cargo-fuzz 0.13.2"
  cargo install cargo-fuzz --version 0.13.2 --locked --force \
    --target-dir "${CARGO_TARGET_DIR:-$PWD/target}/tools"
fi

cd fuzz
# cargo fuzz has no --locked: check the committed lockfile is complete before it builds.
cargo +"$nightly" metadata --locked --format-version 1 >/dev/null
# A campaign builds with full optimization (executions per second are its figures). The smoke
# run builds in fuzz/Cargo.toml's dev profile (opt-level 1, overflow checks on), to shorten its
# cold build on CI's 2 cores (not yet timed alone), for fewer executions in its minute (gguf_text
# ran at ~140 a second against ~375 in release).
if ((campaign)); then
  build=(--release)
else
  build=(--dev)
fi
cargo +"$nightly" fuzz build "${build[@]}"

# Limits (below) shared by both modes: one allocation of more than 256 MiB, or 2 GiB resident,
# is a crash; so is an input that runs for more than 10 s.
limits=(-max_len=65536 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 -detect_leaks=0)

# The seeds of a target: committed seeds and test files of its parser, and past crashes.
seed() {
  local target=$1 corpus=$2
  case $target in
    gguf_header | gguf_text) cp seeds/*.gguf "$corpus"/ ;;
    audio_decode) cp ../crates/lantern-audio/tests/data/*.{flac,mp3,ogg} "$corpus"/ ;;
    mel)
      local config=../target/fixtures/mirror/lantern-fixtures/whisper-tiny.en/preprocessor_config.json
      if [[ -f $config ]]; then cp "$config" "$corpus"/; fi
      printf '{}' >"$corpus/empty.json"
      ;;
    image_decode) cp ../crates/lantern-vision/tests/data/images/* "$corpus"/ ;;
    # Issue 18's targets: committed seeds (real configs, trimmed tokenizers, the GGUF seeds'
    # chat templates, demos, messages, Hub answers; the safetensors seeds' generator is not one).
    safetensors | tokenizer_json | chat_template | configs | demo | protocol | hub_json)
      find "seeds/$target" -type f ! -name '*.py' -exec cp {} "$corpus"/ \;
      ;;
  esac
  # Past crashes: the GGUF ones at the top of regressions/, the others under regressions/TARGET/.
  if [[ -d regressions ]]; then
    if [[ $target == gguf_* ]]; then
      find regressions -maxdepth 1 -type f -name '*.gguf' -exec cp {} "$corpus"/ \;
    fi
    if [[ -d regressions/$target ]]; then
      find "regressions/$target" -type f -exec cp {} "$corpus"/ \;
    fi
  fi
}

if ((campaign)); then
  targets=("$@")
  if ((${#targets[@]} == 0)); then
    mapfile -t targets < <(cargo +"$nightly" fuzz list)
  fi
  out=../target/fuzz-campaign
  mkdir -p "$out"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  table=$out/campaign-$stamp.md
  {
    echo "Campaign $stamp: $seconds s per target, commit $(git rev-parse --short HEAD), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo
    echo "| target | executions | executions/s | corpus (inputs) | coverage (edges) | features | peak RSS MiB | crashes |"
    echo "|---|---|---|---|---|---|---|---|"
  } >"$table"
  failed=0
  for target in "${targets[@]}"; do
    # Not corpus/TARGET, which the smoke run starts afresh each time.
    corpus=corpus/campaign/$target
    mkdir -p "$corpus" "artifacts/$target"
    seed "$target" "$corpus"
    log=$out/$target-$stamp.log
    echo "== campaign: $target for $seconds s (log $log)"
    before=$(find "artifacts/$target" -type f | wc -l)
    dict=()
    case $target in
      # gguf_text.dict holds Jinja syntax too.
      gguf_* | chat_template) dict=(-dict=gguf_text.dict) ;;
      configs | tokenizer_json | demo | protocol | hub_json) dict=(-dict=json.dict) ;;
    esac
    # -fork would spread the time over the cores, but a crash then ends only its child: one
    # process keeps the counts exact.
    cargo +"$nightly" fuzz run "${build[@]}" "$target" "$corpus" -- -max_total_time="$seconds" \
      "${limits[@]}" "${dict[@]}" -print_final_stats=1 >"$log" 2>&1 || true
    crashes=$(($(find "artifacts/$target" -type f | wc -l) - before))
    stat() { grep -m1 "^stat::$1:" "$log" | awk '{print $2}'; }
    execs=$(stat number_of_executed_units)
    rate=$(stat average_exec_per_sec)
    rss=$(stat peak_rss_mb)
    # The last status line: "#N ... cov: E ft: F corp: C/..."
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$last")
    echo "| $target | ${execs:-?} | ${rate:-?} | ${corp:-?} | ${cov:-?} | ${ft:-?} | ${rss:-?} | $crashes |" >>"$table"
    if ((crashes > 0)) || [[ -z $execs ]]; then
      failed=1
      echo "fuzz: $target crashed or did not run: see $log and fuzz/artifacts/$target/" >&2
    fi
  done
  cat "$table"
  exit "$failed"
fi

# Two targets share the time: gguf_header (the parser alone, thousands of inputs a second) a
# third, gguf_text (parser, tokenizer, template; tens a second) the rest.
header_seconds=$(( (seconds + 2) / 3 ))
text_seconds=$(( seconds - header_seconds > 1 ? seconds - header_seconds : 1 ))

# Limits: one allocation of more than 256 MiB, or 2 GiB resident, is a crash. A hostile count
# that sized an allocation would ask for far more; nothing an input of at most 64 KiB justifies
# comes close. 10 s per input: template fuel stops any loop long before (chat_template.rs).
# Leak detection is off: it runs every input twice, and a leak is not what safe Rust gets wrong.
run() {
  local target=$1 secs=$2 corpus=corpus/$1
  # The fuzzer adds what it finds to its corpus: work on a copy, so the committed seeds stay
  # small.
  rm -rf "$corpus"
  mkdir -p "$corpus" "artifacts/$target"
  seed "$target" "$corpus"
  echo "== fuzz $target for $secs s"
  if ! cargo +"$nightly" fuzz run "${build[@]}" "$target" "$corpus" -- \
    -max_total_time="$secs" "${limits[@]}" -dict=gguf_text.dict -print_final_stats=1; then
    echo
    echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/. To keep it as a regression:"
    echo "  cd fuzz && cargo +$nightly fuzz tmin $target artifacts/$target/crash-..."
    echo "  then copy it to fuzz/regressions/NAME.gguf and list it in REPLAY in"
    echo "  crates/lantern-pipelines/tests/bad_input.rs (which replays it natively and in wasm)."
    exit 1
  fi
}
run gguf_header "$header_seconds"
run gguf_text "$text_seconds"
