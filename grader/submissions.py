"""Find submissions and read each one's source: ``solution.py`` or ``solution.ipynb``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.notebook import NotebookError, NotebookSource, notebook_to_python

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
SOURCE_NAMES = ("solution.py", "solution.ipynb")
MAX_SOURCE_BYTES = 2 * 1024 * 1024


class SubmissionError(Exception):
    """The submission's files cannot be read as code; the message is for the student."""


@dataclass(frozen=True)
class SourceFile:
    text: str
    filename: str  #: as shown in tracebacks: solution.py or solution.ipynb
    notebook: NotebookSource | None = None


@dataclass(frozen=True)
class Submission:
    student: str
    folder: Path

    @property
    def answers_path(self) -> Path:
        return self.folder / "answers.yaml"


@dataclass
class Collection:
    submissions: list[Submission] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def collect(root: Path) -> Collection:
    """Every student folder under ``root``; anything else is reported, never dropped silently."""
    found = Collection()
    for path in sorted(root.iterdir()):
        if path.name.startswith("."):
            continue
        if not path.is_dir():
            found.warnings.append(f"{path}: ignored (a file, not a student's folder)")
        elif not STUDENT_ID.match(path.name):
            found.warnings.append(f"{path}: ignored (folder name {path.name!r} is not a valid student id: "
                                  "use letters, digits and . _ @ + -)")
        else:
            found.submissions.append(Submission(path.name, path))
    seen: dict[str, str] = {}
    for sub in found.submissions:
        other = seen.setdefault(sub.student.lower(), sub.student)
        if other != sub.student:
            found.warnings.append(f"{root}: student ids {other!r} and {sub.student!r} differ only in case; "
                                  "both are graded, but an LMS or a case-insensitive disk may merge them")
    return found


def read_source(folder: Path) -> SourceFile:
    """The code to run for a submission folder, or :class:`SubmissionError` saying why there is none."""
    present = [name for name in SOURCE_NAMES if (folder / name).is_file()]
    if not present:
        others = sorted(p.name for p in folder.iterdir())[:5] if folder.is_dir() else []
        hint = f" (found: {', '.join(others)})" if others else " (the folder is empty)"
        raise SubmissionError(f"no solution.py or solution.ipynb in {folder.name}/{hint}")
    name = present[0]
    path = folder / name
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{name} is larger than {MAX_SOURCE_BYTES // 1024 // 1024} MB")
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{name} is not UTF-8 text (byte {exc.start}: {exc.reason}); "
                              "save it with UTF-8 encoding") from exc
    if name.endswith(".py"):
        return SourceFile(raw, name)
    try:
        nb = notebook_to_python(raw)
    except NotebookError as exc:
        raise SubmissionError(f"{name}: {exc}") from exc
    return SourceFile(nb.text, name, nb)
