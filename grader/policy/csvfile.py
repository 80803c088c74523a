"""The instructor's CSV inputs (``times.csv``, ``extensions.csv``): a header row, then one row per student, each
kept with its line so that every message can name it."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from grader.policy.errors import PolicyError


@dataclass(frozen=True)
class Row:
    line: int  #: the row's line in the file (the header is line 1)
    cells: dict[str, str]  #: column (lower case, trimmed) -> cell (trimmed; empty when missing)

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


def read_table(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[Row]:
    """The rows of ``path``; its header must name every ``required`` column (any case, any order); other columns
    than ``required`` and ``optional`` are an error (a typo would otherwise be ignored). Blank rows are skipped."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"{path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            raw = [(reader.line_num, cells) for cells in reader]
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text (save it as CSV UTF-8)") from None
    except csv.Error as exc:
        raise PolicyError(f"{path}: not a CSV file ({exc})") from None
    if not header:
        raise PolicyError(f"{path}: empty (expected a header row: {','.join(required + optional)})")
    columns = [c.strip().lower() for c in header]
    missing = [c for c in required if c not in columns]
    unknown = [c for c in columns if c and c not in required + optional]
    twice = sorted({c for c in columns if c and columns.count(c) > 1})
    if missing or unknown or twice:
        said = "; ".join(filter(None, [f"missing column(s) {', '.join(missing)}" if missing else "",
                                       f"unknown column(s) {', '.join(unknown)}" if unknown else "",
                                       f"column(s) named twice: {', '.join(twice)}" if twice else ""]))
        expected = ", ".join(required) + (f" (and optionally {', '.join(optional)})" if optional else "")
        raise PolicyError(f"{path}:1: {said}; expected the columns {expected}")
    rows = []
    for line, cells in raw:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(columns):
            raise PolicyError(f"{path}:{line}: {len(cells)} cells, but the header has {len(columns)} columns "
                              "(a comma inside a cell needs quotes)")
        rows.append(Row(line, {c: (cells[i].strip() if i < len(cells) else "") for i, c in enumerate(columns) if c}))
    return rows
