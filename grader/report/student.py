"""What one student's report shows, derived from a :class:`SubmissionResult`.

Per-case results are grouped by check, and within a check by outcome (status, feedback, diagnosis), so
that seven passing cases make one line and a failing case stands out with its feedback. The assignment's kit
adds its report parts to each problem (:mod:`grader.report.parts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.report.board import SECTION as BOARD_SECTION, OwnBoard, own_boards
from grader.report.late import LateView, late_view
from grader.report.parts import Part, collect, with_anchors

if TYPE_CHECKING:
    from grader.kit import Kit
    from grader.leaderboard import Board
    from grader.policy.rules import LateOutcome

EXCERPT_CHARS = 2000  #: how much of the student's printed output a report shows (the end of it)
EXCERPT_LINES = 40


@dataclass(frozen=True)
class Excerpt:
    text: str
    omitted: int  #: characters left out before the excerpt


def excerpt(text: str, chars: int = EXCERPT_CHARS, lines: int = EXCERPT_LINES) -> Excerpt | None:
    """The end of ``text`` (the last ``lines`` lines, at most ``chars`` characters); None when blank."""
    if not text.strip():
        return None
    text = text.rstrip()
    tail = "\n".join(text[-chars:].splitlines()[-lines:])
    return Excerpt(tail, len(text) - len(tail))


def points(value: float) -> str:
    """A score as shown in the reports: at most two decimals, no trailing zeros."""
    return f"{round(value, 2):g}"


@dataclass(frozen=True)
class Outcome:
    """Cases of one check that ended the same way."""

    status: str
    cases: list[str]
    hidden: int  #: how many of the cases are hidden cases
    score: float
    max_score: float
    feedback: str
    diagnosis: str | None


@dataclass(frozen=True)
class CheckGroup:
    name: str
    kind: str  #: "check" or "question"
    status: str  #: "passed" when every case passed, else the first other status
    score: float
    max_score: float
    passed: int
    total: int
    outcomes: list[Outcome]


@dataclass(frozen=True)
class PendingAnswer:
    problem: str
    question: str
    max_score: float
    feedback: str


@dataclass(frozen=True)
class ProblemView:
    id: str
    title: str
    score: float
    max_score: float
    passed: bool
    groups: list[CheckGroup]
    notes: list[str]
    answer_issues: list[str]
    stdout: Excerpt | None
    stderr: Excerpt | None
    parts: list[Part]  #: the kit's report parts for this problem
    seconds: float | None


@dataclass(frozen=True)
class StudentView:
    student: str
    assignment: str
    score: float
    max_score: float
    notes: list[str]
    problems: list[ProblemView]
    pending: list[PendingAnswer] = field(default_factory=list)
    public_only: bool = False  #: a self-check: public cases only, hidden ones are graded after submission
    late: LateView | None = None  #: the late policy's reckoning (``score`` is then the final score)
    boards: list[OwnBoard] = field(default_factory=list)  #: the leaderboards: their pseudonym and rank


def _outcomes(results: list[CheckResult]) -> list[Outcome]:
    keyed: dict[tuple[str, str, str | None], list[CheckResult]] = {}
    for c in results:
        keyed.setdefault((c.status.value, c.feedback, c.diagnosis), []).append(c)
    return [Outcome(status, [c.case for c in cs if c.case], sum(c.visibility is Visibility.HIDDEN for c in cs),
                    sum(c.score for c in cs), sum(c.max_score for c in cs), feedback, diagnosis)
            for (status, feedback, diagnosis), cs in keyed.items()]


def group_checks(results: list[CheckResult]) -> list[CheckGroup]:
    """Group per-case results by check (in first-seen order); pending answers are left out."""
    by_name: dict[tuple[str, str], list[CheckResult]] = {}
    for c in results:
        if c.status is not Status.PENDING:
            by_name.setdefault((c.kind, c.check), []).append(c)
    groups = []
    for (kind, name), cs in by_name.items():
        bad = [c.status.value for c in cs if c.status is not Status.PASSED]
        groups.append(CheckGroup(name, kind, bad[0] if bad else "passed", sum(c.score for c in cs),
                                 sum(c.max_score for c in cs), len(cs) - len(bad), len(cs), _outcomes(cs)))
    return groups


def report_parts(p: ProblemResult, kit: "Kit | None", student: str = "") -> list[Part]:
    """The kit's report parts for one problem (a part saying so in place of a failing builder's: :func:`collect`)."""
    builders = getattr(kit, "report_parts", None) or []
    return collect(builders, p, where=f"{student} / {p.problem}" if student else p.problem)


def problem_view(p: ProblemResult, kit: "Kit | None" = None, student: str = "") -> ProblemView:
    return ProblemView(p.problem, p.title, p.score, p.max_score, p.passed, group_checks(p.checks), list(p.notes),
                       list(p.answer_issues), excerpt(p.stdout), excerpt(p.stderr), report_parts(p, kit, student),
                       getattr(p, "seconds", None))


def student_view(result: SubmissionResult, assignment_title: str, *, public_only: bool = False,
                 kit: "Kit | None" = None, late: "LateOutcome | None" = None,
                 boards: "list[Board] | None" = None) -> StudentView:
    """What ``result``'s report shows; ``kit`` (the assignment's) adds its report parts to each problem; ``late``
    (the student's outcome under the late policy) adds the due time and the penalty, and makes the total final;
    ``boards`` (the class's leaderboards) adds the student's pseudonym and rank on each."""
    pending = [PendingAnswer(p.problem, c.check, c.max_score, c.feedback)
               for p in result.problems for c in p.checks if c.status is Status.PENDING]
    problems = [problem_view(p, kit, result.student) for p in result.problems]
    taken = {"scores", "pending", BOARD_SECTION} | {f"p-{p.id}" for p in problems}  # the page's own ids
    parts = with_anchors([part for p in problems for part in p.parts], taken)
    placed = iter(parts)
    problems = [replace(p, parts=[next(placed) for _ in p.parts]) for p in problems]
    shown = late_view(late, result.score) if late is not None else None
    return StudentView(result.student, assignment_title, shown.final_score if shown else result.score,
                       result.max_score, list(result.notes), problems, pending, public_only, shown,
                       own_boards(boards or [], result.student))
