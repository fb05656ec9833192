"""DETR with a timm ResNet backbone (`use_timm_backbone: true`, as the Hub's
facebook/detr-resnet-50 and -101 are): tiny random fixtures, their goldens, and the tensor
names and shapes of the real architectures.

Writes:
- tests/fixtures/vision/<name>/: model.safetensors, config.json, preprocessor_config.json,
  README.md (save_pretrained of the model and of its PIL-based DetrImageProcessor):
    tiny-detr-timm-resnet50   timm `resnet50` (Bottleneck) shrunk by backbone_kwargs to
                              layers [2, 1, 1, 1], channels [2, 4, 4, 8]
    tiny-detr-timm-resnet18   timm `resnet18` (BasicBlock) shrunk to layers [2, 1, 1, 1],
                              channels [8, 8, 16, 16]
  (transformers passes `backbone_kwargs` to timm's create_model; the stem stays timm's
  64-channel 7x7 convolution). 10 queries, d_model 32, 1 + 1 layers. The frozen BatchNorms'
  statistics and affine parameters are randomised: timm initialises the last BatchNorm of
  every block to zero, which would leave the residual branches out of the test.
- crates/lantern-pipelines/tests/data/vision_detr_timm.golden.json: as vision_models.py's
  goldens (transformers' object-detection pipeline with threshold 0, raw logits and
  pred_boxes summarised) on scikit-image's chelsea and coffee.
- crates/lantern-models/tests/data/detr_timm_tensors.json: the name and shape of every tensor of DetrForObjectDetection at transformers' default DetrConfig
  (timm resnet50, 100 queries, d_model 256, 6 + 6 layers: the architecture of
  facebook/detr-resnet-50, with its 91 COCO labels) and with backbone "resnet101"
  (facebook/detr-resnet-101), with the config.json that save_pretrained writes for them. The
  Hub's files were converted into these modules (transformers'
  convert_detr_original_pytorch_checkpoint_to_pytorch.py loads them with a strict
  load_state_dict), so their names are these; no download, no pretrained weights.

Run by scripts/reference-vision.sh (pinned venv, with timm). Never run by CI.
"""

import argparse
import json
import sys
from pathlib import Path

import timm
import torch
import transformers
from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, pipeline
from transformers.image_utils import load_image
from transformers.models.detr.modeling_detr import DetrFrozenBatchNorm2d

sys.path.insert(0, str(Path(__file__).parent))
from vision_models import DET_CLASSES, labels, summary  # noqa: E402

TINY = {
    "tiny-detr-timm-resnet50": ("resnet50", {"layers": [2, 1, 1, 1], "channels": [2, 4, 4, 8]}, 5),
    "tiny-detr-timm-resnet18": ("resnet18", {"layers": [2, 1, 1, 1], "channels": [8, 8, 16, 16]}, 6),
}


def tiny(backbone, kwargs, seed):
    id2label, label2id = labels(DET_CLASSES)
    torch.manual_seed(seed)
    model = DetrForObjectDetection(DetrConfig(
        use_timm_backbone=True, backbone=backbone, use_pretrained_backbone=False,
        backbone_kwargs={**kwargs, "out_indices": [1, 2, 3, 4], "in_chans": 3},
        num_queries=10, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_labels=len(DET_CLASSES),
        id2label=id2label, label2id=label2id, init_std=0.2))
    with torch.no_grad():
        for m in model.model.backbone.modules():
            if isinstance(m, DetrFrozenBatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def architecture(backbone):
    config = DetrConfig(use_pretrained_backbone=False, backbone=backbone, num_labels=91)
    model = DetrForObjectDetection(config)
    return {"config": json.loads(config.to_json_string()),
            "tensors": [[k, list(v.shape)] for k, v in model.state_dict().items()]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", default="target/fixtures/mirror")
    ap.add_argument("--fixtures", default="tests/fixtures/vision")
    ap.add_argument("--golden", default="crates/lantern-pipelines/tests/data/vision_detr_timm.golden.json")
    ap.add_argument("--tensors", default="crates/lantern-models/tests/data/detr_timm_tensors.json")
    args = ap.parse_args()
    samples = Path(args.mirror) / "lantern-fixtures/vision-samples"
    images = {n: load_image(str(samples / n)) for n in ["chelsea.png", "coffee.png"]}
    golden = {"versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                           "timm": timm.__version__}, "models": {}}
    for name, (backbone, kwargs, seed) in TINY.items():
        model = tiny(backbone, kwargs, seed)
        proc = DetrImageProcessor(size={"shortest_edge": 96, "longest_edge": 128})
        out = Path(args.fixtures) / name
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out, safe_serialization=True)
        proc.save_pretrained(out)
        (out / "README.md").write_text(
            "---\nlicense: apache-2.0\npipeline_tag: object-detection\nlibrary_name: transformers\ntags:\n"
            f"- lantern-fixture\n---\n\n# {name}\n\nA tiny, randomly initialised `DetrForObjectDetection` "
            f"with a timm `{backbone}` backbone (use_timm_backbone, shrunk by backbone_kwargs) made by "
            "scripts/reference/vision_detr_timm.py (fixed seed) to test Lantern against transformers. "
            "Its outputs mean nothing.\n")
        pipe = pipeline("object-detection", model=str(out), image_processor=DetrImageProcessor.from_pretrained(str(out)),
                        device="cpu")
        entry = {"task": "object-detection", "cases": []}
        for img_name, image in images.items():
            with torch.no_grad():
                result = pipe(image, threshold=0.0)
                inputs = pipe.image_processor(image, return_tensors="pt")
                raw = pipe.model(**inputs)
            entry["cases"].append({"image": img_name, "pipeline": result,
                                   "pixel_values_shape": list(inputs["pixel_values"].shape),
                                   "logits": summary(raw.logits), "pred_boxes": summary(raw.pred_boxes)})
        golden["models"][name] = entry
        size = sum(f.stat().st_size for f in out.iterdir())
        print(name, f"{size / 1024:.0f} KiB", [c["pipeline"][:2] for c in entry["cases"]],
              [c["logits"]["first"][:3] for c in entry["cases"]])
    Path(args.golden).write_text(json.dumps(golden, indent=1) + "\n")
    # One tensor a line: 1300 of them.
    lines = []
    for name, backbone in [("detr-resnet-50", "resnet50"), ("detr-resnet-101", "resnet101")]:
        arch = architecture(backbone)
        print(name, len(arch["tensors"]), "tensors")
        rows = ",\n".join(json.dumps(t) for t in arch["tensors"])
        lines.append(f'{json.dumps(name)}: {{"config": {json.dumps(arch["config"], sort_keys=True)},\n'
                     f'"tensors": [\n{rows}]}}')
    Path(args.tensors).write_text("{" + ",\n".join(lines) + "}\n")


if __name__ == "__main__":
    main()
