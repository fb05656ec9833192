#!/usr/bin/env bash
# GPU backend benchmark (issue 7), for a machine with a real GPU: native wgpu (Vulkan by
# default), prefill and decode tokens/s of the fixture model (SmolLM2-135M-Instruct Q4_1; its
# synthetic twin when the file is absent) and of a synthetic model of Llama-3.2-1B's shape with
# random Q4_0 weights, each beside the decode bound: memory bandwidth / bytes read per token.
# One JSON line per run (crates/lantern-models/examples/gpu_bench). Not run by CI.
#
# Usage: scripts/bench-gpu.sh [PROMPT_TOKENS [DECODE_TOKENS]]      (default 128 128)
#   BANDWIDTH_GBS=3350 scripts/bench-gpu.sh    the GPU's nominal bandwidth (else looked up by
#                                              the name nvidia-smi gives; the JSON also carries
#                                              the bandwidth our own kernel measured)
#   GPU_BENCH=path/to/gpu_bench                a prebuilt binary (a machine without cargo or
#                                              network: build here, copy the binary there)
set -euo pipefail
cd "$(dirname "$0")/.."
prompt=${1:-128}
decode=${2:-128}
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}

bin=${GPU_BENCH:-target/release/examples/gpu_bench}
if [[ -z "${GPU_BENCH:-}" ]] && command -v cargo >/dev/null; then
  cargo build --release --locked -p lantern-models --features gpu --example gpu_bench >&2
fi
[[ -x "$bin" ]] || { echo "no $bin: cargo build --release -p lantern-models --features gpu --example gpu_bench" >&2; exit 1; }

# Nominal memory bandwidth (GB/s) of common GPUs, from their vendors' data sheets.
if [[ -z "${BANDWIDTH_GBS:-}" ]] && command -v nvidia-smi >/dev/null; then
  gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1)
  case "$gpu" in
    *H200*) BANDWIDTH_GBS=4800 ;;
    *H100*NVL*) BANDWIDTH_GBS=3900 ;;
    *H100*PCIe*) BANDWIDTH_GBS=2000 ;;
    *H100*) BANDWIDTH_GBS=3350 ;;
    *A100*80GB*) BANDWIDTH_GBS=2039 ;;
    *A100*) BANDWIDTH_GBS=1555 ;;
    *L40S*|*L40*) BANDWIDTH_GBS=864 ;;
    *L4*) BANDWIDTH_GBS=300 ;;
    *A10G*|*A10*) BANDWIDTH_GBS=600 ;;
    *T4*) BANDWIDTH_GBS=320 ;;
    *4090*) BANDWIDTH_GBS=1008 ;;
  esac
  echo "GPU: $gpu, nominal bandwidth ${BANDWIDTH_GBS:-unknown} GB/s" >&2
fi
bw=()
[[ -n "${BANDWIDTH_GBS:-}" ]] && bw=(--bandwidth-gbs "$BANDWIDTH_GBS")

fixture=target/fixtures/mirror/lantern-fixtures/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf
if [[ -f "$fixture" ]]; then small=(--model "$fixture"); else small=(--synthetic smollm2-135m); fi
echo "machine: $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for precision in f32 auto; do
  "$bin" "${small[@]}" --prompt "$prompt" --decode "$decode" --precision "$precision" "${bw[@]}"
  "$bin" --synthetic llama-1b --prompt "$prompt" --decode "$decode" --precision "$precision" "${bw[@]}"
done
