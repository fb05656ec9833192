#!/usr/bin/env bash
# Builds llama.cpp's llama-bench (and the tools scripts/goldens-llama-cpp.sh uses) from the
# sources that the PyPI sdist of llama-cpp-python vendors, into the git-ignored work/llamacpp
# (TOOLCHAIN.md §13). Skips everything when work/llamacpp/bin/llama-bench exists.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.3.36
[[ -x work/llamacpp/bin/llama-bench ]] && exit 0
echo "llamacpp-build: building llama.cpp from llama-cpp-python==$version's sdist (several minutes)"
[[ -x work/venv/bin/cmake ]] || { python3 -m venv work/venv && work/venv/bin/pip install -q cmake; }
if [[ ! -d work/sdist/llama_cpp_python-$version ]]; then
  work/venv/bin/pip download -q --no-deps --no-binary llama-cpp-python "llama-cpp-python==$version" -d work/sdist
  tar xzf "work/sdist/llama_cpp_python-$version.tar.gz" -C work/sdist
fi
work/venv/bin/cmake -S "work/sdist/llama_cpp_python-$version/vendor/llama.cpp" -B work/llamacpp \
  -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=ON >/dev/null
work/venv/bin/cmake --build work/llamacpp -j2 --target llama-bench llama-tokenize llama-completion >/dev/null
