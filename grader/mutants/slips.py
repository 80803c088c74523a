"""Slip mutants: the wrong answer of each slip a problem's checks name (``diagnose:``), built from the reference's
outputs by the slip's builder (a built-in slip's, :mod:`grader.mutants.wrong_answers`, or the kit's ``wrong=``).
Each must lose points, and the checks that list the slip must name it."""

from __future__ import annotations

from dataclasses import dataclass

from grader.checks.slips import SlipRef
from grader.grading import ALL
from grader.kit import kit_of
from grader.models import ProblemSpec
from grader.mutants.wrappers import wrapped
from grader.mutants.wrong_answers import WRONG_ANSWERS


@dataclass(frozen=True)
class SlipMutant:
    """The reference with one slip's wrong answer in place of its outputs, on the entries its checks grade."""

    id: str  #: ``slip:<name>``
    slip: str
    checks: tuple[str, ...]  #: the checks that list the slip: their lost results should name it
    entries: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class SlipMutants:
    mutants: list[SlipMutant]
    without_builder: list[str]  #: slips listed, but with no builder of their wrong answer (nothing to grade)


def slip_mutants(problem: ProblemSpec, reference: str) -> SlipMutants:
    """One mutant per slip the problem's checks list, in the order they are first listed (entries with a driver
    return nothing to replace, and are left out)."""
    listed: dict[str, tuple[list[str], list[str]]] = {}  # slip -> (checks, entries)
    for check in problem.checks:
        refs = [r for r in getattr(check.params, "diagnose", None) or [] if isinstance(r, SlipRef)]
        entries = [e.name for e in problem.entries if e.driver is None
                   and any(c.entry == e.name for c in problem.cases_for(check, ALL))]
        for ref in refs:
            checks, where = listed.setdefault(ref.name, ([], []))
            checks.append(check.name)
            where.extend(e for e in entries if e not in where)
    kit = kit_of(problem)
    out, without = [], []
    for name, (checks, entries) in listed.items():
        builder = kit.wrong_answers.get(name) or WRONG_ANSWERS.get(name)
        if builder is None or not entries:
            without.append(name)
            continue
        chosen = [problem.entry(e) for e in entries]
        out.append(SlipMutant(f"slip:{name}", name, tuple(checks), tuple(entries),
                              wrapped(reference, chosen, builder, f"the wrong answer of slip {name!r}")))
    return SlipMutants(out, without)
