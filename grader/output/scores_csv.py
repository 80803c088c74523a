"""``scores.csv``: one row per student and problem, inert in a spreadsheet (:mod:`grader.output.inert_csv`).

``score`` is the problem's score as graded (manual grades merged). With a late policy (``late:`` in
assignment.yaml) each row has :data:`LATE_COLUMNS` too: the problem's share of the late penalty and its final
score (``score`` minus it: the exports use it), and the student's penalty in percent, own due time (extension
included), submission time, where that time came from, how late (``late_by``: e.g. ``2 days 3 h 1 min``, ``unknown``
for a LATE mark without a time, ``on time (within the grace period, 14 min 30 s after the due time)``, empty when on
time), and the slip days spent (none on a submission that scores 0: the outcome is settled with the student's raw
score, :meth:`grader.policy.rules.LateOutcome.scored`).
"""

from __future__ import annotations

from pathlib import Path

from grader.models import Status, SubmissionResult
from grader.output import inert_csv
from grader.policy.rules import LateOutcome

COLUMNS = ["student", "problem", "score", "max_score", "passed", "failed", "errors", "pending"]
LATE_COLUMNS = ["late_penalty", "final_score", "penalty_percent", "due", "submitted_at", "time_source", "late_by",
                "slip_days_used"]


def _number(value: float) -> str:
    return f"{round(value, 4):g}"


def late_cells(score: float, outcome: LateOutcome | None) -> list[str]:
    """The late columns of one row: ``score`` is the problem's raw score."""
    if outcome is None:  # a student the policy has nothing on (not in the batch's outcomes)
        return ["0", _number(score), "0", "", "", "", "", "0"]
    at = outcome.submitted
    return [_number(outcome.penalty(score)), _number(outcome.final(score)), f"{outcome.percent:g}",
            outcome.own_due.isoformat(), at.isoformat() if at else "", outcome.time.source if outcome.time else "",
            outcome.late_by, str(outcome.slip_days_used)]


def write_scores_csv(results: list[SubmissionResult], path: Path,
                     late: dict[str, LateOutcome] | None = None) -> None:
    """Write ``scores.csv``; ``late`` (student -> outcome, given when the assignment has a late policy) adds the
    late columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = inert_csv.writer(fh)
        writer.writerow(COLUMNS + (LATE_COLUMNS if late is not None else []))
        for result in sorted(results, key=lambda r: r.student):
            for p in result.problems:
                statuses = [c.status for c in p.checks]
                passed, failed, pending = (statuses.count(s) for s in (Status.PASSED, Status.FAILED, Status.PENDING))
                row = [result.student, p.problem, _number(p.score), _number(p.max_score),
                       passed, failed, len(statuses) - passed - failed - pending, pending]
                if late is not None:
                    outcome = late.get(result.student)
                    row += late_cells(p.score, outcome.scored(result.score) if outcome is not None else None)
                writer.writerow(row)
    tmp.replace(path)
