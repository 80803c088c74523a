"""A mutation test in words: one summary line per problem, then a line for each thing to look at."""

from __future__ import annotations

from pathlib import Path

from grader.mutants.run import (EQUIVALENT, KILLED, LOSES, NAMED, NOT_GRADED, NOT_NAMED, NOT_VALID, OK, STALE,
                                SURVIVED, Graded, Lost, ProblemMutants, RewriteOutcome)

_FEEDBACK = 110  #: characters of a check's feedback quoted


def problem_lines(found: ProblemMutants, *, verbose: bool = False) -> list[str]:
    """The problem's summary line, then its survivors, slips not named, rewrites that lose points, the spec's reasons
    for its equivalent mutants (how many each explains) and rewrites marked not valid, and warnings (``verbose``:
    each equivalent mutant, and every killed one too)."""
    if found.skipped:
        return [f"{found.problem}: {'FAIL ' if found.failed else ''}not mutation-tested: {found.skipped}"]
    lines = [f"{found.problem}: {_counts(found)}; {_slips(found)}; rewrites: {_rewrites(found)} ({found.seconds:g} s)"]
    for m in found.of(SURVIVED):
        lines.append(f"  SURVIVED {m.mutant.id} (line {m.mutant.line}): {m.why}")
    for s in found.slips:
        if s.fate == SURVIVED:
            lines.append(f"  SURVIVED {s.mutant.id}: {s.why}: no case shows this slip")
        elif s.fate == NOT_NAMED:
            lines.append(f"  NOT NAMED {s.mutant.id}: killed, but {_diagnosed(s.diagnoses, s.mutant.checks)}")
    lines += [f"  note: {n}" for n in found.notes]
    for m in found.of(NOT_GRADED):
        lines.append(f"  NOT GRADED {m.mutant.id}: {_lost(m.graded)}")
    for s in found.slips:
        if s.fate == NOT_GRADED:
            lines.append(f"  NOT GRADED {s.mutant.id}: {_lost(s.graded)}")
    for r in found.rewrites:
        if r.fate in (LOSES, NOT_GRADED):
            entries = [e for e in r.entries if any(x.entry == e for x in (r.graded.lost if r.graded else ()))]
            lines.append(f"  REWRITE {r.rewrite} {'LOSES POINTS' if r.fate == LOSES else 'NOT GRADED'} on "
                         f"{', '.join(entries or r.entries)}: {_lost(r.graded)}")
    equivalent = [(m.mutant.id, m.reason) for m in found.of(EQUIVALENT)]
    equivalent += [(s.mutant.id, s.reason) for s in found.slips if s.fate == EQUIVALENT]
    if verbose:
        lines += [f"  equivalent {mutant}: {reason}" for mutant, reason in equivalent]
    else:  # one line per reason the spec gives (--verbose lists the mutants)
        by_reason: dict[str, int] = {}
        for _, reason in equivalent:
            by_reason[reason] = by_reason.get(reason, 0) + 1
        lines += [f"  equivalent ({n}): {reason}" for reason, n in by_reason.items()]
    for r in found.rewrites:
        if r.fate == NOT_VALID:
            lines.append(f"  not valid {r.rewrite} ({', '.join(r.entries)}): {r.reason}")
    if found.slips_without_builder:
        lines.append(f"  note: no slip mutant for {', '.join(found.slips_without_builder)} (no builder of the wrong "
                     "answer: Kit.slip(..., wrong=...))")
    if verbose:
        for m in found.of(KILLED):
            lines.append(f"  killed {m.mutant.id} (line {m.mutant.line}): {_lost(m.graded, quote=False)}")
        for s in found.slips:
            if s.fate == NAMED:
                lines.append(f"  named {s.mutant.id}: {_lost(s.graded, quote=False)}")
    lines += [f"  warning: {w}" for w in found.warnings]
    return lines


def total_line(assignment: Path, found: list[ProblemMutants], seconds: float) -> str:
    """The run in one line, and whether anything is left to look at."""
    tested = [f for f in found if not f.skipped]
    mutants = [m for f in tested for m in f.mutants]
    slips = [s for f in tested for s in f.slips]
    rewrites = [r for f in tested for r in f.rewrites]
    issues = sum(f.issues for f in found)

    def count(items, fate) -> int:
        return sum(1 for i in items if i.fate == fate)

    text = (f"{assignment}: {len(tested)} problem(s) mutation-tested, {len(mutants)} mutants: "
            f"{count(mutants, KILLED)} killed, {count(mutants, EQUIVALENT)} equivalent, {count(mutants, SURVIVED)} "
            f"survived; slip mutants: {count(slips, NAMED)} named, {count(slips, NOT_NAMED)} not named, "
            f"{count(slips, SURVIVED)} survived; rewrites: {count(rewrites, OK)} ok, {count(rewrites, LOSES)} lose "
            f"points ({seconds:.0f} s). ")
    return text + ("No unexplained survivor." if not issues else f"{issues} thing(s) to look at, listed above.")


def _counts(found: ProblemMutants) -> str:
    graded = len(found.mutants)
    head = f"{graded} mutants" if graded == found.generated else f"{graded} of {found.generated} mutants (a sample)"
    parts = [f"{len(found.of(KILLED))} killed", f"{len(found.of(EQUIVALENT))} equivalent",
             f"{len(found.of(SURVIVED))} survived"]
    if found.of(NOT_GRADED):
        parts.append(f"{len(found.of(NOT_GRADED))} not graded")
    return f"{head}, {', '.join(parts)}"


def _slips(found: ProblemMutants) -> str:
    if not found.slips:
        return "no slip mutants"
    named = sum(1 for s in found.slips if s.fate == NAMED)
    if named == len(found.slips):
        return f"{named} slip mutant{'s' if named != 1 else ''} named"
    others = [f"{sum(1 for s in found.slips if s.fate == fate)} {fate}" for fate in (NOT_NAMED, SURVIVED, EQUIVALENT,
                                                                                      NOT_GRADED)]
    return f"{len(found.slips)} slip mutants: {named} named, " + ", ".join(o for o in others if not o.startswith("0 "))


def _rewrites(found: ProblemMutants) -> str:
    if found.driven_only:
        return "n/a (driven entries)"
    if not found.rewrites:
        return "none"
    by_name: dict[str, list[RewriteOutcome]] = {}
    for r in found.rewrites:
        by_name.setdefault(r.rewrite, []).append(r)
    return ", ".join(_rewrite(name, outcomes) for name, outcomes in by_name.items())


def _rewrite(name: str, outcomes: list[RewriteOutcome]) -> str:
    fates = {r.fate for r in outcomes}
    marked = [e for r in outcomes if r.fate in (NOT_VALID, STALE) for e in r.entries]
    if LOSES in fates:
        word = "LOSES POINTS"
    elif NOT_GRADED in fates:
        word = "NOT GRADED"
    elif OK in fates:
        word = "ok"
    else:
        return f"{name} not valid"
    return f"{name} {word}" + (f" (not valid for {', '.join(marked)})" if marked else "")


def _lost(graded: Graded | None, *, quote: bool = True) -> str:
    """The checks that lost points, with how many cases and how, and (``quote``) the first case's feedback."""
    if graded is None or not graded.lost:
        return "full marks"
    by_check: dict[str, list[Lost]] = {}
    for r in graded.lost:
        by_check.setdefault(r.check, []).append(r)
    parts = []
    for check, lost in by_check.items():
        statuses = sorted({r.status for r in lost})
        text = f"{check} {'/'.join(statuses)} on {len(lost)} of {len(graded.checks.get(check, []))} cases"
        if quote:
            feedback = lost[0].feedback
            feedback = feedback if len(feedback) <= _FEEDBACK else feedback[:_FEEDBACK - 3] + "..."
            text += f" ({lost[0].case}: {feedback!r})"
        parts.append(text)
    return "; ".join(parts)


def _diagnosed(lost: list[Lost], checks: tuple[str, ...]) -> str:
    """How the checks that list a slip diagnosed its wrong answer instead (by diagnosis, with the cases)."""
    if not lost:
        return f"{', '.join(checks)} lost no points: the slip's checks never saw it"
    by: dict[str, list[str]] = {}
    for r in lost:
        by.setdefault(f"{r.check} said {r.diagnosis!r}" if r.diagnosis else f"{r.check} named no slip",
                      []).append(r.case or "")
    return "; ".join(f"{what} on {', '.join(cases)}" for what, cases in by.items())
