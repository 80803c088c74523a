#!/usr/bin/env bash
# Install everything the grader and its tests need on a fresh machine (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# bubblewrap isolates student code; without it the grader falls back to reduced isolation.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing bubblewrap"
    apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "setup: warning: bubblewrap (bwrap) is missing and cannot be installed here (needs root and apt-get);" \
         "student code will run with reduced isolation" >&2
  fi
fi

# Chromium (Debian's package, headless) renders the HTML reports in the browser tests; they skip without it.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium"
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  else
    echo "setup: warning: chromium is missing and cannot be installed here (needs root and apt-get);" \
         "the browser tests of the HTML reports will be skipped" >&2
  fi
fi

# PyTorch: a plain `pip install torch` pulls a multi-GB CUDA build; take the CPU build 2.13.0 when
# no torch is installed yet (any installed torch >= 2.2 is kept).
if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
  echo "setup: installing torch==2.13.0"
  "$PYTHON" -m pip install -q torch==2.13.0
fi

"$PYTHON" -m pip install -q -e ".[test,ray]" 2>&1 | grep -v -E "^WARNING: (Running pip as|Location)" || true
"$PYTHON" -c "import grader, numpy, torch, yaml, jinja2, pydantic" 
echo "setup: ok ($("$PYTHON" --version), torch $("$PYTHON" -c 'import torch; print(torch.__version__)'))"
