#!/usr/bin/env bash
# Makes the llama.cpp golden files the text-generation tests compare with (they need no
# llama.cpp to run). NOT run by CI: it builds llama.cpp (~15 min on 2 cores) from the sources
# vendored by the PyPI sdist of llama-cpp-python, in the git-ignored work/ folder.
#
#   scripts/goldens-llama-cpp.sh            # writes crates/lantern-pipelines/tests/data/llama_cpp_*.json
#
# Pins: llama-cpp-python 0.3.36 (TOOLCHAIN.md, section 13); the model is the fixture
# SmolLM2-135M-Instruct.Q4_1.gguf (scripts/fixtures.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=work/venv
version=0.3.36
if ! "$venv/bin/python" -c "import llama_cpp, jinja2, numpy; assert llama_cpp.__version__ == '$version'" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q cmake numpy typing-extensions diskcache jinja2
  "$venv/bin/pip" download -q --no-deps --no-binary llama-cpp-python "llama-cpp-python==$version" -d work/sdist
  # CPU only, native instructions, nothing but the library.
  CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL=2 "$venv/bin/pip" install --no-deps "work/sdist/llama_cpp_python-$version.tar.gz"
fi
scripts/fixtures.sh >/dev/null
"$venv/bin/python" scripts/goldens_llama_cpp.py \
  target/fixtures/mirror/lantern-fixtures/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf \
  crates/lantern-pipelines/tests/data
