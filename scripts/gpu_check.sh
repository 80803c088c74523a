#!/usr/bin/env bash
# The GPU checks of timed training (regularized-ae), as one short run on a machine with an NVIDIA GPU.
#
#   bash scripts/gpu_check.sh            # logs in $OUT (default reports/gpu-check)
#
# Needs a CUDA build of torch already installed there (it is never downloaded here). A machine without
# network access gets the rest from gpu-bundle/, made beforehand by scripts/gpu_bundle.sh on a machine
# with access and copied into this checkout: the grader's other dependencies are installed from its
# wheels when missing, and its bubblewrap package is unpacked (not installed) when bwrap is missing.
# Runs, each step with its own time limit (seconds; the variables in brackets change them), 660 s at most
# (600 s with SKIP=cuda):
#   setup.txt    what was installed or unpacked from the bundle                            (30 s)
#   machine.txt  GPU nodes, bubblewrap, Python, torch and CUDA, a product on the GPU outside any sandbox
#   doctor.txt   `grader doctor`: does CUDA work in the sandbox, and in a warm worker; if not why (40 s)
#   cuda.txt     the CUDA probe in a plain child process, in bubblewrap without a memory limit to speak
#                of, and in bubblewrap with regularized-ae's limits: which of them breaks CUDA  (60 s)
#   pytest.txt   first the tests that matter most here: what libraries need in every sandbox, the
#                gpu-marked test (a submission graded on the GPU in warm workers that see it and in a
#                fresh sandbox), the reference graded repeatedly within its budget (120 s, PRIORITY_SECONDS)
#   bench.txt    bench/bench_training.py --repeat 2: time-to-target, steps/s, grading time per submission
#                with warm workers and with a fresh sandbox (one costs about 9 s on an H200), on each
#                device                                                           (200 s, BENCH_SECONDS)
#   pytest.txt   then the GPU-access, venv and other regularized-ae tests (every sample graded on the GPU,
#                GRADER_TEST_JOBS=8 workers), appended (more than 118 s on an H200 with fresh sandboxes)
#                                                                                 (150 s, REST_SECONDS)
# SKIP names steps to leave out (doctor, cuda, priority, bench, tests), e.g. SKIP="doctor cuda" on a rerun.
# A pytest step that runs out of time is interrupted (SIGINT), so its log still lists the failures so far.
# Exits non-zero when tests fail.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
OUT="${OUT:-reports/gpu-check}"
BUNDLE="${BUNDLE:-gpu-bundle}"
SKIP=" ${SKIP:-} "
mkdir -p "$OUT"
wants() { [[ "$SKIP" != *" $1 "* ]]; }
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

{
  if [ -f "$BUNDLE/requirements.txt" ]; then
    read -r -a requirements < "$BUNDLE/requirements.txt"
    made_for=$(cat "$BUNDLE/python-version.txt" 2>/dev/null || echo unknown)
    here=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    [ "$made_for" = "$here" ] || echo "warning: $BUNDLE/ holds wheels for Python $made_for, this is Python $here:" \
      "make it again with GPU_PYTHON=$here bash scripts/gpu_bundle.sh"
    echo "installing what is missing of: ${requirements[*]} (from $BUNDLE/wheels)"
    if ! timeout 30 "$PYTHON" -m pip install -q --no-index --find-links "$BUNDLE/wheels" "${requirements[@]}"; then
      # the interpreter's folders may be read-only: put the missing ones beside the checkout instead
      missing=$("$PYTHON" -c '
import sys
from importlib import metadata
for req in sys.argv[1:]:
    name = req.split(">")[0].split("=")[0]
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        print(req)' "${requirements[@]}")
      # shellcheck disable=SC2086  # one requirement per word
      [ -z "$missing" ] || "$PYTHON" -m pip install -q --no-index --find-links "$BUNDLE/wheels" \
        --target "$PWD/$BUNDLE/site" $missing && export PYTHONPATH="$PYTHONPATH:$PWD/$BUNDLE/site"
    fi
  fi
  if ! command -v bwrap >/dev/null 2>&1; then
    for deb in "$BUNDLE"/debs/bubblewrap_*.deb; do
      [ -f "$deb" ] || continue
      command -v dpkg >/dev/null 2>&1 || { echo "cannot unpack $deb: no dpkg here"; continue; }
      rm -rf "$BUNDLE/root" && dpkg -x "$deb" "$BUNDLE/root" && export PATH="$PWD/$BUNDLE/root/usr/bin:$PATH" \
        && echo "bwrap unpacked from $deb"
    done
  fi
} > "$OUT/setup.txt" 2>&1
cat "$OUT/setup.txt"

{
  date -u
  uname -a
  nvidia-smi -L 2>&1 || echo "nvidia-smi: not found"
  ls -l /dev/nvidia* 2>&1
  if command -v bwrap; then bwrap --version 2>&1; else
    echo "bwrap: not found (the grader falls back to reduced isolation)"; fi
  "$PYTHON" -c "import sys, torch; print('python', sys.version.split()[0], sys.executable); print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
  "$PYTHON" -c "import numpy, yaml, jinja2, pydantic, pytest; print('numpy', numpy.__version__, 'pydantic', pydantic.VERSION, 'pytest', pytest.__version__)"
  timeout 60 "$PYTHON" -c "
import torch
if torch.cuda.is_available():
    ones = torch.ones((64, 64), dtype=torch.float64, device='cuda')
    print('outside any sandbox:', torch.cuda.get_device_name(0), 'computes', (ones @ ones).sum().item(), '(expected 262144.0)')"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

if wants doctor; then
  timeout 40 "$PYTHON" -m grader doctor --assignment problems/autoencoders > "$OUT/doctor.txt" 2>&1
  cat "$OUT/doctor.txt"
fi

wants cuda && timeout 60 "$PYTHON" - > "$OUT/cuda.txt" 2>&1 <<'PY'
from dataclasses import replace

from grader.sandbox import gpu, gpu_devices, isolation
from grader.spec import load_assignment

limits = next(p for p in load_assignment("problems/autoencoders").problems if p.id == "regularized-ae").limits
folders = gpu_devices.driver_folders()
print("device nodes:", gpu_devices.devices(), "| driver library folders:", folders)
print("bubblewrap adds:", " ".join(gpu_devices.bwrap_args()), "| environment:", gpu_devices.sandbox_env(folders))
for label, wanted, mode in (("plain child process, regularized-ae's limits", limits, "process"),
                            ("bubblewrap, 1 TB memory limit", replace(limits, memory_mb=1 << 20), "bwrap"),
                            ("bubblewrap, regularized-ae's limits", limits, "bwrap")):
    try:
        print(f"{label}: {gpu.probe(wanted, mode).describe()}", flush=True)
    except isolation.SandboxUnavailable as exc:
        print(f"{label}: {exc}", flush=True)
PY
wants cuda && cat "$OUT/cuda.txt"

FIRST=(tests/test_regularized_ae.py::test_training_runs_on_the_gpu_when_there_is_one
       tests/test_regularized_ae.py::test_the_reference_never_misses_its_budget_and_a_wrong_setup_never_passes)
status=0
pytest_step() {  # seconds, then pytest's arguments; appends to pytest.txt
  local seconds=$1
  shift
  GRADER_TEST_JOBS=8 timeout -s INT -k 30 "$seconds" "$PYTHON" -m pytest -v --tb=short -rfEs \
    -p no:cacheprovider --durations=10 "$@" >> "$OUT/pytest.txt" 2>&1 || status=1
}
if wants priority; then
  pytest_step "${PRIORITY_SECONDS:-120}" tests/test_sandbox_identity.py "${FIRST[@]}"
  tail -25 "$OUT/pytest.txt"
fi

if wants bench; then
  timeout "${BENCH_SECONDS:-200}" "$PYTHON" bench/bench_training.py --repeat 2 > "$OUT/bench.txt" 2>&1
  tail -30 "$OUT/bench.txt"
fi

if wants tests; then
  deselect=()
  for test in "${FIRST[@]}"; do deselect+=(--deselect "$test"); done  # they ran above
  pytest_step "${REST_SECONDS:-150}" tests/test_gpu_access.py tests/test_venv.py tests/test_regularized_ae.py \
    "${deselect[@]}"
  tail -40 "$OUT/pytest.txt"
fi
exit $status
