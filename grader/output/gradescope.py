"""Gradescope's ``results.json`` for one student.

Given the assignment, a problem that declares a leaderboard (``leaderboard:`` in its spec; grader/leaderboard.py)
puts its metric in the top-level ``leaderboard`` array, as Gradescope's leaderboards read it:
``{"name": label, "value": number, "order": "asc"|"desc"}`` for each board the run counts on (its check passed on
every case); the array is there, empty if need be, whenever the assignment declares a board. The always-visible
output says where the run stands or that it does not count, never why: the reason can tell a hidden case's result
("passed on 1 of its 2 cases") before the results are published, so it is a test line of its own, of no points,
visible ``after_published`` like the hidden cases (:data:`LEADERBOARD_TEST`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.leaderboard import Off, gradescope_entries
from grader.models import Assignment, CheckResult, Status, SubmissionResult, Visibility
from grader.policy.rules import LATE, LateOutcome

_VISIBILITY = {Visibility.PUBLIC: "visible", Visibility.HIDDEN: "after_published"}


def _test(c: CheckResult, number: int) -> dict[str, Any]:
    output = c.feedback if c.status in (Status.PASSED, Status.FAILED) else f"[{c.status.value}] {c.feedback}"
    return {
        "name": c.name,
        "number": str(number),
        "score": c.score,
        "max_score": c.max_score,
        "status": "passed" if c.status is Status.PASSED else "failed",
        "output": output,
        "visibility": _VISIBILITY[c.visibility],
        "tags": [c.problem] + ([c.diagnosis] if c.diagnosis else []),
        "extra_data": {"status": c.status.value, "diagnosis": c.diagnosis, "case": c.case},
    }


LATE_TEST = "Late penalty"  #: the name of the test line that takes the late penalty off


def late_test(outcome: LateOutcome, raw: float, number: int) -> dict[str, Any]:
    """The late penalty as a test of its own: a negative score (max 0), its output the policy's reckoning."""
    lines = [outcome.headline(raw)]
    if outcome.extension is not None:
        lines.append(f"Extension: {outcome.extension.shown(outcome.policy.tz)}.")
    lines += [f"Note: {note}." for note in outcome.notes]
    return {
        "name": LATE_TEST,
        "number": str(number),
        "score": -outcome.penalty(raw) or 0.0,  # never -0.0
        "max_score": 0.0,
        "status": "failed" if outcome.percent else "passed",
        "output": "\n".join(lines + outcome.policy.lines()),
        "visibility": "visible",
        "tags": ["late"],
        "extra_data": {"status": "late", "percent": outcome.percent, "late_by": outcome.late_by,
                       "submitted_at": outcome.submitted.isoformat() if outcome.submitted else None,
                       "source": outcome.time.source if outcome.time else None, "due": outcome.own_due.isoformat(),
                       "slip_days_used": outcome.slip_days_used, "slip_days_left": outcome.slip_days_left},
    }


LEADERBOARD_TEST = "Leaderboard"  #: the name of the test lines that say why a run is not on a board


def leaderboard_test(off: Off, number: int) -> dict[str, Any]:
    """Why the run does not count on a board: no points, and shown only once the results are published."""
    return {
        "name": f"{LEADERBOARD_TEST}: {off.name}",
        "number": str(number),
        "score": 0.0,
        "max_score": 0.0,
        "status": "failed",
        "output": f"This run does not count on the board: {off.reason}.",
        "visibility": _VISIBILITY[Visibility.HIDDEN],
        "tags": ["leaderboard", off.problem],
        "extra_data": {"status": "leaderboard", "problem": off.problem, "why": off.why},
    }


def results_json(result: SubmissionResult, late: LateOutcome | None = None,
                 assignment: Assignment | None = None) -> dict[str, Any]:
    """Gradescope's results for ``result``; ``late`` (the student's outcome under the late policy) adds the late
    penalty as a test line of its own when the submission was late, and makes the score the final one; the
    ``assignment`` adds the ``leaderboard`` array when one of its problems declares a board."""
    tests = [c for p in result.problems for c in p.checks]
    lines = [f"{p.problem}: {p.score:g} / {p.max_score:g}" for p in result.problems]
    for p in result.problems:
        lines += [f"{p.problem}: {note}" for note in p.notes]
    entries = [_test(c, i) for i, c in enumerate(tests, start=1)]
    score = result.score
    if late is not None:
        late = late.scored(result.score)  # a submission that scores 0 spends no slip days
        lines.append(late.headline(result.score))
        if late.status == LATE:
            entries.append(late_test(late, result.score, len(entries) + 1))
        score = late.final(result.score)
    board = gradescope_entries(assignment, result)
    if board is not None:
        lines += board.lines
        entries += [leaderboard_test(off, len(entries) + i) for i, off in enumerate(board.off, start=1)]
    out = {
        "score": score,
        "output": "\n".join(result.notes + lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": entries,
        "extra_data": {"max_score": result.max_score, "student": result.student}
        | ({"raw_score": result.score, "late_penalty": late.penalty(result.score)} if late is not None else {}),
    }
    if board is not None:
        out["leaderboard"] = board.entries
    return out


def write_results_json(result: SubmissionResult, path: Path, late: LateOutcome | None = None,
                       assignment: Assignment | None = None) -> None:
    """Write :func:`results_json` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results_json(result, late, assignment), indent=2), encoding="utf-8")
    tmp.replace(path)
