"""Golden log-mel features from Hugging Face's WhisperFeatureExtractor (transformers, NumPy path).

Writes, under --out:
- whisper_features.golden.json: one entry per case (signal, how the window was taken, the frames
  kept, the global log10 maximum) and whisper_features.golden.bin: the kept frames' values,
  little-endian f32, case after case, frame after frame, n_mels values per frame (column `f` of
  HF's [n_mels, n_frames] `input_features`).
- beckett.flac: beckett.wav's samples, losslessly (the WAV is 319 KB; the FLAC about 138 KB).
  The JSON records the sha256 of the WAV's PCM bytes, which the Rust test checks on the decoded
  FLAC, so the golden and the test read the same samples.
- Small codec samples for the decoder tests: tone-22050.flac, tone-44100-stereo.mp3,
  tone-48000.ogg (Vorbis), tone-48000-opus.ogg (a 1 kHz sine at amplitude 0.5, 0.5 s).

The synthetic signals are defined here and in crates/lantern-audio/tests/common/mod.rs by the same
formula (f64 arithmetic with libm's sin, in the same order, rounded to f32).

Run by scripts/reference-whisper-features.sh (pinned venv). Never run by CI.
"""

import argparse
import hashlib
import importlib.util
import json
import math
import sys
import wave
import zipfile
from pathlib import Path

import numpy as np
import soundfile
import transformers
from transformers import WhisperFeatureExtractor
from transformers.audio_utils import spectrogram, window_function

BECKETT_WAV_SHA256 = "e5a26b3d29e5b0bc8dbd72c11d16a3808a4ec0ac45b21f12a27d2a2fe5c5ae61"
SR = 16000


def tone():
    """2.5 s of 440 Hz + 1 kHz, amplitude 0.25 each."""
    n = 40000
    return np.array(
        [
            0.25 * math.sin(2.0 * math.pi * 440.0 * i / 16000.0)
            + 0.25 * math.sin(2.0 * math.pi * 1000.0 * i / 16000.0)
            for i in range(n)
        ],
        dtype=np.float32,
    )


def chirp():
    """35 s: a linear chirp from 100 Hz to 7.9 kHz at amplitude 0.3, slowly amplitude-modulated."""
    n = 35 * 16000
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        t = i / 16000.0
        phase = 2.0 * math.pi * (100.0 * t + 7800.0 * t * t / 70.0)
        out[i] = 0.3 * math.sin(phase) * (0.6 + 0.4 * math.sin(2.0 * math.pi * 0.7 * t))
    return out


def read_beckett(path):
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != BECKETT_WAV_SHA256:
        sys.exit(f"{path}: sha256 {digest}, expected {BECKETT_WAV_SHA256}")
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SR)
        pcm = w.readframes(w.getnframes())
    ints = np.frombuffer(pcm, dtype="<i2")
    # What soundfile, librosa and symphonia produce from 16-bit PCM: x / 32768.
    return ints, (ints.astype(np.float32) / np.float32(32768.0)), hashlib.sha256(pcm).hexdigest()


def hf_extract(fe, samples):
    """WhisperFeatureExtractor(samples)["input_features"][0]: the first 30 s window."""
    out = fe(samples, sampling_rate=SR, return_tensors="np")["input_features"][0]
    assert out.dtype == np.float32 and out.shape == (fe.feature_size, fe.nb_max_frames)
    return out


def long_form(fe, samples):
    """The whole-recording spectrogram of OpenAI's transcribe / faster-whisper, computed with
    transformers' own spectrogram and filter bank: the audio and one hop of silence, centred
    reflect-padded STFT, last frame dropped, clamped to the global max - 8, (x + 4) / 4.
    Returns it and content_frames (faster-whisper: features.shape[-1] - 1)."""
    padded = np.pad(samples, (0, fe.hop_length))
    log_spec = spectrogram(
        padded,
        window_function(fe.n_fft, "hann"),
        frame_length=fe.n_fft,
        hop_length=fe.hop_length,
        power=2.0,
        mel_filters=fe.mel_filters,
        log_mel="log10",
    )[:, :-1]
    peak = log_spec.max()
    log_spec = (np.maximum(log_spec, peak - 8.0) + 4.0) / 4.0
    content = len(samples) // fe.hop_length
    assert log_spec.shape[1] == content + 1
    return log_spec, content, float(peak)


def long_form_window(fe, log_spec, content, seek):
    """faster-whisper's segment: features[:, seek : seek + segment_size], then pad_or_trim."""
    size = min(fe.nb_max_frames, content - seek)
    window = np.zeros((fe.feature_size, fe.nb_max_frames), dtype=np.float32)
    window[:, :size] = log_spec[:, seek : seek + size]
    return window


def faster_whisper_extractor(wheel):
    """faster-whisper's own NumPy FeatureExtractor, loaded from its wheel without the package
    (whose __init__ needs ctranslate2)."""
    with zipfile.ZipFile(wheel) as z:
        source = z.read("faster_whisper/feature_extractor.py").decode()
    spec = importlib.util.spec_from_loader("fw_feature_extractor", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, "faster_whisper/feature_extractor.py", "exec"), module.__dict__)
    return module.FeatureExtractor()


def kept_frames(n_frames, stride, extra=()):
    frames = set(range(0, n_frames, stride)) | {1, 2, 3, n_frames - 3, n_frames - 2, n_frames - 1}
    frames |= {f for f in extra if 0 <= f < n_frames}
    return sorted(frames)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--beckett", required=True, help="beckett.wav from useful-moonshine-onnx")
    parser.add_argument("--faster-whisper-wheel", help="to compare the long form with faster-whisper")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    assert not transformers.is_torch_available(), "the NumPy path needs a venv without torch"

    ints, beckett, beckett_pcm_sha = read_beckett(args.beckett)
    soundfile.write(out / "beckett.flac", ints, SR, subtype="PCM_16", format="FLAC")
    signals = {"beckett": beckett, "tone": tone(), "chirp": chirp()}
    fe80 = WhisperFeatureExtractor(feature_size=80)
    fe128 = WhisperFeatureExtractor(feature_size=128)
    beckett_end = len(beckett) // 160

    cases = []
    blob = []

    def add(name, signal, kind, fe, features, stride, peak, extra=(), **params):
        frames = kept_frames(fe.nb_max_frames, stride, extra)
        values = np.ascontiguousarray(features[:, frames].T, dtype="<f4")
        cases.append(
            {
                "name": name,
                "signal": signal,
                "kind": kind,
                "n_mels": fe.feature_size,
                "n_frames": fe.nb_max_frames,
                "frames": frames,
                "offset": sum(b.size for b in blob),
                "max_log10": peak,
                **params,
            }
        )
        blob.append(values)

    def hf_peak(features):
        # The window's maximum, from its normalised maximum: (max + 4) / 4.
        return float(np.float32(features.max()) * np.float32(4.0) - np.float32(4.0))

    edge = range(beckett_end - 4, beckett_end + 5)
    f = hf_extract(fe80, beckett)
    add("beckett", "beckett", "extract", fe80, f, 25, hf_peak(f), extra=edge)
    f = hf_extract(fe80, signals["tone"])
    add("tone", "tone", "extract", fe80, f, 50, hf_peak(f), extra=range(248, 254))
    f = hf_extract(fe80, signals["chirp"])
    add("chirp, cut to 30 s", "chirp", "extract", fe80, f, 40, hf_peak(f))
    f = hf_extract(fe128, signals["tone"])
    add("tone, 128 mels", "tone", "extract", fe128, f, 100, hf_peak(f))
    start = 123_456
    f = hf_extract(fe80, signals["chirp"][start:])
    end = (len(signals["chirp"]) - start) // 160
    add("chirp at sample 123456", "chirp", "features_at", fe80, f, 50, hf_peak(f),
        extra=range(end - 3, end + 4), start_sample=start)

    fw = faster_whisper_extractor(args.faster_whisper_wheel) if args.faster_whisper_wheel else None
    for name, stride, seek in (("beckett", 40, 0), ("chirp", 50, 2000)):
        x = signals[name]
        log_spec, content, peak = long_form(fe80, x)
        window = long_form_window(fe80, log_spec, content, seek)
        end = content - seek
        add(f"{name}, long form at frame {seek}", name, "long_form", fe80, window, stride, peak,
            extra=range(end - 3, end + 4), seek=seek, content_frames=content)
        if fw is not None:
            theirs = fw(x, chunk_length=30)
            assert theirs.shape == log_spec.shape, (theirs.shape, log_spec.shape)
            ref = long_form_window(fe80, theirs, theirs.shape[-1] - 1, seek)
            print(f"{name} long form: max |transformers - faster-whisper| = "
                  f"{np.abs(window - ref).max():.3g}")

    values = np.concatenate([b.ravel() for b in blob])
    (out / "whisper_features.golden.bin").write_bytes(values.tobytes())
    manifest = {
        "made_by": "scripts/reference-whisper-features.sh",
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "beckett_pcm_sha256": beckett_pcm_sha,
        "cases": cases,
    }
    # One line per case: the frame lists are long.
    text = json.dumps(manifest, indent=1)
    for case in cases:
        text = text.replace(json.dumps(case, indent=1).replace("\n", "\n  "), json.dumps(case))
    (out / "whisper_features.golden.json").write_text(text + "\n")
    print(f"{len(cases)} cases, {values.size} values")

    # Codec samples for the decoder tests: 1 kHz at amplitude 0.5, 0.5 s.
    for rate, channels, name, fmt, subtype in (
        (22050, 1, "tone-22050.flac", "FLAC", "PCM_16"),
        (44100, 2, "tone-44100-stereo.mp3", "MP3", "MPEG_LAYER_III"),
        (48000, 1, "tone-48000.ogg", "OGG", "VORBIS"),
        # Opus in OGG: a real file in a codec Lantern does not decode.
        (48000, 1, "tone-48000-opus.ogg", "OGG", "OPUS"),
    ):
        t = np.arange(rate // 2) / rate
        x = 0.5 * np.sin(2.0 * np.pi * 1000.0 * t)
        x = np.stack([x] * channels, axis=1) if channels > 1 else x
        soundfile.write(out / name, x, rate, subtype=subtype, format=fmt)


if __name__ == "__main__":
    main()
