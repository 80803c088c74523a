"""One grading session: the run's context, built once in one place, and the grading of a submission in it.

A session holds the assignment and the problems chosen, the visibilities graded (all, or public only for a
student's self-check), how student code is isolated and what it must never see, the warm workers, the case
book (inputs and the reference's expected values, computed once) and the kits' calibrations of the
reference (measured once per case, before anything of that case is judged). ``grade``, ``check``,
``validate``, ``gradescope`` and the Ray executor all open one with :func:`open_session`.
"""

from __future__ import annotations

import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from grader import variants
from grader.answers.manual import ManualGrades, apply_manual
from grader.answers.reader import Answers, read_answers
from grader.answers.scoring import format_problems, grade_questions, unknown_answers
from grader.grading import ALL, RunOptions, grade_problem, selected_cases
from grader.models import Assignment, CheckResult, ProblemResult, ProblemSpec, Status, SubmissionResult, Visibility
from grader.reference import CaseBook, ReferenceFailure
from grader.sandbox import isolation
from grader.sandbox.pool import WarmPool
from grader.submission_files import walk
from grader.submissions import SourceFile, Submission, SubmissionError, read_source
from grader.timing import Instant
from grader.tracebacks import where


class UsageError(Exception):
    """The command was given something it cannot work with; the message says what and where."""


def full_assignment(assignment: Assignment) -> Assignment:
    """``assignment``, unless it is a student release (no hidden cases, no references, no answers)."""
    if assignment.released:
        raise UsageError(f"{assignment.root} is a student release (written by grader release): it has no hidden "
                         "cases, reference solutions or answers; use the full assignment")
    return assignment


def choose_problems(assignment: Assignment, only: Iterable[str] | None) -> list[ProblemSpec]:
    """The problems named in ``only`` (all by default), in the assignment's order; unknown ids are a UsageError."""
    if not only:
        return list(assignment.problems)
    only = list(only)
    known = {p.id for p in assignment.problems}
    unknown = [p for p in only if p not in known]
    if unknown:
        raise UsageError(f"unknown problem(s) {', '.join(unknown)}; {assignment.root} has: {', '.join(sorted(known))}")
    return [p for p in assignment.problems if p.id in set(only)]


@dataclass
class GradingSession:
    assignment: Assignment
    problems: list[ProblemSpec]  #: the problems this session grades
    options: RunOptions  #: visibilities, sandbox mode, secrets, warm workers, calibrations
    book: CaseBook

    @property
    def pool(self) -> WarmPool | None:
        return self.options.pool

    def prepare(self) -> None:
        """Compute every selected case's inputs and expected values up front, so a broken generator or reference
        stops the session (:class:`ReferenceFailure`) before anything is graded or written. Per-student cases are
        computed for the first synthetic student of ``grader validate`` (each student's own, when graded)."""
        for problem in self.problems:
            mine = variants.for_student(problem, self.assignment.id, variants.VALIDATION_STUDENTS[0],
                                        self.options.secret, self.options.visibilities)
            for case in selected_cases(mine, self.options.visibilities):
                self.book.expected(mine, case)
            self.book.forget(mine, variants.resolved_cases(mine))

    def grade(self, submission: Submission | Path, problems: list[ProblemSpec] | None = None,
              manual: ManualGrades | None = None) -> SubmissionResult:
        """Grade one submission on ``problems`` (default: the session's)."""
        return grade_submission(submission, self.assignment, problems=problems or self.problems,
                                options=self.options, book=self.book, manual=manual)


@contextmanager
def open_session(assignment: Assignment, problems: Iterable[str] | None = None, *,
                 visibilities: frozenset[Visibility] = ALL, sandbox: isolation.Mode = "auto",
                 secrets: Iterable[Path] = (), warm: bool = False, jobs: int = 1,
                 secret: variants.Secret | None = None) -> Iterator[GradingSession]:
    """A session grading ``problems`` (ids; default all) of ``assignment``. ``secrets``: folders student code
    must never see (the assignment's own folder always is one). With ``warm`` and bubblewrap, ``jobs`` warm
    sandboxes, with the kit's sandbox modules in them, closed when the session ends. ``secret``: the course secret
    (grader/variants.py), required where a chosen problem has per-student cases or questions among ``visibilities``
    (a :class:`UsageError` otherwise); its file is hidden from student code too."""
    chosen = choose_problems(assignment, problems)
    try:
        variants.require(secret, chosen, visibilities)
    except variants.SecretError as exc:
        raise UsageError(str(exc)) from exc
    hidden = tuple(dict.fromkeys([assignment.root, *(Path(s) for s in secrets),
                                  *([secret.path] if secret is not None else [])]))
    pool = None
    if warm and isolation.resolve_mode(sandbox) == "bwrap":
        pool = WarmPool(jobs, list(hidden), scratch_mb=max(p.limits.scratch_mb for p in chosen),
                        processes=max(p.limits.processes for p in chosen), modules=_modules(assignment))
    try:
        yield GradingSession(assignment, chosen, RunOptions(visibilities, sandbox, hidden, pool, secret=secret),
                             CaseBook())
    finally:
        if pool is not None:
            pool.close()


def _modules(assignment: Assignment) -> dict[str, Path]:
    return dict(assignment.kit.sandbox_modules) if assignment.kit is not None else {}


def grade_submission(submission: Submission | Path, assignment: Assignment, *, problems=None,
                     options: RunOptions | None = None, book: CaseBook | None = None,
                     manual: ManualGrades | None = None) -> SubmissionResult:
    """Grade one submission folder on the selected problems. Failures of the student's code become results.
    Without ``options``: all cases, isolation ``auto``, fresh sandboxes, calibrations of its own."""
    options = options if options is not None else RunOptions()
    if isinstance(submission, Path):
        submission = Submission(submission.resolve().name, submission)
    book = book or CaseBook()
    problems = problems or list(assignment.problems)
    result = SubmissionResult(submission.student)
    source = _read_source(submission, result) if any(p.checks for p in problems) else ""
    answers = Answers()
    if any(p.questions for p in problems):
        answers = read_answers(submission.answers_path)
        result.notes.extend(answers.notes + unknown_answers(list(assignment.problems), answers))
        if answers.error:
            result.notes.append(answers.error)
    result.notes.extend(n for n in walk(submission.folder).notes() if n not in result.notes)
    for problem in problems:
        started = Instant.now()
        # the student's own problem: per-student cases with their seeds, questions with their numbers
        mine = variants.for_student(problem, assignment.id, submission.student, options.secret, options.visibilities)
        try:
            graded = grade_problem(mine, source, book, options)
            graded.checks.extend(grade_questions(mine, answers, options.visibilities))
            if options.visibilities != ALL:  # a self-check: say what is malformed, not what is right
                graded.answer_issues.extend(format_problems(mine, answers, options.visibilities))
            result.problems.append(graded)
        except ReferenceFailure:  # the spec's fault, the same on every machine (e.g. the step budget): exit 2
            raise
        except Exception as exc:  # noqa: BLE001 - one submission never stops a batch
            result.problems.append(_internal_error(problem, exc, options.visibilities))
        finally:
            book.forget(mine, variants.resolved_cases(mine))  # this student's values: nobody else needs them
        result.problems[-1].seconds = round(started.elapsed(), 3)
    if manual is not None:
        apply_manual(result, manual)
    return result


def _read_source(submission: Submission, result: SubmissionResult) -> SourceFile | str:
    """The submission's code, or why there is none (also noted on ``result``): whatever goes wrong reading
    or converting one student's files is that student's error, never the batch's."""
    try:
        return read_source(submission.folder)
    except SubmissionError as exc:
        why = str(exc)
    except Exception as exc:  # noqa: BLE001 - e.g. an OSError or a MemoryError on a hostile file
        why = f"the solution file could not be read ({type(exc).__name__}: {exc})"
    result.notes.append(why)
    return why


def _internal_error(problem, exc: BaseException, visibilities) -> ProblemResult:
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    print(f"grader: internal error on {problem.id}: {where(exc)}{detail}", file=sys.stderr)
    result = ProblemResult(problem.id, problem.title)
    result.notes.append(f"the grader failed on this problem ({detail}); ask the course staff to regrade")
    for check in problem.checks:
        cases = problem.cases_for(check, visibilities)
        for case in cases:
            result.checks.append(CheckResult(problem.id, check.name, case.id, case.visibility, Status.ERROR, 0.0,
                                             check.points / len(cases), "internal grader error"))
    for q in problem.questions:
        if q.visibility in visibilities:
            result.checks.append(CheckResult(problem.id, q.id, None, q.visibility, Status.ERROR, 0.0, q.points,
                                             "internal grader error", kind="question"))
    return result
