#!/usr/bin/env bash
# Regenerates the goldens of the evaluation metrics
# (crates/lantern-core/tests/data/metrics.golden.json) with scripts/reference/metrics.py, from
# the packages users compare with: jiwer, sacrebleu, rouge-score, scikit-learn, scipy (PyPI,
# pinned below). Never run by CI: the goldens are committed.
# LANTERN_METRICS_VENV overrides where the virtualenv goes (default target/fixtures/venv-metrics).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LANTERN_METRICS_VENV:-target/fixtures/venv-metrics}
want="jiwer==4.0.0 sacrebleu==2.6.0 rouge-score==0.1.2 scikit-learn==1.9.1 scipy==1.17.1 numpy==2.4.6"
stamp="$venv/.lantern-requirements"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
  echo "$want" >"$stamp"
fi
"$venv/bin/python" scripts/reference/metrics.py "$@"
