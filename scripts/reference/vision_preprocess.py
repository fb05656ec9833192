"""Golden outputs of transformers' image processors (the PIL-based classes) and of its image
loading, for crates/lantern-vision's tests.

Writes, under --out (crates/lantern-vision/tests/data):
- images/*: small synthetic images made here with Pillow and a fixed NumPy seed: odd sizes,
  grey, alpha, palette GIF, BMP, lossless WebP, 16-bit grey, 1x1, an EXIF-rotated JPEG and PNG,
  a CMYK and a grey JPEG. For the JPEGs, images/NAME.pil.png holds what PIL decodes (after
  `load_image`), so the preprocessing goldens compare Lantern and transformers on the same
  pixels and the JPEG decoders are compared separately (libjpeg-turbo vs zune-jpeg).
- decode.golden.json: for each image, what transformers.image_utils.load_image gives (PIL opens
  it, applies the EXIF orientation, converts to RGB): size, sha256 and sum of the RGB bytes.
- preprocess.golden.json: for each (image, processor) case: the processor's configuration (as
  `to_json_string` writes it), pixel_values' shape, the sha256 of its float32 little-endian
  bytes, sum, min, max, 16 sampled values, and DETR's pixel mask sum.
scikit-image's chelsea.png and coffee.png are read from the fixture mirror
(lantern-fixtures/vision-samples, scripts/fixtures-vision.sh), not committed.

Run by scripts/reference-vision.sh (pinned venv). Never run by CI.
"""

import argparse
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import PIL
import transformers
from PIL import Image
from transformers import (CLIPImageProcessor, ConvNextImageProcessor, DeiTImageProcessor,
                          DetrImageProcessor, ViTImageProcessor, YolosImageProcessor)
from transformers.image_utils import load_image

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def processors():
    p = {
        "vit_64_bilinear": ViTImageProcessor(size={"height": 64, "width": 64}),
        "convnext_224": ConvNextImageProcessor(size={"shortest_edge": 224}, crop_pct=0.875, resample=3,
                                               image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD),
        "convnext_384": ConvNextImageProcessor(size={"shortest_edge": 384}, resample=2),
        "lite0_clip": CLIPImageProcessor(size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224},
                                         resample=3, image_mean=[127 / 255] * 3, image_std=[128 / 255] * 3),
        "deit_256_224": DeiTImageProcessor(),
        "detr_800_1333": DetrImageProcessor(),
        "detr_96_128": DetrImageProcessor(size={"shortest_edge": 96, "longest_edge": 128}),
        "detr_max_hw": DetrImageProcessor(size={"max_height": 100, "max_width": 70}),
        "yolos_512_1333": YolosImageProcessor(size={"shortest_edge": 512, "longest_edge": 1333}),
        "yolos_96_128": YolosImageProcessor(size={"shortest_edge": 96, "longest_edge": 128}),
    }
    for name, code in [("nearest", 0), ("lanczos", 1), ("bicubic", 3), ("box", 4), ("hamming", 5)]:
        p[f"vit_48x40_{name}"] = ViTImageProcessor(size={"height": 48, "width": 40}, resample=code)
    p["vit_upscale_bicubic"] = ViTImageProcessor(size={"height": 97, "width": 131}, resample=3)
    return p


SMALL = ["vit_64_bilinear", "vit_48x40_bicubic", "vit_48x40_nearest", "lite0_clip", "convnext_224",
         "detr_96_128", "yolos_96_128", "vit_upscale_bicubic"]


def synthetic(out):
    rng = np.random.default_rng(20261206)
    out.mkdir(parents=True, exist_ok=True)

    def texture(h, w, c):
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([(x * 255 / max(w - 1, 1)), (y * 255 / max(h - 1, 1)), ((x + y) * 97 % 256)], -1)[..., :c]
        noise = rng.integers(-60, 61, size=(h, w, c))
        return np.clip(base + noise, 0, 255).astype(np.uint8)

    files = {}
    Image.fromarray(texture(23, 37, 3)).save(out / "odd.png")
    Image.fromarray(texture(41, 29, 1)[..., 0], "L").save(out / "grey.png")
    rgba = np.concatenate([texture(17, 33, 3), rng.integers(0, 256, size=(17, 33, 1), dtype=np.uint8)], -1)
    rgba[0, :, 3] = 0
    Image.fromarray(rgba, "RGBA").save(out / "alpha.png")
    Image.fromarray(texture(19, 31, 3)).convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(out / "palette.gif")
    Image.fromarray(texture(11, 19, 3)).save(out / "image.bmp")
    Image.fromarray(texture(19, 27, 3)).save(out / "lossless.webp", lossless=True)
    grey16 = (texture(9, 13, 1)[..., 0].astype(np.uint16) * 257 + rng.integers(0, 200, size=(9, 13))).astype(np.uint16)
    Image.fromarray(grey16, "I;16").save(out / "grey16.png")
    Image.fromarray(np.array([[[200, 30, 90]]], dtype=np.uint8)).save(out / "one.png")
    photo = texture(24, 40, 3)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(photo).save(out / "exif6.jpg", quality=95, exif=exif.tobytes())
    exif8 = Image.Exif()
    exif8[0x0112] = 8
    Image.fromarray(texture(15, 26, 3)).save(out / "exif8.png", exif=exif8.tobytes())
    Image.fromarray(texture(16, 24, 3)).convert("CMYK").save(out / "cmyk.jpg", quality=95)
    Image.fromarray(texture(21, 30, 1)[..., 0], "L").save(out / "grey.jpg", quality=90)
    for jpg in ["exif6.jpg", "cmyk.jpg", "grey.jpg"]:
        load_image(str(out / jpg)).save(out / (jpg + ".pil.png"))
    return sorted(p.name for p in out.iterdir())


def f32_summary(pv, rng_seed):
    pv = np.ascontiguousarray(pv, dtype=np.float32)
    flat = pv.reshape(-1)
    rng = np.random.default_rng(rng_seed)
    idx = np.sort(rng.choice(flat.size, size=min(16, flat.size), replace=False))
    return {
        "shape": list(pv.shape),
        "sha256": hashlib.sha256(pv.astype("<f4").tobytes()).hexdigest(),
        "sum": float(flat.astype(np.float64).sum()),
        "min": float(flat.min()),
        "max": float(flat.max()),
        "samples": [[int(i), float(flat[i])] for i in idx],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", default="target/fixtures/mirror")
    ap.add_argument("--out", default="crates/lantern-vision/tests/data")
    args = ap.parse_args()
    out = Path(args.out)
    images_dir = out / "images"
    names = synthetic(images_dir)
    samples = Path(args.mirror) / "lantern-fixtures/vision-samples"

    decode = []
    for name in names:
        if name.endswith(".pil.png"):
            continue
        im = load_image(str(images_dir / name))
        rgb = np.asarray(im, dtype=np.uint8)
        decode.append({"file": name, "width": im.width, "height": im.height,
                       "rgb_sha256": hashlib.sha256(rgb.tobytes()).hexdigest(), "rgb_sum": int(rgb.astype(np.int64).sum())})
    for name in ["chelsea.png", "coffee.png"]:
        im = load_image(str(samples / name))
        rgb = np.asarray(im, dtype=np.uint8)
        decode.append({"file": "mirror:" + name, "width": im.width, "height": im.height,
                       "rgb_sha256": hashlib.sha256(rgb.tobytes()).hexdigest(), "rgb_sum": int(rgb.astype(np.int64).sum())})

    procs = processors()
    cases = []
    inputs = [("mirror:chelsea.png", samples / "chelsea.png", list(procs)),
              ("mirror:coffee.png", samples / "coffee.png", list(procs))]
    for name in names:
        if name.endswith(".jpg"):
            continue  # preprocessed from NAME.pil.png: the same pixels for both sides
        inputs.append((name, images_dir / name, SMALL))
    seed = 0
    for label, path, keys in inputs:
        image = load_image(str(path))
        for key in keys:
            proc = procs[key]
            if label == "grey16.png":
                continue  # PIL clips 16-bit grey to 255 (Lantern keeps the high byte): no golden
            # Stated, because transformers guesses the channel axis and takes a 1x1 RGB image
            # (shape 1x1x3) for channels-first.
            res = proc(image, return_tensors="np", input_data_format="channels_last")
            case = {"image": label, "processor": key, "original_size": [image.height, image.width]}
            case.update(f32_summary(res["pixel_values"][0], seed))
            if "pixel_mask" in res:
                case["pixel_mask_sum"] = int(res["pixel_mask"].sum())
            cases.append(case)
            seed += 1
    configs = {k: json.loads(p.to_json_string()) for k, p in procs.items()}
    meta = {"transformers": transformers.__version__, "pillow": PIL.__version__, "numpy": np.__version__}
    (out / "decode.golden.json").write_text(json.dumps({"versions": meta, "images": decode}, indent=1) + "\n")
    (out / "preprocess.golden.json").write_text(
        json.dumps({"versions": meta, "processors": configs, "cases": cases}, separators=(",", ":")) + "\n")
    print(f"{len(decode)} decode goldens, {len(cases)} preprocessing cases")


if __name__ == "__main__":
    main()
