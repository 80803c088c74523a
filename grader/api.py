"""The library API behind the command line: check one submission, grade a batch, validate specs."""

from __future__ import annotations

import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from grader.answers.manual import ManualGrades, apply_manual, read_manual, write_free_text
from grader.answers.reader import Answers, read_answers
from grader.answers.scoring import format_problems, grade_questions, unknown_answers
from grader.fingerprint import assignment_hash
from grader.gradebook import FILENAME as GRADEBOOK, Gradebook, GradebookError
from grader.grading import ALL, PUBLIC, RunOptions, grade_problem, selected_cases, workers_for
from grader.models import Assignment, CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.output.gradescope import write_results_json
from grader.output.scores_csv import write_scores_csv
from grader.reference import CaseBook, ReferenceFailure
from grader.report import write_reports
from grader.resume import JobExecutor, LocalExecutor, plan_batch, run_jobs, with_manual
from grader.sandbox import gpu, isolation
from grader.sandbox.pool import WarmPool
from grader.spec import load_assignment
from grader.submission_files import walk
from grader.submissions import SourceFile, Submission, SubmissionError, collect, read_source
from grader.timing import Instant


MANUAL_GRADES = "manual-grades.csv"
FREE_TEXT = "free-text.csv"


class UsageError(Exception):
    """The command was given something it cannot work with; the message says what and where."""


def _problems(assignment: Assignment, only: Iterable[str] | None):
    if not only:
        return list(assignment.problems)
    known = {p.id for p in assignment.problems}
    unknown = [p for p in only if p not in known]
    if unknown:
        raise UsageError(f"unknown problem(s) {', '.join(unknown)}; {assignment.root} has: {', '.join(sorted(known))}")
    return [p for p in assignment.problems if p.id in set(only)]


def _prepare(assignment: Assignment, problems, book: CaseBook, visibilities) -> None:
    """Compute every case's inputs and expected values up front, so a broken reference stops the run early."""
    for problem in problems:
        for case in selected_cases(problem, visibilities):
            book.expected(problem, case)


def full_assignment(assignment: Assignment) -> Assignment:
    """``assignment``, unless it is a student release (no hidden cases, no references, no answers)."""
    if assignment.released:
        raise UsageError(f"{assignment.root} is a student release (written by grader release): it has no hidden "
                         "cases, reference solutions or answers; use the full assignment")
    return assignment


def isolation_warning(sandbox: isolation.Mode) -> str | None:
    """The warning to print when student code will run with reduced isolation."""
    return isolation.reduced_isolation_warning() if isolation.resolve_mode(sandbox) == "process" else None


def grade_submission(submission: Submission | Path, assignment: Assignment, *, problems=None,
                     options: RunOptions = RunOptions(), book: CaseBook | None = None,
                     manual: ManualGrades | None = None) -> SubmissionResult:
    """Grade one submission folder on the selected problems. Failures of the student's code become results."""
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
        try:
            graded = grade_problem(problem, source, book, options)
            graded.checks.extend(grade_questions(problem, answers, options.visibilities))
            if options.visibilities != ALL:  # a self-check: say what is malformed, not what is right
                graded.answer_issues.extend(format_problems(problem, answers, options.visibilities))
            result.problems.append(graded)
        except ReferenceFailure:  # the spec's fault, the same on every machine (e.g. the step budget): exit 2
            raise
        except Exception as exc:  # noqa: BLE001 - one submission never stops a batch
            result.problems.append(_internal_error(problem, exc, options.visibilities))
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


def not_graded_warnings(result: SubmissionResult, seen: set[str], problems: set[str] | None = None, *,
                        then: str = "the next grade run regrades them") -> list[str]:
    """A warning line for each problem of ``result`` (of ``problems``, by default all) holding results that the
    machine kept from being graded, the first time one does: ``seen`` holds the problems already warned about;
    ``then`` says what becomes of those results."""
    lines = []
    for p in result.problems:
        left = [c for c in p.checks if not c.graded]
        if not left or p.problem in seen or (problems is not None and p.problem not in problems):
            continue
        seen.add(p.problem)
        detail = next((str(c.data["not_graded"]) for c in left if (c.data or {}).get("not_graded")),
                      "the machine failed")
        names = ", ".join(dict.fromkeys(c.check for c in left))
        lines.append(f"warning: {p.problem}: {detail}; its {names} check results are not graded in this run (each "
                     f"says so and blames the machine, not the student); {then}")
    return lines


def _internal_error(problem, exc: BaseException, visibilities) -> ProblemResult:
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    print(f"grader: internal error on {problem.id}: {detail}", file=sys.stderr)
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


def check_submission(path: Path, assignment_dir: Path, *, problems: list[str] | None = None,
                     sandbox: isolation.Mode = "auto") -> SubmissionResult:
    """A student's self-check: public cases only."""
    assignment = load_assignment(assignment_dir)
    chosen = _problems(assignment, problems)
    path = Path(path)
    if path.is_file():
        if path.name not in ("solution.py", "solution.ipynb"):
            raise UsageError(f"{path}: expected a submission folder, solution.py or solution.ipynb")
        path = path.parent
    if not path.is_dir():
        raise UsageError(f"{path}: no such folder")
    book = CaseBook()
    _prepare(assignment, chosen, book, PUBLIC)
    options = RunOptions(PUBLIC, sandbox, (assignment.root,))
    return grade_submission(path, assignment, problems=chosen, options=options, book=book)


@dataclass
class BatchResult:
    results: list[SubmissionResult]
    warnings: list[str] = field(default_factory=list)
    out: Path | None = None

    @property
    def scores_csv(self) -> Path | None:
        return self.out / "scores.csv" if self.out else None


def grade_batch(submissions_dir: Path, assignment_dir: Path, out_dir: Path, *, jobs: int = 1,
                problems: list[str] | None = None, sandbox: isolation.Mode = "auto",
                manual: Path | None = None, force: bool = False, warm: bool = True,
                executor: str = "local", address: str | None = None,
                on_start: Callable[[int], None] | None = None,
                on_result: Callable[[SubmissionResult], None] | None = None,
                on_notice: Callable[[str], None] | None = None,
                notes: dict[str, list[str]] | None = None) -> BatchResult:
    """Grade every submission folder under ``submissions_dir`` on all cases and write the results.

    Each result is stored in ``OUT/gradebook.sqlite`` as soon as it is graded; a rerun grades only what
    is missing or changed (all of it with ``force``), and ``on_notice`` gets a line saying so. The output
    files are regenerated from the gradebook for every student of the batch.
    A result that the machine kept from being graded (the reference could not be timed here) is stored as an
    error saying so, ``on_notice`` gets one warning line per problem, and the next run regrades it.
    Manual grades for free-text answers are merged from ``manual`` (default: ``OUT/manual-grades.csv``
    when it exists); the answers still awaiting a grade are listed in ``OUT/free-text.csv``.
    ``notes`` adds lines to students' results (e.g. "submitted late (Canvas)"), by student id.
    With ``warm`` (and bubblewrap), each worker keeps a warm sandbox with numpy and torch imported and
    forks a fresh process per submission from it; otherwise every process is a fresh Python.
    ``executor="ray"`` runs each submission as a Ray task (on the cluster at ``address``, or a local
    Ray instance), with results flowing into the same gradebook.
    """
    if executor not in ("local", "ray"):
        raise UsageError(f"unknown executor {executor!r}: expected local or ray")
    assignment = full_assignment(load_assignment(assignment_dir))
    chosen = _problems(assignment, problems)
    submissions_dir, out_dir = Path(submissions_dir), Path(out_dir)
    if not submissions_dir.is_dir():
        raise UsageError(f"{submissions_dir}: no such folder (expected a folder of student folders)")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    found = collect(submissions_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if manual is not None and not manual.is_file():
        raise UsageError(f"{manual}: no such manual grades file")
    manual = manual or out_dir / MANUAL_GRADES
    students = {s.student for s in found.submissions}
    grades = read_manual(manual, assignment, students) if manual.is_file() else ManualGrades()
    found.warnings += grades.warnings
    secrets = (assignment.root, submissions_dir, out_dir)
    local_warm = warm and executor == "local"
    with Gradebook.open(out_dir / GRADEBOOK) as gradebook, _warm_pool(local_warm, sandbox, jobs, chosen,
                                                                      secrets) as pool:
        options = RunOptions(ALL, sandbox, secrets, pool)
        plan = plan_batch(gradebook.stored(), found.submissions, chosen, assignment_hash(assignment), force=force)
        if plan.notice and on_notice:
            on_notice(plan.notice)
        if plan.jobs and on_notice:
            for line in _fresh_gpu_notices(chosen, pool):
                on_notice(line)
        if on_start:
            on_start(len(plan.jobs))
        book = CaseBook()
        if plan.jobs:
            _prepare(assignment, chosen, book, ALL)
        run = gradebook.start_run(assignment=assignment.root, spec_hash=plan.spec_hash,
                                  submissions_dir=submissions_dir.resolve(), problems=[p.id for p in chosen],
                                  options={"jobs": jobs, "sandbox": sandbox, "force": force})
        if executor == "ray" and plan.jobs:
            from grader.ray_executor import RayExecutor, needs_gpu

            runner: JobExecutor = RayExecutor(assignment.root, sandbox=sandbox, secrets=secrets, warm=warm,
                                              address=address, gpu=any(needs_gpu(p) for p in chosen))
        else:
            runner = LocalExecutor(lambda job: grade_submission(job.submission, assignment, problems=list(job.problems),
                                                                options=options, book=book), jobs)
        warned: set[str] = set()

        def saved(result: SubmissionResult) -> None:
            for line in not_graded_warnings(result, warned, {p.id for p in chosen}) if on_notice else ():
                on_notice(line)  # once per problem and run
            if on_result:
                on_result(with_manual(result, grades))

        graded = run_jobs(plan, gradebook, run, runner, order=[p.id for p in assignment.problems], on_saved=saved)
        gradebook.finish_run(run, graded=graded, skipped=len(plan.skipped))
        stored = gradebook.load(students)
    results = [with_manual(stored[s], grades) for s in sorted(stored)]
    for result in results:
        result.notes.extend(n for n in (notes or {}).get(result.student, []) if n not in result.notes)
        write_results_json(result, out_dir / "students" / result.student / "results.json")
    write_scores_csv(results, out_dir / "scores.csv")
    write_free_text(results, out_dir / FREE_TEXT)
    write_reports(results, out_dir, assignment)  # OUT/index.html, OUT/students/<id>/report.html
    return BatchResult(results, found.warnings, out_dir)


def _fresh_gpu_notices(problems, pool: WarmPool | None) -> list[str]:
    """A line for each problem that trains on the GPU but cannot use warm workers that see it (asked once per pool:
    its submissions would have asked before their first job)."""
    return [f"note: {p.id} trains on the GPU: its submissions {gpu.FRESH_WORKERS}: {why}"
            for p in problems if (why := workers_for(p, pool).fresh_because)]


@contextmanager
def _warm_pool(warm: bool, sandbox: isolation.Mode, jobs: int, problems, secrets) -> Iterator[WarmPool | None]:
    """One warm sandbox per worker, when asked for and bubblewrap is available; closed at the end."""
    if not warm or isolation.resolve_mode(sandbox) != "bwrap":
        yield None
        return
    pool = WarmPool(jobs, list(secrets), scratch_mb=max(p.limits.scratch_mb for p in problems),
                    processes=max(p.limits.processes for p in problems))
    try:
        yield pool
    finally:
        pool.close()


@dataclass
class ProblemValidation:
    problem: str
    result: ProblemResult

    @property
    def ok(self) -> bool:
        return self.result.passed and abs(self.result.score - self.result.max_score) < 1e-9


def validate_assignment(assignment_dir: Path, *, sandbox: isolation.Mode = "auto") -> list[ProblemValidation]:
    """Load the specs, then grade each reference solution on all its cases: each must earn full marks.

    Each reference runs in fresh sandboxes (no warm workers), and so does its timing. A reference that cannot
    be timed leaves validation undecided: :class:`ReferenceFailure`, with the reason."""
    assignment = full_assignment(load_assignment(assignment_dir))
    book = CaseBook()
    _prepare(assignment, assignment.problems, book, ALL)
    options = RunOptions(ALL, sandbox, (assignment.root,))
    out = []
    for problem in assignment.problems:
        text = problem.reference.read_text(encoding="utf-8") if problem.reference else ""
        result = grade_problem(problem, SourceFile(text, "solution.py"), book, options)
        if not result.graded:
            reasons = dict.fromkeys(str((c.data or {}).get("not_graded") or c.feedback)
                                    for c in result.checks if not c.graded)
            raise ReferenceFailure(f"{problem.id}: {'; '.join(reasons)}")
        result.checks.extend(validate_questions(problem))
        out.append(ProblemValidation(problem.id, result))
    return out


def validate_questions(problem) -> list[CheckResult]:
    """Each question's own answer earns full marks and each alternative exactly its stated credit."""
    results = []
    for q in problem.questions:
        if q.kind == "free_text":
            continue
        tries = [(q.answer, 1.0)] + [(a.answer, a.credit) for a in getattr(q, "alternatives", [])]
        wrong = [f"{a!r} scores {q.score(a).fraction:g}, not {c:g}" for a, c in tries if abs(q.score(a).fraction - c) > 1e-9]
        results.append(CheckResult(problem.id, q.id, None, q.visibility, Status.FAILED if wrong else Status.PASSED,
                                   0.0 if wrong else q.points, q.points, "; ".join(wrong), kind="question"))
    return results


__all__ = ["BatchResult", "GradebookError", "ProblemValidation", "ReferenceFailure", "UsageError", "Visibility",
           "check_submission", "grade_batch", "grade_submission", "isolation_warning", "not_graded_warnings",
           "validate_assignment"]
