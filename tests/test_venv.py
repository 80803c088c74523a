"""The sandbox runs the grader's own interpreter: a virtual environment's packages are there too.

A venv's ``bin/python`` is a symlink to a base interpreter. Started by the symlink's target, Python does not
find the venv's ``pyvenv.cfg`` and imports from the base installation alone, so a torch installed only in
the venv (as on machines whose CUDA build of torch lives in a venv) would be missing in every sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from grader.sandbox import isolation

ROOT = Path(__file__).resolve().parents[1]
needs_bwrap = pytest.mark.skipif(isolation.bwrap_problem() is not None, reason="needs bubblewrap")

# Run by the venv's interpreter: grade one call in a fresh sandbox and one in a warm one.
GRADE = """
import json, sys
from dataclasses import replace
from grader.sandbox.pool import WarmPool
from grader.sandbox.runner import Call, run_calls
from grader.spec.loader import DEFAULT_LIMITS

SOURCE = '''
import sys
import venv_only

def where():
    return {"marker": venv_only.VALUE, "prefix": sys.prefix}
'''
calls = [Call("where", "where", ())]
seen = {}
fresh = run_calls(SOURCE, "solution.py", calls, DEFAULT_LIMITS, mode="bwrap")
seen["fresh"] = [fresh.calls["where"].status.value, fresh.calls["where"].value, fresh.calls["where"].message]
pool = WarmPool(1, [], DEFAULT_LIMITS.scratch_mb, DEFAULT_LIMITS.processes)
try:
    warm = run_calls(SOURCE, "solution.py", calls, DEFAULT_LIMITS, pool=pool)
    seen["warm"] = [warm.calls["where"].status.value, warm.calls["where"].value, warm.calls["where"].message]
finally:
    pool.close()
print("SEEN " + json.dumps(seen))
"""


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory) -> Path:
    """A venv over this interpreter (its packages visible) plus a module installed in the venv alone."""
    folder = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(folder)],
                   check=True)
    python = folder / "bin" / "python3"
    assert python.is_symlink()
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "venv_only.py").write_text("VALUE = 'from the venv'\n")
    return python


@needs_bwrap
@pytest.mark.slow
def test_sandboxes_see_the_packages_of_the_graders_venv(venv_python):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([str(venv_python), "-c", GRADE], capture_output=True, text=True, env=env, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("SEEN ")]
    assert done.returncode == 0 and lines, done.stdout + done.stderr
    seen = json.loads(lines[0][5:])
    venv_prefix = str(venv_python.parent.parent)
    for kind in ("fresh", "warm"):
        status, value, message = seen[kind]
        assert status == "passed", f"{kind}: {message}"
        assert value == {"marker": "from the venv", "prefix": venv_prefix}, kind


def test_a_venv_interpreter_is_started_by_its_own_path(tmp_path):
    launch = isolation.launch("bwrap", tmp_path, [], 1024, [])
    python = launch.argv[launch.argv.index("--") + 1]
    assert python == isolation.interpreter()
    assert os.path.isabs(python) and Path(python).samefile(sys.executable)
    # the real file behind it is bound too, so the symlink resolves inside the sandbox
    real = os.path.dirname(os.path.realpath(python))
    assert any(real == p or real.startswith(p + os.sep) for p in isolation.python_paths())
    assert sysconfig.get_paths()["purelib"].startswith(tuple(isolation.python_paths()))
