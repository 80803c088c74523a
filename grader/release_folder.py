"""The folder a release is written to: what a release wrote there (``OUT/.grader-release``, :data:`MARKER`), and
replacing it safely. ``--force`` replaces a folder only when it has that marker, and removes exactly what the
marker lists (and ``__pycache__`` folders of ``.pyc`` files that a ``grader check`` left in them); a folder holding
anything else is refused whole, with nothing removed, and links are never followed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

MARKER = ".grader-release"  #: what a release wrote, so that --force removes only that
_MARKER_KIND = "grader release"


class ReleaseError(Exception):
    """The release cannot be written; the message names the file or folder."""


def prepare_out(out: Path, root: Path, force: bool) -> Path:
    """``out``, resolved, new or emptied of a previous release (never inside the assignment folder ``root``)."""
    out = out.resolve()
    if out == root or root.is_relative_to(out) or out.is_relative_to(root):
        raise ReleaseError(f"{out}: the release must go outside the assignment folder {root}")
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out}: not a folder")
    if out.is_dir() and any(out.iterdir()):
        written = _read_marker(out)
        if written is None:
            raise ReleaseError(f"{out}: not empty, and not a release written by grader release (no {MARKER}); choose "
                               "a new folder" + (" (--force replaces only a folder holding a previous release, and "
                                                 "only what that release wrote)" if force else ""))
        if not force:
            raise ReleaseError(f"{out}: not empty; choose a new folder or pass --force to replace the previous release")
        _remove_release(out, *written)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_marker(out: Path, assignment: str, students: list[str] | None) -> None:
    """``OUT/.grader-release``: every file and folder in ``out`` (new or emptied when the release began, so all of
    them the release's), for ``--force`` to remove next time, and nothing else."""
    files, folders = _contents(out)
    (out / MARKER).write_text(json.dumps({"written_by": _MARKER_KIND, "assignment": assignment,
                                          "students": len(students) if students is not None else None,
                                          "folders": sorted(folders), "files": sorted(files)}, indent=1) + "\n",
                              encoding="utf-8")


def _read_marker(out: Path) -> tuple[set[str], set[str]] | None:
    """The files and folders (relative paths) the release in ``out`` wrote, from its marker; None without one."""
    marker = out / MARKER
    try:
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return None
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("written_by") != _MARKER_KIND:
        return None
    files, folders = data.get("files"), data.get("folders")
    if not (isinstance(files, list) and isinstance(folders, list) and all(isinstance(p, str) for p in files + folders)):
        raise ReleaseError(f"{marker}: damaged (expected its lists of files and folders); nothing was removed")
    return set(files), set(folders)


def _contents(out: Path) -> tuple[list[str], list[str]]:
    """Every file (or link, or anything not a folder) and folder under ``out``, as relative POSIX paths; links are
    never followed."""
    files: list[str] = []
    folders: list[str] = []

    def walk(folder: Path, prefix: str) -> None:
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                name = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    folders.append(name)
                    walk(Path(entry.path), name + "/")
                elif name != MARKER:
                    files.append(name)

    walk(out, "")
    return files, folders


def _remove_release(out: Path, files: set[str], folders: set[str]) -> None:
    """Remove the previous release in ``out``: exactly the files and folders its marker lists (and the bytecode a
    ``grader check`` of it may have left: ``__pycache__`` folders of ``.pyc`` files in them). Anything else there
    refuses the whole replacement before anything is removed."""
    found_files, found_folders = _contents(out)
    cache = {f for f in found_folders if f.rsplit("/", 1)[-1] == "__pycache__"
             and (f.rpartition("/")[0] in folders or "/" not in f)}
    derived = {f for f in found_files if f.rpartition("/")[0] in cache and f.endswith(".pyc")}
    foreign = [p for p in found_files if p not in files and p not in derived] + \
              [p for p in found_folders if p not in folders and p not in cache]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ReleaseError(f"{out}: holds what the previous release did not write ({shown}); nothing was removed: "
                           "move those away, or choose a new folder")
    for name in found_files:
        (out / name).unlink()
    for name in sorted(found_folders, key=lambda f: f.count("/"), reverse=True):
        (out / name).rmdir()
    (out / MARKER).unlink()
