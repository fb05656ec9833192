#!/usr/bin/env bash
# The main job, for now: fetch the real fixture models, serve them with `lantern mirror` on
# 127.0.0.1, and download the chat model through `lantern fetch` with a progress bar into a
# huggingface_hub-layout cache. The mirror then keeps serving until Ctrl-C (`--once`: exit
# after the download).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

once=false
[[ "${1:-}" == "--once" ]] && once=true
addr=${LANTERN_MIRROR_ADDR:-127.0.0.1:8765}

scripts/fixtures.sh
cargo build --release --locked -p lantern-cli
lantern=target/release/lantern

log=$(mktemp)
$lantern mirror target/fixtures/mirror --addr "$addr" >"$log" 2>&1 &
mirror_pid=$!
trap 'kill $mirror_pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  url=$(grep -o 'http://[0-9.]*:[0-9]*' "$log" | head -n1 || true)
  [[ -n "$url" ]] && break
  kill -0 $mirror_pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "lantern mirror did not start"; cat "$log"; exit 1; }
echo "lantern mirror serving target/fixtures/mirror at $url"

# A fresh cache each time, so the download (and its progress bar) is really shown.
cache=target/demo/hub-cache
rm -rf "$cache"
HF_ENDPOINT=$url HF_HUB_CACHE=$cache \
  $lantern fetch lantern-fixtures/SmolLM2-135M-Instruct-GGUF SmolLM2-135M-Instruct.Q4_1.gguf
ls -l "$cache"/models--lantern-fixtures--SmolLM2-135M-Instruct-GGUF/snapshots/*/

if $once; then exit 0; fi
echo "the mirror keeps serving at $url (HF_ENDPOINT=$url lantern fetch ...); Ctrl-C to stop"
wait $mirror_pid
