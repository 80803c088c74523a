"""What a check receives and returns, and the registry checks are added to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from grader.models import Case, EntryPoint, Status
from grader.registry import Registry


class AnswerError(Exception):
    """The student's value cannot be interpreted as the answer (wrong type, count or shape)."""

    def __init__(self, message: str, status: Status = Status.FAILED) -> None:
        super().__init__(message)
        self.status = status


class NotGraded(Exception):
    """The machine, not the student, kept a check from being graded (e.g. a kit's calibration of the reference failed
    here). The result is an error whose message (``str``) blames the machine and is shown to the student;
    ``detail`` is for the staff only (it may quote the reference). The next ``grade`` run regrades it."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class CaseData:
    """One case as a check sees it: trusted inputs and expected values, and the student's decoded value."""

    case: Case
    entry: EntryPoint
    inputs: dict[str, Any]
    expected: dict[str, Any]  #: the reference solution's outputs, by return name
    value: Any  #: what the student's function returned (plain data only)
    ticks: tuple[float, ...] = ()  #: a driven call's progress ticks, timed by the grader (seconds since it began)
    context: dict[str, Any] | None = None  #: a driven call's context for the checks (its kit's companion)
    kit: Any = None  #: the assignment's kit (grader.kit.Kit): its slips and losses, by name

    def outputs(self) -> dict[str, Any]:
        """The student's return value split by the entry point's return names."""
        names = self.entry.returns
        if len(names) == 1:
            return {names[0]: self.value}
        if not isinstance(self.value, (tuple, list)) or len(self.value) != len(names):
            got = (f"a {type(self.value).__name__} of {len(self.value)} values"
                   if isinstance(self.value, (tuple, list)) else f"a {_describe(self.value)}")
            raise AnswerError(f"expected {len(names)} values ({', '.join(names)}), got {got}", Status.ERROR)
        return dict(zip(names, self.value))


@dataclass(frozen=True)
class Verdict:
    passed: bool
    feedback: str = ""
    diagnosis: str | None = None
    fraction: float | None = None  #: partial credit in [0, 1]; None means all or nothing
    data: dict[str, Any] | None = None  #: measurements behind the verdict, for reports (CheckResult.data)


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    return type(value).__name__ if value is not None else "None"


def as_array(value: Any, name: str) -> np.ndarray:
    """The student's value as a float64 array, or an :class:`AnswerError` saying what it was instead."""
    if isinstance(value, (str, bytes, dict)) or value is None or isinstance(value, bool):
        raise AnswerError(f"{name} should be an array (numpy or torch), got {_describe(value)}", Status.ERROR)
    if isinstance(value, np.ndarray) and value.dtype.kind == "c":
        raise AnswerError(f"{name} has complex entries; expected real numbers")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AnswerError(f"{name} could not be read as an array of numbers ({exc})", Status.ERROR) from exc


def require_shape(array: np.ndarray, expected: np.ndarray, name: str) -> None:
    if array.shape != expected.shape:
        raise AnswerError(f"{name} has shape {array.shape}; expected {expected.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        raise AnswerError(f"{name} contains {int(bad.sum())} NaN or infinite entries")


CheckFunc = Callable[[CaseData, Any], Verdict]
CHECKS: Registry[CheckFunc] = Registry("check")


AcrossCases = Callable[[Any, list, list], None]
ACROSS_CASES: dict[str, AcrossCases] = {}


def register_across_cases(check: str) -> Callable[[AcrossCases], AcrossCases]:
    """A hook that sees all of one check's results (and the student's values) after the per-case pass."""

    def decorate(func: AcrossCases) -> AcrossCases:
        ACROSS_CASES[check] = func
        return func

    return decorate
