# Sourced by the scripts: the environment the tools need (TOOLCHAIN.md, "CI environment").
export PATH="$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
# Mesa's WSI probing complains without it; lavapipe needs no display.
mkdir -p -m 700 "${CARGO_TARGET_DIR:-target}/xdg-runtime"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$PWD/${CARGO_TARGET_DIR:-target}/xdg-runtime}
export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json}
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
# wasm-bindgen-test-runner waits this long for a browser test (default 20 s is tight for
# downloads of real model files in debug builds).
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-180}

# Prints the first http://HOST:PORT that a server started in the background wrote to LOG.
# Fails, showing the log, if PID exits first or nothing comes within 10 s.
# Usage: url=$(wait_for_url LOG PID NAME)
wait_for_url() {
  local log=$1 pid=$2 name=$3 url
  for _ in $(seq 100); do
    url=$(grep -o 'http://[0-9.]*:[0-9]*' "$log" | head -n1 || true)
    if [[ -n "$url" ]]; then
      echo "$url"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start" >&2
  cat "$log" >&2
  return 1
}
