#!/usr/bin/env python3
"""Tiny Whisper models at the real architecture, and transformers' outputs for them.

What: two small Whisper models (transformers' `WhisperForConditionalGeneration`, d_model 64, 2
encoder + 2 decoder layers, 4 heads, 96 tokens, 16 mel bins, 24 source and 32 target positions)
whose every parameter is a deterministic function of its name (below), and transformers' outputs
for a deterministic input: the encoder's last hidden state and the decoder's logits at every
position of two token sequences sharing a prefix. Written to
`crates/lantern-models/tests/data/whisper_tiny.golden.json`; the Rust test
(`crates/lantern-models/tests/whisper/`) builds the same weights from the same rules, writes them
as a safetensors file, and checks Lantern's encoder output and decoder steps against these.

  tied-f32-gelu     f32 weights, GELU, output projection tied to the token embedding
  untied-f16-relu   f16 weights (the values rounded to f16), ReLU, its own `proj_out`, and no
                    `model.encoder.embed_positions.weight` in the file: transformers initialises
                    it with its sinusoids, and Lantern must compute the same ones

Why generated weights rather than a committed file: the safetensors files are ~800 kB (f32) and
CI cannot install torch, while the rules take twenty lines on each side. The goldens list every
tensor transformers' `save_pretrained` writes (name, shape, and the sum of its values), so the
test also checks that it writes exactly the file transformers would, names included.

Weight rules (every tensor, `name` as in the saved file; arithmetic in float32):
  v = values(numel, fnv1a64(name)): xorshift64 as `values` in crates/lantern-models/tests/common,
      seed = FNV-1a 64 of the UTF-8 name
  *layer_norm.weight          1 + 0.25 v
  *.bias                      0.1 v
  *embed_tokens.weight, proj_out.weight, *embed_positions.weight
                              0.5 v
  *conv{1,2}.weight [o, c, k] v * float32(1 / sqrt(c k))
  other [out, in] weights     v * float32(1 / sqrt(in))
  then, for f16 files, each value rounded to f16 (round to nearest even), in the model as well.
Input features: values(16 * 48, fnv1a64("input_features")), [16 mel bins, 48 frames] row-major.

Tolerance Lantern should meet (f32 on the CPU): 1e-4 absolute on every encoder output value and
every logit (logits are O(1-10) here).

Checks this script makes before it writes the goldens: the decoder run token by token with
transformers' KV cache gives the same logits as the whole sequence at once (within 1e-5); the
f16 model's parameters are exactly f16 values; the saved file holds exactly the tensors listed.

Regenerate: scripts/reference-whisper-model.sh (makes the virtualenv with the pins below).
Never run by CI: the output is committed.

Pins: torch==2.9.1 transformers==4.57.1 safetensors==0.6.2 numpy==2.2.6, Python 3.11.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np  # noqa: E402
import safetensors.numpy  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

OUT = "crates/lantern-models/tests/data/whisper_tiny.golden.json"
MASK = (1 << 64) - 1

BASE = dict(
    vocab_size=96,
    num_mel_bins=16,
    d_model=64,
    encoder_layers=2,
    encoder_attention_heads=4,
    encoder_ffn_dim=128,
    decoder_layers=2,
    decoder_attention_heads=4,
    decoder_ffn_dim=128,
    max_source_positions=24,
    max_target_positions=32,
    decoder_start_token_id=95,
    eos_token_id=94,
    bos_token_id=94,
    pad_token_id=94,
)
VARIANTS = [
    dict(name="tied-f32-gelu", dtype="f32", config=dict(activation_function="gelu"), omit=[]),
    dict(
        name="untied-f16-relu",
        dtype="f16",
        config=dict(activation_function="relu", tie_word_embeddings=False),
        omit=["model.encoder.embed_positions.weight"],
    ),
]
# Two sequences sharing their first four tokens: the test runs the prefix, forks, and continues
# each branch (and truncates one back to the prefix).
SEQUENCES = {"a": [95, 10, 11, 3, 57, 88, 20], "b": [95, 10, 11, 3, 42, 7]}


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def values(n, seed):
    s = ((seed * 0x9E3779B97F4A7C15) & MASK) | 1
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        s ^= (s << 13) & MASK
        s ^= s >> 7
        s ^= (s << 17) & MASK
        out[i] = ((s >> 40) / float(1 << 24)) * 2.0 - 1.0
    return out


def weight(name, shape):
    v = values(int(np.prod(shape)), fnv1a64(name)).reshape(shape)
    if name.endswith("layer_norm.weight"):
        return np.float32(1) + np.float32(0.25) * v
    if name.endswith(".bias"):
        return np.float32(0.1) * v
    if name.endswith("embed_tokens.weight") or name == "proj_out.weight" or name.endswith(
        "embed_positions.weight"
    ):
        return np.float32(0.5) * v
    if ".conv" in name:
        return v * np.float32(1.0 / np.sqrt(shape[1] * shape[2]))
    assert len(shape) == 2, name
    return v * np.float32(1.0 / np.sqrt(shape[1]))


def rows(a):
    return [[float("%.8g" % x) for x in r] for r in np.asarray(a, dtype=np.float64)]


def build(variant):
    cfg = transformers.WhisperConfig(**BASE, **variant["config"])
    torch.manual_seed(0)
    model = transformers.WhisperForConditionalGeneration(cfg).eval()
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d, safe_serialization=True)
        saved = safetensors.numpy.load_file(os.path.join(d, "model.safetensors"))
        with open(os.path.join(d, "config.json")) as f:
            config_json = json.load(f)
    state = model.state_dict()
    tensors = []
    with torch.no_grad():
        for name in sorted(saved):
            shape = list(saved[name].shape)
            if name in variant["omit"]:
                # Left at transformers' own initialisation (the sinusoids).
                w = state[name].numpy().astype(np.float32)
            else:
                w = weight(name, shape)
                if variant["dtype"] == "f16":
                    w = w.astype(np.float16).astype(np.float32)
                state[name].copy_(torch.from_numpy(w))
            tensors.append([name, shape, float(np.sum(w, dtype=np.float64))])
        if not cfg.tie_word_embeddings:
            assert "proj_out.weight" in saved
        else:
            assert "proj_out.weight" not in saved
            assert torch.equal(model.proj_out.weight, model.model.decoder.embed_tokens.weight)
        if variant["dtype"] == "f16":
            for name, p in model.named_parameters():
                if name not in variant["omit"]:
                    assert torch.equal(p, p.half().float()), name
    return cfg, config_json, model, tensors


def run(variant):
    cfg, config_json, model, tensors = build(variant)
    frames = 2 * cfg.max_source_positions
    mel = values(cfg.num_mel_bins * frames, fnv1a64("input_features")).reshape(
        cfg.num_mel_bins, frames
    )
    feats = torch.from_numpy(mel)[None]
    out = {"name": variant["name"], "dtype": variant["dtype"], "omit": variant["omit"]}
    out["config"] = config_json
    out["tensors"] = tensors
    with torch.no_grad():
        enc = model.model.encoder(feats).last_hidden_state
        out["encoder_output"] = rows(enc[0].numpy())
        logits = {}
        for key, ids in SEQUENCES.items():
            full = model(
                encoder_outputs=(enc,), decoder_input_ids=torch.tensor([ids])
            ).logits[0]
            # Token by token through transformers' cache: the same numbers.
            past, steps = None, []
            for t in ids:
                o = model(
                    encoder_outputs=(enc,),
                    decoder_input_ids=torch.tensor([[t]]),
                    past_key_values=past,
                    use_cache=True,
                )
                past = o.past_key_values
                steps.append(o.logits[0, -1])
            diff = (torch.stack(steps) - full).abs().max().item()
            assert diff < 1e-5, (variant["name"], key, diff)
            logits[key] = rows(full.numpy())
        out["logits"] = logits
    big = max(abs(x) for r in out["logits"]["a"] for x in r)
    print(f"{variant['name']}: largest |logit| {big:.2f}", file=sys.stderr)
    return out


def main():
    golden = {
        "made_by": "scripts/reference/whisper_model.py (scripts/reference-whisper-model.sh)",
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "numpy": np.__version__,
        },
        "input_features": {"seed_name": "input_features"},
        "sequences": SEQUENCES,
        "tolerance": 1e-4,
        "models": [run(v) for v in VARIANTS],
    }
    with open(OUT, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
