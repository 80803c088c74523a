"""Canvas bulk downloads ("Download Submissions") as a normal submissions folder.

Canvas names each file ``<name>_[LATE_]<user id>_<attachment id>_<original name>``, e.g.
``smithjane_12345_67890_solution.py`` or ``smithjane_LATE_12345_67891_answers-1.yaml`` (the name slug is
the student's last and first name, lower case; ``-1``, ``-2`` before the extension mark a file uploaded
again under the same name). :func:`stage` maps every file to its student and writes one folder per
student, named by the **Canvas user id** (unique and stable, unlike names), holding ``solution.py`` or
``solution.ipynb`` and ``answers.yaml``:

- the newest upload of each file wins (highest attachment id, then highest ``-N``); older ones are
  reported;
- a student without a ``solution.py``/``.ipynb`` but with exactly one other ``.py`` or ``.ipynb`` file
  gets that file graded as their solution, with a note saying so;
- a late submission gets the note "submitted late (Canvas)" on the student's results;
- unrecognised files, name clashes (two user ids with one name, one id with two names), both a ``.py``
  and an ``.ipynb``, oversized or unsafe archive members are warnings, never dropped silently.

The source is a zip file (read through :mod:`grader.lms.safezip`: no path traversal, size limits) or a
flat folder of such files.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.lms.safezip import MAX_FILE_BYTES, ArchiveError, MemberError, SafeZip
from grader.output import inert_csv
from grader.submission_files import FileRefused, kind, read_regular

CANVAS_NAME = re.compile(r"^(?P<slug>[^\W_](?:[^\W_]|-)*)_(?:(?P<late>LATE)_)?(?P<user>\d+)_(?P<attachment>\d+)_"
                         r"(?P<original>.+)$")
_VERSIONED = re.compile(r"^(?P<stem>.+?)(?:-(?P<version>\d+))?(?P<ext>\.[A-Za-z0-9]+)$")
TARGETS = {("solution", ".py"): "solution.py", ("solution", ".ipynb"): "solution.ipynb",
           ("answers", ".yaml"): "answers.yaml", ("answers", ".yml"): "answers.yaml"}
STAGED = "canvas-submissions"  #: the staging folder's name under the output folder
ROSTER = "canvas-roster.csv"
LATE_NOTE = "submitted late (Canvas)"
_MARKER = ".canvas-import"  #: marks a staging folder this module may clear


class CanvasImportError(Exception):
    """The download cannot be imported at all; the message names the file or folder."""


@dataclass(frozen=True)
class CanvasName:
    """A file name in a Canvas bulk download, taken apart."""

    slug: str
    late: bool
    user_id: str
    attachment_id: int
    original: str  #: the name the student uploaded (with Canvas's ``-N`` suffix, if any)

    @property
    def version(self) -> int:
        m = _VERSIONED.match(self.original)
        return int(m.group("version")) if m and m.group("version") else 0

    @property
    def target(self) -> str | None:
        """``solution.py``, ``solution.ipynb`` or ``answers.yaml``; None for any other file."""
        m = _VERSIONED.match(self.original)
        return TARGETS.get((m.group("stem").lower(), m.group("ext").lower())) if m else None


def parse_name(name: str) -> CanvasName | None:
    m = CANVAS_NAME.match(name)
    if not m:
        return None
    return CanvasName(m.group("slug"), bool(m.group("late")), m.group("user"), int(m.group("attachment")),
                      m.group("original"))


@dataclass(frozen=True)
class _Found:
    where: str  #: how messages name it: the path of the file, or archive:member
    basename: str
    read: Callable[[], bytes]


@dataclass(frozen=True)
class _File:
    where: str
    name: CanvasName
    read: Callable[[], bytes]


@dataclass
class CanvasStudent:
    user_id: str
    names: set[str] = field(default_factory=set)
    late: bool = False
    files: dict[str, str] = field(default_factory=dict)  #: staged name -> file in the download
    notes: list[str] = field(default_factory=list)  #: shown on the student's results


@dataclass
class CanvasImport:
    folder: Path  #: the staged submissions folder, one folder per Canvas user id
    students: dict[str, CanvasStudent] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def notes(self) -> dict[str, list[str]]:
        return {uid: s.notes for uid, s in self.students.items() if s.notes}


def looks_like_canvas(path: Path) -> bool:
    """A zip file, or a folder with no student folders and at least one Canvas-named file."""
    if path.is_file():
        return path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)
    if not path.is_dir():
        return False
    with os.scandir(path) as it:  # looked at, never followed: a link counts as neither folder nor file
        entries = [e for e in it if not e.name.startswith(".")]
    return (not any(e.is_dir(follow_symlinks=False) for e in entries)
            and any(parse_name(e.name) for e in entries if e.is_file(follow_symlinks=False)))


def stage(source: Path, out_dir: Path) -> CanvasImport:
    """Stage the Canvas download ``source`` (zip or folder) as ``out_dir/canvas-submissions`` and write
    ``out_dir/canvas-roster.csv`` (user id, names, late, staged files)."""
    source = Path(source)
    if not source.exists():
        raise CanvasImportError(f"{source}: no such file or folder (expected a Canvas zip or folder)")
    result = CanvasImport(_fresh_folder(Path(out_dir) / STAGED))
    if source.is_dir():
        _stage(_folder_files(source, result.warnings), result)
    else:
        try:
            with SafeZip(source) as archive:
                _stage(_zip_files(archive, result.warnings), result)
        except ArchiveError as exc:
            raise CanvasImportError(str(exc)) from exc
    if not result.students:
        raise CanvasImportError(f"{source}: no Canvas submission files found (expected names like "
                                "smithjane_12345_67890_solution.py)")
    _write_roster(result, Path(out_dir) / ROSTER)
    return result


def _fresh_folder(folder: Path) -> Path:
    if folder.exists():
        if not (folder / _MARKER).is_file() and any(folder.iterdir()):
            raise CanvasImportError(f"{folder}: exists and was not made by a Canvas import; move it away")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / _MARKER).write_text("staged by grader from a Canvas download; rebuilt on every run\n")
    return folder


def _folder_files(source: Path, warnings: list[str]) -> list[_Found]:
    """The regular files of a Canvas folder, looked at with ``lstat``: links (never followed), folders,
    pipes, sockets and devices (never opened) are warnings."""
    found: list[_Found] = []
    with os.scandir(source) as it:
        entries = sorted((Path(e.path), e.stat(follow_symlinks=False).st_mode) for e in it)
    for path, mode in entries:
        if path.name.startswith("."):
            continue
        if not stat.S_ISREG(mode):
            never = "never followed" if stat.S_ISLNK(mode) else "never opened"
            warnings.append(f"{path}: ignored ({kind(mode)}, {never}; a Canvas download is a flat set of files)")
            continue
        found.append(_Found(str(path), path.name, lambda p=path: _read_file(p)))
    return found


def _read_file(path: Path) -> bytes:
    try:
        return read_regular(path.parent, path.name, MAX_FILE_BYTES)
    except FileRefused as exc:
        raise MemberError(str(exc)) from exc


def _zip_files(archive: SafeZip, warnings: list[str]) -> list[_Found]:
    found: list[_Found] = []
    for member in archive.members():
        where = f"{archive.path}:{member.name}"
        if member.name.startswith("__MACOSX/"):
            continue  # macOS metadata added when the zip was re-packed; never a submission
        if member.unsafe:
            warnings.append(f"{where}: ignored ({member.unsafe})")
            continue
        found.append(_Found(where, member.basename, lambda m=member: archive.read(m)))
    return found


def _stage(found: list[_Found], result: CanvasImport) -> None:
    chosen: dict[tuple[str, str], _File] = {}
    others: dict[str, list[_File]] = {}
    for entry in found:
        name = parse_name(entry.basename)
        if name is None:
            result.warnings.append(f"{entry.where}: ignored (not a Canvas submission file name "
                                   "<name>_[LATE_]<user id>_<attachment id>_<file>)")
            continue
        student = result.students.setdefault(name.user_id, CanvasStudent(name.user_id))
        student.names.add(name.slug)
        item = _File(entry.where, name, entry.read)
        if name.target is None:
            others.setdefault(name.user_id, []).append(item)
            continue
        key = (name.user_id, name.target)
        older = chosen.get(key)
        if older is not None:
            keep, drop = sorted([older, item], key=lambda f: (f.name.attachment_id, f.name.version))[::-1]
            result.warnings.append(f"{drop.where}: not graded; student {name.user_id} uploaded "
                                   f"{name.target} again ({keep.name.original}, kept as the newest)")
            item = keep
        chosen[key] = item
    for uid, student in sorted(result.students.items()):
        _fallback_solution(student, chosen, others.get(uid, []), result.warnings)
        (result.folder / uid).mkdir()
        mine = {target: item for (owner, target), item in sorted(chosen.items()) if owner == uid}
        for target, item in mine.items():
            _write(result, student, target, item)
        # late when a graded file is (Canvas marks every file of a late submission), else when any file is
        student.late = any(f.name.late for f in (mine.values() or others.get(uid, [])))
        if {"solution.py", "solution.ipynb"} <= set(student.files):
            result.warnings.append(f"student {uid}: both solution.py and solution.ipynb; solution.py is graded")
        if student.late:
            student.notes.append(LATE_NOTE)
    _clashes(result)


def _fallback_solution(student: CanvasStudent, chosen: dict[tuple[str, str], _File], others: list[_File],
                       warnings: list[str]) -> None:
    has_solution = any((student.user_id, t) in chosen for t in ("solution.py", "solution.ipynb"))
    code = [f for f in others if Path(f.name.original).suffix.lower() in (".py", ".ipynb")]
    if not has_solution and len(code) == 1:
        item = code[0]
        target = "solution" + Path(item.name.original).suffix.lower()
        chosen[(student.user_id, target)] = item
        student.notes.append(f"graded {item.name.original} as {target} (no file named {target} was submitted)")
        others = [f for f in others if f is not item]
    for item in others:
        warnings.append(f"{item.where}: not graded (student {student.user_id}: only solution.py, solution.ipynb "
                        "and answers.yaml are)")
    if others:
        student.notes.append("not graded: " + ", ".join(sorted(f.name.original for f in others)) +
                             " (only solution.py, solution.ipynb and answers.yaml are)")


def _write(result: CanvasImport, student: CanvasStudent, target: str, item: _File) -> None:
    try:
        data = item.read()
    except MemberError as exc:
        result.warnings.append(f"{item.where}: not graded ({exc})")
        student.notes.append(f"{item.name.original} could not be read from the Canvas download")
        return
    (result.folder / student.user_id / target).write_bytes(data)
    student.files[target] = item.where


def _clashes(result: CanvasImport) -> None:
    by_name: dict[str, list[str]] = {}
    for uid, student in result.students.items():
        if len(student.names) > 1:
            result.warnings.append(f"student {uid}: files under several names ({', '.join(sorted(student.names))}); "
                                   "graded together by user id")
        for name in student.names:
            by_name.setdefault(name, []).append(uid)
    for name, uids in sorted(by_name.items()):
        if len(uids) > 1:
            result.warnings.append(f"name clash: {name!r} is Canvas users {', '.join(sorted(uids))}; "
                                   "graded separately under their user ids")


def late_marks(out_dir: Path, submissions: Path) -> dict[str, bool] | None:
    """Each student's LATE mark (user id -> marked late), as the last :func:`stage` into ``out_dir`` recorded them in
    ``canvas-roster.csv``, when ``submissions`` is the folder it staged; else None (not a Canvas download)."""
    roster = Path(out_dir) / ROSTER
    if Path(submissions).resolve() != (Path(out_dir) / STAGED).resolve() or not roster.is_file():
        return None
    try:
        with roster.open(newline="", encoding="utf-8") as fh:
            return {row["student"]: row.get("late") == "yes" for row in csv.DictReader(fh) if row.get("student")}
    except (OSError, UnicodeDecodeError, csv.Error, KeyError):
        return None


def _write_roster(result: CanvasImport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = inert_csv.writer(fh)
        writer.writerow(["student", "canvas_name", "late", "files"])
        for uid, s in sorted(result.students.items()):
            writer.writerow([uid, " ".join(sorted(s.names)), "yes" if s.late else "no",
                             "; ".join(f"{t} <- {Path(w).name}" for t, w in sorted(s.files.items()))])
