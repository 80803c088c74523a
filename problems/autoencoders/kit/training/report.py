"""Timed training in the reports: the kit's report parts, read from the data the timed check attaches.

A check is *timed* when its results' ``data`` has ``budget_seconds`` (:func:`.checks._data` writes these
keys; the gradebook stores them as JSON, so a report written from it draws the same):

- ``device``, ``time_to_target`` (seconds by the grader's clock, None when the target was not reached),
  ``steps_to_target``, ``budget_seconds``, ``step_budget``, ``steps_per_second``, ``stopped``, ``tol``;
- ``reference``: ``{"seconds", "steps", "device"}``, the reference's time-to-target on the machine that
  graded (None in a student release);
- ``curve``: lists ``seconds``, ``distance`` (to the closed form) and ``loss`` (Eq. 6's), one entry per
  snapshot; ``optimum_loss``: Eq. 6's loss at its minimiser, so the chart shows the excess loss.

The student report shows, per timed check, a table of those facts per case and two line charts (distance
and excess loss against time) (:func:`timed_training`); the class summary shows, per problem, timed check
and case, the distribution of time-to-target with the budget, and how the runs that missed it ended
(:func:`time_to_target`).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.report.charts import Curves, Histogram, LineChart, histogram, line_chart, nice_ceiling
from grader.report.parts import Card, Cell, Column, Part, Row, Table, Tally

from .. import kit

FLOOR = 1e-12  #: log10 charts clip values below this
CLOCK = "seconds of training (the grader's clock)"  #: the x axis of every training chart
SUMMARY_TEXT = ("Seconds from the start of training until the weights were within tolerance of the closed form, "
                "by the grader's clock on the machine that graded; each run's budget comes from the reference's "
                "time there.")
COLUMNS = [Column("Case"), Column("Device"), Column("Time to target", True), Column("Steps to target", True),
           Column("Time budget", True), Column("Step budget", True), Column("Reference here", True)]


def is_timed(result: CheckResult) -> bool:
    return isinstance(result.data, dict) and "budget_seconds" in result.data


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def seconds(value: float | None) -> str:
    """A time as the reports show it: three significant digits, "-" when unknown."""
    return "-" if value is None else f"{value:.3g} s"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


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


def _curves(results: list[CheckResult]) -> list[Curves]:
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
        times = curve["seconds"]
        if isinstance(curve.get("distance"), list):
            distance[name] = _log_points(times, curve["distance"])
        optimum = _number(data.get("optimum_loss"))
        if isinstance(curve.get("loss"), list) and optimum is not None:
            loss[name] = _log_points(times, curve["loss"], optimum)
        if _number(data.get("tol")) is not None:
            tols.add(float(data["tol"]))
    curves = []
    if any(distance.values()):
        guides = {f"tolerance {tol:g}": math.log10(tol) for tol in tols if tol > 0}
        curves.append(Curves(distance, CLOCK, "log10 distance to Eq. 6's minimiser",
                             "Distance to the closed form", guides, x_min=0.0))
    if any(loss.values()):
        curves.append(Curves(loss, CLOCK, "log10 of Eq. 6's loss minus its minimum",
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


def _row(c: TimedCase) -> Row:
    if c.time_to_target is not None:
        reached = Cell(seconds(c.time_to_target))
    else:
        reached = Cell("not reached", note=None if not c.stopped else f"({c.stopped})")
    if c.reference_seconds is not None:
        steps = "" if c.reference_steps is None else f", {c.reference_steps} steps"
        reference = Cell(seconds(c.reference_seconds) + steps)
    else:
        reference = Cell(note="not timed here")
    return Row([Cell(c.case, status=c.status, note="hidden" if c.hidden else None), Cell(c.device or "-"), reached,
                Cell(_count(c.steps_to_target)), Cell(seconds(c.budget_seconds)), Cell(_count(c.step_budget)),
                reference])


def timed_part(view: TimedView) -> Part:
    """One timed check in a student's report: the cases' times and budgets, and the training curves."""
    return Part("Timed training",
                subtitle=f"(check {view.check}; times by the grader's clock on the machine that graded)",
                tables=[Table(COLUMNS, [_row(c) for c in view.cases])], charts=list(view.charts))


@kit.report_part
def timed_training(problem: ProblemResult) -> list[Part]:
    """A part per timed check of the problem (none for a problem without one)."""
    return [timed_part(view) for view in timed_views(problem.checks)]


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


def timed_summaries(results: Iterable[SubmissionResult], problem: str | None = None) -> list[TimedSummary]:
    """One summary per timed (problem, check, case), in first-seen order; only ``problem``'s when given."""
    cases: dict[tuple[str, str, str], list[CheckResult]] = {}
    for r in results:
        for p in r.problems:
            if problem is not None and p.problem != problem:
                continue
            for c in p.checks:
                if is_timed(c):
                    cases.setdefault((p.problem, c.check, str(c.case or "")), []).append(c)
    out = []
    for (pid, check, case), runs in cases.items():
        facts = [timed_case(r) for r in runs]
        times = [f.time_to_target for f in facts if f.time_to_target is not None]
        budgets = [f.budget_seconds for f in facts if f.budget_seconds is not None]
        references = [f.reference_seconds for f in facts if f.reference_seconds is not None]
        ok = [r.status is Status.PASSED and f.within_budget for r, f in zip(runs, facts)]
        missed = Counter(r.diagnosis or r.status.value for r, good in zip(runs, ok) if not good)
        top = nice_ceiling(max(times + references, default=0.0))
        chart = histogram(times, top, 10, 320, bins=10,
                          title=f"Histogram of the time to target on {case} (seconds)") if times else None
        out.append(TimedSummary(
            pid, check, case, len(runs), sum(ok), len(times), _median(times), _median(budgets),
            _median(references), sorted({f.device for f in facts if f.device}),
            sorted(missed.items(), key=lambda kv: (-kv[1], kv[0])), chart))
    return out


def summary_card(t: TimedSummary) -> Card:
    """One timed check on one case across the class."""
    median = "" if t.median_seconds is None else f", median {seconds(t.median_seconds)}"
    devices = f" \u00b7 {', '.join(t.devices)}" if t.devices else ""
    return Card(f"{t.problem} / {t.check}", subtitle=t.case,
                lines=[f"within budget: {t.within_budget} of {t.runs}; reached the target: {t.reached}{median}",
                       f"reference {seconds(t.reference_seconds)}, budget {seconds(t.budget_seconds)}{devices}"],
                histograms=[t.chart] if t.chart else [],
                tallies=[Tally("Missed", list(t.missed))] if t.missed else [])


@kit.summary_part
def time_to_target(problem_id: str, results: list[SubmissionResult]) -> list[Part]:
    """The class's time-to-target on each timed check and case of the problem (nothing without one)."""
    summaries = timed_summaries(results, problem_id)
    if not summaries:
        return []
    return [Part("Timed training: time to target", text=SUMMARY_TEXT, cards=[summary_card(t) for t in summaries],
                 anchor="timed", short_title="Timed training")]
