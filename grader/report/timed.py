"""Timed training in the reports, read from the data a timed check attaches to its results.

A check is *timed* when its results' ``data`` has ``budget_seconds`` (``grader/checks/training.py``
writes these keys; the gradebook stores them as JSON, so a report written from it draws the same):

- ``device``, ``time_to_target`` (seconds by the grader's clock, None when the target was not reached),
  ``steps_to_target``, ``budget_seconds``, ``step_budget``, ``steps_per_second``, ``stopped``, ``tol``;
- ``reference``: ``{"seconds", "steps", "device"}``, the reference's time-to-target on the machine that
  graded (None in a student release);
- ``curve``: lists ``seconds``, ``distance`` (to the closed form) and ``loss`` (Eq. 6's), one entry per
  snapshot; ``optimum_loss``: Eq. 6's loss at its minimiser, so the chart shows the excess loss.

The student report shows a table of those facts per case and two line charts (distance and excess
loss against time); the class summary shows, per timed check and case, the distribution of
time-to-target with the budget, and how the runs that missed it ended.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from grader.models import CheckResult, Status, SubmissionResult, Visibility
from grader.report.charts import Histogram, LineChart, TrainingCurve, histogram, line_chart, nice_ceiling

FLOOR = 1e-12  #: log10 charts clip values below this
CLOCK = "seconds of training (the grader's clock)"  #: the x axis of every training chart


def is_timed(result: CheckResult) -> bool:
    return isinstance(result.data, dict) and "budget_seconds" in result.data


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


@dataclass(frozen=True)
class TimedCase:
    """What one timed case measured, for the student report's table."""

    case: str
    hidden: bool
    status: str
    device: str | None
    time_to_target: float | None
    steps_to_target: int | None
    budget_seconds: float | None
    step_budget: int | None
    reference_seconds: float | None
    reference_steps: int | None
    reference_device: str | None
    steps_per_second: float | None
    stopped: str | None

    @property
    def within_budget(self) -> bool:
        return (self.time_to_target is not None and self.budget_seconds is not None
                and self.time_to_target <= self.budget_seconds
                and (self.step_budget is None or (self.steps_to_target or 0) <= self.step_budget))


@dataclass(frozen=True)
class TimedView:
    """One timed check of one student's problem: the cases' facts and the training curves."""

    check: str
    cases: list[TimedCase]
    charts: list[LineChart]


def timed_case(result: CheckResult) -> TimedCase:
    data = result.data or {}
    reference = data.get("reference") if isinstance(data.get("reference"), dict) else {}
    device = data.get("device")
    ref_device = reference.get("device")
    return TimedCase(str(result.case or ""), result.visibility is Visibility.HIDDEN, result.status.value,
                     None if device is None else str(device), _number(data.get("time_to_target")),
                     _integer(data.get("steps_to_target")), _number(data.get("budget_seconds")),
                     _integer(data.get("step_budget")), _number(reference.get("seconds")),
                     _integer(reference.get("steps")), None if ref_device is None else str(ref_device),
                     _number(data.get("steps_per_second")),
                     None if data.get("stopped") is None else str(data.get("stopped")))


def _log_points(xs: list, ys: list, offset: float = 0.0) -> list[tuple[float, float]]:
    points = []
    for x, y in zip(xs, ys):
        x, y = _number(x), _number(y)
        if x is not None and y is not None:
            points.append((x, math.log10(max(y - offset, FLOOR))))
    return points


def _curves(results: list[CheckResult]) -> list[TrainingCurve]:
    """Distance to the closed form and Eq. 6's excess loss against seconds, one line per case."""
    distance: dict[str, list[tuple[float, float]]] = {}
    loss: dict[str, list[tuple[float, float]]] = {}
    tols: set[float] = set()
    for r in results:
        data = r.data or {}
        curve = data.get("curve")
        if not isinstance(curve, dict) or not isinstance(curve.get("seconds"), list):
            continue
        name = str(r.case or r.check)
        seconds = curve["seconds"]
        if isinstance(curve.get("distance"), list):
            distance[name] = _log_points(seconds, curve["distance"])
        optimum = _number(data.get("optimum_loss"))
        if isinstance(curve.get("loss"), list) and optimum is not None:
            loss[name] = _log_points(seconds, curve["loss"], optimum)
        if _number(data.get("tol")) is not None:
            tols.add(float(data["tol"]))
    curves = []
    if any(distance.values()):
        guides = {f"tolerance {tol:g}": math.log10(tol) for tol in tols if tol > 0}
        curves.append(TrainingCurve(distance, CLOCK, "log10 distance to Eq. 6's minimiser",
                                    "Distance to the closed form", guides, x_min=0.0))
    if any(loss.values()):
        curves.append(TrainingCurve(loss, CLOCK, "log10 of Eq. 6's loss minus its minimum",
                                    "Eq. 6's loss above its minimum", x_min=0.0))
    return curves


def timed_views(checks: Iterable[CheckResult]) -> list[TimedView]:
    """The timed checks among ``checks`` (in first-seen order), each with its cases and charts."""
    by_check: dict[str, list[CheckResult]] = {}
    for c in checks:
        if is_timed(c):
            by_check.setdefault(c.check, []).append(c)
    views = []
    for check, results in by_check.items():
        charts = [chart for chart in (line_chart(curve) for curve in _curves(results)) if chart is not None]
        views.append(TimedView(check, [timed_case(r) for r in results], charts))
    return views


# --------------------------------------------------------------------------- the class summary


@dataclass(frozen=True)
class TimedSummary:
    """Time-to-target across the class for one timed check on one case."""

    problem: str
    check: str
    case: str
    runs: int  #: students whose training on this case was judged
    within_budget: int
    reached: int  #: reached the target at all (within the budget or not)
    median_seconds: float | None  #: median time-to-target of those that reached it
    budget_seconds: float | None  #: the median budget (each run measures its own reference)
    reference_seconds: float | None
    devices: list[str]
    missed: list[tuple[str, int]]  #: how the other runs ended (diagnosis or status), most frequent first
    chart: Histogram | None  #: time-to-target of the runs that reached the target


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def timed_summaries(results: Iterable[SubmissionResult]) -> list[TimedSummary]:
    """One summary per timed (problem, check, case), in first-seen order."""
    cases: dict[tuple[str, str, str], list[CheckResult]] = {}
    for r in results:
        for p in r.problems:
            for c in p.checks:
                if is_timed(c):
                    cases.setdefault((p.problem, c.check, str(c.case or "")), []).append(c)
    out = []
    for (problem, check, case), runs in cases.items():
        facts = [timed_case(r) for r in runs]
        times = [f.time_to_target for f in facts if f.time_to_target is not None]
        budgets = [f.budget_seconds for f in facts if f.budget_seconds is not None]
        references = [f.reference_seconds for f in facts if f.reference_seconds is not None]
        ok = [r.status is Status.PASSED and f.within_budget for r, f in zip(runs, facts)]
        missed = Counter(r.diagnosis or r.status.value for r, good in zip(runs, ok) if not good)
        top = nice_ceiling(max(times + references, default=0.0))
        out.append(TimedSummary(
            problem, check, case, len(runs), sum(ok), len(times), _median(times), _median(budgets),
            _median(references),
            sorted({f.device for f in facts if f.device}),
            sorted(missed.items(), key=lambda kv: (-kv[1], kv[0])),
            histogram(times, top, 10, 320, bins=10) if times else None))
    return out
