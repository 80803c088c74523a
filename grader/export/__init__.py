"""Grade exports for the LMSs, from a ``grader grade`` output folder (``scores.csv`` and ``results.json``).

``grader export OUT --format canvas|moodle|csv [--roster roster.csv] [--out FILE]``: see the README's
"Uploading grades" section for the upload steps.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.export import formats
from grader.export.roster import Match, Roster, match, read_roster
from grader.export.scores import ClassScores, ExportError, read_scores
from grader.output import inert_csv

Format = Literal["canvas", "moodle", "csv"]
FORMATS: tuple[Format, ...] = ("canvas", "moodle", "csv")
DEFAULT_FILES = {"canvas": "canvas-import.csv", "moodle": "moodle-import.csv", "csv": "scores-wide.csv"}


@dataclass
class Export:
    rows: list[list[str]]
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        buffer = io.StringIO()
        inert_csv.writer(buffer).writerows(self.rows)
        return buffer.getvalue()

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.text(), encoding="utf-8", newline="")
        tmp.replace(path)
        return path


def export(out_dir: Path, fmt: Format, *, title: str, roster: Path | None = None, key: str | None = None,
           per_problem: bool = False) -> Export:
    """Build the import file ``fmt`` for the grades in ``out_dir``; warnings list everyone not matched."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    scores: ClassScores = read_scores(out_dir)
    warnings = list(scores.warnings)
    students = list(scores.students)
    table: Roster | None = None
    if roster is not None:
        table = read_roster(roster, key)
        pairs, unmatched = match(table, students)
        warnings += table.warnings + unmatched
        key = table.key
    else:
        pairs = [Match(None, s) for s in students]
        if fmt != "csv":
            key = "SIS Login ID" if fmt == "canvas" else formats.MOODLE_NO_ROSTER
            warnings.append(f"no --roster: the {key} column holds the submission folder names; the LMS "
                            "matches only the students whose folders are named so")
    if fmt == "canvas":
        return Export(formats.canvas(scores, title, pairs, key or "SIS Login ID", per_problem=per_problem,
                                    roster=table), warnings)
    if fmt == "moodle":
        rows, more = formats.moodle(scores, title, pairs, table)
        return Export(rows, warnings + more)
    return Export(formats.wide(scores, pairs, key), warnings)


__all__ = ["DEFAULT_FILES", "FORMATS", "Export", "ExportError", "export"]
