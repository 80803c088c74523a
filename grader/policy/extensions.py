"""Per-student extensions: ``extensions.csv`` (``--extensions FILE``; by default ``OUT/extensions.csv`` when it
exists, like ``manual-grades.csv``).

Columns ``student`` and either ``days`` (added to the due time; fractions allowed, e.g. 0.5) or ``due`` (the
student's own due time, ISO 8601 with its offset), and optionally ``reason`` (shown in the student's report).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Iterable

from grader.policy.csvfile import read_table
from grader.policy.errors import PolicyError
from grader.policy.times import parse_time, shown_time

EXTENSIONS_CSV = "extensions.csv"  #: read from the output folder when no --extensions is given


@dataclass(frozen=True)
class Extension:
    """One student's extension: ``days`` more, or their own ``due`` time."""

    student: str
    days: float | None = None
    due: datetime | None = None
    reason: str = ""
    where: str = ""  #: the file and line it was read from

    def apply(self, due: datetime) -> datetime:
        """The student's own due time, given the assignment's."""
        return self.due if self.due is not None else due + timedelta(days=self.days or 0.0)

    def shown(self, tz: tzinfo | None = None) -> str:
        if self.due is not None:
            said = f"extended to {shown_time(self.due, tz)}"
        else:
            days = self.days or 0.0
            said = f"extended by {days:g} day{'s' if days != 1 else ''}"
        return said + (f" ({self.reason})" if self.reason else "")


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise ValueError(f"days {text!r} is not a number") from None
    if not math.isfinite(days) or days <= 0:
        raise ValueError(f"days must be a positive number, got {text!r}")
    return days


def read_extensions(path: Path, students: Iterable[str], tz: tzinfo | None = None
                    ) -> tuple[dict[str, Extension], list[str]]:
    """The extensions for the students of the batch; a row for anyone else is a warning; a row with both or
    neither of ``days`` and ``due``, a bad number or time, and a student listed twice are errors naming the row."""
    known = set(students)
    rows = read_table(path, ("student",), ("days", "due", "reason"))
    found: dict[str, Extension] = {}
    lines: dict[str, int] = {}
    errors, warnings = [], []
    for row in rows:
        where = f"{path}:{row.line}"
        student, days, due = row.get("student"), row.get("days"), row.get("due")
        if not student:
            errors.append(f"{where}: no student")
            continue
        if bool(days) == bool(due):
            errors.append(f"{where}: {student}: give either days (more days) or due (their own due time), "
                          f"{'not both' if days else 'one of them'}")
            continue
        try:
            extension = Extension(student, _days(days) if days else None, parse_time(due, tz) if due else None,
                                  row.get("reason"), where)
        except ValueError as exc:
            errors.append(f"{where}: {student}: {'due ' if due else ''}{exc}")
            continue
        if student in lines:
            errors.append(f"{where}: {student} is listed twice (also line {lines[student]}); keep one extension")
            continue
        lines[student] = row.line
        if student not in known:
            warnings.append(f"{where}: no submission from {student!r} in this batch; its extension is not used")
            continue
        found[student] = extension
    if errors:
        raise PolicyError(errors)
    return found, warnings
