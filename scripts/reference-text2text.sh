#!/usr/bin/env bash
# Regenerates the tiny random translation and summarization fixtures (tests/fixtures/text2text/)
# and transformers' golden outputs for them (crates/lantern-models/tests/data/text2text.golden.json:
# forward passes; crates/lantern-pipelines/tests/data/text2text.golden.json: generate through the
# pipelines) with scripts/reference/text2text.py (its header documents both schemas). Never run by CI: both are committed, and CI cannot
# install torch. Needs PyPI (torch pulls its CUDA runtime packages, ~7 GB, even for the CPU).
#
# Usage: scripts/reference-text2text.sh [--check-reproducible]
#   --check-reproducible: run the generator twice into temporary folders and compare every
#   file's sha256; writes nothing in the repository.
# LANTERN_REF_VENV overrides where the virtualenv goes (default target/fixtures/venv-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LANTERN_REF_VENV:-target/fixtures/venv-torch}
want="torch==2.9.1 transformers==4.57.1 tokenizers==0.22.2 safetensors==0.6.2 numpy==2.2.6 huggingface_hub==0.36.2"
stamp="$venv/.lantern-requirements"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
  echo "$want" >"$stamp"
fi
"$venv/bin/python" scripts/reference/text2text.py "$@"
