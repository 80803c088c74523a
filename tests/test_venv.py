"""The sandbox runs the grader's own interpreter: a virtual environment's packages are there too.

A venv's ``bin/python`` is a symlink to a base interpreter. Started by the symlink's target, Python does not
find the venv's ``pyvenv.cfg`` and imports from the base installation alone, so a torch installed only in
the venv (as on machines whose CUDA build of torch lives in a venv, or in Gradescope's /autograder/venv)
would be missing in every sandbox.
"""

from __future__ import annotations

import importlib.util
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

# Run by the venv's interpreter with a module's name: one call in a fresh sandbox, one in a warm one, each
# saying where that module and sys.prefix are inside the sandbox.
GRADE = """
import json, sys
from grader.sandbox.pool import WarmPool
from grader.sandbox.runner import Call, run_calls
from grader.spec.loader import DEFAULT_LIMITS

SOURCE = (f"import sys\\nimport {sys.argv[1]} as wanted\\n"
          "def where():\\n    return {'file': wanted.__file__, 'prefix': sys.prefix}\\n")
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
def venv_case(tmp_path_factory) -> tuple[Path, str, str]:
    """A venv's python, a module installed in that venv alone, and the module's file (resolved).

    Outside a venv: a new venv over this interpreter (its packages visible) and a module written into it.
    Inside one, a new venv would see the base installation's packages, not this venv's: this venv itself,
    with one of the grader's dependencies installed in it."""
    if sys.prefix != sys.base_prefix:
        prefix = os.path.realpath(sys.prefix)
        for name in ("numpy", "yaml", "jinja2", "pydantic"):
            origin = os.path.realpath(importlib.util.find_spec(name).origin)
            if origin.startswith(prefix + os.sep):
                return Path(sys.executable), name, origin
        pytest.skip("none of the grader's dependencies is installed in this venv itself")
    folder = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(folder)],
                   check=True)
    python = folder / "bin" / "python3"
    assert python.is_symlink()
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "venv_only.py").write_text("VALUE = 'from the venv'\n")
    return python, "venv_only", os.path.realpath(Path(purelib, "venv_only.py"))


@needs_bwrap
@pytest.mark.slow
def test_sandboxes_see_the_packages_of_the_graders_venv(venv_case):
    python, module, origin = venv_case
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([str(python), "-c", GRADE, module], capture_output=True, text=True, env=env,
                          timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("SEEN ")]
    assert done.returncode == 0 and lines, done.stdout + done.stderr
    seen = json.loads(lines[0][5:])
    prefix = os.path.realpath(python.parent.parent)
    for kind in ("fresh", "warm"):
        status, value, message = seen[kind]
        assert status == "passed", f"{kind}: {message}"
        assert os.path.realpath(value["file"]) == origin, (kind, value)
        assert os.path.realpath(value["prefix"]) == prefix, (kind, value)


def test_a_venv_interpreter_is_started_by_its_own_path(tmp_path):
    with isolation.launch("bwrap", tmp_path, [], 1024, []) as launch:
        command = launch.argv[launch.argv.index("--") + 1:]
    if command[0].endswith("setpriv"):  # the grader runs as root: the command drops privilege first
        command = command[command.index("--") + 1:]
    python = command[0]
    assert python == isolation.interpreter()
    assert os.path.isabs(python) and Path(python).samefile(sys.executable)
    # the real file behind it is bound too, so the symlink resolves inside the sandbox
    real = os.path.dirname(os.path.realpath(python))
    assert any(real == p or real.startswith(p + os.sep) for p in isolation.python_paths())
    assert sysconfig.get_paths()["purelib"].startswith(tuple(isolation.python_paths()))
