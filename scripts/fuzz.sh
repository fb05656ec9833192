#!/usr/bin/env bash
# Fuzzes what reads a model file before its weights — the GGUF header parser, the tokenizer
# built from GGUF metadata, the chat template (fuzz/fuzz_targets/) — for a bounded time,
# starting from the committed seeds (fuzz/seeds) and past crashes (fuzz/regressions).
#
#   scripts/fuzz.sh [SECONDS]      (default 60)
#
# Built with the pinned nightly of scripts/nightly-toolchain (cargo-fuzz needs nightly for
# -Zsanitizer=address and the coverage instrumentation), under AddressSanitizer. Exits non-zero
# on a crash (a panic, a sanitizer report, an allocation over the limits below, an input that
# runs past the timeout); the input is then in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

seconds=${1:-60}
nightly=$(cat scripts/nightly-toolchain)
if ! command -v cargo-fuzz >/dev/null; then
  echo "fuzz: cargo-fuzz is missing (scripts/setup.sh installs it)" >&2
  exit 1
fi

cd fuzz
# cargo fuzz has no --locked: check the committed lockfile is complete before it builds.
cargo +"$nightly" metadata --locked --format-version 1 >/dev/null
cargo +"$nightly" fuzz build

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
  cp seeds/*.gguf "$corpus"/
  if [[ -d regressions ]]; then
    find regressions -type f -name '*.gguf' -exec cp {} "$corpus"/ \;
  fi
  echo "== fuzz $target for $secs s"
  if ! cargo +"$nightly" fuzz run "$target" "$corpus" -- \
    -max_total_time="$secs" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=256 -detect_leaks=0 \
    -dict=gguf_text.dict -print_final_stats=1; then
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
