"""The library API behind the command line: check one submission, grade a batch, validate specs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader import variants
from grader.answers.manual import ManualGrades, read_manual, write_free_text
from grader.fingerprint import assignment_hash
from grader.gradebook import FILENAME as GRADEBOOK, Gradebook, GradebookError
from grader.grading import PUBLIC, grade_problem, workers_for
from grader.lms.canvas_import import ROSTER as CANVAS_ROSTER, late_marks
from grader.kit import KitError
from grader.leaderboard import board_problems, boards as leaderboards, metric_issues, metric_line
from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.mutants.run import ProblemMutants, grade_mutants
from grader.output.gradescope import write_results_json
from grader.output.scores_csv import write_scores_csv
from grader.policy import batch as late_policy
from grader.reference import ReferenceFailure
from grader.report import write_reports
from grader.output.regrade_diff import REGRADE_DIFF, write_regrade_diff
from grader.problem_hash import describe_changes, problem_fingerprint
from grader.resume import JobExecutor, LocalExecutor, ScoreChange, plan_batch, run_jobs, with_manual
from grader.sandbox import gpu, isolation
from grader.sandbox.pool import WarmPool
from grader.release import roster_ids
from grader.session import UsageError, choose_problems, full_assignment, grade_submission, open_session
from grader.similarity import COMMON_FRACTION as SIMILARITY_COMMON, THRESHOLD as SIMILARITY_THRESHOLD, \
    SimilarityError, SimilarityReport, find_similar
from grader.similarity.report import write_report as write_similarity_report
from grader.spec import SpecError, SpecIssue, load_assignment
from grader.submissions import SourceFile, collect


MANUAL_GRADES = "manual-grades.csv"
FREE_TEXT = "free-text.csv"


def isolation_warning(sandbox: isolation.Mode) -> str | None:
    """The warning to print when student code will run with reduced isolation."""
    return isolation.reduced_isolation_warning() if isolation.resolve_mode(sandbox) == "process" else None


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


def check_submission(path: Path, assignment_dir: Path, *, problems: list[str] | None = None,
                     sandbox: isolation.Mode = "auto", secret: Path | None = None) -> SubmissionResult:
    """A student's self-check: public cases only. On the full assignment, public per-student cases need the course
    ``secret`` (default: ``GRADER_SECRET_FILE``), and the student is the folder's name; a student's own release
    (``grader release --roster``) has their cases with their seeds and needs none."""
    assignment = load_assignment(assignment_dir)
    key = variants.load_secret(secret, inside=(assignment.root,))
    path = Path(path)
    if path.is_file():
        if path.name not in ("solution.py", "solution.ipynb"):
            raise UsageError(f"{path}: expected a submission folder, solution.py or solution.ipynb")
        path = path.parent
    if not path.is_dir():
        raise UsageError(f"{path}: no such folder")
    with open_session(assignment, problems, visibilities=PUBLIC, sandbox=sandbox, secret=key) as session:
        session.prepare()
        return session.grade(path)


@dataclass
class BatchResult:
    results: list[SubmissionResult]
    warnings: list[str] = field(default_factory=list)
    out: Path | None = None
    #: student -> outcome under the assignment's late policy (grader.policy.rules.LateOutcome); None without one
    late: dict | None = None

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
                notes: dict[str, list[str]] | None = None, times: Path | None = None,
                extensions: Path | None = None, course: Path | None = None,
                secret: Path | None = None, roster: Path | None = None, roster_key: str | None = None) -> BatchResult:
    """Grade every submission folder under ``submissions_dir`` on all cases and write the results.

    Each result is stored in ``OUT/gradebook.sqlite`` as soon as it is graded; a rerun grades only what
    is missing or changed (all of it with ``force``), and ``on_notice`` gets a line saying so. The output
    files are regenerated from the gradebook for every student of the batch.
    A result that the machine kept from being graded (a calibration of the reference failed here) is stored as an
    error saying so, ``on_notice`` gets one warning line per problem, and the next run regrades it.
    Manual grades for free-text answers are merged from ``manual`` (default: ``OUT/manual-grades.csv``
    when it exists); the answers still awaiting a grade are listed in ``OUT/free-text.csv``.
    ``notes`` adds lines to students' results (e.g. "submitted late (Canvas)"), by student id.
    The assignment's late policy (``late:`` in assignment.yaml) is applied when the outputs are written, never to
    the stored results: submission times from ``times`` (default: ``OUT/times.csv`` when it exists; a Canvas
    download's LATE marks; times recorded by an earlier run), extensions from ``extensions`` (default:
    ``OUT/extensions.csv``) and the slip days left in ``course`` (a course.yaml); they are read and checked before
    anything is graded (:class:`grader.policy.errors.PolicyError`), and what was applied is written to
    ``OUT/submission-times.csv``.
    With ``warm`` (and bubblewrap), each worker keeps a warm sandbox with numpy and torch imported and
    forks a fresh process per submission from it; otherwise every process is a fresh Python.
    ``executor="ray"`` runs each submission as a Ray task (on the cluster at ``address``, or a local
    Ray instance), with results flowing into the same gradebook.
    Problems with per-student cases or questions need the course ``secret`` (a file outside the assignment, default:
    ``GRADER_SECRET_FILE``, checked before anything is written); each student (a folder name) is graded on their own
    numbers (grader/variants.py). With ``roster`` (the roster the release was written for, its id column
    ``roster_key``: see
    :func:`grader.release.roster_ids`), a student graded on per-student problems whose id is not on it is a warning.
    """
    if executor not in ("local", "ray"):
        raise UsageError(f"unknown executor {executor!r}: expected local or ray")
    assignment = full_assignment(load_assignment(assignment_dir))
    chosen = choose_problems(assignment, problems)
    submissions_dir, out_dir = Path(submissions_dir), Path(out_dir)
    if not submissions_dir.is_dir():
        raise UsageError(f"{submissions_dir}: no such folder (expected a folder of student folders)")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if roster_key is not None and roster is None:
        raise UsageError("--key names the roster's id column: only with --roster")
    key = batch_secret(assignment, chosen, secret, submissions_dir, out_dir)  # before anything is written
    if executor == "ray" and variants.needing_secret(chosen):
        raise UsageError(f"--executor ray cannot grade per-student cases or questions yet "
                         f"({', '.join(variants.needing_secret(chosen))}): use --executor local")
    released_to = roster_ids(roster, roster_key) if roster is not None else None
    found = collect(submissions_dir)
    if released_to is not None and variants.needing_secret(chosen):
        found.warnings += variants.roster_warnings([s.student for s in found.submissions], released_to, str(roster),
                                                   variants.needing_secret(chosen))
    out_dir.mkdir(parents=True, exist_ok=True)
    if manual is not None and not manual.is_file():
        raise UsageError(f"{manual}: no such manual grades file")
    manual = manual or out_dir / MANUAL_GRADES
    students = {s.student for s in found.submissions}
    grades = read_manual(manual, assignment, students) if manual.is_file() else ManualGrades()
    found.warnings += grades.warnings
    late = late_policy.prepare(assignment.late, students, out_dir, assignment_root=assignment.root, times=times,
                               extensions=extensions, course=course, canvas=late_marks(out_dir, submissions_dir),
                               canvas_where=str(out_dir / CANVAS_ROSTER))
    found.warnings += late.warnings
    secrets = (assignment.root, submissions_dir, out_dir)
    local_warm = warm and executor == "local"
    with Gradebook.open(out_dir / GRADEBOOK) as gradebook, \
            open_session(assignment, problems, sandbox=sandbox, secrets=secrets, warm=local_warm, jobs=jobs,
                         secret=key) as session:
        changes: list[ScoreChange] = [  # grades of problems the assignment no longer has: out of every output
            ScoreChange(student, problem, score, None, "no longer in the assignment (assignment.yaml's problems)")
            for student, problem, score in gradebook.drop_problems_except(p.id for p in assignment.problems)]
        spec_hash = assignment_hash(assignment)
        fingerprints = {p.id: problem_fingerprint(assignment, p, key) for p in chosen}
        gradebook.adopt_fingerprints(spec_hash, fingerprints)  # an older gradebook's current grades stay current
        stored = gradebook.stored()
        known = gradebook.fingerprint_parts(d for s in stored.values() for d in s.fingerprints.values() if d)
        plan = plan_batch(stored, found.submissions, chosen, spec_hash, fingerprints=fingerprints, force=force,
                          known_parts=known, describe=lambda pid, parts: describe_changes(assignment.problem(pid), parts))
        if plan.notice and on_notice:
            on_notice(plan.notice)
        if plan.jobs and on_notice:
            for line in _fresh_gpu_notices(chosen, session.pool):
                on_notice(line)
        if on_start:
            on_start(len(plan.jobs))
        if plan.jobs:
            session.prepare()
        run = gradebook.start_run(assignment=assignment.root, spec_hash=plan.spec_hash,
                                  submissions_dir=submissions_dir.resolve(), problems=[p.id for p in chosen],
                                  options={"jobs": jobs, "sandbox": sandbox, "force": force})
        if executor == "ray" and plan.jobs:
            from grader.ray_executor import RayExecutor, needs_gpu

            runner: JobExecutor = RayExecutor(assignment.root, sandbox=sandbox, secrets=secrets, warm=warm,
                                              address=address, gpu=any(needs_gpu(p) for p in chosen))
        else:
            runner = LocalExecutor(lambda job: session.grade(job.submission, list(job.problems)), jobs)
        warned: set[str] = set()

        def saved(result: SubmissionResult) -> None:
            for line in not_graded_warnings(result, warned, {p.id for p in chosen}) if on_notice else ():
                on_notice(line)  # once per problem and run
            if on_result:
                on_result(with_manual(result, grades))

        graded = run_jobs(plan, gradebook, run, runner, order=[p.id for p in assignment.problems], on_saved=saved,
                          changes=changes)
        gradebook.finish_run(run, graded=graded, skipped=len(plan.skipped))
        if changes:
            write_regrade_diff(changes, out_dir / REGRADE_DIFF, run=run)
            if on_notice:
                on_notice(f"{len(changes)} stored score(s) changed; listed in {out_dir / REGRADE_DIFF}")
        stored = gradebook.load(students)
        # the pseudonyms' key without a course secret: the output folder's own salt, kept in its gradebook
        salt = gradebook.leaderboard_salt() if key is None and board_problems(assignment) else None
    results = [with_manual(stored[s], grades) for s in sorted(stored)]
    boards = leaderboards(assignment, results, key, salt)
    for board in boards if on_notice else ():
        for note in board.notes:  # e.g. passing runs whose data lacks the metric: a typo in leaderboard.metric?
            on_notice(f"warning: {board.problem}: leaderboard: {note}")
    for result in results:
        result.notes.extend(n for n in (notes or {}).get(result.student, []) if n not in result.notes)
        write_results_json(result, out_dir / "students" / result.student / "results.json",
                           late.outcomes.get(result.student), assignment)
    write_scores_csv(results, out_dir / "scores.csv", late.outcomes if late.applies else None)
    write_free_text(results, out_dir / FREE_TEXT)
    # OUT/index.html, OUT/students/<id>/report.html
    write_reports(results, out_dir, assignment, late.outcomes if late.applies else None, boards=boards)
    late.write(out_dir)  # OUT/submission-times.csv: the times and extensions applied
    return BatchResult(results, found.warnings, out_dir, late.outcomes if late.applies else None)


def batch_secret(assignment, chosen, secret: Path | None, submissions_dir: Path, out_dir: Path):
    """The course secret for grading ``chosen`` (None when none is given), refused (:class:`UsageError`, a
    :class:`~grader.variants.SecretError` for the file itself) where a chosen problem needs it and none is given."""
    key = variants.load_secret(secret, inside=(assignment.root, submissions_dir, out_dir))
    try:
        variants.require(key, chosen)
    except variants.SecretError as exc:
        raise UsageError(str(exc)) from exc
    return key


def _fresh_gpu_notices(problems, pool: WarmPool | None) -> list[str]:
    """A line for each problem that trains on the GPU but cannot use warm workers that see it (asked once per pool:
    its submissions would have asked before their first job)."""
    return [f"note: {p.id} trains on the GPU: its submissions {gpu.FRESH_WORKERS}: {why}"
            for p in problems if (why := workers_for(p, pool).fresh_because)]


@dataclass
class ProblemValidation:
    problem: str
    result: ProblemResult
    free_text: bool = False  #: the problem has free-text questions (graded by hand, so left out of its score)
    #: a per-student problem's (score, max score) as each synthetic student (the result holds all of theirs)
    per_student: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result.passed and abs(self.result.score - self.result.max_score) < 1e-9


def validate_assignment(assignment_dir: Path, *, sandbox: isolation.Mode = "auto",
                        secret: Path | None = None) -> list[ProblemValidation]:
    """Load the specs, then grade each reference solution on all its cases: each must earn full marks.

    Each reference runs in fresh sandboxes (no warm workers), and so do the kits' calibrations. A reference whose
    calibration fails leaves validation undecided: :class:`ReferenceFailure`, with the reason. A problem with
    per-student cases or questions (which need the course ``secret``) is validated as each of three synthetic
    students (``variants.VALIDATION_STUDENTS``), so a generator or an answer that fails for some seeds is caught."""
    assignment = full_assignment(load_assignment(assignment_dir))
    key = variants.load_secret(secret, inside=(assignment.root,))
    out = []
    with open_session(assignment, sandbox=sandbox, secret=key) as session:
        session.prepare()
        for problem in assignment.problems:
            out.append(_validate_problem(problem, session))
    # a leaderboard's metric must be in the data of the reference's passing runs (a typo decides no grade, but
    # would leave everyone off the board)
    issues = [SpecIssue(problem.source, metric_line(problem), "leaderboard.metric", message)
              for problem, checked in zip(assignment.problems, out)
              for message in metric_issues(problem, checked.result)]
    if issues:
        raise SpecError(issues)
    return out


def _validate_problem(problem, session) -> ProblemValidation:
    """The reference of ``problem`` graded on all its cases in ``session`` (fresh sandboxes), and its questions; a
    problem with per-student cases or questions, as each synthetic student (their case ids say which)."""
    text = problem.reference.read_text(encoding="utf-8") if problem.reference else ""
    students = variants.VALIDATION_STUDENTS if variants.has_variants(problem) else (None,)
    result = ProblemResult(problem.id, problem.title)
    per_student: dict[str, tuple[float, float]] = {}
    for student in students:
        mine = problem if student is None else variants.for_student(problem, session.assignment.id, student,
                                                                    session.options.secret)
        try:
            graded = grade_problem(mine, SourceFile(text, "solution.py"), session.book, session.options)
            questions = validate_questions(mine)
        except ReferenceFailure as exc:
            raise ReferenceFailure(f"{exc} (as the synthetic student {student})" if student else str(exc)) from exc
        finally:
            session.book.forget(mine, variants.resolved_cases(mine))
        if student:
            own = graded.checks + questions
            per_student[student] = (round(sum(c.score for c in own), 6), round(sum(c.max_score for c in own), 6))
        for c in graded.checks + questions if student else ():
            c.case = f"{c.case} [{student}]" if c.case else None
            c.feedback = f"{student}: {c.feedback}" if c.kind == "question" else c.feedback
        result.checks += graded.checks + questions
        result.notes += [n for n in graded.notes if n not in result.notes]
        result.stdout, result.stderr = result.stdout + graded.stdout, result.stderr + graded.stderr
    if not result.graded:
        reasons = dict.fromkeys(str((c.data or {}).get("not_graded") or c.feedback)
                                for c in result.checks if not c.graded)
        raise ReferenceFailure(f"{problem.id}: {'; '.join(reasons)}")
    return ProblemValidation(problem.id, result, any(q.kind == "free_text" for q in problem.questions), per_student)


def validate_questions(problem) -> list[CheckResult]:
    """Each question's own answer earns full marks and each alternative exactly its stated credit (a per-student
    question's, resolved for a student: ``variants.for_student``)."""
    results = []
    for q in problem.questions:
        if q.kind == "free_text":
            continue
        tries = [(q.answer, 1.0)] + [(a.answer, a.credit) for a in getattr(q, "alternatives", [])]
        wrong = [f"{a!r} scores {q.score(a).fraction:g}, not {c:g}" for a, c in tries if abs(q.score(a).fraction - c) > 1e-9]
        results.append(CheckResult(problem.id, q.id, None, q.visibility, Status.FAILED if wrong else Status.PASSED,
                                   0.0 if wrong else q.points, q.points, "; ".join(wrong), kind="question"))
    return results


def mutation_test(assignment_dir: Path, *, problems: list[str] | None = None, jobs: int = 1,
                  max_mutants: int | None = None, sandbox: isolation.Mode = "auto",
                  on_problem: Callable[[ProblemMutants], None] | None = None,
                  secret: Path | None = None) -> list[ProblemMutants]:
    """Mutation testing of the assignment's cases (``grader validate --mutants``): wrong variants of each reference
    (AST mutations, the wrong answers of the slips its checks name) must lose points, valid rewrites (float32,
    lists, torch, the kit's own) must keep full marks. Each is graded like a submission, on all cases, in one
    session with ``jobs`` warm sandboxes; ``max_mutants`` grades a fixed sample of each problem's AST mutants.
    ``on_problem`` gets each problem's outcome as soon as it is done. Per-student cases (which need the course
    ``secret``) are those of the first synthetic student of ``grader validate``."""
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if max_mutants is not None and max_mutants < 0:
        raise UsageError(f"--max-mutants must be at least 0, got {max_mutants}")
    assignment = full_assignment(load_assignment(assignment_dir))
    choose_problems(assignment, problems)  # an unknown id is a UsageError before any sandbox starts
    key = variants.load_secret(secret, inside=(assignment.root,))
    with open_session(assignment, problems, sandbox=sandbox, warm=True, jobs=jobs, secret=key) as session:
        session.prepare()
        session.problems = [variants.for_student(p, assignment.id, variants.VALIDATION_STUDENTS[0], key)
                            for p in session.problems]
        try:
            return grade_mutants(session, jobs=jobs, max_mutants=max_mutants, on_problem=on_problem)
        except KitError as exc:  # a slip's wrong answer or a rewrite that cannot be copied into the sandbox
            raise UsageError(str(exc)) from exc


def similarity_report(out_dir: Path, *, submissions: Path | None = None, starter: list[Path] | None = None,
                      threshold: float = SIMILARITY_THRESHOLD, common: float = SIMILARITY_COMMON) -> SimilarityReport:
    """Rank the pairs of students graded into ``out_dir`` by the evidence that their work was shared (code
    fingerprints less the ``starter`` code, identical wrong values on hidden cases, slip sequences, written answers)
    and write ``OUT/similarity.csv``, ``OUT/similarity.html`` and a side-by-side page per pair at ``threshold`` or
    above (``OUT/similarity/``). The code is read from ``submissions`` (default: the folder the latest ``grade`` run
    read), as data; ``starter`` may hold the handout's answers.yaml too (its placeholders are no answer). What more
    than the ``common`` share of the class holds is common code. Evidence to review, never a verdict."""
    if not 0 < threshold <= 1:
        raise UsageError(f"--threshold must be above 0 and at most 1, got {threshold:g}")
    if not 0 < common <= 1:
        raise UsageError(f"--common must be above 0 and at most 1, got {common:g}")
    try:
        report = find_similar(out_dir, submissions=submissions, starter=starter, threshold=threshold,
                              common_fraction=common)
    except SimilarityError as exc:
        raise UsageError(str(exc)) from exc
    write_similarity_report(report, out_dir)
    return report


__all__ = ["BatchResult", "GradebookError", "ProblemMutants", "ProblemValidation", "ReferenceFailure", "UsageError",
           "Visibility", "check_submission", "grade_batch", "grade_submission", "isolation_warning",
           "mutation_test", "not_graded_warnings", "similarity_report", "validate_assignment"]
