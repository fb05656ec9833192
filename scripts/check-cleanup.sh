#!/usr/bin/env bash
# Interrupts an end-to-end test that holds a browser, `lantern serve` and `python3 -m http.server`
# (tests/e2e/cleanup.rs, `held_until_interrupted`), first with Ctrl-C (SIGINT to the process
# group of `cargo test`, as a terminal sends it), then with SIGKILL to the test process alone (no
# handler, no Drop runs: CI's time limit at its worst), and checks that nothing it started is left.
# The passing and timed-out cases are ordinary tests in the same file. Needs the e2e tests built
# (scripts/test.sh runs this after them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

work=$(mktemp -d)
cargo_pid=
cleanup() {
  [[ -n "$cargo_pid" ]] && kill -s KILL -- "-$cargo_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# interrupt HOW: starts the held test, waits for its report, interrupts it, checks.
interrupt() {
  local how=$1 report="$work/held-$1" test_pid group profile
  # As a command typed at a terminal runs: in a process group of its own, with SIGINT's default
  # action. (A background job of a script inherits SIGINT *ignored*: Ctrl-C would do nothing and
  # this check would pass without testing anything.)
  LANTERN_E2E_HELD=$report python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.setpgid(0, 0)
os.execvp(sys.argv[1], sys.argv[1:])' \
    cargo test --locked -p lantern-e2e --test cleanup -- \
    --ignored --exact held_until_interrupted >"$work/log-$how" 2>&1 &
  cargo_pid=$!
  for _ in $(seq 1200); do
    [[ -s "$report" ]] && break
    kill -0 "$cargo_pid" 2>/dev/null || { cat "$work/log-$how" >&2; echo "the held test ended early" >&2; exit 1; }
    sleep 0.1
  done
  [[ -s "$report" ]] || { cat "$work/log-$how" >&2; echo "the held test did not start in 120 s" >&2; exit 1; }
  test_pid=$(awk '$1 == "test_pid" {print $2}' "$report")
  profile=$(awk '$1 == "profile" {print $2}' "$report")
  case $how in
    ctrl-c) kill -s INT -- "-$cargo_pid" ;;
    sigkill) kill -s KILL "$test_pid" ;;
  esac
  # The signal must end the test (not its own 10-minute limit).
  for _ in $(seq 300); do
    kill -0 "$test_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$test_pid" 2>/dev/null; then
    echo "after $how, the held test is still running 30 s later" >&2
    exit 1
  fi
  wait "$cargo_pid" 2>/dev/null || true
  cargo_pid=
  for _ in $(seq 150); do
    left=""
    for group in $(awk '$1 == "group" {print $2}' "$report"); do
      left+=$(pgrep -g "$group" | tr '\n' ' ' || true)
    done
    left+=$(pgrep -f -- "--user-data-dir=$profile" | tr '\n' ' ' || true)
    [[ -z "${left// /}" ]] && break
    sleep 0.1
  done
  if [[ -n "${left// /}" ]]; then
    echo "after $how, the held test left processes running:" >&2
    ps -o pid,ppid,pgid,etime,args -p "$(xargs <<<"$left" | tr ' ' ',')" >&2 || true
    exit 1
  fi
  echo "cleanup: after $how, nothing the test started is running ($(grep -c '^group' "$report") process groups, the browser's profile)"
}

interrupt ctrl-c
interrupt sigkill
