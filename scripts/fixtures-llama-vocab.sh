#!/usr/bin/env bash
# llama.cpp's own tokenizer test files (vocabulary-only GGUFs with inputs and the token ids
# llama.cpp produces for them), taken from the llama.cpp sources vendored by the PyPI sdist of
# llama-cpp-python (pinned by sha256). The tokenizer tests of lantern-pipelines compare with
# them: an independent reference for SentencePiece and several BPE pre-tokenizers.
#
# Usage: scripts/fixtures-llama-vocab.sh [OUT_DIR]   (default: target/fixtures/llama-vocab)
# Idempotent: a stamp records the sdist hash.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-target/fixtures/llama-vocab}
spec="llama-cpp-python==0.3.36"
sdist=llama_cpp_python-0.3.36.tar.gz
sha=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
vocabs=(llama-spm llama-bpe qwen2 starcoder gpt-2 phi-3)
dl=target/fixtures/sdist

if [[ -f "$out/.stamp" && "$(cat "$out/.stamp")" == "$sha" ]]; then
  echo "fixtures: llama.cpp vocab tests up to date"
  exit 0
fi
mkdir -p "$dl"
if [[ ! -f "$dl/$sdist" ]] || ! echo "$sha  $dl/$sdist" | sha256sum -c --status; then
  echo "fixtures: downloading the $spec sdist from PyPI"
  rm -f "$dl/$sdist"
  # --no-binary for this package only: the sdist is what vendors llama.cpp.
  python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python "$spec" -d "$dl"
fi
if ! echo "$sha  $dl/$sdist" | sha256sum -c --status; then
  echo "fixtures: $dl/$sdist does not have the pinned sha256 $sha" >&2
  exit 1
fi
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
members=()
for v in "${vocabs[@]}"; do
  for ext in "" .inp .out; do
    members+=("llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-$v.gguf$ext")
  done
done
tar xzf "$dl/$sdist" -C "$tmp" --strip-components=4 "${members[@]}"
echo "$sha" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "fixtures: llama.cpp vocab tests ready ($(du -sh "$out" | cut -f1))"
