#!/usr/bin/env python3
"""The Python side of the vision benchmark (scripts/bench-vision.sh).

  make OUT_DIR MIRROR_DIR      (the torch venv: torch, transformers, onnx)
      Makes the two benchmark models under OUT_DIR, unless OUT_DIR/<name>/.recipe already says
      they were made by this recipe. Each folder holds the Hub layout (config.json,
      model.safetensors, preprocessor_config.json) that Lantern loads, its ONNX export
      (model.onnx, `torch.onnx.export`, TorchScript exporter, opset 17, batch 1 at 224x224) that
      onnxruntime and onnxruntime-web load, chelsea.png preprocessed by transformers' processor
      of that model (pixel_values.f32: 3 x 224 x 224 little-endian f32, the input of every
      engine) and torch's logits on it (reference.json: each engine is checked against them, so
      all do the same work):
        efficientnet-lite0   the real ImageNet weights (lantern-fixtures/efficientnet-lite0,
                             4.7M parameters), through a small torch module written here for
                             the converted safetensors; its logits must equal
                             scripts/reference/efficientnet_lite0.py's float64 NumPy forward
                             within 1e-4 before it is exported
        vit-base-random      ViTForImageClassification with transformers' default ViTConfig
                             (base/16 at 224: hidden 768, 12 layers, 12 heads, MLP 3072) and
                             ImageNet's 1000 labels, as google/vit-base-patch16-224 (86.6M
                             parameters), random (seed 0), eager attention; ViTImageProcessor's
                             defaults. Random weights run exactly the work trained ones do.

  ort MODEL_DIR --threads N [--runs R] [--warmup W]      (a venv with onnxruntime, numpy)
      Times onnxruntime's CPU provider on model.onnx (intra_op_num_threads=N,
      inter_op_num_threads=1, sequential execution, every graph optimisation): W warm-up runs,
      then R runs of one image; prints one JSON line with images/s (the median run; the
      fastest and slowest), the largest |logit - torch's logit| and the peak resident memory.

  serve SITE_DIR
      A static server for the browser half on 127.0.0.1 (a free port, printed as a URL), with
      the cross-origin isolation headers (COOP/COEP/CORP) that Lantern's threaded wasm build
      needs, so every browser engine runs under the same headers.

  report RESULTS_JSONL
      The tables (images/s per model, engine and threads, by round) and the logit checks;
      exits 1 if an engine that ran differs from torch by more than 1e-3 on a logit.
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time
from pathlib import Path

RECIPE = "1"
HERE = Path(__file__).resolve().parent
LOGIT_TOLERANCE = 1e-3  # Between engines in f32 (reduction orders differ), on logits ~10.
PROB_TOLERANCE = 1e-4  # The same, on the softmax of the logits that Lantern's page shows.


# ---------------------------------------------------------------------------------------- make

def _efficientnet_module(torch, cfg, state):
    """EfficientNet-Lite0 over the converted tensor names (crates/lantern-models' layout):
    TF "same" padding computed for the fixed 224 input, BatchNorm (eval), ReLU6."""
    F = torch.nn.functional

    def same(n, k, s):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        return total // 2, total - total // 2

    class Lite0(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.ParameterDict(
                {k.replace(".", "__"): torch.nn.Parameter(v, requires_grad=False) for k, v in state.items()})
            self.eps = cfg["batch_norm_eps"]

        def w(self, name):
            return self.p[name.replace(".", "__")]

        def conv(self, x, name, stride=1, groups=1):
            w = self.w(name)
            k = w.shape[2]
            t, b = same(x.shape[2], k, stride)
            left, right = same(x.shape[3], k, stride)
            if t or b or left or right:
                x = F.pad(x, (left, right, t, b))
            return F.conv2d(x, w, stride=stride, groups=groups)

        def bn(self, x, name):
            return F.batch_norm(x, self.w(name + ".running_mean"), self.w(name + ".running_var"),
                                self.w(name + ".weight"), self.w(name + ".bias"), False, 0.0, self.eps)

        def forward(self, x):
            x = F.relu6(self.bn(self.conv(x, "efficientnet.embeddings.convolution.weight", 2),
                                "efficientnet.embeddings.batchnorm"))
            for i, blk in enumerate(cfg["blocks"]):
                d = f"efficientnet.encoder.blocks.{i}."
                inp = x
                if blk["expand_ratio"] != 1:
                    x = F.relu6(self.bn(self.conv(x, d + "expansion.expand_conv.weight"), d + "expansion.expand_bn"))
                x = F.relu6(self.bn(self.conv(x, d + "depthwise_conv.depthwise_conv.weight", blk["stride"], x.shape[1]),
                                    d + "depthwise_conv.depthwise_norm"))
                x = self.bn(self.conv(x, d + "projection.project_conv.weight"), d + "projection.project_bn")
                if blk["residual"]:
                    x = x + inp
            x = F.relu6(self.bn(self.conv(x, "efficientnet.encoder.top_conv.weight"), "efficientnet.encoder.top_bn"))
            return F.linear(x.mean(dim=(2, 3)), self.w("classifier.weight"), self.w("classifier.bias"))

    return Lite0().eval()


def _finish(torch, model, pixel_values, out, extra):
    """Writes pixel_values.f32, reference.json (torch's logits) and model.onnx."""
    import numpy as np
    x = torch.from_numpy(np.ascontiguousarray(pixel_values, dtype=np.float32))[None]
    with torch.no_grad():
        logits = model(x)
        logits = getattr(logits, "logits", logits)[0].double().numpy()
    x[0].numpy().astype("<f4").tofile(out / "pixel_values.f32")
    top = [int(i) for i in np.argsort(-logits)[:5]]
    ref = {"shape": [3, 224, 224], "logits": [float(v) for v in logits], "top5": top, **extra}
    (out / "reference.json").write_text(json.dumps(ref) + "\n")

    class Logits(torch.nn.Module):
        """The tensor alone (transformers' models return an output object)."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, pixel_values):
            y = self.inner(pixel_values)
            return getattr(y, "logits", y)

    torch.onnx.export(Logits(model), (x,), str(out / "model.onnx"), input_names=["pixel_values"],
                      output_names=["logits"], opset_version=17, dynamo=False)
    print(f"bench_vision: {out.name}: top-5 {top}, model.onnx {(out / 'model.onnx').stat().st_size / 2**20:.1f} MiB",
          file=sys.stderr)


def make_efficientnet(out, mirror):
    import numpy as np
    import torch
    from safetensors.numpy import load_file
    from transformers import CLIPImageProcessor
    from transformers.image_utils import load_image
    sys.path.insert(0, str(HERE))
    sys.dont_write_bytecode = True  # no __pycache__ in the repository's scripts/reference
    import efficientnet_lite0 as ref

    src = mirror / "lantern-fixtures/efficientnet-lite0"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "preprocessor_config.json"):
        (out / name).write_bytes((src / name).read_bytes())
    weights = out / "model.safetensors"
    if weights.is_symlink() or weights.exists():
        weights.unlink()
    weights.symlink_to((src / "model.safetensors").resolve())
    cfg = json.loads((src / "config.json").read_text())
    params = load_file(str(src / "model.safetensors"))
    proc = CLIPImageProcessor.from_pretrained(str(src))
    pv = proc(load_image(str(mirror / "lantern-fixtures/vision-samples/chelsea.png")), return_tensors="np")["pixel_values"][0]
    torch.manual_seed(0)
    model = _efficientnet_module(torch, cfg, {k: torch.from_numpy(v.copy()) for k, v in params.items()})
    with torch.no_grad():
        got = model(torch.from_numpy(pv.astype(np.float32))[None])[0].double().numpy()
    want = ref.forward(params, cfg, pv.astype(np.float64))
    diff = float(np.abs(got - want).max())
    if diff > 1e-4:
        raise SystemExit(f"efficientnet-lite0: the torch module differs from the NumPy reference by {diff:.2e} (limit 1e-4)")
    print(f"bench_vision: efficientnet-lite0: torch module = NumPy reference within {diff:.2e}", file=sys.stderr)
    _finish(torch, model, pv, out, {"numpy_reference_max_abs_diff": diff})


def make_vit(out, mirror):
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor
    from transformers.image_utils import load_image

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    config = ViTConfig(num_labels=1000, attn_implementation="eager")
    model = ViTForImageClassification(config).eval()
    model.save_pretrained(str(out), safe_serialization=True)
    proc = ViTImageProcessor()
    proc.save_pretrained(str(out))
    pv = proc(load_image(str(mirror / "lantern-fixtures/vision-samples/chelsea.png")), return_tensors="np")["pixel_values"][0]
    params = sum(p.numel() for p in model.parameters())
    _finish(torch, model, pv, out, {"parameters": params})


def make(args):
    out, mirror = Path(args.out_dir), Path(args.mirror)
    for name, fn in (("efficientnet-lite0", make_efficientnet), ("vit-base-random", make_vit)):
        d = out / name
        stamp = d / ".recipe"
        if stamp.exists() and stamp.read_text() == RECIPE and (d / "model.onnx").exists():
            continue
        fn(d, mirror)
        stamp.write_text(RECIPE)


# ----------------------------------------------------------------------------------------- ort

def ort(args):
    import numpy as np
    import onnxruntime as rt

    d = Path(args.model_dir)
    ref = json.loads((d / "reference.json").read_text())
    x = np.fromfile(d / "pixel_values.f32", dtype="<f4").reshape([1, *ref["shape"]])
    so = rt.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = rt.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = rt.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    sess = rt.InferenceSession(str(d / "model.onnx"), so, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - t0
    feed = {sess.get_inputs()[0].name: x}
    for _ in range(args.warmup):
        logits = sess.run(None, feed)[0][0]
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        logits = sess.run(None, feed)[0][0]
        times.append(time.perf_counter() - t)
    diff = float(np.abs(logits.astype(np.float64) - np.asarray(ref["logits"])).max())
    print(json.dumps({
        "engine": "onnxruntime", "version": rt.__version__, "model": d.name, "threads": args.threads,
        "runs": args.runs, "load_s": load_s,
        "images_per_s": 1 / statistics.median(times), "images_per_s_range": [1 / max(times), 1 / min(times)],
        "top1": int(np.argmax(logits)), "logits_max_abs_diff": diff,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }), flush=True)


# --------------------------------------------------------------------------------------- serve

def serve(args):
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}

        def end_headers(self):
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=args.site_dir))
    print(f"serving on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


# -------------------------------------------------------------------------------------- report

ENGINES = [("lantern", "Lantern native"), ("onnxruntime", "onnxruntime native"),
           ("lantern-wasm", "Lantern wasm (Chromium)"), ("onnxruntime-web", "onnxruntime-web wasm (Chromium)")]


def report(args):
    rows = [json.loads(line) for line in open(args.results) if line.startswith("{")]
    bad = False
    missing = dict.fromkeys((r["engine"], r["model"], r.get("threads"), r["missing"]) for r in rows if "missing" in r)
    for engine, model, threads, why in missing:
        print(f"missing: {engine}, {model}, {threads} thread(s): {why}")
    runs = [r for r in rows if "images_per_s" in r]
    for model in dict.fromkeys(r["model"] for r in rows if "model" in r):
        mine = [r for r in runs if r["model"] == model]
        print(f"\n{model}: images/s, median of each run's images (round 1, round 2, ...); "
              "load = 1-minute load average at the run's start\n")
        print("| engine | threads | images/s | ms / image | max abs Δ vs torch (logit; probs: top-5 probability) | peak memory (RSS; Chromium: its renderer) | load |")
        print("|---|---|---|---|---|---|---|")
        for engine, name in ENGINES:
            for threads in sorted({int(r["threads"]) for r in mine if r["engine"] == engine}):
                rs = sorted((r for r in mine if r["engine"] == engine and int(r["threads"]) == threads),
                            key=lambda r: r.get("round", 0))
                # Lantern's worker answers the top 5 labels with scores (what the page shows),
                # checked as probabilities against torch's softmax; every other engine's logits.
                # null: the engine gave a wrong number of logits.
                key = "probs_max_abs_diff" if "probs_max_abs_diff" in rs[0] else "logits_max_abs_diff"
                diff = max(math.inf if r.get(key) is None else r[key] for r in rs)
                ok = diff <= (PROB_TOLERANCE if key == "probs_max_abs_diff" else LOGIT_TOLERANCE)
                bad |= not ok
                mem = [r.get("peak_rss_mib") or r.get("renderer_peak_mib") for r in rs]
                mem = f"{max(mem):.0f} MiB" if all(m is not None for m in mem) else "–"
                print(f"| {name} | {threads} | " + ", ".join(f"{r['images_per_s']:.2f}" for r in rs)
                      + " | " + ", ".join(f"{1000 / r['images_per_s']:.1f}" for r in rs)
                      + f" | {diff:.1e}{'' if ok else ' ✗'}{' (probs)' if key == 'probs_max_abs_diff' else ''} | {mem} | "
                      + ", ".join(f"{r.get('load1', float('nan')):.1f}" for r in rs) + " |")
        by = {}
        for r in mine:
            by.setdefault((r["engine"], int(r["threads"])), {})[r.get("round", 0)] = r
        # Native against native at the same threads; wasm against onnxruntime-web's 1 thread.
        pairs = [("lantern", "onnxruntime", t, t) for t in (1, 2)]
        pairs += [("lantern-wasm", "onnxruntime-web", t, 1) for t in (1, 2)]
        lines = []
        for a, b, ta, tb in pairs:
            x, y = by.get((a, ta), {}), by.get((b, tb), {})
            common = sorted(set(x) & set(y))
            if common:
                lines.append(f"| {dict(ENGINES)[a]} {ta}T / {dict(ENGINES)[b]} {tb}T | "
                             + ", ".join(f"{x[i]['images_per_s'] / y[i]['images_per_s']:.2f}x" for i in common) + " |")
        if lines:
            print(f"\n{model}: ratios, same round\n\n| | ratio |\n|---|---|")
            print("\n".join(lines))
    if bad:
        print(f"\nan engine differs from torch by more than {LOGIT_TOLERANCE} on a logit "
              f"(or {PROB_TOLERANCE} on a probability)")
    sys.exit(1 if bad else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make")
    p.add_argument("out_dir")
    p.add_argument("mirror")
    p = sub.add_parser("ort")
    p.add_argument("model_dir")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p = sub.add_parser("serve")
    p.add_argument("site_dir")
    p = sub.add_parser("report")
    p.add_argument("results")
    args = ap.parse_args()
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    {"make": make, "ort": ort, "serve": serve, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
