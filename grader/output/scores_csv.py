"""``scores.csv``: one row per student and problem, inert in a spreadsheet (:mod:`grader.output.inert_csv`)."""

from __future__ import annotations

from pathlib import Path

from grader.models import Status, SubmissionResult
from grader.output import inert_csv

COLUMNS = ["student", "problem", "score", "max_score", "passed", "failed", "errors", "pending"]


def write_scores_csv(results: list[SubmissionResult], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = inert_csv.writer(fh)
        writer.writerow(COLUMNS)
        for result in sorted(results, key=lambda r: r.student):
            for p in result.problems:
                statuses = [c.status for c in p.checks]
                passed, failed, pending = (statuses.count(s) for s in (Status.PASSED, Status.FAILED, Status.PENDING))
                writer.writerow([result.student, p.problem, f"{round(p.score, 4):g}", f"{round(p.max_score, 4):g}",
                                 passed, failed, len(statuses) - passed - failed - pending, pending])
    tmp.replace(path)
