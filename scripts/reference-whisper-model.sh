#!/usr/bin/env bash
# Regenerates transformers' golden outputs of two tiny Whisper models
# (crates/lantern-models/tests/data/whisper_tiny.golden.json) with
# scripts/reference/whisper_model.py. Never run by CI: the goldens are committed, and CI cannot
# install torch. Needs PyPI (torch pulls its CUDA runtime packages, ~7 GB, even for the CPU).
# LANTERN_REF_VENV overrides where the virtualenv goes (default target/fixtures/venv-torch, the
# same pins as scripts/reference-text-classification.sh, so the two share it).
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
"$venv/bin/python" scripts/reference/whisper_model.py "$@"
