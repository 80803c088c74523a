"""Trusted-side companions of the sandbox drivers (``grader/sandbox/drivers/``).

An entry point with ``driver: NAME`` in its spec is not called directly: the in-sandbox driver
``NAME.py`` drives the student's code with the case's inputs. A driver may have a companion here,
registered under the same name, that runs on the grader's side before the call and returns a
:class:`DriverContext`: ``settings``, plain data handed to the driver as its last argument (e.g. a time
budget), and ``info``, which only the checks see (e.g. the reference's time-to-target on this machine).
A driver without a companion gets the case's inputs only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from grader.models import Case, ProblemSpec
    from grader.reference import CaseBook


@dataclass(frozen=True)
class Sandbox:
    """How the grader runs students' code in this run: the isolation mode, the folders hidden from the sandbox,
    and the warm workers (None: a fresh sandbox per process). A companion that runs the reference uses the mode
    and secrets, in a fresh sandbox of its own, never these warm workers (see grader/training/calibration.py)."""

    mode: str = "auto"
    secrets: tuple[Path, ...] = ()
    pool: Any = None


@dataclass(frozen=True)
class DriverContext:
    settings: dict[str, Any] = field(default_factory=dict)  #: handed to the driver (plain data only)
    info: dict[str, Any] = field(default_factory=dict)  #: for the checks only


Companion = Callable[["ProblemSpec", "Case", "CaseBook", Sandbox], DriverContext]
COMPANIONS: dict[str, Companion] = {}


def register_companion(driver: str) -> Callable[[Companion], Companion]:
    def decorate(func: Companion) -> Companion:
        if driver in COMPANIONS:
            raise ValueError(f"driver companion {driver!r} is registered twice")
        COMPANIONS[driver] = func
        return func

    return decorate


def prepare(problem: "ProblemSpec", case: "Case", book: "CaseBook", sandbox: Sandbox) -> DriverContext | None:
    """The context of a driven case, or None when its entry has no driver or the driver no companion."""
    driver = problem.entry(case.entry).driver
    if driver is None or driver not in COMPANIONS:
        return None
    return COMPANIONS[driver](problem, case, book, sandbox)
