"""Plain-text summaries for the terminal."""

from __future__ import annotations

from grader.models import ProblemResult, Status, SubmissionResult

_MARK = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.ERROR: "ERROR", Status.TIMEOUT: "TIMEOUT",
         Status.MEMORY: "MEMORY", Status.CRASHED: "CRASHED", Status.PENDING: "PENDING"}


def _indent(text: str, prefix: str = "        ") -> str:
    return "\n".join(prefix + line for line in text.strip().splitlines())


def problem_summary(p: ProblemResult, *, verbose: bool = False) -> str:
    total = f"{p.score:g} / {p.max_score:g}" if p.checks else "written answers, graded after submission"
    lines = [f"{p.problem} - {p.title}: {total}"]
    lines += [f"  note: {note}" for note in p.notes]
    lines += [f"  fix: {issue}" for issue in p.answer_issues]
    shown = None
    for c in p.checks:
        where = f"{c.check} on {c.case}" if c.case else f"question {c.check}"
        lines.append(f"  [{_MARK[c.status]:>7}] {where}: {c.score:g} / {c.max_score:g}")
        if (c.status is not Status.PASSED or verbose) and c.feedback:
            lines.append(_indent(c.feedback if c.feedback != shown else "(same as above)"))
            shown = c.feedback
    if p.stdout.strip():
        lines.append("  your code printed:")
        lines.append(_indent(p.stdout[-1500:], "    | "))
    return "\n".join(lines)


def submission_summary(result: SubmissionResult) -> str:
    parts = [f"== {result.student}: {result.score:g} / {result.max_score:g}"]
    parts += [f"  note: {n}" for n in result.notes]
    parts += [problem_summary(p) for p in result.problems]
    return "\n".join(parts)


def batch_line(result: SubmissionResult) -> str:
    bad = sorted({c.status.value for p in result.problems for c in p.checks
                  if c.status not in (Status.PASSED, Status.FAILED)})
    flag = f"  ({', '.join(bad)})" if bad else ""
    return f"{result.student:<24} {result.score:>7g} / {result.max_score:g}{flag}"
