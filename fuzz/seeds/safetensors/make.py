#!/usr/bin/env python3
"""Writes the safetensors seeds: the micro BERT of MICRO_BERT
(crates/lantern-pipelines/tests/common/fuzz_inputs.rs), its tensor names those of
lantern-fixtures/tiny-bert-sst2 (BertForSequenceClassification), shapes scaled down (hidden
32 -> 4, intermediate and positions 64 -> 8, vocabulary 600 -> 8). In f32, f16 and bf16, and
one without the bert. prefix. Deterministic; run from this folder: python3 make.py"""
import json
import struct

SCALE = {32: 4, 64: 8, 600: 8}
NAMES = json.loads("""{"bert.embeddings.LayerNorm.bias": [32], "bert.embeddings.LayerNorm.weight": [32], "bert.embeddings.position_embeddings.weight": [64, 32], "bert.embeddings.token_type_embeddings.weight": [2, 32], "bert.embeddings.word_embeddings.weight": [600, 32], "bert.encoder.layer.0.attention.output.LayerNorm.bias": [32], "bert.encoder.layer.0.attention.output.LayerNorm.weight": [32], "bert.encoder.layer.0.attention.output.dense.bias": [32], "bert.encoder.layer.0.attention.output.dense.weight": [32, 32], "bert.encoder.layer.0.attention.self.key.bias": [32], "bert.encoder.layer.0.attention.self.key.weight": [32, 32], "bert.encoder.layer.0.attention.self.query.bias": [32], "bert.encoder.layer.0.attention.self.query.weight": [32, 32], "bert.encoder.layer.0.attention.self.value.bias": [32], "bert.encoder.layer.0.attention.self.value.weight": [32, 32], "bert.encoder.layer.0.intermediate.dense.bias": [64], "bert.encoder.layer.0.intermediate.dense.weight": [64, 32], "bert.encoder.layer.0.output.LayerNorm.bias": [32], "bert.encoder.layer.0.output.LayerNorm.weight": [32], "bert.encoder.layer.0.output.dense.bias": [32], "bert.encoder.layer.0.output.dense.weight": [32, 64], "bert.encoder.layer.1.attention.output.LayerNorm.bias": [32], "bert.encoder.layer.1.attention.output.LayerNorm.weight": [32], "bert.encoder.layer.1.attention.output.dense.bias": [32], "bert.encoder.layer.1.attention.output.dense.weight": [32, 32], "bert.encoder.layer.1.attention.self.key.bias": [32], "bert.encoder.layer.1.attention.self.key.weight": [32, 32], "bert.encoder.layer.1.attention.self.query.bias": [32], "bert.encoder.layer.1.attention.self.query.weight": [32, 32], "bert.encoder.layer.1.attention.self.value.bias": [32], "bert.encoder.layer.1.attention.self.value.weight": [32, 32], "bert.encoder.layer.1.intermediate.dense.bias": [64], "bert.encoder.layer.1.intermediate.dense.weight": [64, 32], "bert.encoder.layer.1.output.LayerNorm.bias": [32], "bert.encoder.layer.1.output.LayerNorm.weight": [32], "bert.encoder.layer.1.output.dense.bias": [32], "bert.encoder.layer.1.output.dense.weight": [32, 64], "bert.pooler.dense.bias": [32], "bert.pooler.dense.weight": [32, 32], "classifier.bias": [2], "classifier.weight": [2, 32]}""")


def write(path, dtype, size, prefix=True):
    header, data = {}, b""
    for name, shape in sorted(NAMES.items()):
        shape = [SCALE.get(d, d) for d in shape]
        count = 1
        for d in shape:
            count *= d
        if not prefix:
            name = name.removeprefix("bert.")
        # Small distinct values: 0.25 in f32 is 3e800000, in f16 3400, in bf16 3e80.
        one = {"F32": b"\x00\x00\x80\x3e", "F16": b"\x00\x34", "BF16": b"\x80\x3e"}[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + count * size]}
        data += one * count
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


write("bert-f32.safetensors", "F32", 4)
write("bert-f16.safetensors", "F16", 2)
write("bert-bf16.safetensors", "BF16", 2)
write("bert-unprefixed-f32.safetensors", "F32", 4, prefix=False)
