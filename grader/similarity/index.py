"""All pairs of submissions that share code, through an inverted index from fingerprint to students.

A pair of students is looked at only when they share a fingerprint, so the work grows with what is shared, not
with the square of the class. Fingerprints of the starter code are taken out of every submission first (the
handout's code is no evidence), then those held by more than :func:`common_cut` students are set aside as common
code (the textbook way to write a line, the assignment's own signature lines): like Moss's ``-m``, a passage that
many students share says nothing about any two of them. What is left, each student's *own* fingerprints, is what
pairs are compared on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

from grader.similarity.fingerprints import Document

COMMON_FRACTION = 0.1  #: a fingerprint held by more than this share of the class is common code...
COMMON_MIN = 5  #: ...or by more than this many students, whichever is larger
FULL_EVIDENCE = 20  #: shared fingerprints (about six lines of code) for a pair's code score to count in full


def common_cut(students: int, fraction: float = COMMON_FRACTION) -> int:
    """The most students a fingerprint (or a wrong value, a slip sequence, an answer) may be shared by and still
    count as evidence about a pair: more than that is common."""
    return max(COMMON_MIN, math.floor(fraction * students))


@dataclass
class CodeIndex:
    """Each student's own fingerprints, and who holds each."""

    docs: dict[str, Document]
    own: dict[str, set[int]]  #: student -> fingerprints after the starter and the common ones are taken out
    holders: dict[int, list[str]]  #: fingerprint -> the students holding it (own fingerprints only)
    starter_removed: dict[str, int] = field(default_factory=dict)  #: student -> fingerprints the starter took out
    common: set[int] = field(default_factory=set)
    cut: int = COMMON_MIN


@dataclass(frozen=True)
class CodeOverlap:
    """What two students' code shares."""

    shared: int  #: own fingerprints held by both
    size_a: int
    size_b: int

    @property
    def containment(self) -> float:
        """The share of the smaller submission's own fingerprints that the other holds too."""
        smaller = min(self.size_a, self.size_b)
        return self.shared / smaller if smaller else 0.0

    @property
    def score(self) -> float:
        """Containment, scaled down while fewer than :data:`FULL_EVIDENCE` fingerprints are shared (a tiny
        submission is otherwise 'contained' in anything)."""
        return self.containment * min(1.0, self.shared / FULL_EVIDENCE)


def build_index(docs: dict[str, Document], starter: set[int] | None = None,
                fraction: float = COMMON_FRACTION) -> CodeIndex:
    starter = starter or set()
    cut = common_cut(len(docs), fraction)
    holders: dict[int, list[str]] = {}
    removed: dict[str, int] = {}
    for student in sorted(docs):
        hashes = docs[student].places.keys()
        kept = [h for h in hashes if h not in starter]
        removed[student] = len(hashes) - len(kept)
        for h in kept:
            holders.setdefault(h, []).append(student)
    common = {h for h, who in holders.items() if len(who) > cut}
    for h in common:
        del holders[h]
    own: dict[str, set[int]] = {s: set() for s in docs}
    for h, who in holders.items():
        for s in who:
            own[s].add(h)
    return CodeIndex(docs, own, holders, removed, common, cut)


def shared_counts(index: CodeIndex) -> dict[tuple[str, str], int]:
    """(a, b) with a < b -> how many own fingerprints they share, for every pair sharing one."""
    counts: dict[tuple[str, str], int] = {}
    for who in index.holders.values():
        if len(who) < 2:
            continue
        for pair in combinations(who, 2):  # holders are in sorted order, so a < b
            counts[pair] = counts.get(pair, 0) + 1
    return counts


def overlap(index: CodeIndex, a: str, b: str, shared: int | None = None) -> CodeOverlap:
    if shared is None:
        shared = len(index.own.get(a, set()) & index.own.get(b, set()))
    return CodeOverlap(shared, len(index.own.get(a, ())), len(index.own.get(b, ())))
