"""What libraries ask of the process they run in works in every sandbox: a user name without an account
database, and torch's compiler caches in the job's own folder.

torch before 2.13 names its compiler cache after ``getpass.getuser()``, which fails where the user has no
``/etc/passwd`` entry (as in bubblewrap); ``import torch._dynamo`` then fails halfway, and every later
attempt (each optimizer constructs through it) fails with a confusing "already registered" assertion.
"""

from __future__ import annotations

import pytest

from grader.models import Limits, Status
from grader.sandbox.pool import WarmPool
from grader.sandbox.runner import Call, run_calls

LIMITS = Limits(call_seconds=60, problem_seconds=120, memory_mb=4096, output_kb=16)

SOURCE = """
import getpass, os

def identity():
    import torch
    import torch._dynamo
    torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1, weight_decay=0.01)
    try:  # where torch itself puts its compiler cache (this module since torch 2.6)
        from torch._inductor.runtime.cache_dir_utils import cache_dir
        cache = cache_dir()
    except ImportError:
        cache = os.environ["TORCHINDUCTOR_CACHE_DIR"]
    return {"user": getpass.getuser(), "home": os.environ["HOME"], "cache": cache,
            "triton": os.environ.get("TRITON_CACHE_DIR", "")}
"""


def _identity(mode, pool=None) -> dict:
    result = run_calls(SOURCE, "solution.py", [Call("c0", "identity", ())], LIMITS, mode=mode, pool=pool)
    assert result.load is None, result.load
    outcome = result.calls["c0"]
    assert outcome.status is Status.PASSED, outcome.message
    return outcome.value


def _assert_private(found: dict, scratch: str) -> None:
    assert found["user"] == "student"
    # the caches lie in the job's private scratch (wiped with the job), not in a /tmp others share
    assert found["cache"].startswith(scratch + "/"), found
    assert found["triton"].startswith(scratch + "/"), found


def test_fresh_bubblewrap_sandbox(bwrap_available):
    _assert_private(_identity("bwrap"), "/job/scratch")


def test_plain_child_process(process_mode):
    found = _identity("process")
    _assert_private(found, found["home"])
    assert found["home"].endswith("/scratch")


def test_warm_worker(bwrap_available):
    with WarmPool(1, []) as pool:
        found = _identity("auto", pool)
    _assert_private(found, "/scratch")
