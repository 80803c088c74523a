"""Driven cases: the kit's calibration of the reference, measured once per session, and the driver's context.

An entry point with ``driver: NAME`` is not called directly: the kit's sandbox module ``NAME`` drives the
student's code. Before a submission's call, the kit's *companion* for that driver turns the case and the
calibration into a :class:`~grader.kit.DriverContext`: settings for the driver (plain data, its last
argument) and information for the checks (plain data, ``CaseData.context``).

A kit's *calibration* measures the reference solution on this machine (e.g. its time-to-target): it runs
once per case and session, before anything of that case is judged, and its result is handed to the
companion as data. The reference runs through the driver in a fresh sandbox that no submission has touched
(:func:`untouched_sandbox`), never in a warm worker: what a student could leave in a warm worker must not
decide every student's budget. A calibration that fails is the machine's failure in this session: its reason
is kept (once per case) and handed to the companion, whose checks decide what they cannot grade.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.kit import (CalibrationContext, CalibrationFailed, CompanionContext, DriverContext, ReferenceRun,
                        kit_of)
from grader.models import Case, Limits, ProblemSpec, Status
from grader.reference import CaseBook, ReferenceFailure
from grader.sandbox.isolation import Mode
from grader.sandbox.pool import WarmPool
from grader.sandbox.runner import Call, run_calls
from grader.tracebacks import where as located

REASON_CHARS = 600  #: the most of a failed calibration's reason kept (it may quote what the sandbox printed)


@dataclass(frozen=True)
class Where:
    """How this session runs students' code: the isolation mode, the folders hidden from the sandbox, and the
    warm workers of the problem (None: a fresh sandbox per process)."""

    mode: Mode = "auto"
    secrets: tuple[Path, ...] = ()
    pool: WarmPool | None = None


def untouched_sandbox(problem: ProblemSpec, where: Where) -> tuple[Limits, dict[str, Any]]:
    """Where the reference is measured: the limits and ``run_calls`` arguments of a fresh sandbox (a new Python,
    isolated as the session's mode says, hiding its secrets), never a warm worker of ``where.pool``. It sees the
    GPU exactly when the students' processes do: a problem with ``limits.gpu`` whose students run in warm
    workers that do not see it (CUDA works in no sandbox here, see ``grading.workers_for``) runs there on the
    CPU, and so does its reference; where they run in warm workers that see the GPU, or in fresh sandboxes, the
    reference's fresh sandbox has the problem's own limits and sees the GPU too."""
    limits = problem.limits
    if limits.gpu and where.pool is not None and not getattr(where.pool, "gpu", False):
        limits = replace(limits, gpu=False)
    return limits, {"mode": where.mode, "secrets": list(where.secrets), "pool": None}


def run_reference(problem: ProblemSpec, case: Case, book: CaseBook, where: Where,
                  settings: dict[str, Any]) -> ReferenceRun:
    """The reference solution run through the case's driver, with ``settings`` last, in a fresh sandbox."""
    entry = problem.entry(case.entry)
    if problem.reference is None:
        raise CalibrationFailed(f"{problem.id} has no reference solution to run")
    limits, args = untouched_sandbox(problem, where)
    inputs = book.inputs(problem, case)
    call = Call(case.id, entry.name, tuple(inputs[a] for a in entry.args) + (settings,), driver=entry.driver)
    result = run_calls(problem.reference.read_text(encoding="utf-8"), "solution.py", [call], limits,
                       modules=kit_of(problem).sandbox_modules, **args)
    name = f"on case {case.id}, {problem.reference.name}"
    if result.load is not None:
        raise CalibrationFailed(f"{name} could not be loaded in the sandbox: {result.load.message}")
    outcome = result.calls[case.id]
    if outcome.status is not Status.PASSED:
        raise CalibrationFailed(f"{name} failed in the sandbox ({outcome.status.value}): {outcome.message}")
    return ReferenceRun(outcome.value, outcome.ticks, outcome.seconds)


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line of printable characters, at most ``limit`` of them (it may come from the sandbox)."""
    text = "".join(ch if ch.isprintable() else " " for ch in " ".join(text.split()))
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Calibrations:
    """One session's calibrations, by (problem, case): the kit's data, or why there is none. Thread-safe: each
    case is calibrated once, while other cases go on."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._done: dict[tuple[str, str], tuple[Any, str | None]] = {}

    def get(self, problem: ProblemSpec, case: Case, book: CaseBook, where: Where) -> tuple[Any, str | None]:
        """The calibration's data and the reason it failed (one of them None); (None, None) where the driver has
        no calibration or there is no reference to run (a student release)."""
        driver = problem.entry(case.entry).driver
        calibrate = kit_of(problem).calibrations.get(driver) if driver else None
        if calibrate is None or problem.reference is None:
            return None, None
        key = (problem.id, case.id)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._done:
                self._done[key] = self._measure(calibrate, problem, case, book, where)
            return self._done[key]

    @staticmethod
    def _measure(calibrate, problem: ProblemSpec, case: Case, book: CaseBook, where: Where) -> tuple[Any, str | None]:
        ctx = CalibrationContext(problem, case, book.inputs(problem, case), book.expected(problem, case),
                                 checks_for(problem, case),
                                 lambda settings: run_reference(problem, case, book, where, settings))
        try:
            return calibrate(ctx), None
        except Exception as exc:  # noqa: BLE001 - the machine's failure in this session, graded as such
            reason = str(exc) if isinstance(exc, (CalibrationFailed, ReferenceFailure)) else \
                f"calibrating on case {case.id} failed: {located(exc)}{type(exc).__name__}: {exc}"
            return None, _one_line(reason, REASON_CHARS)

    def measured(self) -> dict[tuple[str, str], tuple[Any, str | None]]:
        """Every calibration done so far (for reports and tools)."""
        with self._guard:
            return dict(self._done)


def checks_for(problem: ProblemSpec, case: Case) -> tuple:
    """The problem's checks that grade ``case``."""
    return tuple(c for c in problem.checks if (c.cases is None or case.group in c.cases)
                 and c.entry in (None, case.entry))


def driver_context(problem: ProblemSpec, case: Case, book: CaseBook, where: Where,
                   calibrations: Calibrations) -> DriverContext | None:
    """The context of a driven case (its calibration measured first), or None when its entry has no driver or
    the driver no companion. A companion's :class:`ReferenceFailure` (the spec's fault) propagates."""
    driver = problem.entry(case.entry).driver
    companion = kit_of(problem).companions.get(driver) if driver else None
    if companion is None:
        return None
    data, error = calibrations.get(problem, case, book, where)
    return companion(CompanionContext(problem, case, book.inputs(problem, case), book.expected(problem, case),
                                      checks_for(problem, case), data, error))
