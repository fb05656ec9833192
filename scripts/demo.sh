#!/usr/bin/env bash
# The main job: build the chat demo and serve it on 127.0.0.1 against `lantern mirror` serving
# the real fixture models. Installs what it needs on a fresh machine (scripts/setup.sh), builds
# the browser runtime (page + worker) and the CLI, starts the mirror, builds the Space with
# `lantern build`, and serves it with `lantern serve` (cross-origin isolated, so the worker runs
# threads) until Ctrl-C. `--once`: check that the page and its model answer, then exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

once=false
[[ "${1:-}" == "--once" ]] && once=true
mirror_addr=${LANTERN_MIRROR_ADDR:-127.0.0.1:8765}
site_addr=${LANTERN_SITE_ADDR:-127.0.0.1:8080}

scripts/setup.sh
scripts/fixtures.sh
scripts/build-web.sh
cargo build --release --locked -p lantern-cli
lantern=target/release/lantern

log=$(mktemp)
$lantern mirror target/fixtures/mirror --addr "$mirror_addr" >"$log" 2>&1 &
mirror_pid=$!
trap 'kill $mirror_pid ${site_pid:-} 2>/dev/null || true; rm -f "$log"' EXIT
mirror=$(wait_for_url "$log" $mirror_pid "lantern mirror")

$lantern build tests/demos/chat.toml --out target/demo/chat --endpoint "$mirror"
$lantern serve target/demo/chat --addr "$site_addr" &
site_pid=$!
sleep 1
echo
echo "  chat demo: http://$site_addr/   (model from lantern mirror at $mirror)"
echo

if $once; then
  curl -fsS "http://$site_addr/demo.json" >/dev/null
  curl -fsSI "http://$site_addr/" | grep -qi 'cross-origin-opener-policy: same-origin'
  echo "demo: page and demo.json served with cross-origin isolation"
  exit 0
fi
wait $site_pid
