"""What one student's report shows, derived from a :class:`SubmissionResult`.

Per-case results are grouped by check, and within a check by outcome (status, feedback, diagnosis), so
that seven passing cases make one line and a failing case stands out with its feedback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.report.timed import TimedView, timed_views

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
    timed: list[TimedView]  #: timed training checks: their cases' times and budgets, and curves
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


def problem_view(p: ProblemResult) -> ProblemView:
    return ProblemView(p.problem, p.title, p.score, p.max_score, p.passed, group_checks(p.checks), list(p.notes),
                       list(p.answer_issues), excerpt(p.stdout), excerpt(p.stderr), timed_views(p.checks),
                       getattr(p, "seconds", None))


def student_view(result: SubmissionResult, assignment_title: str, *, public_only: bool = False) -> StudentView:
    pending = [PendingAnswer(p.problem, c.check, c.max_score, c.feedback)
               for p in result.problems for c in p.checks if c.status is Status.PENDING]
    return StudentView(result.student, assignment_title, result.score, result.max_score, list(result.notes),
                       [problem_view(p) for p in result.problems], pending, public_only)
