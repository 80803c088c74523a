"""The ``grader`` command: a thin layer over :mod:`grader.api`.

Exit codes: 0 success (for ``check``: every public check passed); 1 ``check`` found failing checks,
``validate`` found a reference that does not earn full marks (with ``--mutants``: a mutant that survives unexplained,
a slip mutant not named, a valid rewrite that loses points), or ``doctor`` found grading degraded; 2 the
grader could not do its job (bad spec, bad arguments, missing folders). ``gradescope`` exits 0 whenever
it wrote results.json, whatever the student scored.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader import api, machine, variants
from grader.export import DEFAULT_FILES, FORMATS, ExportError, export
from grader.lms import canvas_import, gradescope
from grader.release import ReleaseError, release_assignment
from grader.scaffold import ScaffoldError, new_problem
from grader.output.console import problem_summary, submission_summary
from grader.output.progress import Progress
from grader.policy.errors import PolicyError
from grader.ray_executor import RayUnavailable
from grader.sandbox.isolation import SandboxUnavailable
from grader.report import write_student_report
from grader.spec import SpecError, load_assignment

DEFAULT_ASSIGNMENT = None  #: resolved by default_assignment() when --assignment is not given


def default_assignment(cwd: Path | None = None) -> Path:
    """The assignment a command works on when none is named: the current folder when it has assignment.yaml,
    else the only assignment under ``problems/``."""
    cwd = cwd or Path(".")
    if (cwd / "assignment.yaml").is_file():
        return cwd
    found = sorted(p.parent for p in (cwd / "problems").glob("*/assignment.yaml"))
    if len(found) == 1:
        return found[0]
    where = f"several assignments ({', '.join(p.name for p in found)})" if found else "no assignment"
    raise api.UsageError(f"{where} under {cwd / 'problems'} and no assignment.yaml here: pass --assignment DIR")


def _problem_list(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Sandboxed grading of deep-learning homework.")
    sub = parser.add_subparsers(dest="command", required=True)
    sandbox = dict(choices=["auto", "bwrap", "process"], default="auto",
                   help="isolation: bubblewrap when available (auto), required (bwrap), or a plain process")
    secret = dict(type=Path, metavar="FILE", help="the course secret that per-student cases and questions derive "
                  f"from, a file outside the assignment folder (default: ${variants.ENV})")

    check = sub.add_parser("check", help="check your own work on the public cases")
    check.add_argument("path", nargs="?", default=".", type=Path, help="submission folder or solution file")
    check.add_argument("--assignment", type=Path, default=DEFAULT_ASSIGNMENT)
    check.add_argument("--problems", help="comma-separated problem ids (default: all)")
    check.add_argument("--sandbox", **sandbox)
    check.add_argument("--secret", **secret)
    check.add_argument("--out", type=Path, default=Path("reports"),
                       help="where to write the HTML report, OUT/students/<id>/report.html (default: reports)")

    grade = sub.add_parser("grade", help="grade a folder of submissions on all cases")
    grade.add_argument("submissions", type=Path, help="a folder holding one folder per student, or a Canvas "
                       "bulk download (its zip, or the flat folder of files it unpacks to)")
    grade.add_argument("--canvas", action="store_true", help="read SUBMISSIONS as a Canvas bulk download "
                       "(detected by itself for a zip or a flat folder of Canvas-named files)")
    grade.add_argument("--assignment", type=Path, default=DEFAULT_ASSIGNMENT)
    grade.add_argument("--out", type=Path, default=Path("reports"))
    grade.add_argument("--jobs", type=int, default=1)
    grade.add_argument("--problems", help="comma-separated problem ids (default: all)")
    grade.add_argument("--sandbox", **sandbox)
    grade.add_argument("--secret", **secret)
    grade.add_argument("--roster", type=Path, metavar="FILE", help="the roster the release was written for (its CSV, "
                       "or the release's folder or students.csv): warn about students graded on per-student problems "
                       "whose ids are not on it")
    grade.add_argument("--key", metavar="COLUMN", help="with --roster: its id column (as release --key)")
    grade.add_argument("--manual", type=Path, help="manual grades CSV for free-text answers "
                       "(default: OUT/manual-grades.csv when present)")
    grade.add_argument("--executor", choices=["local", "ray"], default="local",
                       help="where submissions are graded: this machine's worker pool, or Ray tasks")
    grade.add_argument("--address", help="the Ray cluster to use with --executor ray (default: a local Ray)")
    grade.add_argument("--fresh", action="store_true",
                       help="start a fresh Python for every submission instead of forking warm workers")
    grade.add_argument("--quiet", action="store_true", help="print only the summary")
    grade.add_argument("--force", action="store_true", help="regrade every submission, even those the gradebook "
                       "(OUT/gradebook.sqlite) holds as graded and unchanged")
    grade.add_argument("--times", type=Path, help="submission times for the late policy: a CSV (student,submitted_at) "
                       "or Gradescope's submission_metadata.yml (default: OUT/times.csv when present)")
    grade.add_argument("--extensions", type=Path, help="per-student extensions, a CSV (student, days or due, reason) "
                       "(default: OUT/extensions.csv when present)")
    grade.add_argument("--course", type=Path, help="the course.yaml whose slip days this assignment spends (after "
                       "the assignments listed before it)")

    gs = sub.add_parser("gradescope", help="grade one submission inside Gradescope's autograder (all cases)")
    gs.add_argument("--submission", type=Path, default=gradescope.SUBMISSION, help="the student's upload")
    gs.add_argument("--results", type=Path, default=gradescope.RESULTS, help="the results.json to write")
    gs.add_argument("--assignment", type=Path, default=DEFAULT_ASSIGNMENT)
    gs.add_argument("--problems", help="comma-separated problem ids (default: all)")
    gs.add_argument("--sandbox", **sandbox)
    gs.add_argument("--secret", **secret)
    gs.add_argument("--roster", type=Path, metavar="FILE", help="the roster the release was written for: warn when "
                    "this student's id is not on it")
    gs.add_argument("--key", metavar="COLUMN", help="with --roster: its id column (as release --key)")

    rel = sub.add_parser("release", help="write the student handout: public cases, no references or answers")
    rel.add_argument("assignment", type=Path, help="the full assignment folder")
    rel.add_argument("--out", type=Path, required=True, help="a new or empty folder for the release")
    rel.add_argument("--force", action="store_true", help="replace a previous release in OUT")
    rel.add_argument("--roster", type=Path, help="a CSV of student ids, e.g. the LMS's class list (see --key): one "
                     "release per student, OUT/<student>/, with their own per-student cases and questions")
    rel.add_argument("--key", metavar="COLUMN", help="the roster column holding the student ids (default: 'student', "
                     "else the first of SIS Login ID, Username, Login ID, ID number, Email address, else 'Student' in "
                     "any case, else the first)")
    rel.add_argument("--secret", **secret)

    sec = sub.add_parser("secret", help="write a new random course secret (for per-student variants) to FILE")
    sec.add_argument("file", type=Path, help="a new file, outside the assignment folder (written with mode 0600)")

    validate = sub.add_parser("validate", help="check the specs, that each reference earns full marks, and that "
                              "the sample submissions come out as samples.yaml expects")
    validate.add_argument("assignment", type=Path, nargs="?", default=DEFAULT_ASSIGNMENT)
    validate.add_argument("--sandbox", **sandbox)
    validate.add_argument("--secret", **secret)
    validate.add_argument("--samples", action=argparse.BooleanOptionalAction, default=True,
                          help="grade ASSIGNMENT/samples/ and compare with ASSIGNMENT/samples.yaml (default: on, "
                          "where the assignment has them)")
    validate.add_argument("--jobs", type=int, default=1, help="workers grading the samples (or the mutants)")
    validate.add_argument("--mutants", action="store_true",
                          help="mutation testing instead of the samples: wrong variants of each reference (AST "
                          "mutations, the slips its checks name) must lose points, valid rewrites (float32, lists, "
                          "torch, the kit's own) must keep full marks; exits 1 on a survivor the spec does not explain")
    validate.add_argument("--problems", help="with --mutants: comma-separated problem ids (default: all)")
    validate.add_argument("--max-mutants", type=int, metavar="N",
                          help="with --mutants: grade at most N AST mutants per problem (a fixed sample)")
    validate.add_argument("--verbose", action="store_true", help="with --mutants: list every killed mutant too")

    new = sub.add_parser("new", help="start a problem: a spec, reference and kit module that validate, to rewrite")
    new.add_argument("problem", help="the problem's id (lowercase, dashes), e.g. layer-gradients")
    new.add_argument("--assignment", type=Path, required=True, help="the assignment folder (created when missing)")
    new.add_argument("--title", help="the problem's title (default: from its id)")

    doctor = sub.add_parser("doctor", help="say how this machine will grade: isolation, process cap, workers, GPU")
    doctor.add_argument("--assignment", type=Path, default=DEFAULT_ASSIGNMENT,
                        help="whose problems' limits the GPU probe uses (default: the assignment here, when there is "
                        "one)")
    doctor.add_argument("--sandbox", **sandbox)

    course = sub.add_parser("course", help="each student's slip days, used and left, across a course.yaml")
    course.add_argument("course", type=Path, help="the course.yaml (slip_days and the assignments in order)")
    course.add_argument("--out", type=Path, help="the CSV to write (default: course-slip-days.csv beside course.yaml; "
                        "- for none)")

    sim = sub.add_parser("similarity", help="rank pairs of submissions by shared code, wrong values, slips and "
                         "answers: evidence to review, never a verdict")
    sim.add_argument("results", type=Path, metavar="OUT",
                     help="the output folder of `grader grade` (holding gradebook.sqlite)")
    sim.add_argument("--submissions", type=Path, metavar="DIR", help="where the submissions are (default: the folder "
                     "the latest grade run read, as its gradebook records)")
    sim.add_argument("--starter", type=Path, action="append", metavar="FILE_OR_DIR",
                     help="the handout's starter code, taken out of every submission (.py and .ipynb files), and its "
                     "answers.yaml, whose placeholders are no answer (may be given more than once; default: none)")
    sim.add_argument("--threshold", type=float, default=api.SIMILARITY_THRESHOLD,
                     help=f"combined score from which a pair is flagged (default: {api.SIMILARITY_THRESHOLD:g})")
    sim.add_argument("--common", type=float, default=api.SIMILARITY_COMMON, metavar="SHARE",
                     help="code (and wrong values, slips, answers) held by more than this share of the class is "
                     f"common, no evidence (default: {api.SIMILARITY_COMMON:g})")

    exp = sub.add_parser("export", help="write an LMS grade import file from a grade run's output folder")
    exp.add_argument("results", type=Path, help="the output folder of `grader grade` (holding scores.csv)")
    exp.add_argument("--format", choices=FORMATS, required=True)
    exp.add_argument("--roster", type=Path, help="the class list downloaded from the LMS (CSV)")
    exp.add_argument("--key", help="the roster column that equals the submission folder names "
                     "(default: the first of SIS Login ID, Username, Login ID, ID number, Email address)")
    exp.add_argument("--out", type=Path, help="the file to write (default: RESULTS/<format>-import.csv; - for stdout)")
    exp.add_argument("--per-problem", action="store_true", help="canvas: one more column per problem")
    exp.add_argument("--title", help="the grade column's name (default: the assignment's title)")
    exp.add_argument("--assignment", type=Path, default=DEFAULT_ASSIGNMENT,
                     help="where the title comes from when --title is not given")
    return parser


def _chosen_problems(args) -> list:
    """The problems a command will grade, for the machine warnings (a broken spec is the command's to report)."""
    try:
        assignment = load_assignment(args.assignment)
    except (SpecError, OSError):
        return []
    only = set(_problem_list(getattr(args, "problems", None)) or [])
    return [p for p in assignment.problems if not only or p.id in only]


def _warn_machine(args) -> None:
    """Warn before grading when student code gets reduced isolation, or the GPU a problem wants is unusable."""
    warnings = [api.isolation_warning(args.sandbox),
                machine.gpu_warning(_chosen_problems(args), args.sandbox, [args.assignment])]
    for warning in filter(None, warnings):
        print(warning if warning.startswith("warning:") else f"warning: {warning}", file=sys.stderr, flush=True)


def _doctor(args) -> int:
    problems = _chosen_problems(args) if args.assignment.is_dir() else []
    if not args.assignment.is_dir():
        print(f"note: {args.assignment}: no such assignment folder; the GPU probe uses the default limits")
    found = machine.facts(problems, args.sandbox, [args.assignment])
    for fact in found:
        print(f"{'ok  ' if fact.ok else 'WARN'} {fact.name:<11} {fact.text}")
    degraded = [f.name for f in found if not f.ok]
    if degraded:
        print(f"\nGrading here is degraded: {', '.join(degraded)} (see above).")
    else:
        print("\nGrading here is fully isolated and uses everything this machine offers.")
    return 1 if degraded else 0


def _check(args) -> int:
    _warn_machine(args)
    result = api.check_submission(args.path, args.assignment, problems=_problem_list(args.problems),
                                  sandbox=args.sandbox, secret=args.secret)
    print(submission_summary(result).replace(f"== {result.student}:", "Public checks:", 1))
    ok = all(p.passed for p in result.problems)
    malformed = sum(len(p.answer_issues) for p in result.problems)
    if not ok:
        print("\nSome public checks fail: see the feedback above. Hidden cases are graded after submission.")
    if malformed:
        print(f"\nanswers.yaml has {malformed} answer(s) to fix (marked 'fix:' above).")
    if ok and not malformed:
        print("\nAll public checks pass.")
    report = write_student_report(result, args.out, load_assignment(args.assignment), public_only=True)
    print(f"Report: {report}")
    return 0 if ok and not malformed else 1


def _notice(progress: Progress, line: str) -> None:
    """A line during a batch: a live progress bar is cleared first (the next result draws it again);
    warnings go to stderr."""
    progress.finish()
    print(line, file=sys.stderr if line.startswith("warning:") else sys.stdout, flush=True)


def _grade(args) -> int:
    _warn_machine(args)

    progress = Progress(quiet=args.quiet)

    submissions, notes = args.submissions, None
    if args.canvas or canvas_import.looks_like_canvas(args.submissions):
        assignment = api.full_assignment(load_assignment(args.assignment))  # the secret before anything is staged
        api.batch_secret(assignment, api.choose_problems(assignment, _problem_list(args.problems)), args.secret,
                         args.submissions, args.out)
        staged = canvas_import.stage(args.submissions, args.out)
        for warning in staged.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(f"Canvas download {args.submissions}: {len(staged.students)} student(s), staged in {staged.folder} "
              f"(folders named by Canvas user id; see {args.out / canvas_import.ROSTER})", flush=True)
        submissions, notes = staged.folder, staged.notes
    batch = api.grade_batch(submissions, args.assignment, args.out, jobs=args.jobs, roster=args.roster,
                            roster_key=args.key,
                            problems=_problem_list(args.problems), sandbox=args.sandbox, manual=args.manual,
                            force=args.force, warm=not args.fresh, executor=args.executor,
                            address=args.address, on_start=progress.start,
                            on_result=progress.update, on_notice=lambda line: _notice(progress, line),
                            notes=notes, times=args.times, extensions=args.extensions, course=args.course,
                            secret=args.secret)
    progress.finish()
    for warning in batch.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    total = len(batch.results)
    full = sum(1 for r in batch.results if all(p.passed for p in r.problems))
    print(f"\nGraded {total} submission(s); {full} lost no points (free-text answers aside).")
    print(f"Scores:  {batch.scores_csv}")
    print(f"Results: {args.out / 'students'}/<student>/results.json")
    print(f"Reports: {args.out / 'index.html'} and {args.out / 'students'}/<student>/report.html")
    if batch.late is not None:
        late = sum(1 for outcome in batch.late.values() if outcome.status == "late")
        print(f"Late policy: {late} late submission(s), penalties in the scores and reports; the times used and "
              f"their sources: {args.out / 'submission-times.csv'}")
    pending = sum(1 for r in batch.results for p in r.problems for c in p.checks if c.status.value == "pending")
    if pending:
        print(f"Free-text answers awaiting manual grading: {pending}, listed in {args.out / 'free-text.csv'}; "
              f"fill in points and save it as {args.out / 'manual-grades.csv'}, then run grade again.")
    return 0


def _validate(args) -> int:
    from grader import samples

    if args.mutants:
        return _mutants(args)
    given = [flag for flag, value in (("--problems", args.problems), ("--max-mutants", args.max_mutants),
                                      ("--verbose", args.verbose)) if value not in (None, False)]
    if given:
        raise api.UsageError(f"{', '.join(given)}: only with --mutants")
    _warn_machine(args)
    expected = samples.load_samples(args.assignment) if args.samples and args.assignment.is_dir() else None
    checks = api.validate_assignment(args.assignment, sandbox=args.sandbox, secret=args.secret)
    if any(c.free_text for c in checks):
        print("(free-text questions are graded by hand and left out of these scores)")
    bad = [c for c in checks if not c.ok]
    for c in checks:
        print(f"{'ok  ' if c.ok else 'FAIL'} {c.problem}: reference scores {_validated_score(c)}")
        if not c.ok:
            print(problem_summary(c.result))
    print(f"\n{args.assignment}: specs valid; " + ("every reference solution earns full marks." if not bad
          else f"{len(bad)} reference solution(s) do not earn full marks."))
    if not args.samples:
        return 1 if bad else 0
    if expected is None:
        print(f"note: {args.assignment} has no {samples.SAMPLES_DIR}/ and {samples.SAMPLES_FILE}: "
              "no samples to grade")
        return 1 if bad else 0
    if bad:
        print(f"note: the samples in {expected.folder} are not graded until every reference earns full marks")
        return 1
    print(f"\nGrading the {len(expected.samples)} sample(s) in {expected.folder} (expected: {expected.file}) ...",
          flush=True)
    if args.secret is not None:  # the samples are graded as a batch, which reads the secret from there
        os.environ[variants.ENV] = str(args.secret)
    report = samples.run_samples(args.assignment, sandbox=args.sandbox, jobs=args.jobs)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    wrong: dict[str, list] = {}
    for m in report.mismatches:
        wrong.setdefault(m.sample, []).append(m)
    for name in sorted(set(report.expected.samples) | set(wrong)):
        print(f"{'FAIL' if name in wrong else 'ok  '} {name}")
        for m in wrong.get(name, []):
            print(f"       {m.problem + ': ' if m.problem else ''}{m.message}")
    print(f"\n{len(report.expected.samples)} sample(s): " + (
        "every one comes out as samples.yaml expects." if report.ok else
        f"{len(report.matched)} as expected, {len(wrong)} not ({len(report.mismatches)} difference(s) above)."))
    return 1 if not report.ok else 0


def _validated_score(checked) -> str:
    """A reference's score: as each synthetic student for a per-student problem (``6 / 6 as each of 3 synthetic
    students``, or each one's when they differ), never their sum."""
    scores = checked.per_student
    if not scores:
        return f"{checked.result.score:g} / {checked.result.max_score:g}"
    if len(set(scores.values())) == 1:
        score, most = next(iter(scores.values()))
        return f"{score:g} / {most:g} as each of {len(scores)} synthetic students ({', '.join(scores)})"
    return ", ".join(f"{score:g} / {most:g} as {student}" for student, (score, most) in scores.items())


def _mutants(args) -> int:
    from grader.mutants.report import problem_lines, total_line
    from grader.timing import Instant

    _warn_machine(args)
    started = Instant.now()

    def show(found) -> None:
        print("\n".join(problem_lines(found, verbose=args.verbose)), flush=True)

    found = api.mutation_test(args.assignment, problems=_problem_list(args.problems), jobs=args.jobs,
                              max_mutants=args.max_mutants, sandbox=args.sandbox, on_problem=show, secret=args.secret)
    print(f"\n{total_line(args.assignment, found, started.elapsed())}")
    return 1 if any(f.issues for f in found) else 0


def _gradescope(args) -> int:
    _warn_machine(args)
    result = gradescope.run_gradescope(args.submission, args.results, args.assignment,
                                       problems=_problem_list(args.problems), sandbox=args.sandbox,
                                       on_warning=lambda line: print(f"warning: {line}", file=sys.stderr),
                                       secret=args.secret, roster=args.roster, roster_key=args.key)
    for line in api.not_graded_warnings(result, set(), then="regrade this submission in Gradescope"):
        print(line, file=sys.stderr)
    print(submission_summary(result))
    print(f"\nResults: {args.results}")
    return 0


def _release(args) -> int:
    release = release_assignment(args.assignment, args.out, force=args.force, roster=args.roster, secret=args.secret,
                                 key=args.key)
    for note in release.notes:
        print(f"note: {note}")
    for problem, (public, hidden) in release.cases.items():
        if public or hidden:
            print(f"{problem}: {public} public case(s) released, {hidden} hidden left out")
    if release.students is not None:
        print(f"\nWrote {len(release.students)} student releases to {release.out}/<student>/ ({len(release.files)} "
              f"files; listed in {release.out / 'students.csv'}). Give each student their own folder; they run:\n"
              f"  grader check path/to/their-folder --assignment <their release folder>")
        return 0
    print(f"\nWrote the student release to {release.out} ({len(release.files)} files). Students run:\n"
          f"  grader check path/to/their-folder --assignment {release.out}")
    return 0


def _secret(args) -> int:
    path = variants.new_secret(args.file)
    print(f"Wrote a new course secret to {path} (mode 0600: yours alone). Keep it outside the assignment folder, "
          "back it up, and use it for the whole term: a new one gives every student new numbers. Pass it with "
          f"--secret {path} or set {variants.ENV}.")
    return 0


def _export(args) -> int:
    title = args.title
    if title is None and args.format != "csv":  # the grade column is named after the assignment
        if not args.assignment.is_dir():
            raise ExportError(f"{args.assignment}: no such assignment folder to name the grade column after; "
                              "pass --title TEXT or --assignment DIR")
        title = load_assignment(args.assignment).title
    result = export(args.results, args.format, title=title or "", roster=args.roster, key=args.key,
                    per_problem=args.per_problem)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.out == Path("-"):
        sys.stdout.write(result.text())
    else:
        path = result.write(args.out or args.results / DEFAULT_FILES[args.format])
        print(f"Wrote {path} ({len(result.rows) - 1 - (args.format == 'canvas')} student row(s))")
    return 0


def _similarity(args) -> int:
    report = api.similarity_report(args.results, submissions=args.submissions, starter=args.starter,
                                   threshold=args.threshold, common=args.common)
    flagged = report.flagged
    print(f"Compared {len(report.students)} students ({len(report.index.docs)} with code read, from "
          f"{report.submissions_dir}) in {report.seconds:.1f} s: {len(report.pairs)} pair(s) share something; "
          f"{len(flagged)} flagged for review (combined score {report.threshold:.0%} or more).")
    for n, pair in enumerate(flagged[:10], 1):
        parts = ", ".join(f"{name} {value:.0%}" for name, value in pair.scores.items() if value > 0)
        print(f"  {n:>2}. {pair.a} and {pair.b}: {pair.combined:.0%} ({parts})")
    if len(flagged) > 10:
        print(f"  ... and {len(flagged) - 10} more")
    for group in report.groups:
        print(f"Group {group.number}: {group.summary} ({', '.join(group.students)}).")
        if group.note:
            print(f"  {group.note}")
    for student, why in sorted(report.unread.items()):
        print(f"note: {student}: code not compared ({why})")
    for student, doc in report.truncated.items():
        print(f"note: {student}: only the first {doc.compared_chars:,} of {doc.total_chars:,} characters compared")
    if not report.starter.files:
        print("Starter code: none given; code from the handout, if any, counts as shared (--starter FILE_OR_DIR).")
    print(f"Report: {args.results / 'similarity.html'} and {args.results / 'similarity.csv'}"
          + (f"; side by side: {args.results / 'similarity'}/" if flagged else ""))
    print("This is evidence to review, not a finding: read each flagged pair before drawing any conclusion.")
    return 0


def _course(args) -> int:
    from grader.policy import course as slip

    book = slip.ledger(slip.load_course(args.course))
    for warning in book.warnings + slip.stale(book):
        print(f"warning: {warning}", file=sys.stderr)
    rows = slip.table(book)
    widths = [max(len(str(row[i]) or "-") for row in rows) for i in range(len(rows[0]))]
    print(f"Slip days: {book.course.slip_days} per student ({args.course}); per assignment, in the order spent:")
    for n, row in enumerate(rows):
        cells = [str(c) or "-" for c in row]
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))))
    if not book.students:
        print("(no student graded yet)")
    if args.out != Path("-"):
        path = slip.write_table(rows, args.out or args.course.resolve().parent / slip.LEDGER_CSV)
        print(f"\nWrote {path}")
    return 0


def _new(args) -> int:
    made = new_problem(args.problem, args.assignment, title=args.title)
    for path in made.written:
        print(f"wrote   {path}")
    for path in made.changed:
        print(f"changed {path}")
    print(f"\nCheck it with: grader validate {args.assignment}\nThen rewrite the statement, the reference, the cases "
          "and the kit's generator and slips (docs/authoring.md).")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {"check": _check, "grade": _grade, "validate": _validate, "export": _export,
               "gradescope": _gradescope, "release": _release, "doctor": _doctor, "new": _new,
               "course": _course, "similarity": _similarity, "secret": _secret}[args.command]
    try:
        if getattr(args, "assignment", "") is None:
            try:
                args.assignment = default_assignment()
            except api.UsageError:
                if args.command not in ("doctor", "export"):  # they work without one
                    raise
                args.assignment = Path("(no assignment: pass --assignment)")  # they say so where it matters
        return handler(args)
    except SpecError as exc:
        print(f"grader: the assignment's specs have {len(exc.issues)} issue(s):", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return 2
    except (api.UsageError, api.ReferenceFailure, api.GradebookError, SandboxUnavailable, ExportError,
            canvas_import.CanvasImportError, ReleaseError, RayUnavailable, ScaffoldError, PolicyError,
            variants.SecretError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
