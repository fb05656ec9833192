#!/usr/bin/env python3
"""Independent reference embeddings for the embeddings tests (issue 4).

A NumPy forward pass of a BERT encoder written from the BERT paper (Devlin et al. 2019, section 3,
and the `modeling.py` of google-research/bert it points to), reading the weights straight from the
safetensors file, in float64. Tokens come from transformers' *slow* `BertTokenizer` (pure Python,
reads vocab.txt), not from tokenizer.json, so neither the tokenizer nor the model shares code
with Lantern (which uses the Rust `tokenizers` crate and candle). The sentence-transformers
recipe (Transformer -> Pooling -> Normalize) is applied as sentence-transformers 2.x does it:
text stripped, truncated to `max_seq_length` tokens including [CLS]/[SEP], mean over the tokens of
the attention mask, then L2 normalisation.

Each sentence runs alone (no padding), so the Rust tests that run them in padded batches also
check that padding and the attention mask change nothing.

Run by scripts/reference-embeddings.sh (which makes the virtualenv); never in CI: the output is
committed.
"""

import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from transformers import BertTokenizer

# The fixed sentence set. Indices are referred to by the tests; append, do not reorder.
LONG = (
    "The lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a lamp, "
    "a logbook and a flask of tea, and from the gallery he watched the fishing boats return "
    "through the narrow channel between the rocks while gulls circled overhead. "
)
SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "The new movie is awesome.",
    "The cat sits outside.",
    "A man is playing guitar.",
    "The new movie is so great.",
    "Do you like pizza?",
    "Hello, world! It's 3:45pm \u2014 don't you think?",
    "\u00dcn\u00efc\u00f6d\u00e9 \u00e0ccents: caf\u00e9, na\u00efve, r\u00e9sum\u00e9.",
    "I love pizza \U0001f355\U0001f525 so much \U0001f600",
    "\u6211\u559c\u6b22\u5728\u516c\u56ed\u91cc\u6563\u6b65\u3002",
    "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002",
    "",
    "   \t\n  ",
    "\U0001f600\U0001f600\U0001f600",
    LONG * 8,
    LONG * 2,
]

# Semantic-search fixture: each query against SENTENCES[0:14] (the ordinary English ones).
CORPUS = list(range(14))
QUERIES = [
    "A man is eating pasta.",
    "Someone in a gorilla costume is playing a set of drums.",
    "A cheetah chases prey on across a field.",
    "What is your favourite food?",
]


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


_erf = np.vectorize(math.erf)


def gelu(x):
    # The exact GELU of the paper (Hendrycks & Gimpel), which config.json's "gelu" names.
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


class Bert:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.cfg = json.load(f)
        assert self.cfg["hidden_act"] == "gelu", self.cfg["hidden_act"]
        assert self.cfg.get("position_embedding_type", "absolute") == "absolute"
        raw = load_file(os.path.join(model_dir, "model.safetensors"))
        # Some checkpoints prefix every name with "bert."; this one does not.
        self.w = {k.removeprefix("bert."): v.astype(np.float64) for k, v in raw.items() if v.dtype.kind == "f"}

    def __call__(self, ids):
        c, w = self.cfg, self.w
        n = len(ids)
        h, heads = c["hidden_size"], c["num_attention_heads"]
        dh = h // heads
        eps = c["layer_norm_eps"]
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        for i in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{i}."

            def lin(name, v):
                return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q = lin("attention.self.query", x).reshape(n, heads, dh).transpose(1, 0, 2)
            k = lin("attention.self.key", x).reshape(n, heads, dh).transpose(1, 0, 2)
            v = lin("attention.self.value", x).reshape(n, heads, dh).transpose(1, 0, 2)
            att = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(dh))
            ctx = (att @ v).transpose(1, 0, 2).reshape(n, h)
            x = layer_norm(
                lin("attention.output.dense", ctx) + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                eps,
            )
            inter = gelu(lin("intermediate.dense", x))
            x = layer_norm(
                lin("output.dense", inter) + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                eps,
            )
        return x  # [n, hidden]: the last hidden state


def unit(v):
    return v / max(np.linalg.norm(v), 1e-12)


def fmt(v):
    # 9 significant digits: f32 round-trips, and the reference's own error (float64) is far below.
    return [float(f"{x:.9g}") for x in v]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="target/fixtures/mirror/lantern-fixtures/all-MiniLM-L6-v2")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    with open(os.path.join(args.model, "sentence_bert_config.json")) as f:
        max_len = json.load(f)["max_seq_length"]
    with open(os.path.join(args.model, "1_Pooling/config.json")) as f:
        pooling = json.load(f)
    assert pooling["pooling_mode_mean_tokens"], "this script writes mean-pooled goldens"
    with open(os.path.join(args.model, "tokenizer_config.json")) as f:
        tcfg = json.load(f)

    tok = BertTokenizer(
        os.path.join(args.model, "vocab.txt"),
        do_lower_case=tcfg.get("do_lower_case", True),
        tokenize_chinese_chars=tcfg.get("tokenize_chinese_chars", True),
        strip_accents=tcfg.get("strip_accents"),
    )
    model = Bert(args.model)

    def encode(text):
        ids = tok(text.strip(), truncation=True, max_length=max_len)["input_ids"]
        hidden = model(ids)
        return ids, hidden

    sentences = []
    for text in SENTENCES:
        ids, hidden = encode(text)
        sentences.append(
            {
                "text": text,
                "ids": ids,
                "mean": fmt(unit(hidden.mean(0))),
                # The other pooling modes of 1_Pooling/config.json, un-normalised, so the tests
                # can check them (and the "no Normalize module" path) on the same real weights.
                "cls": fmt(hidden[0]),
                "max": fmt(hidden.max(0)),
            }
        )
        print(f"{len(ids):4} tokens  {text[:60]!r}", file=sys.stderr)

    search = []
    corpus = np.array([sentences[i]["mean"] for i in CORPUS], dtype=np.float64)
    for q in QUERIES:
        _, hidden = encode(q)
        qv = unit(hidden.mean(0))
        scores = corpus @ qv
        order = np.argsort(-scores, kind="stable")
        gaps = -np.diff(scores[order])
        print(f"query {q!r}: top {[CORPUS[i] for i in order[:3]]}, smallest gap {gaps.min():.4f}", file=sys.stderr)
        search.append(
            {
                "query": q,
                "embedding": fmt(qv),
                "ranking": [CORPUS[i] for i in order],
                "scores": [float(f"{scores[i]:.9g}") for i in order],
            }
        )

    with open(os.path.join(args.model, "model.safetensors"), "rb") as f:
        weights_sha = hashlib.file_digest(f, "sha256").hexdigest()
    out = {
        "generator": "scripts/reference/embeddings.py (NumPy float64 BERT forward pass; transformers' slow BertTokenizer)",
        "model": "sentence-transformers/all-MiniLM-L6-v2 (fixture lantern-fixtures/all-MiniLM-L6-v2)",
        "model_safetensors_sha256": weights_sha,
        "max_seq_length": max_len,
        "dim": model.cfg["hidden_size"],
        "sentences": sentences,
        "corpus": CORPUS,
        "search": search,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
