"""Submission times, each with where it came from.

- ``times.csv`` (``--times FILE``; by default ``OUT/times.csv`` when it exists): ``student,submitted_at``, an
  ISO 8601 time with its offset (``2026-10-16T08:30:00-04:00``, or ``Z``); without one only where the policy
  names a ``time_zone``. Any source can be put in this form.
- Gradescope's export (``--times submission_metadata.yml``, the file at the top of "Export Submissions"): each
  ``submission_<id>`` with its ``:submitters:`` (``:sid:``, ``:email:``) and ``:created_at:``; a student is
  matched by submission folder name, then by sid, then by e-mail.
- Gradescope's autograder (``grader gradescope``): ``/autograder/submission_metadata.json``, its ``created_at``
  and the due dates Gradescope holds for the assignment and for the student (an extension given in Gradescope).
- Canvas's bulk download: no times, only a ``LATE`` mark in the file names (``grader.lms.canvas_import``); a
  student so marked is late by an unknown amount (see :func:`grader.policy.rules.assess`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Iterable

import yaml

from grader.policy.csvfile import read_table
from grader.policy.errors import PolicyError

TIMES_CSV = "times.csv"  #: read from the output folder when no --times is given
#: the times accepted anywhere (a due time, a submission time, an extension's due time): a time outside them is a
#: typo or a spreadsheet's empty date (0001-01-01, 9999-12-31), and would overflow the arithmetic
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(3000, 1, 1, tzinfo=timezone.utc)
SOURCES = ("times.csv", "gradescope", "canvas")  #: where a time can come from; the first wins for a student


def parse_time(value: Any, tz: tzinfo | None = None) -> datetime:
    """An aware datetime from ISO 8601 text (or a datetime, as YAML reads one); a time without an offset gets
    ``tz``. Raises ValueError saying what is wrong."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, date):
        raise ValueError(f"{value} is a date without a time (write e.g. {value}T23:59:00-04:00)")
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
            raise ValueError(f"{text} is a date without a time (write e.g. {text}T23:59:00-04:00)")
        try:
            found = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date and time (expected ISO 8601, e.g. "
                             "2026-10-16T08:30:00-04:00)") from None
    else:
        raise ValueError(f"expected a date and time such as 2026-10-16T08:30:00-04:00, got {value!r}")
    written = value.strip() if isinstance(value, str) else found.isoformat()
    if found.tzinfo is None or found.utcoffset() is None:
        if tz is None:
            raise ValueError(f"{found.isoformat()} has no time zone (add its offset, e.g. "
                             f"{found.isoformat(timespec='minutes')}-04:00, or Z for UTC)")
        found = found.replace(tzinfo=tz)
    try:
        utc = found.astimezone(timezone.utc)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"{written} is out of range (expected a time between the years "
                         f"{EARLIEST.year} and {LATEST.year - 1})")
    return found


def elapsed(later: datetime, earlier: datetime) -> timedelta:
    """The real time from ``earlier`` to ``later``, both aware: subtracted in UTC. (Python subtracts two times that
    share one tzinfo object, e.g. one ZoneInfo, as wall-clock times, which is an hour off across a DST change.)"""
    return later.astimezone(timezone.utc) - earlier.astimezone(timezone.utc)


def shown_time(moment: datetime, tz: tzinfo | None = None) -> str:
    """A time as reports show it, in ``tz`` (default: its own offset): ``2026-10-16 08:30 EDT``, with its seconds
    when they are not zero (``2026-10-16 00:13:01 EDT``, Gradescope's times)."""
    try:
        local = moment.astimezone(tz) if tz is not None else moment
    except OverflowError:  # never for a time parse_time accepted; shown with its own offset rather than a traceback
        local = moment
    name = local.tzname() or ""
    if name.startswith("UTC") and len(name) > 3:  # a bare offset: UTC-04:00 reads better as -04:00
        name = name[3:]
    clock = "%H:%M:%S" if local.second or local.microsecond else "%H:%M"  # seconds where they matter
    return f"{local:%Y-%m-%d} {local.strftime(clock)} {name}"


def shown_duration(span: timedelta) -> str:
    """``2 days 3 h 5 min``, ``14 min 1 s``: every part that is not zero, down to the second, rounded *up* to the
    second (like the started periods of the penalty), so that a time one second past the grace period or past a
    day's end never reads like one on it (a day is 24 hours of elapsed time)."""
    second = timedelta(seconds=1)
    seconds = max(span // second + (1 if span % second else 0), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class SubmissionTime:
    """When one student submitted, and where that was read."""

    student: str
    at: datetime | None  #: None: the source knows only whether it was late (Canvas's LATE mark)
    source: str  #: one of :data:`SOURCES`
    where: str  #: the file and line (or entry) it was read from
    late_flag: bool | None = None  #: Canvas: whether the download marked the submission LATE

    @property
    def shown_source(self) -> str:
        if self.source == "canvas":
            return "Canvas download (marked LATE, no time)" if self.late_flag else "Canvas download (not marked late)"
        return {"times.csv": "times file", "gradescope": "Gradescope"}.get(self.source, self.source)


def read_times_csv(path: Path, students: Iterable[str], tz: tzinfo | None = None
                   ) -> tuple[dict[str, SubmissionTime], list[str]]:
    """``student,submitted_at`` rows, for the students in the batch; a row for anyone else is a warning, a time
    that does not parse (or has no time zone) and a student listed twice are errors naming the row."""
    known = set(students)
    rows = read_table(path, ("student", "submitted_at"))
    found: dict[str, SubmissionTime] = {}
    lines: dict[str, int] = {}
    errors, warnings = [], []
    for row in rows:
        where = f"{path}:{row.line}"
        student = row.get("student")
        if not student:
            errors.append(f"{where}: no student")
            continue
        try:
            at = parse_time(row.get("submitted_at"), tz)
        except ValueError as exc:
            errors.append(f"{where}: submitted_at for {student}: {exc}")
            continue
        if student in lines:
            errors.append(f"{where}: {student} is listed twice (also line {lines[student]}); keep one time")
            continue
        lines[student] = row.line
        if student not in known:
            warnings.append(f"{where}: no submission from {student!r} in this batch; its time is not used")
            continue
        found[student] = SubmissionTime(student, at, "times.csv", where)
    if errors:
        raise PolicyError(errors)
    return found, warnings


def read_gradescope_export(path: Path, students: Iterable[str]) -> tuple[dict[str, SubmissionTime], list[str]]:
    """The times in a Gradescope export's ``submission_metadata.yml``, for the students of the batch: a submission
    folder's time goes to the batch folder of that name, and to those named by a submitter's ``:sid:`` or ``:email:``
    (each member of a group)."""
    known = {s.casefold(): s for s in students}
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise PolicyError(f"{where}: not Gradescope's submission_metadata.yml (invalid YAML: "
                          f"{getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: not Gradescope's submission_metadata.yml (expected one entry per submission "
                          "folder, e.g. submission_123456: with :submitters: and :created_at:)")
    found: dict[str, SubmissionTime] = {}
    errors, warnings = [], []
    for folder, entry in data.items():
        where = f"{path}: {folder}"
        if not isinstance(entry, dict):
            errors.append(f"{where}: expected :submitters: and :created_at:")
            continue
        submitters = entry.get(":submitters")
        if submitters is None:
            submitters = []
        if not isinstance(submitters, list):
            errors.append(f"{where}: :submitters: should be a list of submitters (each with :sid: or :email:), "
                          f"got {_kind(submitters)}")
            continue
        odd = [str(i + 1) for i, s in enumerate(submitters) if not isinstance(s, dict)]
        if odd:
            errors.append(f"{where}: :submitters: submitter {', '.join(odd)} is not a mapping with :sid: or :email:")
            continue
        names = [str(folder)] + [str(s.get(key)) for s in submitters
                                 for key in (":sid", ":email") if s.get(key) not in (None, "")]
        matched = list(dict.fromkeys(known[n.casefold()] for n in names if n.casefold() in known))
        if not matched:
            continue
        try:
            at = parse_time(entry.get(":created_at"))
        except ValueError as exc:
            errors.append(f"{where}: :created_at: {exc}")
            continue
        for student in matched:  # a group submission: each of its submitters graded in the batch
            if student in found:
                errors.append(f"{where}: a second submission for {student} ({found[student].where} is the first)")
                continue
            found[student] = SubmissionTime(student, at, "gradescope", where)
    if errors:
        raise PolicyError(errors)
    return found, warnings


def _kind(value: Any) -> str:
    return {dict: "a mapping", str: "text", int: "a number", float: "a number", bool: "true/false"}.get(
        type(value), type(value).__name__) + f" ({value!r:.60})"


def read_times(path: Path, students: Iterable[str], tz: tzinfo | None = None
               ) -> tuple[dict[str, SubmissionTime], list[str]]:
    """A times file: Gradescope's ``submission_metadata.yml`` (by its ``.yml``/``.yaml`` suffix), else a times CSV."""
    if Path(path).suffix.lower() in (".yml", ".yaml"):
        return read_gradescope_export(path, students)
    return read_times_csv(path, students, tz)


def canvas_times(flags: dict[str, bool], where: str) -> dict[str, SubmissionTime]:
    """Canvas's LATE marks (student -> marked late) as times without a time."""
    return {s: SubmissionTime(s, None, "canvas", where, late) for s, late in flags.items()}


@dataclass(frozen=True)
class GradescopeSubmission:
    """What ``grader gradescope`` reads from ``submission_metadata.json``."""

    time: SubmissionTime
    assignment_due: datetime | None  #: the assignment's due date in Gradescope
    student_due: datetime | None  #: the student's own (an extension given in Gradescope moves it)


def read_gradescope_submission(path: Path, student: str) -> GradescopeSubmission:
    """``created_at`` and the due dates of Gradescope's ``submission_metadata.json`` (the student's own due date is
    the first user's ``assignment.due_date``, where Gradescope puts an extension)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise PolicyError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected Gradescope's submission metadata (an object with created_at)")
    try:
        created = parse_time(data.get("created_at"), timezone.utc)
    except ValueError as exc:
        raise PolicyError(f"{path}: created_at: {exc}") from None

    def due(holder: Any, where: str) -> datetime | None:
        value = holder.get("due_date") if isinstance(holder, dict) else None
        if value in (None, ""):
            return None
        try:
            return parse_time(value, timezone.utc)
        except ValueError as exc:
            raise PolicyError(f"{path}: {where}.due_date: {exc}") from None

    users = data.get("users") if isinstance(data.get("users"), list) else []
    first = users[0] if users and isinstance(users[0], dict) else {}
    return GradescopeSubmission(SubmissionTime(student, created, "gradescope", f"{path}: created_at"),
                                due(data.get("assignment"), "assignment"),
                                due(first.get("assignment"), "users[0].assignment"))
