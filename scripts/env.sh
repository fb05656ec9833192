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

# The features of every native and wasm32 test build (scripts/test.sh): the GPU backends on.
# One selection everywhere, so each build reuses the dependencies another built; a build with other features or packages rebuilds every crate
# whose features differ, minutes each on 2 cores ("CI time" in ARCHITECTURE.md).
test_features=lantern-models/gpu,lantern-pipelines/gpu,lantern-worker/gpu

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

# The processes a browser test, an end-to-end test or a benchmark may start and must end:
# Chromium (and its crash handler), chromedriver, wasm-bindgen-test-runner, `lantern` (mirror,
# serve) and `python3 -m http.server`. Prints their pids, one per line (zombies excluded).
test_processes() {
  ps -eo pid=,stat=,comm=,args= | awk '
    $2 ~ /^Z/ { next }
    $3 ~ /^(chromium|chrome|chrome_crashpad|chromedriver|lantern|wasm-bindgen-te)/ { print $1; next }
    $3 ~ /^python3/ && /http\.server/ { print $1 }'
}

# Fails, listing them, if processes of test_processes' kinds are running now that were not in
# BEFORE (a list of pids from test_processes). Waits up to 15 s first: a killed process takes a
# moment to go. (On a machine where someone else starts a browser meanwhile, theirs would be
# listed too; CI has no one else.)
# Usage: before=$(test_processes); ...; no_leftovers "$before" "the end-to-end tests"
no_leftovers() {
  local before=$1 what=$2 left
  for _ in $(seq 150); do
    left=$(comm -13 <(sort <<<"$before") <(test_processes | sort) | paste -sd, -)
    [[ -z "$left" ]] && return 0
    sleep 0.1
  done
  echo "$what left processes running:" >&2
  ps -o pid,ppid,pgid,etime,args -p "$left" >&2 || true
  return 1
}
