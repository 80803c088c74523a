"""The ``grader`` command: a thin layer over :mod:`grader.api`.

Exit codes: 0 success (for ``check``: every public check passed); 1 ``check`` found failing checks or
``validate`` found a reference that does not earn full marks; 2 the grader could not do its job (bad
spec, bad arguments, missing folders).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import api
from grader.output.console import batch_line, problem_summary, submission_summary
from grader.sandbox.isolation import SandboxUnavailable
from grader.spec import SpecError

DEFAULT_ASSIGNMENT = Path("problems/autoencoders")


def _problem_list(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Sandboxed grading of deep-learning homework.")
    sub = parser.add_subparsers(dest="command", required=True)
    sandbox = dict(choices=["auto", "bwrap", "process"], default="auto",
                   help="isolation: bubblewrap when available (auto), required (bwrap), or a plain process")

    check = sub.add_parser("check", help="check your own work on the public cases")
    check.add_argument("path", nargs="?", default=".", type=Path, help="submission folder or solution file")
    check.add_argument("--assignment", type=Path, default=DEFAULT_ASSIGNMENT)
    check.add_argument("--problems", help="comma-separated problem ids (default: all)")
    check.add_argument("--sandbox", **sandbox)

    grade = sub.add_parser("grade", help="grade a folder of submissions on all cases")
    grade.add_argument("submissions", type=Path, help="a folder holding one folder per student")
    grade.add_argument("--assignment", type=Path, default=DEFAULT_ASSIGNMENT)
    grade.add_argument("--out", type=Path, default=Path("reports"))
    grade.add_argument("--jobs", type=int, default=1)
    grade.add_argument("--problems", help="comma-separated problem ids (default: all)")
    grade.add_argument("--sandbox", **sandbox)
    grade.add_argument("--manual", type=Path, help="manual grades CSV for free-text answers "
                       "(default: OUT/manual-grades.csv when present)")
    grade.add_argument("--quiet", action="store_true", help="print only the summary")

    validate = sub.add_parser("validate", help="check the specs and that each reference earns full marks")
    validate.add_argument("assignment", type=Path, nargs="?", default=DEFAULT_ASSIGNMENT)
    validate.add_argument("--sandbox", **sandbox)
    return parser


def _warn_isolation(sandbox: str) -> None:
    warning = api.isolation_warning(sandbox)  # type: ignore[arg-type]
    if warning:
        print(warning, file=sys.stderr)


def _check(args) -> int:
    _warn_isolation(args.sandbox)
    result = api.check_submission(args.path, args.assignment, problems=_problem_list(args.problems),
                                  sandbox=args.sandbox)
    print(submission_summary(result).replace(f"== {result.student}:", "Public checks:", 1))
    ok = all(p.passed for p in result.problems)
    malformed = sum(len(p.answer_issues) for p in result.problems)
    if not ok:
        print("\nSome public checks fail: see the feedback above. Hidden cases are graded after submission.")
    if malformed:
        print(f"\nanswers.yaml has {malformed} answer(s) to fix (marked 'fix:' above).")
    if ok and not malformed:
        print("\nAll public checks pass.")
    return 0 if ok and not malformed else 1


def _grade(args) -> int:
    _warn_isolation(args.sandbox)

    def show(result):
        if not args.quiet:
            print(batch_line(result), flush=True)

    batch = api.grade_batch(args.submissions, args.assignment, args.out, jobs=args.jobs,
                            problems=_problem_list(args.problems), sandbox=args.sandbox, manual=args.manual,
                            on_result=show)
    for warning in batch.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    total = len(batch.results)
    full = sum(1 for r in batch.results if all(p.passed for p in r.problems))
    print(f"\nGraded {total} submission(s); {full} lost no points (free-text answers aside).")
    print(f"Scores:  {batch.scores_csv}")
    print(f"Results: {args.out / 'students'}/<student>/results.json")
    pending = sum(1 for r in batch.results for p in r.problems for c in p.checks if c.status.value == "pending")
    if pending:
        print(f"Free-text answers awaiting manual grading: {pending}, listed in {args.out / 'free-text.csv'}; "
              f"fill in points and save it as {args.out / 'manual-grades.csv'}, then run grade again.")
    return 0


def _validate(args) -> int:
    _warn_isolation(args.sandbox)
    checks = api.validate_assignment(args.assignment, sandbox=args.sandbox)
    print("(free-text questions are graded by hand and left out of these scores)")
    bad = [c for c in checks if not c.ok]
    for c in checks:
        print(f"{'ok  ' if c.ok else 'FAIL'} {c.problem}: reference scores {c.result.score:g} / {c.result.max_score:g}")
        if not c.ok:
            print(problem_summary(c.result))
    print(f"\n{args.assignment}: specs valid; " + ("every reference solution earns full marks." if not bad
          else f"{len(bad)} reference solution(s) do not earn full marks."))
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {"check": _check, "grade": _grade, "validate": _validate}[args.command]
    try:
        return handler(args)
    except SpecError as exc:
        print(f"grader: the assignment's specs have {len(exc.issues)} problem(s):", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return 2
    except (api.UsageError, api.ReferenceFailure, SandboxUnavailable) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
