"""The files of a student's submission, read as data: never followed, never blocking, never unbounded.

A submission folder comes from a student (a git checkout, an archive, an LMS download), so any entry in it
may be a symbolic link (to the reference solution, to ``/etc/shadow``, to ``/dev/zero``), a named pipe that
blocks whoever opens it, a socket or a device. Entries are looked at with ``lstat`` only, never followed;
a file is opened with ``O_NOFOLLOW | O_NONBLOCK`` (so a link or a pipe swapped in after the look cannot
be followed or block), checked with ``fstat`` to be a regular file once open, and read up to a size limit.
Anything else is refused with a message naming it, and never opened.

The folder itself is trusted as given: :func:`grader.submissions.collect` refuses student folders that
are links, and the folder a student or the instructor names on the command line is theirs.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

MAX_ENTRIES = 10_000  #: entries of one submission folder looked at (for its hash and its notes)
BYPRODUCTS = frozenset({"__pycache__"})  #: folders made by importing Python files, never part of a submission
MAX_NOTED = 5  #: refused entries named one by one in a student's notes; the rest are counted
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 << 20


class FileRefused(Exception):
    """A submission's file that is not read: not a regular file, too large, or unreadable. The message
    names the file and is meant for the student."""


def kind(mode: int) -> str:
    """What an entry is, in words: 'a file', 'a symbolic link', 'a named pipe (FIFO)', ..."""
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def refusal(name: str, mode: int) -> str:
    """Why the entry ``name`` (of type ``mode``) is not read, for the student."""
    if stat.S_ISLNK(mode):
        return f"{name} is a symbolic link: refused, never followed (submit the file itself, not a link)"
    return f"{name} is {kind(mode)}, not a regular file: refused, never opened"


def size_text(limit: int) -> str:
    """``limit`` bytes as '2 MB' or '256 KB'."""
    return f"{limit // (1 << 20)} MB" if limit % (1 << 20) == 0 else f"{limit // 1024} KB"


def entry_mode(folder: Path, name: str) -> int | None:
    """The ``lstat`` mode of ``folder/name`` (never following it), or None when there is no such entry."""
    try:
        return os.lstat(folder / name).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return 0  # there but unreadable: reading it says why


def open_regular(path: Path, shown: str, *, dir_fd: int | None = None) -> int:
    """A file descriptor for the regular file ``path``, which is never followed and never blocks; raises
    :class:`FileRefused` (naming it as ``shown``) for anything else. The caller closes it."""
    try:
        fd = os.open(path, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        try:
            mode = os.lstat(path, dir_fd=dir_fd).st_mode
        except OSError:
            mode = 0
        if mode and not stat.S_ISREG(mode):  # a link (ELOOP), a socket (ENXIO), ...
            raise FileRefused(refusal(shown, mode)) from exc
        raise FileRefused(f"{shown} could not be read ({exc.strerror or exc})") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # a pipe or a device swapped in after it was looked at
        os.close(fd)
        raise FileRefused(refusal(shown, mode))
    return fd


def read_chunks(fd: int, limit: int) -> Iterator[bytes]:
    """The bytes of ``fd`` in chunks, stopping after ``limit + 1`` bytes at most."""
    left = limit + 1
    while left > 0:
        chunk = os.read(fd, min(_CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)
        yield chunk


def read_regular(folder: Path, name: str, limit: int) -> bytes:
    """The bytes of the regular file ``name`` directly in ``folder``, at most ``limit`` of them; raises
    :class:`FileRefused` for a link, a pipe, a socket, a device, a folder, a larger or unreadable file."""
    mode = entry_mode(folder, name)
    if mode is None:
        raise FileRefused(f"{name} is missing")
    if mode and not stat.S_ISREG(mode):
        raise FileRefused(refusal(name, mode))
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise FileRefused(f"{name} could not be read ({exc.strerror or exc})") from exc
    try:
        fd = open_regular(Path(name), name, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    try:
        if os.fstat(fd).st_size > limit:
            raise FileRefused(f"{name} is larger than {size_text(limit)}")
        data = b"".join(read_chunks(fd, limit))
    except OSError as exc:
        raise FileRefused(f"{name} could not be read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while being read
        raise FileRefused(f"{name} is larger than {size_text(limit)}")
    return data


@dataclass(frozen=True)
class Entry:
    """One entry of a submission folder other than a folder, as ``lstat`` saw it."""

    name: str  #: its path relative to the submission folder, with ``/``
    path: Path
    stat: os.stat_result

    @property
    def regular(self) -> bool:
        return stat.S_ISREG(self.stat.st_mode)


@dataclass
class Listing:
    """Every entry of a submission folder, walked without following links (at most :data:`MAX_ENTRIES`)."""

    entries: list[Entry] = field(default_factory=list)  #: sorted by name; links to folders included
    unreadable: list[tuple[str, str]] = field(default_factory=list)  #: (entry, why) for those not looked at
    truncated: bool = False  #: more than MAX_ENTRIES entries: the rest were not looked at

    @property
    def refused(self) -> list[Entry]:
        return [e for e in self.entries if not e.regular]

    def notes(self) -> list[str]:
        """What the student should know: each refused entry (the first few by name), unreadable folders."""
        refused = [refusal(e.name, e.stat.st_mode) for e in self.refused]
        notes = refused[:MAX_NOTED]
        if len(refused) > MAX_NOTED:
            notes.append(f"{len(refused) - MAX_NOTED} more entries of the submission are not regular files: "
                         "refused, never followed or opened")
        notes += [f"{where} could not be looked at ({why})" for where, why in self.unreadable]
        if self.truncated:
            notes.append(f"the submission has more than {MAX_ENTRIES} files; only the first {MAX_ENTRIES} were "
                         "looked at")
        return notes


def walk(folder: Path, skip: frozenset[str] = BYPRODUCTS) -> Listing:
    """Every entry under ``folder`` (folders named in ``skip`` left out), looked at with ``lstat`` only:
    links are listed as links and never followed, nothing is opened. Never raises for what it finds."""
    listing = Listing()
    pending = [(folder, "")]
    seen = 0
    while pending:
        top, prefix = pending.pop()
        try:
            with os.scandir(top) as it:
                found = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            listing.unreadable.append((prefix.rstrip("/") or ".", str(exc.strerror or exc)))
            continue
        folders = []
        for entry in found:
            seen += 1
            if seen > MAX_ENTRIES:
                listing.truncated = True
                pending.clear()
                break
            name = prefix + entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                listing.unreadable.append((name, str(exc.strerror or exc)))
                continue
            if stat.S_ISDIR(info.st_mode):
                if entry.name not in skip:
                    folders.append((Path(entry.path), name + "/"))
            else:
                listing.entries.append(Entry(name, Path(entry.path), info))
        pending.extend(reversed(folders))
    listing.entries.sort(key=lambda e: e.name)
    return listing
