"""The class roster an instructor downloads from the LMS, matched to submission folder names.

A roster is any CSV file with a header row, e.g. Canvas's gradebook export (``Student, ID, SIS User ID,
SIS Login ID, Section, ...``) or Moodle's grade export (``First name, Last name, ID number, ...,
Email address``). One column, the *key*, holds the value each submission folder is named by; by default
the first of :data:`KEY_COLUMNS` that the roster has. Keys match folder names case-insensitively.
Canvas's "Points Possible" row and rows with an empty key are kept as roster entries without a match.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from grader.export.scores import ExportError

KEY_COLUMNS = ("SIS Login ID", "Username", "Login ID", "ID number", "Email address")


@dataclass(frozen=True)
class Entry:
    line: int  #: the line in the roster file, for messages
    fields: dict[str, str]

    def get(self, column: str) -> str:
        return (self.fields.get(column) or "").strip()


@dataclass
class Roster:
    path: Path
    columns: list[str]
    key: str
    entries: list[Entry]
    warnings: list[str] = field(default_factory=list)

    def describe(self, entry: Entry) -> str:
        name = entry.get("Student") or " ".join(filter(None, (entry.get("First name"), entry.get("Last name"))))
        key = entry.get(self.key)
        return f"{self.path}:{entry.line} ({name or '?'}, {self.key} '{key}')"


def _is_points_possible(row: dict[str, str], first: str) -> bool:
    return (row.get(first) or "").strip().lower() == "points possible"


def read_roster(path: Path, key: str | None = None) -> Roster:
    """Read a roster CSV; ``key`` names the column that equals the submission folder names."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such roster file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in reader.fieldnames or []]
            reader.fieldnames = columns
            raw = [(line, row) for line, row in enumerate(reader, start=2)]
    except UnicodeDecodeError:
        raise ExportError(f"{path}: not UTF-8 text (save the roster as CSV UTF-8)") from None
    except csv.Error as exc:
        raise ExportError(f"{path}: not a CSV file ({exc})") from None
    if not columns:
        raise ExportError(f"{path}: empty roster (expected a header row)")
    if key is None:
        key = next((c for c in KEY_COLUMNS if c in columns), None)
        if key is None:
            raise ExportError(f"{path}: no column to match submission folders by (looked for "
                              f"{', '.join(KEY_COLUMNS)}; name one with --key); columns: {', '.join(columns)}")
    elif key not in columns:
        raise ExportError(f"{path}: no column '{key}'; columns: {', '.join(columns)}")
    entries = [Entry(line, {k: v or "" for k, v in row.items() if k is not None})
               for line, row in raw if not _is_points_possible(row, columns[0])]
    roster = Roster(path, columns, key, entries)
    seen: dict[str, Entry] = {}
    for entry in entries:
        value = entry.get(key).casefold()
        if value and value in seen:
            roster.warnings.append(f"{roster.describe(entry)}: same {key} as line {seen[value].line}; "
                                   "only the first is matched")
        seen.setdefault(value, entry)
    return roster


@dataclass
class Match:
    """Roster entries paired with submissions; ``entry`` or ``student`` is None where one side is missing."""

    entry: Entry | None
    student: str | None


def match(roster: Roster, students: list[str]) -> tuple[list[Match], list[str]]:
    """Pair every roster entry with its submission, in roster order, then the submissions not on the roster.

    Returns the pairs and one warning for each entry without a submission and each submission without an
    entry: nothing is dropped silently.
    """
    by_key = {s.casefold(): s for s in students}
    pairs: list[Match] = []
    warnings: list[str] = []
    taken: set[str] = set()
    for entry in roster.entries:
        student = by_key.get(entry.get(roster.key).casefold()) if entry.get(roster.key) else None
        if student is not None and student in taken:
            student = None  # a duplicate roster line, already warned about
        if student is None:
            warnings.append(f"{roster.describe(entry)}: no submission; exported with an empty grade")
        else:
            taken.add(student)
        pairs.append(Match(entry, student))
    for student in students:
        if student not in taken:
            warnings.append(f"submission '{student}' is not on the roster {roster.path} (no {roster.key} "
                            f"'{student}'); exported under its folder name, which the LMS may not match")
            pairs.append(Match(None, student))
    return pairs, warnings
