"""A NumPy forward pass of EfficientNet-Lite0 on the converted fixture
(lantern-fixtures/efficientnet-lite0, made by scripts/fixtures-vision.sh), as an independent
reference for Lantern's image classification: preprocessing by transformers' CLIPImageProcessor
from the repo's preprocessor_config.json (so the file is checked to load in transformers too),
then convolutions in float64 NumPy with TF "same" padding, BatchNorm (eps 1e-3), ReLU6,
residuals where stride 1 keeps the channels, global average pooling and the classifier.

Checks FIXTURES.md's numbers (chelsea: 282 tiger cat 0.386, 285 Egyptian cat 0.356, 281 tabby
0.169; coffee: 967 espresso 0.951) twice: within 0.0015 with the resize FIXTURES.md's reference
used (PIL bicubic, the long side *rounded*: chelsea 451x300 -> 385x256), and within 0.01 (the
issue's tolerance) through transformers' processor, which truncates the long side (384x256) and
so gives chelsea 0.3946 / 0.3551 / 0.1697. The goldens are the transformers path (what Lantern
implements). With --pth, the legacy .pth also runs through torch's own conv2d (F.pad for
"same") and must agree within 1e-3. Writes the golden top-5 and a logits summary.

Usage: efficientnet_lite0.py --mirror target/fixtures/mirror --out FILE.json [--pth FILE]
Run by scripts/reference-vision.sh (pinned venv). Never run by CI.
"""

import argparse
import hashlib
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.numpy import load_file
from transformers import CLIPImageProcessor
from transformers.image_utils import load_image

EXPECTED = {
    "chelsea.png": [(282, 0.386), (285, 0.356), (281, 0.169)],
    "coffee.png": [(967, 0.951)],
}


def same_pad(x, k, s):
    """TF "same": total padding max((ceil(n/s)-1)*s + k - n, 0), the smaller half first."""
    _, h, w = x.shape
    def amount(n):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        return total // 2, total - total // 2
    (t, b), (l, r) = amount(h), amount(w)
    return np.pad(x, ((0, 0), (t, b), (l, r)))


def conv(x, w, stride=1, groups=1):
    """x [C,H,W], w [O,C/groups,k,k], TF same padding."""
    k = w.shape[2]
    x = same_pad(x, k, stride)
    c, h, wd = x.shape
    oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    if groups == 1:
        if k == 1:
            xs = x[:, ::stride, ::stride][:, :oh, :ow]
            return np.tensordot(w[:, :, 0, 0], xs, axes=([1], [0]))
        out = np.zeros((w.shape[0], oh, ow))
        for i in range(k):
            for j in range(k):
                patch = x[:, i:i + stride * oh:stride, j:j + stride * ow:stride]
                out += np.tensordot(w[:, :, i, j], patch, axes=([1], [0]))
        return out
    assert groups == c == w.shape[0]
    out = np.zeros((c, oh, ow))
    for i in range(k):
        for j in range(k):
            out += w[:, 0, i, j][:, None, None] * x[:, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return out


def bn(x, p, name, eps):
    g, b = p[name + ".weight"], p[name + ".bias"]
    m, v = p[name + ".running_mean"], p[name + ".running_var"]
    return (x - m[:, None, None]) / np.sqrt(v[:, None, None] + eps) * g[:, None, None] + b[:, None, None]


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def forward(p, cfg, x):
    eps = cfg["batch_norm_eps"]
    p = {k: v.astype(np.float64) for k, v in p.items()}
    x = relu6(bn(conv(x, p["efficientnet.embeddings.convolution.weight"], 2), p, "efficientnet.embeddings.batchnorm", eps))
    for i, blk in enumerate(cfg["blocks"]):
        d = f"efficientnet.encoder.blocks.{i}."
        inp = x
        if blk["expand_ratio"] != 1:
            x = relu6(bn(conv(x, p[d + "expansion.expand_conv.weight"]), p, d + "expansion.expand_bn", eps))
        x = relu6(bn(conv(x, p[d + "depthwise_conv.depthwise_conv.weight"], blk["stride"], groups=x.shape[0]),
                     p, d + "depthwise_conv.depthwise_norm", eps))
        x = bn(conv(x, p[d + "projection.project_conv.weight"]), p, d + "projection.project_bn", eps)
        if blk["residual"]:
            x = x + inp
    x = relu6(bn(conv(x, p["efficientnet.encoder.top_conv.weight"]), p, "efficientnet.encoder.top_bn", eps))
    pooled = x.mean(axis=(1, 2))
    return p["classifier.weight"] @ pooled + p["classifier.bias"]


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def fixtures_md_preprocess(path):
    """FIXTURES.md's reference preprocessing: the short side to 256 and the long side rounded,
    PIL bicubic, centre crop 224, (rgb - 127) / 128."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    nw, nh = (256, round(256 * h / w)) if w < h else (round(256 * w / h), 256)
    im = im.resize((nw, nh), Image.BICUBIC)
    left, top = (nw - 224) // 2, (nh - 224) // 2
    a = np.asarray(im.crop((left, top, left + 224, top + 224)), dtype=np.float64)
    return ((a - 127) / 128).transpose(2, 0, 1)


def torch_check(pth, pixel_values, blocks):
    import torch
    import torch.nn.functional as F
    sd = torch.load(pth, map_location="cpu", weights_only=True)

    def tconv(x, w, s=1, g=1):
        k = w.shape[2]
        h, wd = x.shape[2], x.shape[3]
        ph = max((math.ceil(h / s) - 1) * s + k - h, 0)
        pw = max((math.ceil(wd / s) - 1) * s + k - wd, 0)
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        return F.conv2d(x, w, stride=s, groups=g)

    def tbn(x, n):
        return F.batch_norm(x, sd[n + ".running_mean"], sd[n + ".running_var"], sd[n + ".weight"], sd[n + ".bias"], False, 0.0, 1e-3)

    with torch.no_grad():
        x = torch.from_numpy(pixel_values[None]).float()
        x = F.relu6(tbn(tconv(x, sd["_conv_stem.weight"], 2), "_bn0"))
        for i, blk in enumerate(blocks):
            s = f"_blocks.{i}."
            inp = x
            if s + "_expand_conv.weight" in sd:
                x = F.relu6(tbn(tconv(x, sd[s + "_expand_conv.weight"]), s + "_bn0"))
            x = F.relu6(tbn(tconv(x, sd[s + "_depthwise_conv.weight"], blk["stride"], x.shape[1]), s + "_bn1"))
            x = tbn(tconv(x, sd[s + "_project_conv.weight"]), s + "_bn2")
            if blk["residual"]:
                x = x + inp
        x = F.relu6(tbn(tconv(x, sd["_conv_head.weight"]), "_bn1"))
        return F.linear(x.mean(dim=(2, 3)), sd["_fc.weight"], sd["_fc.bias"])[0].double().numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", default="target/fixtures/mirror")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pth", help="the wheel's .pth, to check against torch's conv2d as well")
    args = ap.parse_args()
    repo = Path(args.mirror) / "lantern-fixtures/efficientnet-lite0"
    samples = Path(args.mirror) / "lantern-fixtures/vision-samples"
    cfg = json.loads((repo / "config.json").read_text())
    params = load_file(str(repo / "model.safetensors"))
    proc = CLIPImageProcessor.from_pretrained(str(repo))
    cases = []
    for name, expected in EXPECTED.items():
        path = samples / name
        image = load_image(str(path))
        pv = proc(image, return_tensors="np")["pixel_values"][0]
        logits = forward(params, cfg, pv.astype(np.float64))
        probs = softmax(logits)
        top = np.argsort(-probs)[:5]
        for cls, p in expected:
            got = probs[cls]
            if abs(got - p) > 0.01:
                raise SystemExit(f"{name}: class {cls} has {got:.4f}, FIXTURES.md says {p}")
        rounded = softmax(forward(params, cfg, fixtures_md_preprocess(path)))
        for cls, p in expected:
            if abs(rounded[cls] - p) > 0.0015:
                raise SystemExit(f"{name}: with the rounded resize class {cls} has {rounded[cls]:.4f}, FIXTURES.md says {p}")
        if [c for c, _ in expected] != list(top[:len(expected)]):
            raise SystemExit(f"{name}: top classes {top[:3]} differ from FIXTURES.md")
        case = {
            "image": name,
            "image_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "pixel_values_sum": float(pv.astype(np.float64).sum()),
            "top5": [{"index": int(i), "label": cfg["id2label"][str(i)], "score": float(probs[i]),
                      "logit": float(logits[i])} for i in top],
            "logits_sum": float(logits.sum()),
            "logits_abs_sum": float(np.abs(logits).sum()),
            "logits_max": float(logits.max()),
            "logits_first16": [float(v) for v in logits[:16]],
        }
        if args.pth:
            t = torch_check(args.pth, pv, cfg["blocks"])
            diff = float(np.abs(t - logits).max())
            case["torch_logits_max_abs_diff"] = diff
            if diff > 1e-3:
                raise SystemExit(f"{name}: torch on the .pth differs from the NumPy pass by {diff}")
        print(name, [(c["index"], c["label"], round(c["score"], 4)) for c in case["top5"]])
        cases.append(case)
    import transformers, PIL
    golden = {
        "what": "EfficientNet-Lite0 (lantern-fixtures/efficientnet-lite0): transformers' CLIPImageProcessor "
                "+ a float64 NumPy forward pass (scripts/reference/efficientnet_lite0.py)",
        "versions": {"transformers": transformers.__version__, "numpy": np.__version__, "pillow": PIL.__version__},
        "model_sha256": hashlib.sha256((repo / "model.safetensors").read_bytes()).hexdigest(),
        "cases": cases,
    }
    Path(args.out).write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
