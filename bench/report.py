#!/usr/bin/env python3
"""Turns bench/run.sh's JSON lines into the markdown tables of BENCHMARKS.md: one table per
model file with every engine, then the issue's targets for Lantern's wasm build with the
ratios measured.

Usage: report.py RESULTS.jsonl [LOAD_LOG]
"""

import json
import sys


def stats(v):
    """{median, min, max} from a list of samples (browser rows) or as given (native rows)."""
    if isinstance(v, dict):
        return v
    v = sorted(v)
    if not v:
        return {"median": 0.0, "min": 0.0, "max": 0.0}
    n = len(v)
    median = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return {"median": median, "min": v[0], "max": v[-1]}


def name(r):
    e = r["engine"]
    if e == "lantern-wasm":
        return f"Lantern wasm ({r.get('build', '?')})"
    return {"lantern-native": "Lantern native", "llama.cpp-native": "llama.cpp native",
            "wllama": "wllama 3.8.1 (wasm)"}.get(e, e)


def load_s(r):
    if "loads_ms" in r:
        return stats(r["loads_ms"])["median"] / 1000
    return r.get("load_s")


def memory(r):
    """(MiB, what it is) of the row's peak memory."""
    if "peak_rss_mib" in r:
        return r["peak_rss_mib"], "RSS"
    if r.get("wasm_memory_bytes"):
        return r["wasm_memory_bytes"] / 2**20, "wasm memory"
    return None, ""


def fmt(s):
    return f"{s['median']:.1f} ({s['min']:.1f}–{s['max']:.1f})"


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    meta = rows[0] if "machine" in rows[0] else {}
    rows = [r for r in rows if "engine" in r or "error" in r]
    print(f"Machine: {meta.get('machine', '?')}; {meta.get('chromium', '')}; "
          f"{meta.get('runs', '?')} measured runs after one warm-up; {meta.get('date', '')}, "
          f"commit {meta.get('commit', '?')}.")
    if len(sys.argv) > 2:
        loads = [float(x) for x in open(sys.argv[2]) if x.strip()]
        if loads:
            print(f"Load average (1 min) during the run: {min(loads):.2f}–{max(loads):.2f} "
                  f"(median {sorted(loads)[len(loads) // 2]:.2f}) on {meta.get('machine', '?').split(',')[0]}.")
    for r in rows:
        if "error" in r:
            print(f"\nERROR in {r.get('label')}: {r['error']}")
    rows = [r for r in rows if "engine" in r]
    for r in rows:
        r["prefill"] = stats(r["prefill_tok_s"])
        r["decode"] = stats(r["decode_tok_s"])

    models = []
    for r in rows:
        if r["model"] not in models:
            models.append(r["model"])
    targets = []
    for model in models:
        mr = [r for r in rows if r["model"] == model]
        size = mr[0]["file_bytes"] / 2**20

        def find(engine, threads, build=None):
            for r in mr:
                if r["engine"] == engine and int(r["threads"]) == threads and (
                        build is None or r.get("build") == build):
                    return r
            return None

        ref = find("llama.cpp-native", 1)
        print(f"\n### {model} ({size:.1f} MiB)\n")
        print("| engine | threads | prefill tok/s | decode tok/s | prefill / decode vs llama.cpp 1T "
              "| load s | peak memory | x file |")
        print("|---|---|---|---|---|---|---|---|")
        for r in mr:
            ratio = ""
            if ref:
                ratio = (f"{r['prefill']['median'] / ref['prefill']['median']:.2f}x / "
                         f"{r['decode']['median'] / ref['decode']['median']:.2f}x")
            mib, what = memory(r)
            mem = f"{mib:.0f} MiB {what}" if mib else ""
            if r.get("renderer_peak_mib"):
                # The renderer hosts the page and its workers: a browser-wide measure that
                # includes Chromium's own ~120 MiB (an empty page) and the engine's JS heap.
                mem += f"{' / ' if mem else ''}{r['renderer_peak_mib']:.0f} MiB renderer"
            mem = mem or "–"
            x = f"{mib / size:.2f}" if mib else "–"
            ls = load_s(r)
            tokens = ""
            if r.get("prompt_tokens") != 128 or r.get("generated_tokens") != 128:
                tokens = f" ({r.get('prompt_tokens')}+{r.get('generated_tokens')} tok)"
            print(f"| {name(r)}{tokens} | {r['threads']} | {fmt(r['prefill'])} | {fmt(r['decode'])} "
                  f"| {ratio} | {ls:.2f} | {mem} | {x} |" if ls is not None else
                  f"| {name(r)}{tokens} | {r['threads']} | {fmt(r['prefill'])} | {fmt(r['decode'])} "
                  f"| {ratio} | – | {mem} | {x} |")
        st = find("lantern-wasm", 1, "st")
        mt = find("lantern-wasm", 2, "mt")
        wl = find("wllama", 1)
        n1, n2 = find("lantern-native", 1), find("lantern-native", 2)
        t = {"model": model}
        if st and ref:
            t["decode_vs_llama"] = st["decode"]["median"] / ref["decode"]["median"]
            t["prefill_vs_llama"] = st["prefill"]["median"] / ref["prefill"]["median"]
        if st and wl:
            t["decode_vs_wllama"] = st["decode"]["median"] / wl["decode"]["median"]
        if st and mt:
            t["wasm_2t_prefill"] = mt["prefill"]["median"] / st["prefill"]["median"]
            t["wasm_2t_decode"] = mt["decode"]["median"] / st["decode"]["median"]
        if n1 and n2:
            t["native_2t_prefill"] = n2["prefill"]["median"] / n1["prefill"]["median"]
            t["native_2t_decode"] = n2["decode"]["median"] / n1["decode"]["median"]
        if n1:
            t["native_memory"] = max(memory(n1)[0], memory(n2)[0] if n2 else 0) / size
        wasm_mem = [memory(r)[0] for r in (st, mt) if r and memory(r)[0]]
        if wasm_mem:
            t["wasm_memory"] = max(wasm_mem) / size
        targets.append(t)

    print("\n### Targets (Lantern wasm, single-threaded build, unless said otherwise)\n")
    cols = [
        ("decode_vs_llama", "decode vs llama.cpp native 1T", 0.5),
        ("decode_vs_wllama", "decode vs wllama 1T", 4.0),
        ("prefill_vs_llama", "prefill vs llama.cpp native 1T", 0.4),
        ("wasm_2t_prefill", "wasm prefill 2T / 1T", 1.6),
        ("wasm_2t_decode", "wasm decode 2T / 1T", 1.3),
        ("native_2t_prefill", "native prefill 2T / 1T", 1.6),
        ("native_2t_decode", "native decode 2T / 1T", 1.3),
        ("native_memory", "native peak / file", -1.5),
        ("wasm_memory", "wasm memory / file", -1.5),
    ]
    print("| model | " + " | ".join(f"{c[1]} (target {'<' if c[2] < 0 else '≥'} {abs(c[2])})"
                                     for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for t in targets:
        cells = []
        for key, _, goal in cols:
            if key not in t:
                cells.append("–")
                continue
            v = t[key]
            ok = v < -goal if goal < 0 else v >= goal
            cells.append(f"{v:.2f}{'' if ok else ' ✗'}")
        print(f"| {t['model']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
