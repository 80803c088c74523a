"""All pairs of submissions that share code, through an inverted index from fingerprint to students.

A pair of students is looked at only when they share a fingerprint, so the work grows with what is shared, not
with the square of the class. Fingerprints of the starter code are taken out of every submission first (the
handout's code, or any code given with ``--starter`` that explains what students have in common, such as the
reference solution or a published one, is no evidence), then those held by more than :func:`common_cut` students,
by default more than half the class, are set aside as common code (the assignment's signature lines, the one
natural way to write a step): like Moss's ``-m``, a passage that most of the class shares says nothing about any two
of them. The cut is deliberately high: a group that shares one solution (six students of twelve, say) must stay
visible, so a passage a handful of students share is evidence about them. What is left, each student's *own*
fingerprints, is what pairs are compared on.

Two measures of a pair's code:

- **containment**: the share of the smaller submission's own fingerprints that the other holds too. Independently
  written solutions of one homework can share a lot (two written the CS231n way shared half their fingerprints), so
  containment counts nothing up to :data:`MODERATE` and is weighed in full only from :data:`CLEAR` up
  (:func:`containment_strength`);
- **a function contained**: some function (or method) of one, with at least :data:`FUNCTION_MIN` own fingerprints,
  whose own fingerprints the other nearly all holds: one function copied into otherwise own work
  (:class:`FunctionMatch`). A short function many students write alike is the natural way to write it, so only the
  fingerprints at most :func:`rare_cut` students hold (ten, or 10% of the class) count here, and a function counts in
  full only from 90% contained: two CS231n-style convolutions written apart shared 70% of theirs.

The grader's own signals (:mod:`grader.similarity.signals`) use the same :func:`rare_cut`: a wrong value or an answer
that more than ten students (or 10% of the class) give is a common mistake or phrase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

from grader.similarity.fingerprints import Document
from grader.similarity.tokens import MODULE_CODE

COMMON_FRACTION = 0.5  #: a fingerprint held by more than this share of the class is common code...
COMMON_MIN = 5  #: ...or by more than this many students, whichever is larger
RARE_FRACTION = 0.1  #: a fingerprint, wrong value, slip sequence or answer held by more than this share...
RARE_MIN = 10  #: ...or by more than this many students, whichever is larger, is too common to count for one function
FULL_EVIDENCE = 20  #: shared fingerprints (about six lines of code) for a pair's code score to count in full
MODERATE = 0.5  #: containment up to this is what independent solutions can share: it counts nothing
CLEAR = 0.8  #: containment from here on counts as it is (between MODERATE and CLEAR it rises from 0 to CLEAR)
FUNCTION_MIN = 12  #: own fingerprints (about 50 tokens, six lines) a function needs for its containment to count
FUNCTION_FULL = 24  #: own fingerprints (about ten lines) from which a contained function counts in full
FUNCTION_HELD = 0.8  #: the share of a function's own fingerprints the other must hold for it to be listed
FUNCTION_MODERATE = 0.6  #: a function's containment up to this counts nothing...
FUNCTION_CLEAR = 0.9  #: ...and from here on as it is (a copied function is held whole; 80% counts 0.53)


def containment_strength(containment: float, moderate: float = MODERATE, clear: float = CLEAR) -> float:
    """A containment as evidence: nothing up to ``moderate``, then rising linearly to ``clear`` at ``clear``, and
    the containment itself above (with the defaults 0.55 -> 0.13, 0.65 -> 0.4, 0.8 -> 0.8, 0.9 -> 0.9)."""
    if containment <= moderate:
        return 0.0
    if containment < clear:
        return clear * (containment - moderate) / (clear - moderate)
    return min(1.0, containment)


def rare_cut(students: int) -> int:
    """The most students a fingerprint may be held by and count toward one function's containment, and a wrong value,
    slip sequence or answer be shared by and count at all: more than that is what many write alike."""
    return max(RARE_MIN, math.floor(RARE_FRACTION * students))


def common_cut(students: int, fraction: float = COMMON_FRACTION) -> int:
    """The most students a code fingerprint may be held by and still count as evidence about a pair: more than that
    (by default more than half the class) is common code. Wrong values, slips and answers use :func:`rare_cut`."""
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
    fraction: float = COMMON_FRACTION
    rare: int = RARE_MIN  #: rare_cut of the class
    #: student -> unit number -> the unit's own fingerprints held by at most ``rare`` students, for the functions with
    #: at least FUNCTION_MIN of them
    functions: dict[str, dict[int, set[int]]] = field(default_factory=dict)


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
        """:func:`containment_strength`, scaled down while fewer than :data:`FULL_EVIDENCE` fingerprints are shared
        (a tiny submission is otherwise 'contained' in anything)."""
        return containment_strength(self.containment) * min(1.0, self.shared / FULL_EVIDENCE)


@dataclass(frozen=True)
class FunctionMatch:
    """A function of one student whose own fingerprints the other student's code holds (nearly) all of."""

    owner: str  #: whose function
    other: str  #: who holds its fingerprints
    name: str  #: the function's name ("Class.method")
    lines: tuple[int, int]  #: its lines in the owner's file
    own: int  #: its own fingerprints
    held: int  #: how many of them the other holds
    other_name: str = ""  #: the other's function holding most of them

    @property
    def containment(self) -> float:
        return self.held / self.own if self.own else 0.0

    @property
    def strength(self) -> float:
        """:func:`containment_strength` of the function's containment, scaled by its size: nothing under
        :data:`FUNCTION_MIN` own fingerprints, in full from :data:`FUNCTION_FULL`."""
        if self.own < FUNCTION_MIN:
            return 0.0
        return (containment_strength(self.containment, FUNCTION_MODERATE, FUNCTION_CLEAR)
                * min(1.0, self.own / FUNCTION_FULL))

    @property
    def label(self) -> str:
        where = f" (in {self.other_name})" if self.other_name and self.other_name != self.name else ""
        return (f"function {self.name} of {self.owner} appears in {self.other}{where}: {self.held} of its {self.own} "
                f"own fingerprints")


def build_index(docs: dict[str, Document], starter: set[int] | None = None,
                fraction: float = COMMON_FRACTION) -> CodeIndex:
    """The own fingerprints of every student: ``starter`` taken out, then those held by more than
    :func:`common_cut` students."""
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
    rare = rare_cut(len(docs))
    functions: dict[str, dict[int, set[int]]] = {}
    for student, doc in docs.items():
        for number, hashes in doc.unit_hashes().items():
            mine = {h for h in hashes if len(holders.get(h, ())) and len(holders[h]) <= rare}
            if len(mine) >= FUNCTION_MIN and doc.units[number].name not in ("", MODULE_CODE, "(decorated)"):
                functions.setdefault(student, {})[number] = mine
    return CodeIndex(docs, own, holders, removed, common, cut, fraction, rare, functions)


def shared_counts(index: CodeIndex) -> dict[tuple[str, str], int]:
    """(a, b) with a < b -> how many own fingerprints they share, for every pair sharing one."""
    return pair_counts(index)[0]


def pair_counts(index: CodeIndex) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """For every pair sharing an own fingerprint, (a, b) with a < b -> how many they share; and for the pairs sharing
    one that at most ``index.rare`` students hold, how many of those (no function can be contained without them)."""
    counts: dict[tuple[str, str], int] = {}
    rare: dict[tuple[str, str], int] = {}
    for who in index.holders.values():
        if len(who) < 2:
            continue
        pairs = list(combinations(who, 2))  # holders are in sorted order, so a < b
        for pair in pairs:
            counts[pair] = counts.get(pair, 0) + 1
        if len(who) <= index.rare:
            for pair in pairs:
                rare[pair] = rare.get(pair, 0) + 1
    return counts, rare


def contained_function(index: CodeIndex, a: str, b: str) -> FunctionMatch | None:
    """The strongest function of either student whose own fingerprints the other holds (at least
    :data:`FUNCTION_HELD` of them), or None."""
    best: tuple[tuple[float, int], str, str, int, int] | None = None  # (rank, owner, other, unit number, held)
    for owner, other in ((a, b), (b, a)):
        theirs = index.own.get(other, set())
        for number, mine in index.functions.get(owner, {}).items():
            held = len(mine & theirs)
            if held < FUNCTION_HELD * len(mine):
                continue
            rank = (containment_strength(held / len(mine), FUNCTION_MODERATE, FUNCTION_CLEAR)
                    * min(1.0, len(mine) / FUNCTION_FULL), held)
            if best is None or rank > best[0]:
                best = (rank, owner, other, number, held)
    if best is None:
        return None
    _, owner, other, number, held = best
    mine = index.functions[owner][number]
    other_doc = index.docs[other]
    votes: dict[int, int] = {}  # which of the other's functions holds the most of them
    for h in mine & index.own[other]:
        for place in other_doc.places.get(h, []):
            votes[place.unit] = votes.get(place.unit, 0) + 1
    where = other_doc.units[max(votes, key=lambda n: (votes[n], -n))].name or MODULE_CODE if votes else ""
    unit = index.docs[owner].units[number]
    return FunctionMatch(owner, other, unit.name, (unit.first_line, unit.last_line), len(mine), held, where)


def overlap(index: CodeIndex, a: str, b: str, shared: int | None = None) -> CodeOverlap:
    if shared is None:
        shared = len(index.own.get(a, set()) & index.own.get(b, set()))
    return CodeOverlap(shared, len(index.own.get(a, ())), len(index.own.get(b, ())))
