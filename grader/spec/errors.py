"""Errors in an instructor's spec, reported with the file, the line and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class SpecIssue:
    path: Path
    line: int | None  #: 1-based; None when the file itself is the problem
    field: str  #: a dotted path such as ``checks[1].params.rtol``; empty for the whole file
    message: str  #: what was expected, and what was found

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SpecError(Exception):
    """One or more problems in an assignment's YAML specs."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))
