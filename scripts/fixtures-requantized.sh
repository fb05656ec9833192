#!/usr/bin/env bash
# Makes the requantized fixtures from the shipped SmolLM2 Q4_1 file, so every weight type with a
# fast kernel has a real model to test and benchmark on: Q4_0, Q8_0 and Q4_K_M, each with
# llama.cpp's per-tensor type choices (`lantern_models::gguf::Ftype`; for SmolLM2's 576-wide rows
# Q4_K_M is mostly Q5_0 with Q4_K/Q6_K ffn_down and Q8_0 attn_v/embedding), through candle's
# quantizer (`crates/lantern-models/examples/requantize.rs`). The weights are real: dequantized
# from Q4_1 and quantized again.
#
# Usage: scripts/fixtures-requantized.sh [MIRROR_DIR]   (default: target/fixtures/mirror)
# Idempotent: a stamp records the source's sha256 and the recipe version; a second run only
# checks it.
set -euo pipefail
cd "$(dirname "$0")/.."

mirror=${1:-target/fixtures/mirror}
src=$mirror/lantern-fixtures/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf
repo=lantern-fixtures/SmolLM2-135M-Instruct-requantized-GGUF
dest=$mirror/$repo
stamp=$mirror/.stamps/${repo//\//--}
# Bump when the recipe (Ftype::tensor_type) or the quantizer changes.
recipe=1
types=(Q4_0 Q8_0 Q4_K_M)

[[ -f "$src" ]] || { echo "fixtures-requantized: $src is missing (scripts/fixtures.sh first)" >&2; exit 1; }
want="$(sha256sum "$src" | cut -d' ' -f1) recipe=$recipe ${types[*]}"
complete=true
for t in "${types[@]}"; do [[ -f "$dest/SmolLM2-135M-Instruct.$t.gguf" ]] || complete=false; done
if $complete && [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "fixtures: $repo up to date"
  exit 0
fi

# LANTERN_REQUANTIZE: a requantize binary already built (scripts/test.sh passes the one its
# native test build made: `cargo test` builds the examples too, and a build with other
# features would compile candle and the rest again). Otherwise it is built here; the dev
# profile builds lantern-models and candle at opt-level 3 (Cargo.toml).
tool=${LANTERN_REQUANTIZE:-}
if [[ -z $tool ]]; then
  cargo build --quiet --locked -p lantern-models --example requantize
  tool=${CARGO_TARGET_DIR:-target}/debug/examples/requantize
fi
tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
for t in "${types[@]}"; do
  "$tool" "$src" "$tmp/SmolLM2-135M-Instruct.$t.gguf" "${t,,}"
done
rm -rf "$dest"
mv "$tmp" "$dest"
mkdir -p "$(dirname "$stamp")"
echo "$want" >"$stamp"
echo "fixtures: $repo ready ($(du -sh "$dest" | cut -f1))"
