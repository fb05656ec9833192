#!/usr/bin/env python3
"""The transformers side of the text-classification benchmark (scripts/bench-text-classification.sh).

  make OUT_DIR MINILM_DIR
      Makes the two benchmark classifiers, at real sizes, in the Hub layout (config.json with
      id2label, model.safetensors, tokenizer.json, tokenizer_config.json, vocab.txt), unless
      OUT_DIR/<name>/.recipe already says they were made by this recipe:
        minilm-l6-sst2-head         BertForSequenceClassification: all-MiniLM-L6-v2's real
                                    encoder (hidden 384, 6 layers, 12 heads, intermediate 1536,
                                    its pooler) with a random 2-label head (22.7M parameters)
        distilbert-base-sst2-random DistilBertForSequenceClassification at
                                    distilbert-base-uncased-finetuned-sst-2-english's shape
                                    (dim 768, 6 layers, 12 heads, hidden 3072, 512 positions,
                                    2 labels; 67M parameters), every weight random
      Both use all-MiniLM-L6-v2's tokenizer: bert-base-uncased's vocabulary, which the SST-2
      DistilBERT shares. Random weights run exactly the work trained ones do (same shapes, same
      kernels), so the speed is the trained model's; the scores mean nothing. The last layer
      of each head is rescaled (and its bias shifted) so that on CALIBRATION logit 1 - logit 0
      has mean 0 and standard deviation 1.5: scores spread over (0, 1) instead of all sitting
      near 0.5 (transformers' init, std 0.02, on MiniLM's pooler) or saturating at 1.0 (a
      random DistilBERT's large, nearly input-independent logits), so the score comparison
      with Lantern compares something. Fixed seeds: the same files on every run.

  run MODEL_DIR CORPUS_JSON --threads N [--scores FILE] [--batch-sizes 1,16] [--runs 5]
      Times transformers' `pipeline("text-classification", top_k=None)` on torch's CPU with
      `torch.set_num_threads(N)` on the corpus' three sets (as classification_bench prints them:
      64 short sentences, 8 texts of 256 tokens, 64 pairs), one warm-up then the median (and
      range) of the runs, for each batch size (1 is the pipeline's default: one forward pass per
      input; 16 is what Lantern's pipeline batches). Prints one JSON line per batch size.
      --scores writes every input's labels and scores (batch size 1: no padding).

Pins: the venv of scripts/reference-text-classification.sh (torch 2.9.1, transformers 4.57.1).
"""

import os

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

RECIPE = "3"
LABELS = {0: "NEGATIVE", 1: "POSITIVE"}
# Head calibration inputs (not the benchmark's: those are in classification_bench.rs).
CALIBRATION = [
    "I loved this movie, the acting was wonderful!",
    "The food was cold and the service was terrible.",
    "A man is playing a guitar on the street.",
    "Nobody is reading.",
    "What a lovely day.",
    "The phone stopped working after two days, a complete waste of money.",
    "ok",
    "Scientists discovered a new species of frog in the rainforest.",
]


def write_tokenizer(minilm_dir, out, tokenizer_class):
    """all-MiniLM-L6-v2's tokenizer, without the truncation to 128 and the fixed padding that
    sentence-transformers saved into its tokenizer.json (a classifier's has neither)."""
    with open(os.path.join(minilm_dir, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    tok["truncation"] = None
    tok["padding"] = None
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(minilm_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    cfg["tokenizer_class"] = tokenizer_class
    cfg["model_max_length"] = 512
    cfg.pop("name_or_path", None)
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
    for name in ["vocab.txt", "special_tokens_map.json"]:
        shutil.copy(os.path.join(minilm_dir, name), os.path.join(out, name))


def calibrate_head(model, head, tokenizer_dir):
    """Scales `head` (the last linear layer, 2 outputs) so that logit 1 - logit 0 has mean 0
    and standard deviation 1.5 over CALIBRATION."""
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(tokenizer_dir)
    with torch.no_grad():
        logits = model(**tok(CALIBRATION, padding=True, return_tensors="pt")).logits
        d = logits[:, 1] - logits[:, 0]
        scale = 1.5 / d.std().item()
        head.weight.mul_(scale)
        head.bias.mul_(scale)
        head.bias[1] -= d.mean().item() * scale


def make(out_dir, minilm_dir):
    import torch
    import transformers

    def done(path):
        try:
            with open(os.path.join(path, ".recipe")) as f:
                return f.read() == RECIPE
        except OSError:
            return False

    def save(model, path, tokenizer_class):
        tmp = path + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        write_tokenizer(minilm_dir, tmp, tokenizer_class)
        model.eval()
        calibrate_head(model, model.classifier, tmp)
        model.save_pretrained(tmp, safe_serialization=True)
        with open(os.path.join(tmp, ".recipe"), "w") as f:
            f.write(RECIPE)
        shutil.rmtree(path, ignore_errors=True)
        os.rename(tmp, path)
        n = sum(p.numel() for p in model.parameters())
        print(f"made {path} ({n / 1e6:.1f}M parameters)", file=sys.stderr)

    common = dict(id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    path = os.path.join(out_dir, "minilm-l6-sst2-head")
    if not done(path):
        torch.manual_seed(0)
        model = transformers.BertForSequenceClassification.from_pretrained(
            minilm_dir, num_labels=2, **common
        )
        save(model, path, "BertTokenizer")

    path = os.path.join(out_dir, "distilbert-base-sst2-random")
    if not done(path):
        torch.manual_seed(0)
        config = transformers.DistilBertConfig(
            vocab_size=30522,
            max_position_embeddings=512,
            dim=768,
            n_layers=6,
            n_heads=12,
            hidden_dim=3072,
            activation="gelu",
            architectures=["DistilBertForSequenceClassification"],
            **common,
        )
        model = transformers.DistilBertForSequenceClassification(config)
        save(model, path, "DistilBertTokenizer")


def run(args):
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    import transformers

    with open(args.corpus, encoding="utf-8") as f:
        corpus = json.load(f)
    sets = {
        "short": corpus["short"],
        "long": corpus["long"],
        "pairs": [{"text": a, "text_pair": b} for a, b in corpus["pairs"]],
    }
    t0 = time.perf_counter()
    pipe = transformers.pipeline(
        "text-classification", model=args.model, device="cpu", top_k=None
    )
    load_s = time.perf_counter() - t0
    if args.scores:
        with open(args.scores, "w") as f:
            json.dump({k: pipe(v, batch_size=1) for k, v in sets.items()}, f)
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        row = {
            "engine": "transformers",
            "model": os.path.basename(os.path.normpath(args.model)),
            "threads": str(args.threads),
            "batch_size": bs,
            "load_s": load_s,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }
        for name, inputs in sets.items():
            pipe(inputs, batch_size=bs)
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                pipe(inputs, batch_size=bs)
                times.append(time.perf_counter() - t)
            n = len(inputs)
            row[f"{name}_per_s"] = n / statistics.median(times)
            row[f"{name}_per_s_range"] = [n / max(times), n / min(times)]
        row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(row), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("out_dir")
    m.add_argument("minilm_dir")
    r = sub.add_parser("run")
    r.add_argument("model")
    r.add_argument("corpus")
    r.add_argument("--threads", type=int, required=True)
    r.add_argument("--scores")
    r.add_argument("--batch-sizes", default="1,16")
    r.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    if args.cmd == "make":
        os.makedirs(args.out_dir, exist_ok=True)
        make(args.out_dir, args.minilm_dir)
    else:
        run(args)


if __name__ == "__main__":
    main()
