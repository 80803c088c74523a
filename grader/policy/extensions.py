"""Per-student extensions: ``extensions.csv`` (``--extensions FILE``; by default ``OUT/extensions.csv`` when it
exists, like ``manual-grades.csv``).

Columns ``student`` and either ``days`` (added to the due time; fractions allowed, e.g. 0.5; at most
:data:`MOST_DAYS`) or ``due`` (the student's own due time, ISO 8601 with its offset), and optionally ``reason``
(shown in the student's report).

Extension days are *calendar* days: with the policy's ``time_zone``, ``days: 2`` moves a due time of 23:59 to
23:59 two days later on the clock there, across a change to or from daylight saving time too (then 47 or 49 hours
later), and ``days: 1.5`` to 11:59 the day after next; without one, the due time has a fixed offset and a day is
24 hours. A late *day* of the penalty, a slip day and ``zero_after_days`` are 24 hours of elapsed time
(:mod:`grader.policy.rules`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Iterable

from grader.policy.csvfile import read_table
from grader.policy.errors import PolicyError
from grader.policy.times import parse_time, shown_time

EXTENSIONS_CSV = "extensions.csv"  #: read from the output folder when no --extensions is given
MOST_DAYS = 3650  #: the longest extension in days (more is a typo, and would overflow the arithmetic)


@dataclass(frozen=True)
class Extension:
    """One student's extension: ``days`` more, or their own ``due`` time."""

    student: str
    days: float | None = None
    due: datetime | None = None
    reason: str = ""
    where: str = ""  #: the file and line it was read from
    #: ``days`` are calendar days on the clock of the policy's time_zone; False: 24-hour periods of elapsed time
    #: (an extension measured as a difference of two instants, like one given in Gradescope)
    calendar: bool = True

    def apply(self, due: datetime, zone: tzinfo | None = None) -> datetime:
        """The student's own due time, given the assignment's ``due``: their own ``due``, or ``due`` moved by
        ``days`` days on the clock of ``zone`` (the policy's ``time_zone``: calendar days, so 23:59 stays 23:59
        across a change to or from daylight saving time), or by ``days`` times 24 hours without one (or without
        ``calendar``)."""
        if self.due is not None:
            return self.due
        days = timedelta(days=self.days or 0.0)
        if zone is None or not self.calendar:  # elapsed time: added in UTC (a ZoneInfo would add on its clock)
            return (due.astimezone(timezone.utc) + days).astimezone(due.tzinfo)
        wall = due.astimezone(zone).replace(tzinfo=None) + days  # on the clock of the zone
        # an ambiguous wall time (the hour repeated when daylight saving time ends) is its first reading, and one
        # that does not exist (the hour skipped when it starts) is read with the offset before the change
        return wall.replace(tzinfo=zone).astimezone(timezone.utc).astimezone(zone)

    def shown(self, tz: tzinfo | None = None) -> str:
        if self.due is not None:
            said = f"extended to {shown_time(self.due, tz)}"
        else:
            days = self.days or 0.0
            said = f"extended by {days:g} day{'s' if days != 1 else ''}"
        return said + (f" ({self.reason})" if self.reason else "")


def parse_days(text: str) -> float:
    """An extension's ``days``: a positive number, at most :data:`MOST_DAYS`; ValueError saying what is wrong."""
    try:
        days = float(text)
    except ValueError:
        raise ValueError(f"days {text!r} is not a number") from None
    if not math.isfinite(days) or days <= 0:
        raise ValueError(f"days must be a positive number, got {text!r}")
    if days > MOST_DAYS:
        raise ValueError(f"days {text!r} is too many (at most {MOST_DAYS}, ten years; or give the student's own due "
                         "time in the due column)")
    return days


def shown_days(days: float) -> str:
    """``days`` as text that reads back as the same number (``2``, ``1.5``, ``0.3333333333333333``)."""
    short = f"{days:g}"
    return short if float(short) == days else repr(days)


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
            extension = Extension(student, parse_days(days) if days else None, parse_time(due, tz) if due else None,
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
