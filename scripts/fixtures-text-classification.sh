#!/usr/bin/env bash
# Copies the tiny random text-classification models committed under
# tests/fixtures/text-classification/ (made by scripts/reference-text-classification.sh; see the
# header of scripts/reference/text_classification.py) into the mirror folder as
# lantern-fixtures/<name>, with the Hub's default `.gitattributes` added, so `model.safetensors`
# is served as an LFS file like on the Hub. The `.gitattributes` is written here and not
# committed beside the models: in this repository it would put them under Git LFS.
# No network.
#
# Usage: scripts/fixtures-text-classification.sh [MIRROR_DIR]   (default: target/fixtures/mirror)
# Idempotent: a stamp per repo records the sha256 of the committed files; a second run only
# hashes them (a few hundred kB).
set -euo pipefail
cd "$(dirname "$0")/.."

mirror=${1:-target/fixtures/mirror}
src=tests/fixtures/text-classification
# Bump when what is written besides the committed files changes.
recipe=1

for dir in "$src"/*/; do
  name=$(basename "$dir")
  repo=lantern-fixtures/$name
  dest=$mirror/$repo
  stamp=$mirror/.stamps/${repo//\//--}
  want="$( (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1) recipe=$recipe"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$dest/model.safetensors" ]]; then
    echo "fixtures: $repo up to date"
    continue
  fi
  tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cp -R "$dir". "$tmp"/
  # The default `.gitattributes` of a new Hub model repo.
  cat >"$tmp/.gitattributes" <<'ATTR'
*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
ATTR
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp" "$dest"
  mkdir -p "$(dirname "$stamp")"
  echo "$want" >"$stamp"
  echo "fixtures: $repo ready ($(du -sh "$dest" | cut -f1))"
done
