"""Grade every mutant, slip mutant and rewrite of a problem's reference, as a student's submission is graded, and
say what became of each.

Everything runs through :func:`grader.grading.grade_problem` in one session (warm sandboxes, the case book and
the calibrations shared), on all cases: a mutant is untrusted code like any submission, so a loop that never
ends or a crash is a result (a timeout, an error), never a failure of the run. The reference itself is graded
first: mutants of a reference that does not earn full marks prove nothing.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from grader.grading import grade_problem
from grader.kit import kit_of
from grader.models import CheckResult, ProblemResult, ProblemSpec, Status
from grader.mutants import rewrites as rewriting
from grader.mutants.marks import Marks, check_names, read_marks
from grader.mutants.operators import Mutant, generate, top_level_functions
from grader.mutants.slips import SlipMutant, slip_mutants
from grader.reference import ReferenceFailure
from grader.session import GradingSession
from grader.submissions import SourceFile
from grader.timing import Instant

#: what became of a mutant: it lost points; it kept full marks; it kept them and the spec says why; or the machine
#: kept some of its results from being graded
KILLED, SURVIVED, EQUIVALENT, NOT_GRADED = "killed", "survived", "equivalent", "not graded"
NAMED, NOT_NAMED = "named", "not named"  #: a killed slip mutant: the checks that list the slip named it, or not
OK, LOSES, NOT_VALID, STALE = "ok", "loses points", "not valid", "stale"  #: what became of a rewrite


@dataclass(frozen=True)
class Lost:
    """One result that did not earn its points."""

    check: str
    case: str | None
    entry: str | None
    status: str  #: failed, error, timeout, memory, crashed
    diagnosis: str | None
    feedback: str


@dataclass(frozen=True)
class Graded:
    """A variant graded on all cases."""

    score: float
    max_score: float
    lost: tuple[Lost, ...]
    checks: dict[str, list[str]]  #: check -> the cases it graded
    graded: bool  #: False when the machine kept results from being graded (e.g. a calibration failed here)
    seconds: float

    @property
    def full(self) -> bool:
        return self.graded and not self.lost and abs(self.score - self.max_score) < 1e-9


@dataclass
class MutantOutcome:
    mutant: Mutant
    graded: Graded
    fate: str
    reason: str | None = None  #: why the spec calls it equivalent
    why: str = ""  #: for a survivor: what it kept full marks on


@dataclass
class SlipOutcome:
    mutant: SlipMutant
    graded: Graded
    fate: str  #: named, not named, survived, equivalent, not graded
    reason: str | None = None
    why: str = ""

    @property
    def diagnoses(self) -> list[Lost]:
        """The lost results of the checks that list the slip."""
        return [r for r in self.graded.lost if r.check in self.mutant.checks]


@dataclass
class RewriteOutcome:
    rewrite: str
    entries: tuple[str, ...]
    fate: str  #: ok, loses points, not valid (marked, and it does lose), stale (marked, yet full marks), not graded
    graded: Graded | None = None
    reason: str | None = None  #: the spec's reason, for a marked rewrite


@dataclass
class ProblemMutants:
    """A problem's mutation test."""

    problem: str
    mutants: list[MutantOutcome] = field(default_factory=list)
    generated: int = 0  #: mutants generated (more than graded when --max-mutants took a sample)
    slips: list[SlipOutcome] = field(default_factory=list)
    slips_without_builder: list[str] = field(default_factory=list)
    rewrites: list[RewriteOutcome] = field(default_factory=list)
    driven_only: bool = False  #: every entry has a driver: no rewrite applies
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  #: hints on what to do about the survivors
    seconds: float = 0.0
    skipped: str | None = None  #: why the problem was not mutation-tested
    failed: bool = False  #: skipped because its reference does not earn full marks

    def of(self, fate: str) -> list[MutantOutcome]:
        return [m for m in self.mutants if m.fate == fate]

    @property
    def issues(self) -> int:
        """Survivors without a reason, slip mutants not named (or surviving), rewrites that lose points, results the
        machine kept from being graded, and a reference that fails."""
        return (len(self.of(SURVIVED)) + len(self.of(NOT_GRADED))
                + sum(1 for s in self.slips if s.fate in (NOT_NAMED, SURVIVED, NOT_GRADED))
                + sum(1 for r in self.rewrites if r.fate in (LOSES, NOT_GRADED)) + int(self.failed))


def grade_mutants(session: GradingSession, *, jobs: int = 1, max_mutants: int | None = None,
                  on_problem: Callable[[ProblemMutants], None] | None = None) -> list[ProblemMutants]:
    """Mutation-test each of the session's problems, in order (``on_problem`` gets each as soon as it is done)."""
    out = []
    with ThreadPoolExecutor(max_workers=jobs) as threads:
        for problem in session.problems:
            started = Instant.now()
            found = _test_problem(problem, session, threads, max_mutants)
            found.seconds = round(started.elapsed(), 1)
            out.append(found)
            if on_problem is not None:
                on_problem(found)
    return out


def _test_problem(problem: ProblemSpec, session: GradingSession, threads: ThreadPoolExecutor,
                  max_mutants: int | None) -> ProblemMutants:
    out = ProblemMutants(problem.id)
    if not problem.checks or problem.reference is None:
        out.skipped = "written questions only: no code to mutate"
        return out
    text = problem.reference.read_text(encoding="utf-8")
    marks = read_marks(problem)
    kit = kit_of(problem)
    rewrites = rewriting.available(kit)
    check_names(marks, problem, top_level_functions(text), rewriting.known(kit))

    baseline = _grade(problem, text, session)
    if not baseline.graded:
        reasons = dict.fromkeys(r.feedback for r in baseline.lost)
        raise ReferenceFailure(f"{problem.id}: {'; '.join(reasons)}")
    if not baseline.full:
        out.skipped = (f"the reference scores {baseline.score:g} / {baseline.max_score:g} (grader validate says why): "
                       "its mutants would prove nothing")
        out.failed = True
        return out

    mutants = generate(text, marks.functions)
    every = {m.id for m in mutants}
    out.generated = len(mutants)
    if max_mutants is not None and len(mutants) > max_mutants:
        mutants = _sample(mutants, max_mutants)
    slips = slip_mutants(problem, text)
    out.slips_without_builder = slips.without_builder
    plans = _rewrite_plans(problem, text, rewrites, marks)
    out.driven_only = all(e.driver is not None for e in problem.entries)

    sources = [m.source for m in mutants] + [s.source for s in slips.mutants] + [p.source for p in plans]
    graded = list(threads.map(lambda source: _grade(problem, source, session), sources))
    done = iter(graded)
    out.mutants = [_mutant_fate(m, next(done), marks, problem) for m in mutants]
    out.slips = [_slip_fate(s, next(done), marks, problem) for s in slips.mutants]
    out.rewrites = _rewrite_fates(plans, [next(done) for _ in plans], marks)
    out.warnings = _stale(marks, every | {s.id for s in slips.mutants}, out)
    out.warnings += _misplaced(marks, problem, rewrites)
    out.notes = _driven_survivors(out, problem, marks, top_level_functions(text))
    return out


def _driven_survivors(found: ProblemMutants, problem: ProblemSpec, marks: Marks, functions: list[str]) -> list[str]:
    """A hint where survivors are in the function of an entry with a driver: the sandbox runs the driver, which need
    not call that function at all (the reference's copy of it gives the expected values on the grader's side)."""
    driven = {e.name for e in problem.entries if e.driver is not None}
    counts: dict[str, int] = {}
    for m in found.of(SURVIVED):
        if m.mutant.function in driven:
            counts[m.mutant.function] = counts.get(m.mutant.function, 0) + 1
    if not counts or marks.functions is not None:
        return []
    others = [f for f in functions if f not in driven]
    names = ", ".join(f"{n} ({k} survivors)" for n, k in counts.items())
    return [f"{names}: the function of an entry with a driver; the sandbox runs the driver, which may never call it. "
            f"If so, mutate only what the driver runs: mutants: {{functions: [{', '.join(others)}]}}"]


def _sample(mutants: list[Mutant], size: int) -> list[Mutant]:
    """A fixed sample of ``size`` mutants, in source order: the same on every run, and a mutant stays in it (or out)
    whatever is edited elsewhere in the reference (it is chosen by a hash of its id)."""
    chosen = set(sorted((m.id for m in mutants), key=lambda i: hashlib.sha256(i.encode()).hexdigest())[:size])
    return [m for m in mutants if m.id in chosen]


def _grade(problem: ProblemSpec, source: str, session: GradingSession) -> Graded:
    started = Instant.now()
    result = grade_problem(problem, SourceFile(source, "solution.py"), session.book, session.options)
    return _graded(problem, result, round(started.elapsed(), 3))


def _graded(problem: ProblemSpec, result: ProblemResult, seconds: float) -> Graded:
    entry_of = {c.id: c.entry for c in problem.cases}
    checks: dict[str, list[str]] = {}
    for r in result.checks:
        if r.kind == "check":
            checks.setdefault(r.check, []).append(r.case or "")
    lost = tuple(Lost(r.check, r.case, entry_of.get(r.case or ""), r.status.value, r.diagnosis, _said(r))
                 for r in result.checks if r.kind == "check" and r.status is not Status.PASSED)
    return Graded(result.score, result.max_score, lost, checks, result.graded, seconds)


def _said(result: CheckResult) -> str:
    """A result's feedback on one line; for one the machine kept from being graded, why (for staff)."""
    text = result.feedback if result.graded else str((result.data or {}).get("not_graded") or result.feedback)
    return " ".join(text.split())


def _full_marks_on(graded: Graded, problem: ProblemSpec, function: str | None) -> str:
    """What a survivor kept full marks on: the cases of its function's entry (all cases for another function)."""
    entry_of = {c.id: c.entry for c in problem.cases}
    is_entry = function is not None and any(e.name == function for e in problem.entries)
    checks = {name: [c for c in cases if not is_entry or entry_of.get(c) == function]
              for name, cases in graded.checks.items()}
    checks = {name: cases for name, cases in checks.items() if cases}
    cases = {c for found in checks.values() for c in found}
    return f"full marks on all {len(cases)} cases of {', '.join(checks)}"


def _mutant_fate(mutant: Mutant, graded: Graded, marks: Marks, problem: ProblemSpec) -> MutantOutcome:
    reason = marks.reason(mutant.id)
    if not graded.graded:
        return MutantOutcome(mutant, graded, NOT_GRADED, reason)
    if not graded.full:
        return MutantOutcome(mutant, graded, KILLED, reason)
    return MutantOutcome(mutant, graded, EQUIVALENT if reason else SURVIVED, reason,
                         _full_marks_on(graded, problem, mutant.function))


def _slip_fate(mutant: SlipMutant, graded: Graded, marks: Marks, problem: ProblemSpec) -> SlipOutcome:
    reason = marks.reason(mutant.id)
    if not graded.graded:
        return SlipOutcome(mutant, graded, NOT_GRADED, reason)
    if graded.full:
        entries = mutant.entries[0] if len(mutant.entries) == 1 else None
        return SlipOutcome(mutant, graded, EQUIVALENT if reason else SURVIVED, reason,
                           _full_marks_on(graded, problem, entries))
    listed = [r for r in graded.lost if r.check in mutant.checks]
    named = bool(listed) and all(r.diagnosis == mutant.slip for r in listed)
    return SlipOutcome(mutant, graded, NAMED if named else NOT_NAMED, reason)


# --------------------------------------------------------------------------- rewrites


@dataclass(frozen=True)
class _RewritePlan:
    rewrite: str
    entries: tuple[str, ...]
    marked: bool  #: the spec says it is not valid for these entries: it should lose points
    source: str


def _rewrite_plans(problem: ProblemSpec, text: str, rewrites: list[rewriting.ValidRewrite],
                   marks: Marks) -> list[_RewritePlan]:
    """Per rewrite, one variant on the entries it must keep full marks on, and one on those marked not valid."""
    plans = []
    for rewrite in rewrites:
        entries = rewriting.applies_to(rewrite, problem)
        for marked in (False, True):
            chosen = [e for e in entries if (marks.not_valid(rewrite.name, e) is not None) == marked]
            if chosen:
                plans.append(_RewritePlan(rewrite.name, tuple(chosen), marked,
                                          rewriting.rewritten(text, problem, rewrite, chosen)))
    return plans


def _rewrite_fates(plans: list[_RewritePlan], graded: list[Graded], marks: Marks) -> list[RewriteOutcome]:
    out = []
    for plan, result in zip(plans, graded):
        if not result.graded:
            fate = NOT_GRADED
        elif plan.marked:
            fate = STALE if result.full else NOT_VALID
        else:
            fate = OK if result.full else LOSES
        reasons = [m.reason for e in plan.entries if (m := marks.not_valid(plan.rewrite, e)) is not None]
        out.append(RewriteOutcome(plan.rewrite, plan.entries, fate, result,
                                  "; ".join(dict.fromkeys(reasons)) if plan.marked else None))
    return out


# --------------------------------------------------------------------------- marks that match nothing


def _misplaced(marks: Marks, problem: ProblemSpec, rewrites: list[rewriting.ValidRewrite]) -> list[str]:
    """A rewrite marked not valid for entries it never applies to (a driver's entry, or not among the rewrite's own
    entries): the mark says nothing. A rewrite that cannot run here (torch not installed) is not judged."""
    lines = []
    found = {r.name: r for r in rewrites}
    for mark in marks.rewrites_not_valid:
        rewrite = found.get(mark.rewrite)
        if rewrite is None:
            continue
        applies = rewriting.applies_to(rewrite, problem)
        if not any(e in applies for e in ([mark.entry] if mark.entry else [e.name for e in problem.entries])):
            target = f"entry {mark.entry!r}" if mark.entry else "any entry of this problem"
            lines.append(f"{marks.path}:{mark.line}: mutants.rewrites_not_valid: the rewrite {mark.rewrite!r} never "
                         f"applies to {target} (an entry with a driver, or not one of the rewrite's entries): a mark "
                         "that says nothing")
    return lines


def _stale(marks: Marks, ids: set[str], found: ProblemMutants) -> list[str]:
    where = str(marks.path)
    lines = [f"{where}:{m.line}: mutants.equivalent: {m.mutant!r} is no mutant of the reference (any more?): a stale "
             "mark" for m in marks.equivalent if m.mutant not in ids]
    for outcome in [*found.mutants, *found.slips]:
        if outcome.reason is not None and outcome.fate not in (EQUIVALENT, NOT_GRADED):
            mark = next(m for m in marks.equivalent if m.mutant == outcome.mutant.id)
            lines.append(f"{where}:{mark.line}: mutants.equivalent: {outcome.mutant.id!r} is marked equivalent, but it "
                         "loses points: a stale mark")
    for rewrite in found.rewrites:
        if rewrite.fate == STALE:
            line = next((m.line for e in rewrite.entries if (m := marks.not_valid(rewrite.rewrite, e))), None)
            lines.append(f"{where}:{line}: mutants.rewrites_not_valid: {rewrite.rewrite!r} is marked not valid for "
                         f"{', '.join(rewrite.entries)}, but it keeps full marks there: a stale mark")
    return lines
