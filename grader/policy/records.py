"""``OUT/submission-times.csv``: what a ``grade`` run applied the late policy to, one row per student of the batch.

Columns: ``student``, ``submitted_at`` (ISO 8601 with offset; empty when unknown), ``source`` (``times.csv``,
``gradescope``, ``canvas`` or empty), ``where`` (the file and line or entry it was read from), ``canvas_late``
(``yes``/``no`` for a Canvas download), and the extension applied: ``extension_days``, ``extension_due``,
``extension_reason``, ``extension_where`` (its file and line). A later ``grade`` run of the same output folder
falls back on a student's time here when no source gives one this time; ``grader course`` reads every
assignment's file to count slip days.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from grader.output import inert_csv
from grader.policy.errors import PolicyError
from grader.policy.extensions import Extension, parse_days, shown_days
from grader.policy.times import SOURCES, SubmissionTime, parse_time

RECORDS = "submission-times.csv"
COLUMNS = ["student", "submitted_at", "source", "where", "canvas_late", "extension_days", "extension_due",
           "extension_reason", "extension_where"]


@dataclass(frozen=True)
class Record:
    student: str
    time: SubmissionTime | None
    extension: Extension | None


def write_records(records: list[Record], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = inert_csv.writer(fh)
        writer.writerow(COLUMNS)
        for r in sorted(records, key=lambda r: r.student):
            t, e = r.time, r.extension
            writer.writerow([r.student, t.at.isoformat() if t and t.at else "", t.source if t else "",
                             t.where if t else "", "" if t is None or t.late_flag is None else
                             ("yes" if t.late_flag else "no"),
                             shown_days(e.days) if e and e.days is not None else "",
                             e.due.isoformat() if e and e.due is not None else "", e.reason if e else "",
                             e.where if e else ""])
    tmp.replace(path)
    return path


def _text(cell: str) -> str:
    """A text cell as written: without the quote that made it inert in a spreadsheet."""
    return cell[1:] if cell.startswith(inert_csv.PREFIX) and inert_csv.formula_start(cell[1:]) else cell


def read_records(path: Path) -> dict[str, Record]:
    """The records a ``grade`` run wrote; a file that is not one is a :class:`PolicyError` naming the line."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise PolicyError(f"{path}:1: not a grader {RECORDS} (missing column(s) {', '.join(missing)})")
            rows = list(enumerate(reader, start=2))
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PolicyError(f"{path}: not a grader {RECORDS} ({exc})") from None
    found: dict[str, Record] = {}
    for line, row in rows:
        student = row["student"] or ""
        try:
            at = parse_time(row["submitted_at"]) if row["submitted_at"] else None
            source = row["source"] or ""
            if source and source not in SOURCES:
                raise ValueError(f"unknown source {source!r}")
            flags = {"yes": True, "no": False, "": None}
            if (row["canvas_late"] or "") not in flags:
                raise ValueError(f"canvas_late {row['canvas_late']!r} is not yes or no")
            flag = flags[row["canvas_late"] or ""]
            time = SubmissionTime(student, at, source, _text(row["where"] or ""), flag) if source else None
            days = parse_days(row["extension_days"]) if row["extension_days"] else None
            due = parse_time(row["extension_due"]) if row["extension_due"] else None
        except ValueError as exc:
            raise PolicyError(f"{path}:{line}: {exc}") from None
        extension = Extension(student, days, due, _text(row["extension_reason"] or ""),
                              _text(row["extension_where"] or "") or f"{path}:{line}") \
            if days is not None or due is not None else None
        found[student] = Record(student, time, extension)
    return found
