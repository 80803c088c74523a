"""Read files out of an untrusted zip archive without trusting its paths or its sizes.

Nothing is extracted by name: callers get each member's path *inside* the archive (for messages and
to pick a basename) and read its bytes through a bounded reader, so ``../`` paths, absolute paths and
links can never write outside the staging folder (links, pipes, sockets and devices, by the Unix type a
member records, are refused outright), and a zip bomb stops at the size limits, which are enforced on the
bytes actually decompressed (not on the sizes the archive claims).
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from grader.submission_files import kind

MAX_MEMBERS = 10_000
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
_CHUNK = 1024 * 1024


class ArchiveError(Exception):
    """The archive cannot be read safely; the message names the file."""


class MemberError(Exception):
    """One member cannot be read (larger than the per-file limit, or corrupt); the others still can."""


@dataclass(frozen=True)
class Member:
    name: str  #: the path as stored in the archive
    info: zipfile.ZipInfo

    @property
    def basename(self) -> str:
        return PurePosixPath(self.name.replace("\\", "/")).name

    @property
    def unsafe(self) -> str | None:
        """Why this member's path or type is refused, or None."""
        name = self.name.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            return "an absolute path"
        if ".." in parts:
            return "a path that climbs out of the archive (..)"
        mode = self.info.external_attr >> 16
        if stat.S_ISLNK(mode):
            return "a symbolic link"
        if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return f"{kind(mode)}, not a regular file"
        if self.info.flag_bits & 0x1:
            return "an encrypted file"
        return None


class SafeZip:
    """An open archive whose members are read with limits (use as a context manager)."""

    def __init__(self, path: Path, *, max_file: int = MAX_FILE_BYTES, max_total: int = MAX_TOTAL_BYTES) -> None:
        self.path, self.max_file, self.max_total, self.read_total = path, max_file, max_total, 0
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ArchiveError(f"{path}: not a readable zip file ({exc})") from exc
        if len(self._zip.infolist()) > MAX_MEMBERS:
            self._zip.close()
            raise ArchiveError(f"{path}: more than {MAX_MEMBERS} files; refusing to read it")

    def __enter__(self) -> "SafeZip":
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def members(self) -> Iterator[Member]:
        """Every file member (folders are skipped), in archive order."""
        for info in self._zip.infolist():
            if not info.is_dir():
                yield Member(info.filename, info)

    def read(self, member: Member) -> bytes:
        """The member's bytes; :class:`MemberError` past the per-file limit or for a corrupt member,
        :class:`ArchiveError` past the limit for the whole archive."""
        if member.info.file_size > self.max_file:
            raise MemberError(f"{member.name} is {member.info.file_size} bytes (limit {self.max_file})")
        data = bytearray()
        try:
            with self._zip.open(member.info) as stream:
                while chunk := stream.read(_CHUNK):
                    data += chunk
                    if len(data) > self.max_file:
                        raise MemberError(f"{member.name} decompresses to more than {self.max_file} bytes")
                    if self.read_total + len(data) > self.max_total:
                        raise ArchiveError(f"{self.path}: more than {self.max_total} bytes once decompressed; "
                                           "refusing to read further (a zip bomb?)")
        except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, EOFError) as exc:
            raise MemberError(f"{member.name} is corrupt ({exc})") from exc
        self.read_total += len(data)
        return bytes(data)
