"""Tiny randomly initialised vision models at real transformers architectures, and the golden
outputs of transformers' pipelines and raw model outputs on scikit-image's chelsea and coffee.

Writes:
- tests/fixtures/vision/<name>/: model.safetensors, config.json, preprocessor_config.json
  (save_pretrained of the model and of its PIL-based image processor), README.md:
    tiny-vit-classification      ViTForImageClassification, 64x64 input, patch 16, hidden 32, 2 layers
    tiny-resnet-classification   ResNetForImageClassification, embedding 16, hidden [16, 32], depths [1, 1]
    tiny-detr-resnet             DetrForObjectDetection with a tiny ResNet backbone (not timm), 10 queries, d_model 32
    tiny-yolos                   YolosForObjectDetection, patch 16, hidden 16, 2 layers, 10 detection tokens
- crates/lantern-pipelines/tests/data/vision_models.golden.json: per model and image, the
  pipeline's output (image-classification: all labels with scores; object-detection with
  threshold 0: every query's best label, score and box in pixels of the original image), and
  the raw outputs (logits; pred_boxes) as shape, sum, abs sum and the leading values.
The images come from the fixture mirror (lantern-fixtures/vision-samples). Fixed seeds; the
pipelines are given the PIL-based processors explicitly (not the torchvision "fast" ones).

Run by scripts/reference-vision.sh (pinned venv). Never run by CI.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import (ConvNextImageProcessor, DetrConfig, DetrForObjectDetection, DetrImageProcessor,
                          ResNetConfig, ResNetForImageClassification, ViTConfig, ViTForImageClassification,
                          ViTImageProcessor, YolosConfig, YolosForObjectDetection, YolosImageProcessor, pipeline)
from transformers.image_utils import load_image

CLASSES = ["cat", "cup", "saucer", "spoon", "window"]
DET_CLASSES = ["cat", "cup", "saucer", "spoon"]


def labels(names):
    return {i: n for i, n in enumerate(names)}, {n: i for i, n in enumerate(names)}


def models():
    id2label, label2id = labels(CLASSES)
    did2label, dlabel2id = labels(DET_CLASSES)
    torch.manual_seed(1)
    vit = ViTForImageClassification(ViTConfig(
        image_size=64, patch_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, num_labels=len(CLASSES), id2label=id2label, label2id=label2id,
        initializer_range=0.2))
    vit_proc = ViTImageProcessor(size={"height": 64, "width": 64})
    torch.manual_seed(2)
    resnet = ResNetForImageClassification(ResNetConfig(
        embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1], layer_type="bottleneck",
        num_labels=len(CLASSES), id2label=id2label, label2id=label2id))
    resnet_proc = ConvNextImageProcessor(size={"shortest_edge": 64}, crop_pct=0.875, resample=3,
                                         image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    torch.manual_seed(3)
    backbone = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 16, 24], depths=[1, 1, 1, 1],
                            layer_type="basic", out_features=["stage4"])
    detr = DetrForObjectDetection(DetrConfig(
        use_timm_backbone=False, backbone=None, backbone_config=backbone, use_pretrained_backbone=False,
        num_queries=10, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_labels=len(DET_CLASSES),
        id2label=did2label, label2id=dlabel2id, init_std=0.2))
    detr_proc = DetrImageProcessor(size={"shortest_edge": 96, "longest_edge": 128})
    torch.manual_seed(4)
    yolos = YolosForObjectDetection(YolosConfig(
        image_size=[64, 96], patch_size=16, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, num_detection_tokens=10, num_labels=len(DET_CLASSES), id2label=did2label,
        label2id=dlabel2id, initializer_range=0.2))
    # The [CLS] and detection tokens and position embeddings start as zeros: random values make
    # the ten detections differ.
    with torch.no_grad():
        for p in (yolos.vit.embeddings.cls_token, yolos.vit.embeddings.detection_tokens,
                  yolos.vit.embeddings.position_embeddings):
            p.normal_(0.0, 0.5)
    yolos_proc = YolosImageProcessor(size={"shortest_edge": 64, "longest_edge": 96})
    return {
        "tiny-vit-classification": ("image-classification", vit, vit_proc),
        "tiny-resnet-classification": ("image-classification", resnet, resnet_proc),
        "tiny-detr-resnet": ("object-detection", detr, detr_proc),
        "tiny-yolos": ("object-detection", yolos, yolos_proc),
    }


def summary(t):
    a = t.detach().double().numpy()
    return {"shape": list(a.shape), "sum": float(a.sum()), "abs_sum": float(np.abs(a).sum()),
            "first": [float(v) for v in a.reshape(-1)[:24]]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", default="target/fixtures/mirror")
    ap.add_argument("--fixtures", default="tests/fixtures/vision")
    ap.add_argument("--golden", default="crates/lantern-pipelines/tests/data/vision_models.golden.json")
    args = ap.parse_args()
    samples = Path(args.mirror) / "lantern-fixtures/vision-samples"
    images = {n: load_image(str(samples / n)) for n in ["chelsea.png", "coffee.png"]}
    golden = {"versions": {"transformers": transformers.__version__, "torch": torch.__version__}, "models": {}}
    for name, (task, model, proc) in models().items():
        out = Path(args.fixtures) / name
        out.mkdir(parents=True, exist_ok=True)
        model.eval()
        model.save_pretrained(out, safe_serialization=True)
        proc.save_pretrained(out)
        (out / "README.md").write_text(
            f"---\nlicense: apache-2.0\npipeline_tag: {task}\nlibrary_name: transformers\ntags:\n- lantern-fixture\n---\n\n"
            f"# {name}\n\nA tiny, randomly initialised `{type(model).__name__}` made by "
            "scripts/reference/vision_models.py (fixed seed) to test Lantern against transformers. "
            "Its outputs mean nothing.\n")
        pipe = pipeline(task, model=str(out), image_processor=type(proc).from_pretrained(str(out)), device="cpu")
        entry = {"task": task, "cases": []}
        for img_name, image in images.items():
            with torch.no_grad():
                if task == "image-classification":
                    result = pipe(image, top_k=len(CLASSES))
                else:
                    result = pipe(image, threshold=0.0)
                inputs = pipe.image_processor(image, return_tensors="pt")
                raw = model(**inputs)
            case = {"image": img_name, "pipeline": result, "pixel_values_shape": list(inputs["pixel_values"].shape),
                    "logits": summary(raw.logits)}
            if task == "object-detection":
                case["pred_boxes"] = summary(raw.pred_boxes)
            entry["cases"].append(case)
        golden["models"][name] = entry
        size = sum(f.stat().st_size for f in out.iterdir())
        print(name, f"{size / 1024:.0f} KiB", [c["pipeline"][:2] for c in entry["cases"]])
    Path(args.golden).write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
