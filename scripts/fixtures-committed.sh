#!/usr/bin/env bash
# Copies tiny random models committed under a folder of tests/fixtures/ (one model per
# subfolder, in the Hub layout) into the mirror folder as lantern-fixtures/<name>, with the Hub's
# default `.gitattributes` added (scripts/hub-model.gitattributes), so `model.safetensors` is
# served as an LFS file like on the Hub. The `.gitattributes` is written here and not committed
# beside the models: in this repository it would put them under Git LFS. Used for
#   tests/fixtures/text-classification/  (scripts/reference-text-classification.sh makes them)
#   tests/fixtures/text2text/            (scripts/reference-text2text.sh makes them)
# No network.
#
# Usage: scripts/fixtures-committed.sh SRC_DIR [MIRROR_DIR]   (default: target/fixtures/mirror)
# Idempotent: a stamp per repo records the sha256 of the committed files; a second run only
# hashes them (a few hundred kB).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 1 || ! -d "$1" ]]; then
  echo "usage: $0 SRC_DIR [MIRROR_DIR]   (SRC_DIR: e.g. tests/fixtures/text2text)" >&2
  exit 2
fi
src=${1%/}
mirror=${2:-target/fixtures/mirror}
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
  cp scripts/hub-model.gitattributes "$tmp/.gitattributes"
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp" "$dest"
  mkdir -p "$(dirname "$stamp")"
  echo "$want" >"$stamp"
  echo "fixtures: $repo ready ($(du -sh "$dest" | cut -f1))"
done
