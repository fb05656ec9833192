#!/usr/bin/env bash
# Regenerates the committed Whisper goldens (crates/lantern-pipelines/tests/data/whisper-*.golden.json)
# with scripts/reference/whisper.py: CTranslate2 (faster-whisper) on the wheels' own files and
# transformers on the converted fixtures. Never run by CI: the goldens are committed, and CI
# cannot install torch. Needs PyPI (torch pulls its CUDA runtime packages, ~7 GB, even for the
# CPU) and makes whisper-base too (LANTERN_FIXTURES_LARGE=1), so both models get goldens.
#
# Usage: scripts/reference-whisper.sh
# LANTERN_REF_VENV overrides where the virtualenv goes (default target/fixtures/venv-whisper-ref);
# LANTERN_FIXTURES_MIRROR the mirror folder (default target/fixtures/mirror).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LANTERN_REF_VENV:-target/fixtures/venv-whisper-ref}
mirror=${LANTERN_FIXTURES_MIRROR:-target/fixtures/mirror}
want="torch==2.9.1 transformers==4.57.1 tokenizers==0.22.2 safetensors==0.6.2 numpy==2.2.6 huggingface_hub==0.36.2 faster-whisper==1.2.1 ctranslate2==4.6.3 av==18.1.0 onnxruntime==1.32.0"
stamp="$venv/.lantern-requirements"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
  echo "$want" >"$stamp"
fi
LANTERN_FIXTURES_LARGE=1 scripts/fixtures-whisper.sh "$mirror"
"$venv/bin/python" scripts/reference/whisper.py --mirror "$mirror" "$@"
