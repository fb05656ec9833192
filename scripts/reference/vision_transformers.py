"""Goldens for the parts of the vision transformers that the pipeline goldens
(vision_models.py) do not reach, from PyTorch / transformers:

- bicubic: torch.nn.functional.interpolate(mode="bicubic", align_corners=False) of small
  deterministic grids to larger, smaller and odd sizes (what YOLOS does to its position
  embeddings when the input's patch grid is not the training one; the pipeline's images are
  resized to exactly the training size, so there the interpolation is the identity).
- yolos_sizes: tests/fixtures/vision/tiny-yolos on synthetic pixel values at input sizes whose
  patch grid differs from the training grid (4 x 6), logits and pred_boxes summarised.
- detr_padded: tests/fixtures/vision/tiny-detr-resnet on synthetic pixels with a pixel mask
  that pads the bottom and right (zeros there, as DetrImageProcessor pads a batch): the mask's
  downsampling, the sine positions of a partial mask and the masked attention.

The synthetic pixels are `f32((i * 7919) % 255) / 127.5 - 1` for i over the flattened
3 x height x width tensor, which Rust computes bit for bit the same.

Writes crates/lantern-models/tests/data/vision_transformers.golden.json. Run by
scripts/reference-vision.sh (pinned venv). Never run by CI.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import DetrForObjectDetection, YolosForObjectDetection


def grid(channels, h, w):
    i = np.arange(channels * h * w, dtype=np.int64)
    return (((i * 7919) % 255).astype(np.float32) / np.float32(127.5) - np.float32(1.0)).reshape(channels, h, w)


def summary(t):
    a = t.detach().double().numpy()
    return {"shape": list(a.shape), "sum": float(a.sum()), "abs_sum": float(np.abs(a).sum()),
            "first": [float(v) for v in a.reshape(-1)[:24]]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default="tests/fixtures/vision")
    ap.add_argument("--out", default="crates/lantern-models/tests/data/vision_transformers.golden.json")
    args = ap.parse_args()
    golden = {"versions": {"transformers": transformers.__version__, "torch": torch.__version__},
              "bicubic": [], "yolos_sizes": [], "detr_padded": []}
    for (c, ih, iw), (oh, ow) in [((3, 4, 6), (5, 8)), ((3, 4, 6), (3, 4)), ((2, 2, 3), (7, 5)),
                                  ((2, 5, 5), (1, 9)), ((1, 4, 6), (13, 21))]:
        src = grid(c, ih, iw)
        out = torch.nn.functional.interpolate(torch.from_numpy(src)[None], size=(oh, ow), mode="bicubic",
                                              align_corners=False)[0]
        golden["bicubic"].append({"channels": c, "input": [ih, iw], "output": [oh, ow],
                                  "values": [float(v) for v in out.numpy().reshape(-1)]})
    model = YolosForObjectDetection.from_pretrained(str(Path(args.fixtures) / "tiny-yolos")).eval()
    for h, w in [(80, 128), (50, 70), (96, 64)]:
        pixels = torch.from_numpy(grid(3, h, w))[None]
        with torch.no_grad():
            out = model(pixel_values=pixels)
        golden["yolos_sizes"].append({"height": h, "width": w, "logits": summary(out.logits),
                                      "pred_boxes": summary(out.pred_boxes)})
    detr = DetrForObjectDetection.from_pretrained(str(Path(args.fixtures) / "tiny-detr-resnet")).eval()
    for (h, w), (rh, rw) in [((96, 128), (70, 101)), ((100, 90), (100, 47))]:
        pixels = grid(3, h, w)
        pixels[:, rh:, :] = 0
        pixels[:, :, rw:] = 0
        mask = np.zeros((h, w), dtype=np.int64)
        mask[:rh, :rw] = 1
        with torch.no_grad():
            out = detr(pixel_values=torch.from_numpy(pixels)[None], pixel_mask=torch.from_numpy(mask)[None])
        golden["detr_padded"].append({"height": h, "width": w, "real_height": rh, "real_width": rw,
                                      "logits": summary(out.logits), "pred_boxes": summary(out.pred_boxes)})
    Path(args.out).write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
