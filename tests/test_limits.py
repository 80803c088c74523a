"""Limits and crashes become clear results, and the rest of the calls still run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.models import Limits, Status
from grader.sandbox.runner import Call, run_calls

LIMITS = Limits(call_seconds=5, problem_seconds=30, memory_mb=1024, output_kb=4)
#: a test driver (tests/kits/echo_ticks.py), given to the sandbox as a kit would give its sandbox modules
ECHO_TICKS = {"echo_ticks": Path(__file__).parent / "kits" / "echo_ticks.py"}
SOURCE = """
import os, sys, ctypes
def f(x, mode):
    if mode == "memory":
        return bytearray(4 * 1024 ** 3)
    if mode == "segfault":
        ctypes.string_at(0)
    if mode == "exit":
        sys.exit(3)
    if mode == "os_exit":
        os._exit(0)
    if mode == "print":
        for _ in range(100_000):
            print("x" * 100)
    if mode == "recursion":
        def deep(n): return deep(n + 1)
        deep(0)
    return x * 2
"""
MODES = ["memory", "segfault", "exit", "os_exit", "print", "recursion", "ok"]


@pytest.fixture(scope="module")
def outcomes():
    calls = [Call(mode, "f", (np.arange(3.0), mode)) for mode in MODES]
    return run_calls(SOURCE, "solution.py", calls, LIMITS)


def test_each_failure_has_its_status(outcomes):
    calls = outcomes.calls
    assert calls["memory"].status is Status.MEMORY
    assert "1024 MB" in calls["memory"].message
    assert calls["segfault"].status is Status.CRASHED and "SIGSEGV" in calls["segfault"].message
    assert calls["exit"].status is Status.ERROR and "sys.exit" in calls["exit"].message
    assert calls["os_exit"].status is Status.CRASHED
    assert calls["recursion"].status is Status.ERROR and "recursion" in calls["recursion"].message


def test_calls_after_a_crash_still_run(outcomes):
    ok = outcomes.calls["ok"]
    assert ok.status is Status.PASSED
    np.testing.assert_array_equal(ok.value, [0.0, 2.0, 4.0])
    assert type(ok.value) is np.ndarray


def test_output_is_truncated(outcomes):
    assert outcomes.calls["print"].status is Status.PASSED
    assert len(outcomes.stdout) < 6 * 1024
    assert "output truncated after 4 KB" in outcomes.stdout


def test_code_that_loops_at_import_times_out_once():
    limits = Limits(call_seconds=1, problem_seconds=30, memory_mb=1024, output_kb=4, load_seconds=1)
    result = run_calls("while True:\n    pass\n", "solution.py", [Call(f"c{i}", "f", ()) for i in range(3)], limits)
    assert result.load is not None and result.load.status is Status.TIMEOUT
    assert {o.status for o in result.calls.values()} == {Status.TIMEOUT}
    assert "top level" in result.calls["c0"].message


def test_driver_ticks_are_timed_by_the_grader():
    """A driver's progress ticks are timestamped on the grader's side, whatever the sandbox's clocks say."""
    source = ("import time\ntime.perf_counter = time.monotonic = time.time = lambda: 0.0\n"
              "def step(i):\n    time.sleep(0.05)\n    return i * i\n")
    result = run_calls(source, "solution.py", [Call("c0", "unused", (4,), driver="echo_ticks")], LIMITS,
                       modules=ECHO_TICKS)
    outcome = result.calls["c0"]
    assert outcome.status is Status.PASSED and outcome.value == [0, 1, 4, 9]
    assert len(outcome.ticks) == 4
    assert list(outcome.ticks) == sorted(outcome.ticks)
    assert outcome.ticks[-1] >= 4 * 0.05 * 0.9
    assert outcome.ticks[-1] <= outcome.seconds
