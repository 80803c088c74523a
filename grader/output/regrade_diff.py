"""``regrade-diff.csv``: every stored score a ``grade`` run changed (student, problem, old, new, reason).

Written by each run that changes a stored score, replacing the previous run's list (the run's id and time are in
every row); a run that changes nothing leaves the last list as it was. A score the run dropped (the student's
files changed and the run did not select that problem) has an empty ``new``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from grader.output import inert_csv

if TYPE_CHECKING:
    from grader.resume import ScoreChange

REGRADE_DIFF = "regrade-diff.csv"
COLUMNS = ["student", "problem", "old", "new", "reason", "run", "written_at"]


def write_regrade_diff(changes: Iterable["ScoreChange"], path: Path, *, run: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = inert_csv.writer(fh)
        writer.writerow(COLUMNS)
        for c in sorted(changes, key=lambda c: (c.student, c.problem)):
            writer.writerow([c.student, c.problem, f"{round(c.old, 4):g}",
                             "" if c.new is None else f"{round(c.new, 4):g}", c.reason, run, now])
    tmp.replace(path)
