"""Winnowed fingerprints of normalised code (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for
document fingerprinting", SIGMOD 2003, the method of Moss).

Every run of :data:`K` consecutive normalised tokens of a unit (a *k-gram*) is hashed; of each window of
:data:`WINDOW` consecutive k-gram hashes the smallest is kept (the rightmost on a tie, and once per run of windows
that share it). Two documents sharing a passage of at least ``K + WINDOW - 1`` tokens then share at least one
fingerprint, and passages shorter than ``K`` tokens (``x = y + 1``) never match (a whole function shorter than that
is one fingerprint of its own). Hashes are the same from run to run (BLAKE2 of each token, then Python's hash of a
tuple of integers, which unlike a string's is not randomised), so a report can be reproduced.

Only the start of a submission is fingerprinted, its first :data:`MAX_CODE_CHARS` characters and at most
:data:`MAX_CODE_TOKENS` tokens (cut at a line break; the report says whose code was cut): a homework is a few
thousand lines at most, and a huge or dense generated file would otherwise take seconds of the whole class's run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

from grader.similarity.tokens import Tokenised, Unit, normalise

K = 16  #: tokens per k-gram (about two lines of code): the noise threshold (shorter passages never match)
WINDOW = 5  #: k-grams per winnowing window: any shared passage of K + WINDOW - 1 = 20 tokens or more is caught
MIN_UNIT_TOKENS = 6  #: a unit with fewer tokens than K but at least this many gets one fingerprint of itself
MAX_CODE_CHARS = 100_000  #: characters of a submission fingerprinted (about 2,500 lines); the rest is not compared
MAX_CODE_TOKENS = 40_000  #: tokens of a submission fingerprinted (dense code reaches them before MAX_CODE_CHARS)


@dataclass(frozen=True)
class Place:
    """Where one fingerprint was taken: a unit and the source lines its k-gram spans."""

    unit: int
    first_line: int
    last_line: int


@dataclass
class Document:
    """One submission's (or the starter code's) code, as fingerprints."""

    units: list[Unit]
    #: fingerprint -> where it occurs (every occurrence)
    places: dict[int, list[Place]] = field(default_factory=dict)
    tokens: int = 0  #: normalised tokens in all
    problem: str | None = None  #: why the code could be read only in part
    compared_chars: int = 0  #: characters of the source fingerprinted (the start of it)
    total_chars: int = 0  #: characters of the whole source

    @property
    def hashes(self) -> set[int]:
        return set(self.places)

    @property
    def truncated(self) -> bool:
        return self.compared_chars < self.total_chars

    def unit_hashes(self) -> dict[int, set[int]]:
        """Unit number -> the fingerprints taken in it."""
        found: dict[int, set[int]] = {}
        for h, places in self.places.items():
            for place in places:
                found.setdefault(place.unit, set()).add(h)
        return found


def capped(text: str, limit: int = MAX_CODE_CHARS) -> str:
    """The start of ``text`` that is compared: all of it, or its first ``limit`` characters cut at a line break."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[:cut + 1] if cut > 0 else text[:limit]


@lru_cache(maxsize=65536)
def _token_id(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def kgram_hashes(unit: Unit, k: int = K) -> list[int]:
    """The hash of every k-gram of ``unit`` (one of the whole unit when it is shorter than ``k`` but not tiny)."""
    ids = [_token_id(t.text) for t in unit.tokens]
    if len(ids) < k:
        return [hash(tuple(ids))] if len(ids) >= MIN_UNIT_TOKENS else []
    return [hash(tuple(ids[i:i + k])) for i in range(len(ids) - k + 1)]


def winnow(hashes: list[int], window: int = WINDOW) -> list[int]:
    """The positions of the hashes robust winnowing keeps: the minimum of each window (rightmost on ties), each
    position once."""
    if not hashes:
        return []
    if window <= 1:
        return list(range(len(hashes)))
    if len(hashes) <= window:  # one window
        low = min(hashes)
        return [max(i for i, h in enumerate(hashes) if h == low)]
    kept: list[int] = []
    last = -1
    for start in range(len(hashes) - window + 1):
        best = start
        for j in range(start + 1, start + window):
            if hashes[j] <= hashes[best]:
                best = j
        if best != last:
            kept.append(best)
            last = best
    return kept


def fingerprint(tokenised: Tokenised, *, k: int = K, window: int = WINDOW) -> Document:
    """The winnowed fingerprints of every unit of ``tokenised``, with their places."""
    doc = Document(tokenised.units, problem=tokenised.problem)
    for number, unit in enumerate(tokenised.units):
        doc.tokens += len(unit.tokens)
        hashes = kgram_hashes(unit, k)
        span = min(k, len(unit.tokens))
        for i in winnow(hashes, window):
            first, last = unit.tokens[i], unit.tokens[i + span - 1]
            doc.places.setdefault(hashes[i], []).append(Place(number, first.line, last.end_line))
    return doc


def code_document(text: str) -> Document:
    """The fingerprints of Python source ``text`` (of its first :data:`MAX_CODE_CHARS` characters)."""
    compared = capped(text)
    tokenised = normalise(compared, MAX_CODE_TOKENS)
    if tokenised.stopped_after is not None:
        end = -1
        for _ in range(tokenised.stopped_after):  # tokenize reads lines ending in "\n"
            end = compared.find("\n", end + 1)
            if end < 0:
                break
        compared = compared[:end + 1] if end >= 0 else compared
    doc = fingerprint(tokenised)
    doc.compared_chars, doc.total_chars = len(compared), len(text)
    return doc


def every_kgram(text: str, k: int = K) -> set[int]:
    """Every k-gram hash of ``text``, winnowed or not: what starter code takes out of each submission."""
    return {h for unit in normalise(text).units for h in kgram_hashes(unit, k)}
