"""What a problem's spec says about its mutants (``mutants:``): the functions to mutate, the mutants no case can
tell from the reference (with a reason), and the rewrites that are not valid answers (with a reason).

The loader validates the key's shape with the rest of the spec; the names in it (the reference's functions,
its entries, the rewrites) are checked here, against the reference and the rewrites there are, and reported
like any spec issue: file, line, field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from grader.models import ProblemSpec
from grader.spec import SpecError, SpecIssue
from grader.spec.schema import MutantsModel
from grader.spec.yamlnodes import LocatedYaml, format_loc, load_located

KEY = "mutants"


@dataclass(frozen=True)
class Equivalent:
    mutant: str
    reason: str
    line: int | None


@dataclass(frozen=True)
class NotValid:
    rewrite: str
    entry: str | None  #: None: every entry
    reason: str
    line: int | None


@dataclass(frozen=True)
class Marks:
    path: Path
    functions: tuple[str, ...] | None  #: None: every top-level function of the reference
    equivalent: tuple[Equivalent, ...] = ()
    rewrites_not_valid: tuple[NotValid, ...] = ()

    def reason(self, mutant: str) -> str | None:
        return next((m.reason for m in self.equivalent if m.mutant == mutant), None)

    def not_valid(self, rewrite: str, entry: str) -> NotValid | None:
        return next((m for m in self.rewrites_not_valid if m.rewrite == rewrite and m.entry in (None, entry)), None)


def read_marks(problem: ProblemSpec) -> Marks:
    """The problem's ``mutants:`` key (none: every function, no marks); :class:`SpecError` when it is malformed."""
    try:
        doc = load_located(problem.source)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SpecError([SpecIssue(problem.source, None, "", f"cannot be read again: {exc}")]) from exc
    raw = doc.data.get(KEY) if isinstance(doc.data, dict) else None
    if raw is None:
        return Marks(problem.source, None)
    try:
        model = MutantsModel.model_validate(raw)
    except ValidationError as err:
        raise SpecError([SpecIssue(problem.source, doc.line_of([KEY, *e["loc"]]), format_loc([KEY, *e["loc"]]),
                                   e["msg"].removeprefix("Value error, ")) for e in err.errors()]) from err
    line = _liner(doc)
    return Marks(problem.source, tuple(model.functions) if model.functions is not None else None,
                 tuple(Equivalent(m.mutant, m.reason, line("equivalent", i)) for i, m in enumerate(model.equivalent)),
                 tuple(NotValid(m.rewrite, m.entry, m.reason, line("rewrites_not_valid", i))
                       for i, m in enumerate(model.rewrites_not_valid)))


def _liner(doc: LocatedYaml):
    return lambda field, i: doc.line_of([KEY, field, i])


def check_names(marks: Marks, problem: ProblemSpec, functions: list[str], rewrites: list[str]) -> None:
    """Every name the marks use exists: :class:`SpecError` naming the file, line and field of each that does not."""
    issues = []
    doc = load_located(marks.path)
    reference = problem.reference.name if problem.reference else "the reference"
    for i, name in enumerate(marks.functions or ()):
        if name not in functions:
            issues.append(SpecIssue(marks.path, doc.line_of([KEY, "functions", i]), f"{KEY}.functions[{i}]",
                                    f"no top-level function {name!r} in {reference} (it has: {', '.join(functions)})"))
    entries = [e.name for e in problem.entries]
    for i, mark in enumerate(marks.rewrites_not_valid):
        field = f"{KEY}.rewrites_not_valid[{i}]"
        if mark.rewrite not in rewrites:
            issues.append(SpecIssue(marks.path, mark.line, f"{field}.rewrite",
                                    f"unknown rewrite {mark.rewrite!r}; known: {', '.join(rewrites)}"))
        if mark.entry is not None and mark.entry not in entries:
            issues.append(SpecIssue(marks.path, doc.line_of([KEY, "rewrites_not_valid", i, "entry"]), f"{field}.entry",
                                    f"no entry {mark.entry!r} in this problem (it has: {', '.join(entries)})"))
    if issues:
        raise SpecError(issues)
