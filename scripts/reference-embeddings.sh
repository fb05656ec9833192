#!/usr/bin/env bash
# Regenerates the committed embedding goldens with the independent NumPy reference
# (scripts/reference/embeddings.py). Never run by CI: the output is committed, and the tests
# compare against it. Needs the fixture model (scripts/fixtures.sh) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/fixtures/venv-ref
want="numpy==2.2.6 safetensors==0.6.2 transformers==4.57.1"
stamp="$venv/.lantern-requirements"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
  echo "$want" >"$stamp"
fi
scripts/fixtures.sh >/dev/null
# transformers warns that no deep-learning framework is installed: none is needed here.
TRANSFORMERS_VERBOSITY=error "$venv/bin/python" scripts/reference/embeddings.py \
  --model target/fixtures/mirror/lantern-fixtures/all-MiniLM-L6-v2 \
  --out crates/lantern-pipelines/tests/data/all-MiniLM-L6-v2.golden.json
