#!/usr/bin/env bash
# A virtualenv with the pinned reference Python packages (huggingface_hub), outside git.
# Prints the path of its python. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/fixtures/venv
want="huggingface_hub==1.33.0"
stamp="$venv/.lantern-requirements"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "$want"
  echo "$want" >"$stamp"
fi
echo "$PWD/$venv/bin/python"
