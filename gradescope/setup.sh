#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu), from the unpacked
# autograder.zip in /autograder/source. It installs Python >= 3.11, bubblewrap when the image allows it,
# PyTorch's CPU build and the grader into /autograder/venv.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VENV:-/autograder/venv}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"

apt-get install -y -qq bubblewrap >/dev/null 2>&1 \
  || echo "setup: bubblewrap not installed; student code will run with reduced isolation" >&2

PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 \
     && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY="$candidate"; break
  fi
done
if [ -z "$PY" ]; then
  apt-get install -y -qq python3.11 python3.11-venv >/dev/null
  PY=python3.11
fi
"$PY" -m venv "$VENV" 2>/dev/null || { apt-get install -y -qq "$(basename "$PY")-venv" >/dev/null; "$PY" -m venv "$VENV"; }

"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu
"$VENV/bin/pip" install -q .
secret=()
if [ -f course.secret ]; then  # per-student cases and questions: make_autograder.py --secret
  chmod 600 course.secret
  secret=(--secret course.secret)
fi
"$VENV/bin/grader" validate assignment --sandbox auto --no-samples ${secret[@]+"${secret[@]}"}
