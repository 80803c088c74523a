"""The signals only this grader has, read from the gradebook: what two students' code *did*, not how it looks.

The gradebook keeps each check's result per case (status, feedback, diagnosis), not the values a student's
function returned. So:

- **values**: a hidden case on which both students' code failed with *identical feedback* on every failing check,
  no check naming a slip on that case. A failure no slip explains is worded from the value itself: ``equals``
  quotes it ("you returned ['<sos>', 'I', ...]"), ``allclose`` and ``finite_difference`` give its relative error
  to three digits ("relative error 4.75"), shape checks its shape. Identical feedback there means the same wrong
  value, or one within rounding of it. The same feedback on several cases of a problem counts once: it is one
  systematic error (a factor of 2 is "relative error 0.5" on every case), where different wrong values on
  different cases are each evidence. Cases a slip explains are left to the next signal; errors (a missing
  function, an exception) are no value and are left out.
- **slips**: the same sequence of diagnosed slips, problem by problem in the assignment's order (code checks and
  written questions alike), when it holds at least two.
- **answers**: the same written answer (``answers.yaml``, read with the safe reader), compared with case and
  whitespace ignored, where it is not the reference's (the question passed), not an answer the spec lists as a
  known alternative, and not short (fewer than :data:`MIN_ANSWER_WORDS` words or :data:`MIN_ANSWER_CHARS`
  characters: a number, an option, a token list).

Each item is weighed by how rare it is: shared by ``h`` students it counts ``1 / (h - 1)`` of its weight for each
pair of them (a slip or answer that only these two have counts in full, one a third student shares half); shared
by more than the common cut (:func:`grader.similarity.index.common_cut`) it is a common mistake and counts
nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from grader.answers.reader import Answers
from grader.models import NOT_GRADED, Status, SubmissionResult, Visibility

SIGNALS = ("values", "slips", "answers")
MIN_ANSWER_WORDS = 5
MIN_ANSWER_CHARS = 20
MIN_SLIPS = 2  #: an identical sequence of fewer slips is no evidence (one common slip is common)
ANSWER_WEIGHT = 2.0  #: an identical written sentence weighs as two identical wrong values
NOT_SLIPS = {"manual", NOT_GRADED}  #: diagnoses that name no mistake


@dataclass(frozen=True)
class Item:
    """One piece of evidence a student holds: a wrong value, a slip sequence, a written answer."""

    signal: str
    key: tuple
    label: str  #: what it is, in words, for the pages
    weight: float = 1.0
    #: items of one group count once for a pair (the heaviest): the same wrong feedback on several hidden cases of a
    #: problem is one systematic error (a factor of 2 gives "relative error 0.5" on every case), not several
    group: tuple | None = None


@dataclass(frozen=True)
class Evidence:
    """An item two students share, and how many students hold it."""

    item: Item
    holders: int

    @property
    def weight(self) -> float:
        return self.item.weight / (self.holders - 1)


def value_items(result: SubmissionResult) -> list[Item]:
    """The hidden cases on which ``result`` failed with feedback no slip explains, one item each."""
    items = []
    for problem in result.problems:
        cases: dict[str, list] = {}
        for c in problem.checks:
            if c.kind == "check" and c.visibility is Visibility.HIDDEN and c.case is not None:
                cases.setdefault(c.case, []).append(c)
        for case, checks in cases.items():
            if any(c.diagnosis for c in checks):
                continue
            wrong = sorted((c.check, c.feedback) for c in checks if c.status is Status.FAILED)
            if not wrong:
                continue
            shown = "; ".join(f"{check}: {feedback}" for check, feedback in wrong)
            items.append(Item("values", (problem.problem, case, tuple(wrong)),
                              f"{problem.problem}, hidden case {case}: {shown}",
                              group=(problem.problem, tuple(wrong))))
    return items


def slip_item(result: SubmissionResult) -> Item | None:
    """The student's diagnosed slips in order (each once), as one item when there are at least :data:`MIN_SLIPS`."""
    seq: list[tuple[str, str]] = []
    for problem in result.problems:
        for c in problem.checks:
            if c.status is Status.PASSED or not c.diagnosis or c.diagnosis in NOT_SLIPS:
                continue
            if (problem.problem, c.diagnosis) not in seq:
                seq.append((problem.problem, c.diagnosis))
    if len(seq) < MIN_SLIPS:
        return None
    label = ", then ".join(f"{d} ({p})" for p, d in seq)
    return Item("slips", tuple(seq), f"{len(seq)} slips in the same order: {label}", weight=len(seq) - 1.0)


def normalised_answer(value: Any) -> str:
    """An answer as compared: lists and mappings flattened to their words, case and whitespace ignored."""
    if isinstance(value, dict):
        value = " ".join(f"{k} {normalised_answer(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
    elif isinstance(value, (list, tuple)):
        value = " ".join(normalised_answer(v) for v in value)
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def answer_items(result: SubmissionResult, answers: Answers | None) -> list[Item]:
    """The student's written answers that could be evidence: not the reference's, not a listed alternative, not
    short."""
    if answers is None or answers.error is not None:
        return []
    items = []
    for problem in result.problems:
        for c in problem.checks:
            if c.kind != "question" or c.status is Status.PASSED or (c.diagnosis or "").startswith("alternative:"):
                continue
            if c.diagnosis == NOT_GRADED:
                continue
            present, value = answers.get(problem.problem, c.check)
            if not present or value is None:
                continue
            text = normalised_answer(value)
            if len(text) < MIN_ANSWER_CHARS or len(text.split()) < MIN_ANSWER_WORDS:
                continue
            shown = str(value) if not isinstance(value, (list, dict)) else text
            shown = shown if len(shown) <= 400 else shown[:397] + "..."
            items.append(Item("answers", (problem.problem, c.check, text),
                              f"{problem.problem}, {c.check}: \u201c{shown.strip()}\u201d", weight=ANSWER_WEIGHT))
    return items


def student_items(result: SubmissionResult, answers: Answers | None) -> list[Item]:
    slips = slip_item(result)
    return value_items(result) + ([slips] if slips else []) + answer_items(result, answers)


def shared_items(items: dict[str, list[Item]], cut: int) -> dict[tuple[str, str], list[Evidence]]:
    """(a, b) with a < b -> the items both hold, for every pair holding one that at most ``cut`` students hold."""
    holders: dict[tuple[str, tuple], list[str]] = {}
    by_key: dict[tuple[str, tuple], Item] = {}
    for student in sorted(items):
        for item in items[student]:
            key = (item.signal, item.key)
            who = holders.setdefault(key, [])
            if not who or who[-1] != student:
                who.append(student)
            by_key.setdefault(key, item)
    pairs: dict[tuple[str, str], list[Evidence]] = {}
    for key, who in holders.items():
        if not 2 <= len(who) <= cut:
            continue
        evidence = Evidence(by_key[key], len(who))
        for pair in combinations(who, 2):
            pairs.setdefault(pair, []).append(evidence)
    return pairs
