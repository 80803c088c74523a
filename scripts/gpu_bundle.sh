#!/usr/bin/env bash
# Prepare, on a machine that reaches the package registries, what scripts/gpu_check.sh needs on a GPU
# machine that reaches none: the grader's Python dependencies as wheels for that machine's Python, and
# Debian's bubblewrap package. Writes gpu-bundle/ (git-ignored; about 21 MB), which gpu_check.sh installs
# from when it finds it in the checkout.
#
#   bash scripts/gpu_bundle.sh                  # wheels for CPython 3.12 on x86-64 Linux
#   GPU_PYTHON=3.11 bash scripts/gpu_bundle.sh  # another Python on the GPU machine
#
# torch is left out: the GPU machine brings its own CUDA build. A dependency that is already installed
# there in a fitting version is kept; the wheels are only the fallback.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
GPU_PYTHON="${GPU_PYTHON:-3.12}"
BUNDLE="${BUNDLE:-gpu-bundle}"
# pyproject.toml's dependencies and test extra, torch left out
REQUIREMENTS=$("$PYTHON" -c 'import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = project["dependencies"] + project["optional-dependencies"]["test"]
print(" ".join(r for r in wanted if not r.startswith("torch")))')

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/wheels" "$BUNDLE/debs"
# pip matches each manylinux tag exactly: list the common ones so that every dependency finds a wheel.
platforms=()
for tag in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
           manylinux_2_5_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$tag")
done
# shellcheck disable=SC2086  # REQUIREMENTS is a list of words
"$PYTHON" -m pip download -q --only-binary=:all: --python-version "$GPU_PYTHON" --implementation cp \
  "${platforms[@]}" -d "$BUNDLE/wheels" $REQUIREMENTS
echo "$REQUIREMENTS" > "$BUNDLE/requirements.txt"
echo "$GPU_PYTHON" > "$BUNDLE/python-version.txt"

# bubblewrap from Debian's archive; gpu_check.sh unpacks it (no install) when the machine lacks bwrap.
(cd "$BUNDLE/debs" && apt-get download bubblewrap >/dev/null 2>&1) || {
  apt-get update -qq >/dev/null && (cd "$BUNDLE/debs" && apt-get download bubblewrap >/dev/null)
}

echo "gpu_bundle: $BUNDLE/ for CPython $GPU_PYTHON: $(ls "$BUNDLE/wheels" | wc -l) wheels," \
     "$(ls "$BUNDLE/debs")," "$(du -sh "$BUNDLE" | cut -f1)"
