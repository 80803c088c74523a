"""The class summary behind ``OUT/index.html``: score distributions, pass rates, frequent mistakes and the
summary parts of the assignment's kit, per problem (:mod:`grader.report.parts`).

Everything is computed in one pass over the results, so a class of hundreds renders in well under a
second; the page itself is plain tables and inline SVG.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from grader.models import NOT_GRADED, Status, SubmissionResult
from grader.report.board import SECTION as BOARD_SECTION, BoardView, class_boards
from grader.report.charts import Histogram, histogram
from grader.report.late import late_view
from grader.report.parts import Part, collect, with_anchors

if TYPE_CHECKING:
    from grader.kit import Kit
    from grader.leaderboard import Board
    from grader.policy.rules import LateOutcome

TROUBLE = (Status.ERROR, Status.TIMEOUT, Status.MEMORY, Status.CRASHED)  #: statuses listed as problems
TOP_MISTAKES = 20
SECTIONS = ("distribution", "checks", "mistakes", "trouble", "students", BOARD_SECTION)  #: the index page's own ids
#: diagnoses that name no mistake: a free-text answer awaiting a grade, a result the machine kept from being graded
NOT_MISTAKES = {"manual", NOT_GRADED}


@dataclass(frozen=True)
class Distribution:
    """Scores of one problem (or of the totals) across the class."""

    id: str
    title: str
    max_score: float
    mean: float
    median: float
    full_marks: int
    count: int
    chart: Histogram


@dataclass(frozen=True)
class CheckRate:
    problem: str
    check: str
    kind: str
    cases_passed: int
    cases: int
    students_passed: int  #: students for whom every case of the check passed
    students: int
    pending: int = 0  #: free-text answers awaiting a manual grade (not counted in ``cases``)

    @property
    def rate(self) -> float:
        return self.cases_passed / self.cases if self.cases else 0.0


@dataclass(frozen=True)
class Mistake:
    problem: str
    check: str
    diagnosis: str
    students: int
    cases: int
    example: str  #: one feedback message for it


@dataclass(frozen=True)
class Trouble:
    student: str
    link: str
    problem: str
    statuses: list[str]
    message: str


@dataclass(frozen=True)
class StudentRow:
    student: str
    link: str
    score: float
    max_score: float
    problems: list[float | None]  #: in the order of ClassView.problems; None when not graded
    flags: list[str]  #: statuses other than passed/failed, e.g. timeout
    late: str = ""  #: with a late policy: the penalty (e.g. -20%) or the slip days that covered it
    raw_score: float | None = None  #: with a late policy: the score before the penalty (``score`` is final)


@dataclass(frozen=True)
class ClassView:
    assignment: str
    total: Distribution | None
    problems: list[Distribution]
    checks: list[CheckRate]
    mistakes: list[Mistake]
    trouble: list[Trouble]
    students: list[StudentRow]
    pending: int  #: free-text answers awaiting a manual grade
    parts: list[Part] = field(default_factory=list)  #: the kit's summary parts, problem by problem
    late: bool = False  #: the assignment has a late policy: totals are final scores, with a Late column
    late_count: int = 0  #: submissions late past the grace period
    boards: list[BoardView] = field(default_factory=list)  #: the leaderboards, in full (the staff's page)


def report_link(student: str) -> str:
    """The link from the index to a student's report (ids may hold ``@`` or ``+``)."""
    return f"students/{quote(student)}/report.html"


def _distribution(id_: str, title: str, scores: list[float], max_score: float, bins: int,
                  width: float) -> Distribution:
    return Distribution(id_, title, max_score, statistics.fmean(scores) if scores else 0.0,
                        statistics.median(scores) if scores else 0.0,
                        sum(1 for s in scores if s >= max_score - 1e-9), len(scores),
                        histogram(scores, max_score, bins, width))


def _first_message(result: SubmissionResult, problem) -> str:
    for c in problem.checks:
        if c.status in TROUBLE and c.feedback:
            return c.feedback
    return (problem.notes or result.notes or [""])[0]


def summary_parts(results: list[SubmissionResult], problems: list[str], kit: "Kit | None") -> list[Part]:
    """The kit's summary parts for each problem in turn, each with a unique anchor (for the page's navigation)."""
    builders = getattr(kit, "summary_parts", None) or []
    parts = [part for pid in problems for part in collect(builders, pid, results, where=f"class summary / {pid}")]
    return with_anchors(parts, SECTIONS, every=True)


def class_view(results: list[SubmissionResult], assignment_title: str, kit: "Kit | None" = None,
               late: "dict[str, LateOutcome] | None" = None, boards: "list[Board] | None" = None) -> ClassView:
    """Summarise ``results`` (one per student) for the index page; ``kit`` (the assignment's) adds its
    summary parts; ``late`` (student -> outcome under the late policy) makes the totals final scores and adds
    each student's penalty; ``boards`` (grader.leaderboard) are shown in full, with the students' ids."""
    results = sorted(results, key=lambda r: r.student)
    order: dict[str, str] = {}  # problem id -> title, in first-seen order
    scores: dict[str, list[float]] = {}
    maxima: dict[str, float] = {}
    # (problem, check, kind) -> [cases passed, cases graded, students ok, students graded, pending]
    case_counts: dict[tuple[str, str, str], list[int]] = {}
    mistakes: dict[tuple[str, str, str], list] = {}  # -> [students set, cases, example]
    trouble: list[Trouble] = []
    graded: list[tuple[SubmissionResult, str, dict[str, float], list[str]]] = []
    pending = 0
    for r in results:
        link = report_link(r.student)
        by_problem: dict[str, float] = {}
        flags: set[str] = set()
        for p in r.problems:
            order.setdefault(p.problem, p.title)
            scores.setdefault(p.problem, []).append(p.score)
            maxima[p.problem] = max(maxima.get(p.problem, 0.0), p.max_score)
            by_problem[p.problem] = p.score
            per_check: dict[tuple[str, str, str], bool] = {}
            for c in p.checks:
                key = (p.problem, c.check, c.kind)
                counts = case_counts.setdefault(key, [0, 0, 0, 0, 0])
                if c.status is Status.PENDING:
                    pending += 1
                    counts[4] += 1
                    continue
                counts[0] += c.status is Status.PASSED
                counts[1] += 1
                per_check[key] = per_check.get(key, True) and c.status is Status.PASSED
                if c.diagnosis and c.diagnosis not in NOT_MISTAKES and c.status is not Status.PASSED:
                    entry = mistakes.setdefault((p.problem, c.check, c.diagnosis), [set(), 0, c.feedback])
                    entry[0].add(r.student)
                    entry[1] += 1
            for key, ok in per_check.items():  # students counted only where the check was graded
                case_counts[key][2] += ok
                case_counts[key][3] += 1
            bad = sorted({c.status.value for c in p.checks if c.status in TROUBLE})
            flags.update(bad)
            if bad:
                trouble.append(Trouble(r.student, link, p.problem, bad, _first_message(r, p)))
        graded.append((r, link, by_problem, sorted(flags)))
    views = {r.student: late_view(late[r.student], r.score) for r in results if late and r.student in late}
    rows = [StudentRow(r.student, link, views[r.student].final_score if r.student in views else r.score, r.max_score,
                       [by_problem.get(pid) for pid in order], flags,
                       views[r.student].flag if r.student in views else "",
                       r.score if r.student in views else None)
            for r, link, by_problem, flags in graded]  # after the loop: every problem seen is a column
    totals = [row.score for row in rows]
    total_max = max((r.max_score for r in results), default=0.0)
    return ClassView(
        assignment_title,
        _distribution("total", "Total", totals, total_max, 10, 480) if results else None,
        [_distribution(pid, title, scores[pid], maxima[pid], 10, 320) for pid, title in order.items()],
        [CheckRate(k[0], k[1], k[2], *v) for k, v in case_counts.items()],
        sorted((Mistake(k[0], k[1], k[2], len(v[0]), v[1], v[2]) for k, v in mistakes.items()),
               key=lambda m: (-m.students, -m.cases, m.problem, m.check, m.diagnosis))[:TOP_MISTAKES],
        trouble, rows, pending, summary_parts(results, list(order), kit), late is not None,
        sum(1 for v in views.values() if v.late), class_boards(boards or [], report_link))
