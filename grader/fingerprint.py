"""Content hashes that tell the gradebook whether a stored grade is still valid.

A submission's hash covers the names and contents of every file in its folder; an assignment's hash
covers its YAML files and its problems' reference solutions. Either hash changing means a regrade. A spec's
top-level ``mutants:`` key (mutation testing's marks, ``grader validate --mutants``) and ``leaderboard:`` key (a
ranking of the class, grader/leaderboard.py) decide no grade: they are left out of the hash, so marking a mutant
equivalent or changing what the board ranks regrades nobody.

A submission folder is the student's: it is walked with ``lstat`` only (:mod:`grader.submission_files`),
a link is hashed as its target's text and never followed, a named pipe, socket or device by its kind and
never opened, and no file is read past :data:`MAX_HASHED_BYTES` (a larger one, or any file once
:data:`MAX_TOTAL_BYTES` have been read, is hashed by its size and modification time). So hashing never
blocks and never reads outside the folder. The assignment is the instructor's: its links are followed,
but only to regular files, opened without blocking.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import yaml

from grader.models import Assignment
from grader.submission_files import BYPRODUCTS, FileRefused, Listing, kind, open_regular, read_chunks, walk

MAX_HASHED_BYTES = 16 * 1024 * 1024  #: a submission's file larger than this is hashed by size and time
MAX_TOTAL_BYTES = 256 * 1024 * 1024  #: of one submission folder, read for its hash at most
UNGRADED_KEYS = ("mutants", "leaderboard")  #: top-level keys of a spec that decide no grade, left out of the assignment's hash


@dataclass
class _Budget:
    """How many more bytes of one folder may be read for its hash."""

    left: int


def _name(digest: "hashlib._Hash", name: str) -> None:
    digest.update(b"F" + name.encode("utf-8", "surrogateescape") + b"\0")


def _contents(digest: "hashlib._Hash", path: Path, shown: str, budget: _Budget | None) -> None:
    """Feed a regular file's size and contents (length-prefixed, so nothing collides); a file over the caps
    by its size and modification time; a file that cannot be opened as a regular file by why."""
    try:
        fd = open_regular(path, shown)
    except FileRefused as exc:
        cause = exc.__cause__
        digest.update(f"E{cause.errno}\0".encode() if isinstance(cause, OSError) else b"E\0")
        return
    try:
        info = os.fstat(fd)
        digest.update(str(info.st_size).encode() + b"\0")
        if budget is not None and (info.st_size > MAX_HASHED_BYTES or info.st_size > budget.left):
            digest.update(f"M{info.st_mtime_ns}\0".encode())
            return
        for chunk in read_chunks(fd, MAX_HASHED_BYTES if budget is not None else info.st_size):
            digest.update(chunk)
            if budget is not None:
                budget.left -= len(chunk)
    except OSError as exc:  # an unreadable file still counts, by name and by the reason it cannot be read
        digest.update(f"E{exc.errno}\0".encode())
    finally:
        os.close(fd)


def _update(digest: "hashlib._Hash", name: str, path: Path) -> None:
    """Feed one of the instructor's files: its name, then (following a link) its contents; a YAML spec without its
    keys that decide no grade."""
    _name(digest, name)
    try:
        if path.is_symlink():  # the link itself, then (when it leads to a file) what it leads to
            digest.update(b"L" + os.fsencode(os.readlink(path)) + b"\0")
        mode = path.stat().st_mode
    except OSError as exc:
        digest.update(f"E{exc.errno}\0".encode())
        return
    graded = _graded_text(path) if stat.S_ISREG(mode) and path.suffix in (".yaml", ".yml") else None
    if graded is not None:  # fed as _contents feeds a file, so a spec without such keys hashes as it always did
        digest.update(str(len(graded)).encode() + b"\0" + graded)
    elif stat.S_ISREG(mode):
        _contents(digest, path.resolve(), name, None)
    else:
        digest.update(f"K{kind(mode)}\0".encode())


def _graded_text(path: Path) -> bytes | None:
    """A YAML spec's bytes without its top-level keys that decide no grade (:data:`UNGRADED_KEYS`, each with its
    value); None when it has none (or is no readable YAML mapping): then the file is hashed as it is."""
    try:
        raw = path.read_bytes()
        if not any(key.encode() in raw for key in UNGRADED_KEYS):
            return None
        text = raw.decode("utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    spans = [(k.start_mark.index, v.end_mark.index) for k, v in root.value
             if isinstance(k, yaml.ScalarNode) and k.value in UNGRADED_KEYS]
    if not spans:
        return None
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    return text.encode("utf-8")


def files_hash(root: Path, files: Iterable[Path]) -> str:
    """SHA-256 of the given (instructor's) files' paths relative to ``root`` and contents, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(set(files), key=lambda p: p.relative_to(root).as_posix()):
        _update(digest, path.relative_to(root).as_posix(), path)
    return digest.hexdigest()


def listing_hash(listing: Listing) -> str:
    """SHA-256 of a submission folder's entries: names, and contents of regular files only."""
    digest = hashlib.sha256()
    budget = _Budget(MAX_TOTAL_BYTES)
    for entry in listing.entries:
        _name(digest, entry.name)
        mode = entry.stat.st_mode
        if stat.S_ISLNK(mode):
            try:
                digest.update(b"L" + os.fsencode(os.readlink(entry.path)) + b"\0N\0")
            except OSError as exc:
                digest.update(f"E{exc.errno}\0".encode())
        elif stat.S_ISREG(mode):
            _contents(digest, entry.path, entry.name, budget)
        else:
            digest.update(f"K{kind(mode)}\0".encode())
    for where, why in listing.unreadable:
        digest.update(f"U{where}\0{why}\0".encode("utf-8", "surrogateescape"))
    if listing.truncated:
        digest.update(b"T\0")
    return digest.hexdigest()


def submission_hash(folder: Path) -> str:
    """The hash of everything in a submission folder (file names and contents, recursively)."""
    return listing_hash(walk(folder))


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for top, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if d not in BYPRODUCTS]
        found += [Path(top) / name for name in names]
        found += [Path(top) / d for d in dirs if (Path(top) / d).is_symlink()]
    return found


def assignment_hash(assignment: Assignment) -> str:
    """The hash of an assignment's specs: its YAML files, its problems' reference solutions and its kit's code,
    sandbox modules included (the sample submissions and their expected outcomes decide no grade and are left
    out)."""
    root = assignment.root
    samples = root / "samples"
    kit = assignment.kit_path
    modules = set(assignment.kit.sandbox_modules.values()) if assignment.kit is not None else set()
    inside = [p for p in _walk(root) if (p.suffix in (".yaml", ".yml") and not p.is_relative_to(samples)
                                         and p.name != "samples.yaml")
              or (kit is not None and p.suffix == ".py" and (p == kit or p.is_relative_to(kit)))
              or p.resolve() in modules]  # a single-file kit's sandbox modules lie beside it
    outside: list[Path] = []
    for problem in assignment.problems:
        if problem.reference is not None:
            (inside if problem.reference.is_relative_to(root) else outside).append(problem.reference)
    digest = hashlib.sha256(files_hash(root, inside).encode())
    for path in sorted(set(outside)):  # a reference kept outside the assignment folder counts too
        _update(digest, str(path), path)
    return digest.hexdigest()
