#!/usr/bin/env python3
"""The Python side of the translation / summarization benchmark (scripts/bench-text2text.sh).

  make OUT_DIR      (the torch venv: torch, transformers, optimum-onnx)
      Makes two random seq2seq models at real sizes under OUT_DIR (git-ignored:
      target/bench-models/text2text), unless OUT_DIR/<name>/.recipe already says they were made
      by this recipe:
        t5-small-random        T5ForConditionalGeneration with google-t5/t5-small's config.json
                               (d_model 512, 6 + 6 layers, 8 heads of 64, d_ff 2048, relu, vocab
                               32128, tied head; 60.5M parameters)
        opus-mt-en-de-random   MarianMTModel with Helsinki-NLP/opus-mt-en-de's config.json
                               (d_model 512, 6 + 6 layers, 8 heads, FFN 2048, swish, vocab 58101,
                               sinusoidal positions; 74M parameters) and its generation_config
      Weights: transformers' own init (seed 0), float32, in model.safetensors. Random weights run
      exactly the work trained ones do (same shapes, same kernels); the texts mean nothing.
      Tokenizer (tokenizer.json): the model needs one whose vocabulary is the model's, and no real
      one can be downloaded here, so: the tiny fixtures' Unigram tokenizer trained on
      scripts/reference/text2text.py's CORPUS (same specials, same order: T5 <pad> </s> <unk>,
      Marian </s> <unk> ... <pad>), padded with filler pieces `▁fill<i>` (score -100, never
      chosen for real text) to t5-small's 32000 pieces + 100 extra ids (32100; the model's 32128
      rows as in t5-small) and to opus-mt-en-de's 58101 (pad last). Outputs decode to filler.
      Each folder also holds:
        onnx/encoder_model.onnx, onnx/decoder_model.onnx, onnx/decoder_with_past_model.onnx
            optimum-onnx's export (`main_export`, task text2text-generation-with-past, fp32,
            opset of the exporter's default; the layout transformers.js uses)
        bench.json  {"input_ids": the fixed 60-token input (a text of CORPUS sentences, cut to
            59 pieces + </s>), "new_tokens": 64, "torch": {"greedy": ids, "beam4": ids}}:
            transformers' generate() (no EOS before new_tokens: min_new_tokens = max_new_tokens,
            so every engine does the same number of steps; beam 4: early_stopping false,
            length_penalty 1.0, no other processors), the ids the onnxruntime run is checked
            against; and "input_text": the text that tokenizes to exactly input_ids (its
            pieces before </s>, decoded), for the engines that read text (Lantern's pipeline
            and worker), added to an existing bench.json without remaking the model.

  ort MODEL_DIR --threads N [--runs R] [--warmup W]     (a venv with onnxruntime, numpy)
      Greedy and beam-4 decoding of bench.json's input with onnxruntime's CPU provider
      (intra_op_num_threads N, inter_op 1, sequential, every graph optimisation): the encoder
      once, decoder_model.onnx for the first step, decoder_with_past_model.onnx after (beam:
      4 rows, the past reordered by beam index each step, log-softmax scores summed, the top
      2 * 4 candidates over all beams, the best 4 kept: transformers' algorithm without EOS).
      EOS is masked until new_tokens, as in the torch run. Prints one JSON line per mode with
      tokens/s (new tokens / wall time of the whole generation incl. the encoder; median of R
      runs, fastest, slowest), the time to the first token, and whether the ids equal torch's.

  torch MODEL_DIR --threads N [--runs R] [--warmup W]   (the torch venv)
      The same with transformers' generate() on torch's CPU (torch.set_num_threads(N)).

  rows      (any Python) bench/browser.py's output on stdin: one JSON line per mode
  report RESULTS.jsonl   (any Python) the tables and the Lantern / onnxruntime ratios

Pins: the torch venv of scripts/reference-text2text.sh plus optimum==2.1.0 optimum-onnx==0.1.0
(pure Python); onnxruntime==1.31.1 numpy==2.2.6 in target/venv-ort (scripts/bench-vision.sh's).
"""

import os

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

RECIPE = "1"
NEW_TOKENS = 64
INPUT_LEN = 60
NUM_BEAMS = 4
TEXT = (
    "The government announced on Tuesday that taxes on fuel will rise by five percent next spring, "
    "a decision that drivers, farmers and transport companies criticised sharply. Heavy rain caused "
    "flooding in several villages along the river, and hundreds of residents spent the night in schools."
)

T5_SMALL = dict(
    d_ff=2048,
    d_kv=64,
    d_model=512,
    decoder_start_token_id=0,
    dropout_rate=0.1,
    eos_token_id=1,
    feed_forward_proj="relu",
    initializer_factor=1.0,
    is_encoder_decoder=True,
    layer_norm_epsilon=1e-6,
    n_positions=512,
    num_heads=8,
    num_layers=6,
    output_past=True,
    pad_token_id=0,
    relative_attention_num_buckets=32,
    vocab_size=32128,
)
T5_TOKENIZER_PIECES = 32000  # + 100 extra ids = 32100 tokens; the model has 32128 rows

OPUS_MT_EN_DE = dict(
    activation_dropout=0.0,
    activation_function="swish",
    attention_dropout=0.0,
    bos_token_id=0,
    d_model=512,
    decoder_attention_heads=8,
    decoder_ffn_dim=2048,
    decoder_layerdrop=0.0,
    decoder_layers=6,
    decoder_start_token_id=58100,
    decoder_vocab_size=58101,
    dropout=0.1,
    encoder_attention_heads=8,
    encoder_ffn_dim=2048,
    encoder_layerdrop=0.0,
    encoder_layers=6,
    eos_token_id=0,
    forced_eos_token_id=0,
    init_std=0.02,
    is_encoder_decoder=True,
    max_position_embeddings=512,
    pad_token_id=58100,
    scale_embedding=True,
    share_encoder_decoder_embeddings=True,
    static_position_embeddings=True,
    vocab_size=58101,
)


# ---------------------------------------------------------------------------------------- make


def filled_unigram(kind, size):
    """The tiny fixtures' trained Unigram vocabulary padded with filler pieces to `size` entries
    (see the header)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import text2text as t2t
    from tokenizers import AddedToken, models, processors

    if kind == "t5":
        specials = ["<pad>", "</s>", "<unk>"]
        tok, vocab = t2t.train_unigram(specials, 500 - t2t.T5_EXTRA_IDS, t2t.CORPUS)
        fill_to = T5_TOKENIZER_PIECES
    else:
        specials = ["</s>", "<unk>"]
        tok, vocab = t2t.train_unigram(specials, 499, t2t.CORPUS)
        fill_to = size - 1  # <pad> last
    vocab += [(f"▁fill{i}", -100.0) for i in range(fill_to - len(vocab))]
    if kind == "t5":
        extra = [f"<extra_id_{i}>" for i in reversed(range(100))]
        vocab += [(t, 0.0) for t in extra]
        added = specials + extra
        unk = 2
    else:
        vocab.append(("<pad>", 0.0))
        added = specials + ["<pad>"]
        unk = 1
    tok.model = models.Unigram(vocab, unk_id=unk, byte_fallback=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in added])
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="$A:0 </s>:0", pair="$A:0 $B:1 </s>:1", special_tokens=[("</s>", eos)]
    )
    return tok


def make_one(out, kind):
    import torch
    import transformers

    torch.manual_seed(0)
    if kind == "t5":
        cfg = transformers.T5Config(**T5_SMALL)
        model = transformers.T5ForConditionalGeneration(cfg)
        tok = filled_unigram("t5", cfg.vocab_size)
        hf_tok = transformers.T5TokenizerFast(
            tokenizer_object=tok, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=100,
            additional_special_tokens=[f"<extra_id_{i}>" for i in range(100)], model_max_length=512,
        )
        assert len(hf_tok) == 32100, len(hf_tok)
    else:
        cfg = transformers.MarianConfig(**OPUS_MT_EN_DE)
        model = transformers.MarianMTModel(cfg)
        model.generation_config = transformers.GenerationConfig(
            bad_words_ids=[[58100]], bos_token_id=0, decoder_start_token_id=58100, eos_token_id=0,
            forced_eos_token_id=0, max_length=512, num_beams=4, pad_token_id=58100, renormalize_logits=True,
        )
        tok = filled_unigram("marian", cfg.vocab_size)
        hf_tok = transformers.PreTrainedTokenizerFast(
            tokenizer_object=tok, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", model_max_length=512,
            model_input_names=["input_ids", "attention_mask"],
        )
        assert len(hf_tok) == cfg.vocab_size and hf_tok.pad_token_id == 58100
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    hf_tok.save_pretrained(out, legacy_format=False)

    ids = hf_tok(TEXT)["input_ids"]
    assert len(ids) > INPUT_LEN, len(ids)
    ids = ids[: INPUT_LEN - 1] + [cfg.eos_token_id]
    x = torch.tensor([ids])
    ref = {}
    common = dict(max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False, no_repeat_ngram_size=0,
                  repetition_penalty=1.0, bad_words_ids=None, forced_eos_token_id=None, renormalize_logits=False,
                  length_penalty=1.0, early_stopping=False)
    with torch.no_grad():
        ref["greedy"] = model.generate(x, num_beams=1, **common)[0].tolist()
        ref["beam4"] = model.generate(x, num_beams=NUM_BEAMS, **common)[0].tolist()
    (out / "bench.json").write_text(json.dumps({"text": TEXT, "input_ids": ids, "new_tokens": NEW_TOKENS,
                                                 "decoder_start_token_id": cfg.decoder_start_token_id,
                                                 "eos_token_id": cfg.eos_token_id, "torch": ref}))

    from optimum.exporters.onnx import main_export

    main_export(str(out), str(out / "onnx"), task="text2text-generation-with-past", no_post_process=True,
                do_validation=False)
    sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in sorted((out / "onnx").glob("*.onnx"))}
    n = sum(p.numel() for p in model.parameters())
    print(f"bench_text2text: {out.name}: {n / 1e6:.1f}M parameters, ONNX MiB {sizes}", file=sys.stderr)


def make(args):
    root = Path(args.out_dir)
    for name, kind in [("t5-small-random", "t5"), ("opus-mt-en-de-random", "marian")]:
        d = root / name
        stamp = d / ".recipe"
        if stamp.exists() and stamp.read_text() == RECIPE and (d / "onnx" / "decoder_with_past_model.onnx").exists():
            print(f"bench_text2text: {name} up to date", file=sys.stderr)
        else:
            make_one(d, kind)
            stamp.write_text(RECIPE)
        add_input_text(d)


def add_input_text(d):
    """Adds `input_text` to bench.json: the text whose tokenization is exactly the benchmark's
    input ids (the pieces before the final </s>, decoded), for the engines that take text — the
    Lantern pipeline natively and its worker in the browser — so that they read the same 60
    tokens the id-fed engines do. Checked here by encoding it again."""
    from tokenizers import Tokenizer

    path = d / "bench.json"
    b = json.loads(path.read_text())
    if "input_text" in b:
        return
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    text = tok.decode(b["input_ids"][:-1], skip_special_tokens=True)
    again = tok.encode(text).ids
    assert again == b["input_ids"], f"{d.name}: the decoded input does not encode to the same ids"
    b["input_text"] = text
    # A new file renamed over the old: a hard-linked copy of the folder keeps its own.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(b))
    tmp.replace(path)


# ----------------------------------------------------------------------------------------- ort


def log_softmax(x):
    import numpy as np

    m = x.max(axis=-1, keepdims=True)
    y = x - m
    return y - np.log(np.exp(y).sum(axis=-1, keepdims=True))


class OrtModel:
    def __init__(self, d, threads):
        import onnxruntime as rt

        so = rt.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = rt.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = rt.GraphOptimizationLevel.ORT_ENABLE_ALL
        t0 = time.perf_counter()
        self.enc = rt.InferenceSession(str(d / "onnx" / "encoder_model.onnx"), so, providers=["CPUExecutionProvider"])
        self.dec = rt.InferenceSession(str(d / "onnx" / "decoder_model.onnx"), so, providers=["CPUExecutionProvider"])
        self.past = rt.InferenceSession(str(d / "onnx" / "decoder_with_past_model.onnx"), so,
                                        providers=["CPUExecutionProvider"])
        self.load_s = time.perf_counter() - t0
        self.past_inputs = [i.name for i in self.past.get_inputs() if i.name.startswith("past_key_values")]
        self.dec_outputs = [o.name for o in self.dec.get_outputs()]
        self.past_outputs = [o.name for o in self.past.get_outputs()]

    def generate(self, ids, start, eos, new_tokens, beams):
        """Returns (sequence incl. the start token, seconds to the first token)."""
        import numpy as np

        t0 = time.perf_counter()
        x = np.asarray([ids], dtype=np.int64)
        mask = np.ones_like(x)
        hidden = self.enc.run(None, {"input_ids": x, "attention_mask": mask})[0]
        out = self.dec.run(None, {"input_ids": np.asarray([[start]], dtype=np.int64),
                                  "encoder_hidden_states": hidden, "encoder_attention_mask": mask})
        named = dict(zip(self.dec_outputs, out))
        logits = named["logits"][:, -1, :].astype(np.float32)
        first_s = time.perf_counter() - t0
        # present.L.decoder.key -> past_key_values.L.decoder.key
        past = {n: named[n.replace("past_key_values", "present")] for n in self.past_inputs}
        seqs = np.asarray([[start]], dtype=np.int64)
        scores = np.zeros(1, dtype=np.float32)
        if beams > 1:
            past = {n: np.repeat(v, beams, axis=0) for n, v in past.items()}
            mask = np.repeat(mask, beams, axis=0)
            seqs = np.repeat(seqs, beams, axis=0)
            logits = np.repeat(logits, beams, axis=0)
            # All beams begin as one sequence: only the first may extend at the first step.
            scores = np.asarray([0.0] + [-1e9] * (beams - 1), dtype=np.float32)
        for step in range(new_tokens):
            # min_new_tokens = new_tokens: EOS masked at every step, after the log-softmax (as
            # transformers' processors run on the log-probs in beam search).
            if beams == 1:
                logits[:, eos] = -np.inf
                nxt = np.argmax(logits, axis=-1)
                seqs = np.concatenate([seqs, nxt[:, None]], axis=1)
            else:
                vocab = logits.shape[-1]
                logp = log_softmax(logits)
                logp[:, eos] = -np.inf
                acc = (logp + scores[:, None]).reshape(-1)
                top = np.argsort(-acc, kind="stable")[: 2 * beams][:beams]  # no EOS: the best 4 continue
                beam_idx, tok = top // vocab, top % vocab
                scores = acc[top].astype(np.float32)
                seqs = np.concatenate([seqs[beam_idx], tok[:, None]], axis=1)
                past = {n: (v[beam_idx] if ".decoder." in n else v) for n, v in past.items()}
                nxt = tok
            if step == new_tokens - 1:
                break
            feed = {"input_ids": nxt[:, None].astype(np.int64), "encoder_attention_mask": mask, **past}
            out = self.past.run(None, feed)
            named = dict(zip(self.past_outputs, out))
            logits = named["logits"][:, -1, :].astype(np.float32)
            for n in self.past_inputs:
                if ".decoder." in n:
                    past[n] = named[n.replace("past_key_values", "present")]
        return seqs[0].tolist(), first_s


def timed_runs(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times, first, result = [], [], None
    for _ in range(runs):
        t = time.perf_counter()
        result, f = fn()
        times.append(time.perf_counter() - t)
        first.append(f)
    return result, times, first


def ort(args):
    import onnxruntime as rt

    d = Path(args.model_dir)
    b = json.loads((d / "bench.json").read_text())
    m = OrtModel(d, args.threads)
    for mode, beams in [("greedy", 1), ("beam4", NUM_BEAMS)]:
        ids, times, first = timed_runs(
            lambda beams=beams: m.generate(b["input_ids"], b["decoder_start_token_id"], b["eos_token_id"],
                                           b["new_tokens"], beams),
            args.runs, args.warmup)
        n = b["new_tokens"]
        print(json.dumps({
            "engine": "onnxruntime", "version": rt.__version__, "model": d.name, "mode": mode, "threads": args.threads,
            "input_tokens": len(b["input_ids"]), "new_tokens": n, "runs": args.runs, "load_s": round(m.load_s, 3),
            "tokens_per_s": n / statistics.median(times), "tokens_per_s_range": [n / max(times), n / min(times)],
            "first_token_s": statistics.median(first), "same_ids_as_torch": ids == b["torch"][mode],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }), flush=True)


# --------------------------------------------------------------------------------------- torch


def torch_run(args):
    import torch
    import transformers

    torch.set_num_threads(args.threads)
    d = Path(args.model_dir)
    b = json.loads((d / "bench.json").read_text())
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(d, dtype=torch.float32)
    model.eval()
    x = torch.tensor([b["input_ids"]])
    n = b["new_tokens"]
    common = dict(max_new_tokens=n, min_new_tokens=n, do_sample=False, no_repeat_ngram_size=0, repetition_penalty=1.0,
                  bad_words_ids=None, forced_eos_token_id=None, renormalize_logits=False, length_penalty=1.0,
                  early_stopping=False)
    for mode, beams in [("greedy", 1), ("beam4", NUM_BEAMS)]:
        def run(beams=beams):
            with torch.no_grad():
                return model.generate(x, num_beams=beams, **common)[0].tolist(), float("nan")

        ids, times, _ = timed_runs(run, args.runs, args.warmup)
        print(json.dumps({
            "engine": "transformers", "torch": torch.__version__, "model": d.name, "mode": mode,
            "threads": args.threads, "input_tokens": len(b["input_ids"]), "new_tokens": n, "runs": args.runs,
            "tokens_per_s": n / statistics.median(times), "tokens_per_s_range": [n / max(times), n / min(times)],
            "same_ids_as_torch": ids == b["torch"][mode],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }), flush=True)


# ------------------------------------------------------------------------------- rows, report


def rows(args):
    """bench/browser.py's lines (one per case: `{rows: [...]}`, or `{missing}` when the engine
    cannot run, or `{error}`) to one JSON line per mode, with the case's renderer memory."""
    failed = False
    for line in sys.stdin:
        if not line.startswith("{"):
            continue
        case = json.loads(line)
        if "error" in case:
            print(f"bench_text2text: the page failed: {case['error']}", file=sys.stderr)
            failed = True
            continue
        if "missing" in case:
            print(json.dumps(case["missing"]), flush=True)
        for r in case.get("rows", []):
            r["renderer_peak_mib"] = case.get("renderer_peak_mib")
            r["cross_origin_isolated"] = case.get("cross_origin_isolated")
            print(json.dumps(r), flush=True)
    sys.exit(1 if failed else 0)


ENGINES = [("lantern", "Lantern native"), ("onnxruntime", "onnxruntime native"),
           ("transformers", "transformers (torch)"), ("lantern-wasm", "Lantern wasm (Chromium)"),
           ("lantern-wasm-base", "Lantern wasm, baseline worker (Chromium)"),
           ("onnxruntime-web", "onnxruntime-web wasm (Chromium)")]
MODES = [("greedy", "greedy"), ("beam4", "beam 4")]


def report(args):
    rows = [json.loads(line) for line in open(args.results) if line.startswith("{")]
    bad = False
    for r in rows:
        if "missing" in r:
            print(f"missing: {r['engine']}, {r.get('model')}, {r.get('threads')} thread(s): {r['missing']}")
    runs = [r for r in rows if "tokens_per_s" in r]
    for model in dict.fromkeys(r["model"] for r in runs):
        mine = [r for r in runs if r["model"] == model]
        print(f"\n{model}: tokens/s (60-token input, 64 new tokens, EOS masked), median of each round's runs "
              "(round 1, round 2, ...); load = 1-minute load average at the run's start\n")
        print("| engine | threads | greedy tok/s | beam 4 tok/s | same ids as torch | first token (greedy) "
              "| peak memory (RSS; Chromium: its renderer) | load |")
        print("|---|---|---|---|---|---|---|---|")
        for engine, name in ENGINES:
            for threads in sorted({int(r["threads"]) for r in mine if r["engine"] == engine}):
                rs = sorted((r for r in mine if r["engine"] == engine and int(r["threads"]) == threads),
                            key=lambda r: r.get("round", 0))
                cell = lambda mode: ", ".join(f"{r['tokens_per_s']:.1f}" for r in rs if r["mode"] == mode) or "–"
                same = all(r["same_ids_as_torch"] for r in rs)
                bad |= not same
                first = [r["first_token_s"] for r in rs if r["mode"] == "greedy" and r.get("first_token_s") is not None
                         and r["first_token_s"] == r["first_token_s"]]
                first = ", ".join(f"{f * 1000:.0f} ms" for f in first) or "–"
                mem = [r.get("peak_rss_mib") or r.get("renderer_peak_mib") for r in rs]
                mem = f"{max(mem):.0f} MiB" if all(m is not None for m in mem) else "–"
                label = name
                if engine == "transformers":
                    label = f"transformers (torch {rs[0].get('torch', '?')})"
                if engine in ("lantern-wasm", "lantern-wasm-base"):
                    label += f" ({rs[0].get('build')} build)"
                load = ", ".join(f"{r.get('load1', float('nan')):.1f}" for r in rs if r["mode"] == "greedy")
                print(f"| {label} | {threads} | {cell('greedy')} | {cell('beam4')} | {same}{'' if same else ' ✗'} "
                      f"| {first} | {mem} | {load} |")
        by = {}
        for r in mine:
            by.setdefault((r["engine"], int(r["threads"]), r["mode"]), {})[r.get("round", 0)] = r
        # Native against native, wasm against onnxruntime-web, at the same thread count.
        lines = []
        for a, b in [("lantern", "onnxruntime"), ("lantern-wasm", "onnxruntime-web"),
                     ("lantern-wasm-base", "onnxruntime-web"), ("lantern-wasm", "lantern-wasm-base")]:
            for t in (1, 2):
                cells = []
                for mode, _ in MODES:
                    x, y = by.get((a, t, mode), {}), by.get((b, t, mode), {})
                    common = sorted(set(x) & set(y))
                    cells.append(", ".join(f"{x[i]['tokens_per_s'] / y[i]['tokens_per_s']:.2f}x" for i in common) or "–")
                if any(c != "–" for c in cells):
                    lines.append(f"| {dict(ENGINES)[a]} / {dict(ENGINES)[b]} | {t} | " + " | ".join(cells) + " |")
        if lines:
            print(f"\n{model}: Lantern / onnxruntime, tokens/s ratio, same round (above 1: Lantern faster)\n")
            print("| | threads | greedy | beam 4 |\n|---|---|---|---|")
            print("\n".join(lines))
    if bad:
        print("\nan engine's ids differ from transformers' generate()")
    sys.exit(1 if bad else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make")
    p.add_argument("out_dir")
    for name in ["ort", "torch"]:
        p = sub.add_parser(name)
        p.add_argument("model_dir")
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--runs", type=int, default=3)
        p.add_argument("--warmup", type=int, default=1)
    sub.add_parser("rows")
    p = sub.add_parser("report")
    p.add_argument("results")
    args = ap.parse_args()
    {"make": make, "ort": ort, "torch": torch_run, "rows": rows, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
