#!/usr/bin/env python3
"""A replay oracle for Lantern's greedy and beam search (crates/lantern-pipelines/src/generation).

For every case of crates/lantern-pipelines/tests/data/text2text.golden.json, runs transformers'
generate() on the fixture model with the case's effective generation config and records the
logits of every decoder prefix it evaluated, into target/t2t-replay/replay.json (40 MB: not
committed). A search that makes transformers' choices asks for exactly those prefixes, so the
replay test (`cargo test -p lantern-pipelines --lib generation::replay -- --ignored`) holds the
search to transformers' ids with the model's numerics taken out of the question.

Run with the fixtures' virtualenv: /work/venv-torch/bin/python scripts/reference/text2text-replay.py
"""
import json, os, torch
from transformers import AutoModelForSeq2SeqLM, GenerationConfig
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.makedirs(f"{root}/target/t2t-replay", exist_ok=True)
g = json.load(open(f"{root}/crates/lantern-pipelines/tests/data/text2text.golden.json"))
out = {}
for name, mv in g["models"].items():
    model = AutoModelForSeq2SeqLM.from_pretrained(f"{root}/tests/fixtures/text2text/{name}").eval()
    stash = {}
    orig_prep = model.prepare_inputs_for_generation
    def prep(input_ids, *a, **k):
        stash["ids"] = input_ids.clone()
        return orig_prep(input_ids, *a, **k)
    model.prepare_inputs_for_generation = prep
    rec = []
    orig_fwd = model.forward
    def fwd(*a, **k):
        o = orig_fwd(*a, **k)
        last = o.logits[:, -1, :].float()
        for row, ids in zip(last, stash["ids"]):
            rec.append((ids.tolist(), row.tolist()))
        return o
    model.forward = fwd
    cases = {}
    for c in mv["cases"]:
        rec.clear()
        gc = {k: v for k, v in c["generation_config"].items() if v is not None}
        cfg = GenerationConfig(**gc)
        with torch.no_grad():
            ids = model.generate(input_ids=torch.tensor([c["input_ids"]]), generation_config=cfg, use_model_defaults=False)
        assert ids[0].tolist() == c["output_ids"], (name, c["name"], ids[0].tolist(), c["output_ids"])
        table = {}
        for p, l in rec:
            table.setdefault(" ".join(map(str, p)), l)
        cases[c["name"]] = table
    out[name] = cases
json.dump(out, open(f"{root}/target/t2t-replay/replay.json", "w"))
print("ok", sum(len(c) for m in out.values() for c in m.values()))
