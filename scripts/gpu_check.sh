#!/usr/bin/env bash
# The GPU checks of timed training (regularized-ae), as one short run on a machine with an NVIDIA GPU.
#
#   bash scripts/gpu_check.sh            # logs in $OUT (default reports/gpu-check)
#
# Needs a CUDA build of torch already installed there (it is never downloaded here). When the grader's
# other dependencies are missing and the machine has no network, put their wheels in wheels/ first
# (pip download -d wheels numpy pyyaml jinja2 pydantic pytest) and they are installed from there.
# Runs: what the machine has (GPU nodes, bubblewrap, torch and CUDA), `grader doctor` (does CUDA work in
# the sandbox, and if not why), the GPU-access tests and the regularized-ae tests with the
# gpu-marked one (every sample graded on the GPU, the reference graded repeatedly within its budget),
# and bench/bench_training.py, within 570 s in all. Exits non-zero when the tests fail.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
OUT="${OUT:-reports/gpu-check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

{
  date -u
  nvidia-smi -L 2>&1 || echo "nvidia-smi: not found"
  ls -l /dev/nvidia* 2>&1
  command -v bwrap || echo "bwrap: not found (the grader falls back to reduced isolation)"
  "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

if [ -d wheels ]; then
  "$PYTHON" -m pip install -q --no-index --find-links wheels numpy pyyaml jinja2 pydantic pytest > "$OUT/pip.txt" 2>&1
fi

timeout 40 "$PYTHON" -m grader doctor > "$OUT/doctor.txt" 2>&1
cat "$OUT/doctor.txt"

timeout 400 "$PYTHON" -m pytest -q -rs -p no:cacheprovider tests/test_gpu_access.py tests/test_regularized_ae.py \
  > "$OUT/pytest.txt" 2>&1
status=$?
tail -15 "$OUT/pytest.txt"

timeout 130 "$PYTHON" bench/bench_training.py --repeat 3 --skip-fresh > "$OUT/bench.txt" 2>&1
tail -30 "$OUT/bench.txt"
exit $status
