"""Find submissions and read each one's source: ``solution.py`` or ``solution.ipynb``."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from grader.notebook import NotebookError, NotebookSource, notebook_to_python
from grader.submission_files import FileRefused, entry_mode, kind, read_regular

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
SOURCE_NAMES = ("solution.py", "solution.ipynb")
MAX_SOURCE_BYTES = 2 * 1024 * 1024  #: solution.py
MAX_NOTEBOOK_BYTES = 8 * 1024 * 1024  #: solution.ipynb, which may hold its outputs (plots as base64)


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
    with os.scandir(root) as entries:
        listed = sorted((Path(e.path), e.stat(follow_symlinks=False).st_mode) for e in entries)
    for path, mode in listed:
        if path.name.startswith("."):
            continue
        if stat.S_ISLNK(mode):
            found.warnings.append(f"{path}: ignored (a symbolic link, never followed: a student's folder must be "
                                  "a real folder)")
        elif not stat.S_ISDIR(mode):
            found.warnings.append(f"{path}: ignored ({kind(mode)}, not a student's folder)")
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
    """The code to run for a submission folder, or :class:`SubmissionError` saying why there is none.

    Only a regular file is read (a link, a pipe or a device named solution.py is refused, never followed
    or opened), up to :data:`MAX_SOURCE_BYTES` (.py) or :data:`MAX_NOTEBOOK_BYTES` (.ipynb)."""
    present = [name for name in SOURCE_NAMES if (mode := entry_mode(folder, name)) is not None
               and not stat.S_ISDIR(mode)]  # a link, a pipe...: there, and refused when read
    if not present:
        try:
            others = sorted(p.name for p in folder.iterdir())[:5]
        except OSError:
            others = []
        hint = f" (found: {', '.join(others)})" if others else " (the folder is empty)"
        raise SubmissionError(f"no solution.py or solution.ipynb in {folder.name}/{hint}")
    name = present[0]
    limit = MAX_SOURCE_BYTES if name.endswith(".py") else MAX_NOTEBOOK_BYTES
    try:
        raw = read_regular(folder, name, limit).decode("utf-8")
    except FileRefused as exc:
        raise SubmissionError(str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{name} is not UTF-8 text (byte {exc.start}: {exc.reason}); "
                              "save it with UTF-8 encoding") from exc
    if name.endswith(".py"):
        return SourceFile(raw, name)
    try:
        nb = notebook_to_python(raw)
    except NotebookError as exc:
        raise SubmissionError(f"{name}: {exc}") from exc
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        raise SubmissionError(f"{name} could not be read as a notebook ({type(exc).__name__})") from exc
    return SourceFile(nb.text, name, nb)
