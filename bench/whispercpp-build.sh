#!/usr/bin/env bash
# Builds whisper.cpp's whisper-cli from the sources that the PyPI sdist of pywhispercpp vendors
# (whisper.cpp 1.8.5 in pywhispercpp 1.5.1), into the git-ignored work/whispercpp, CPU only,
# tuned for this machine (GGML_NATIVE), as bench/llamacpp-build.sh does for llama.cpp. Also
# unpacks openai-whisper's sdist (its whisper/assets/mel_filters.npz, which whisper.cpp's
# converter writes into the model file). Skips what exists.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.5.1
whisper_version=20250625
[[ -x work/venv/bin/cmake ]] || { python3 -m venv work/venv && work/venv/bin/pip install -q cmake; }
if [[ ! -d work/sdist/pywhispercpp-$version ]]; then
  work/venv/bin/pip download -q --no-deps --no-binary pywhispercpp "pywhispercpp==$version" -d work/sdist
  tar xzf "work/sdist/pywhispercpp-$version.tar.gz" -C work/sdist
fi
if [[ ! -d work/sdist/openai_whisper-$whisper_version ]]; then
  work/venv/bin/pip download -q --no-deps --no-binary openai-whisper "openai-whisper==$whisper_version" -d work/sdist
  tar xzf "work/sdist/openai_whisper-$whisper_version.tar.gz" -C work/sdist
fi
[[ -x work/whispercpp/bin/whisper-cli ]] && exit 0
echo "whispercpp-build: building whisper.cpp from pywhispercpp==$version's sdist (several minutes)" >&2
work/venv/bin/cmake -S "work/sdist/pywhispercpp-$version/whisper.cpp" -B work/whispercpp \
  -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF -DWHISPER_BUILD_TESTS=OFF \
  -DWHISPER_BUILD_EXAMPLES=ON -DWHISPER_BUILD_SERVER=OFF -DWHISPER_SDL2=OFF -DWHISPER_CURL=OFF >/dev/null
work/venv/bin/cmake --build work/whispercpp -j2 --target whisper-cli >/dev/null
