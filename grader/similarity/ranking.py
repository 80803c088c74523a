"""Each pair's signals, their strengths, the combined score and the threshold for "flagged".

Each signal's strength lies between 0 and 1:

- **code**: the larger of two (:mod:`grader.similarity.index`): the share of the smaller submission's own
  fingerprints that the other holds too (containment: nothing up to 50%, what independent solutions can share, rising
  to 0.8 at 80% and equal to it above; scaled down while fewer than 20 fingerprints are shared), and the strongest
  function of either whose own fingerprints the other holds (nearly) all of (scaled by the function's size: from 12
  own fingerprints, in full from 24);
- **values**, **slips**, **answers**: ``1 - 2 ** -w``, ``w`` the weight of what the two share
  (:mod:`grader.similarity.signals`): 1 for each different unexplained wrong value shared on hidden cases, ``n - 1``
  for the same sequence of ``n`` slips, 2 for each identical written answer, each divided by ``h - 1`` when ``h``
  students share it. One rare identical wrong value is 0.5, two 0.75, three 0.875.

The combined score is ``1 - (1 - code)(1 - values)(1 - slips)(1 - answers)``: each signal can only raise it, and
two moderate ones together raise it above either. A pair is **flagged** (listed for review, with a side-by-side
page) at :data:`THRESHOLD` or above: on its own, code with 80% of the smaller submission's own fingerprints in
common (20 or more), or a function of ten lines or more copied whole, or three different unexplained wrong values
shared on hidden cases, or four slips in the same order; together, one identical written answer (0.75) with one more
strong item. Moderate code overlap (55%: 0.13) with one more item (a wrong value, a slip pair, or an answer) stays
below it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from grader.similarity.index import CodeOverlap, FunctionMatch
from grader.similarity.signals import SIGNALS, Evidence

THRESHOLD = 0.8
EVIDENCE_BASE = 2.0


def strength(weight: float) -> float:
    """``1 - 2 ** -weight``: 0 for no evidence, 0.5 for one rare item, approaching 1."""
    return 1.0 - EVIDENCE_BASE ** -weight if weight > 0 else 0.0


@dataclass
class Pair:
    a: str
    b: str
    code: CodeOverlap
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)  #: signal -> what the two share
    threshold: float = THRESHOLD
    function: FunctionMatch | None = None  #: the strongest function of one that the other's code holds

    def weight(self, signal: str) -> float:
        """The evidence ``signal`` gives: each shared item's weight, items of one group counted once."""
        found = self.evidence.get(signal)
        if not found:
            return 0.0
        best: dict[tuple, float] = {}
        for e in found:
            group = e.item.group if e.item.group is not None else e.item.key
            best[group] = max(best.get(group, 0.0), e.weight)
        return sum(best.values())

    @cached_property
    def scores(self) -> dict[str, float]:
        """Each signal's strength, code first (the whole code's, or a contained function's where that is higher)."""
        return {"code": max(self.code.score, self.function_score), **{s: strength(self.weight(s)) for s in SIGNALS}}

    @property
    def function_score(self) -> float:
        return self.function.strength if self.function is not None else 0.0

    @cached_property
    def combined(self) -> float:
        rest = 1.0
        for value in self.scores.values():
            rest *= 1.0 - value
        return 1.0 - rest

    @property
    def flagged(self) -> bool:
        return self.combined >= self.threshold - 1e-12

    @property
    def slug(self) -> str:
        """The file name of the pair's side-by-side page: both ids, shortened, for reading, and a hash of the pair,
        so that no two pairs share a page whatever their ids hold (``a--b`` + ``c`` and ``a`` + ``b--c``)."""
        return pair_slug(self.a, self.b)


def pair_slug(a: str, b: str) -> str:
    digest = hashlib.sha256(f"{a}\0{b}".encode("utf-8")).hexdigest()[:12]
    return f"{a[:40]}--{b[:40]}-{digest}.html"


def rank(pairs: list[Pair]) -> list[Pair]:
    """Highest combined score first; ties by code score, then by the students' ids."""
    return sorted(pairs, key=lambda p: (-round(p.combined, 12), -round(p.code.score, 12), p.a, p.b))
