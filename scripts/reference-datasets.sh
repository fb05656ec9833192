#!/usr/bin/env bash
# Regenerates the Parquet test files of lantern-data (crates/lantern-data/tests/data/) with
# scripts/reference/datasets.py and pyarrow (PyPI, pinned). Never run by CI: the files are
# committed. LANTERN_DATASETS_VENV overrides where the virtualenv goes
# (default target/fixtures/venv-datasets).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LANTERN_DATASETS_VENV:-target/fixtures/venv-datasets}
want="pyarrow==22.0.0"
stamp="$venv/.lantern-requirements"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "$want"
  echo "$want" >"$stamp"
fi
"$venv/bin/python" scripts/reference/datasets.py "$@"
