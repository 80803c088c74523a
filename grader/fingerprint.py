"""Content hashes that tell the gradebook whether a stored grade is still valid.

A submission's hash covers the names and contents of every file in its folder; an assignment's hash
covers its YAML files and its problems' reference solutions. Either hash changing means a regrade.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

from grader.models import Assignment

_SKIPPED_DIRS = {"__pycache__"}  #: byproducts of importing Python files, never part of a submission
_CHUNK = 1 << 20


def _update(digest: "hashlib._Hash", name: str, path: Path) -> None:
    """Feed one file into ``digest``: its name, then its contents (length-prefixed, so nothing collides)."""
    digest.update(b"F" + name.encode("utf-8", "surrogateescape") + b"\0")
    try:
        if path.is_symlink():  # the link itself, then (when it leads to a file) what it leads to
            digest.update(b"L" + os.fsencode(os.readlink(path)) + b"\0")
        digest.update(str(path.stat().st_size).encode() + b"\0")
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:  # an unreadable file still counts, by name and by the reason it cannot be read
        digest.update(f"E{exc.errno}\0".encode())


def files_hash(root: Path, files: Iterable[Path]) -> str:
    """SHA-256 of the given files' paths (relative to ``root``) and contents, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(set(files), key=lambda p: p.relative_to(root).as_posix()):
        _update(digest, path.relative_to(root).as_posix(), path)
    return digest.hexdigest()


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for top, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS]
        found += [Path(top) / name for name in names]
        found += [Path(top) / d for d in dirs if (Path(top) / d).is_symlink()]
    return found


def submission_hash(folder: Path) -> str:
    """The hash of everything in a submission folder (file names and contents, recursively)."""
    return files_hash(folder, _walk(folder))


def assignment_hash(assignment: Assignment) -> str:
    """The hash of an assignment's specs: its YAML files and its problems' reference solutions."""
    root = assignment.root
    inside = [p for p in _walk(root) if p.suffix in (".yaml", ".yml")]
    outside: list[Path] = []
    for problem in assignment.problems:
        if problem.reference is not None:
            (inside if problem.reference.is_relative_to(root) else outside).append(problem.reference)
    digest = hashlib.sha256(files_hash(root, inside).encode())
    for path in sorted(set(outside)):  # a reference kept outside the assignment folder counts too
        _update(digest, str(path), path)
    return digest.hexdigest()
