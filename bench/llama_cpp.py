#!/usr/bin/env python3
"""llama.cpp natively, as bench/run.sh measures it: `llama-bench` on one GGUF file with the same
workload as Lantern's benchmark — prefill of 128 tokens from an empty cache (`-p 128 -n 0`) and
128 decode steps after a 128-token prompt (`-p 0 -n 128 -d 128`) — RUNS repetitions each, after
llama-bench's own warm-up. llama-bench feeds random token ids rather than the chat prompt; for
the speed of a dense model the ids do not matter.

Prints one JSON line per thread count, in bench/run.sh's format. Peak memory is the process's
maximum resident set (wait4's ru_maxrss). Load time: the wall time of a run that only loads the
model and prefills one token (`-p 1 -n 0 -r 1 --no-warmup`), including process start.

Usage: llama_cpp.py LLAMA_BENCH MODEL.gguf RUNS THREADS[,THREADS...]
"""

import json
import os
import subprocess
import sys
import time


def run(cmd):
    """(stdout lines as JSON, peak RSS in MiB, wall seconds) of one llama-bench process."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    rows = [json.loads(l) for l in out.decode().splitlines() if l.startswith("{")]
    return rows, usage.ru_maxrss / 1024, wall


def stats(v):
    v = sorted(v)
    n = len(v)
    median = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return {"median": median, "min": v[0], "max": v[-1]}


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    bench, model, runs, threads = sys.argv[1:]
    for t in threads.split(","):
        base = [bench, "-m", model, "-t", t, "-r", runs, "-o", "jsonl"]
        pp, pp_rss, _ = run(base + ["-p", "128", "-n", "0"])
        tg, tg_rss, _ = run(base + ["-p", "0", "-n", "128", "-d", "128"])
        _, load_rss, load_wall = run([bench, "-m", model, "-t", t, "-r", "1", "-o", "jsonl",
                                      "-p", "1", "-n", "0", "--no-warmup"])
        print(json.dumps({
            "engine": "llama.cpp-native",
            "model": os.path.basename(model),
            "file_bytes": os.path.getsize(model),
            "threads": int(t),
            "runs": int(runs),
            "build": pp[0].get("build_commit"),
            "load_s": load_wall,
            "prompt_tokens": 128,
            "generated_tokens": 128,
            "prefill_tok_s": stats(pp[0]["samples_ts"]),
            "decode_tok_s": stats(tg[0]["samples_ts"]),
            "peak_rss_mib": max(pp_rss, tg_rss, load_rss),
        }), flush=True)


if __name__ == "__main__":
    main()
