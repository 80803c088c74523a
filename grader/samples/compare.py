"""Samples against what they must earn: the differences, in words, and the samples graded as a batch."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from grader.answers.questions import PENDING_PREFIX
from grader.models import CheckResult, Status, SubmissionResult
from grader.samples.expected import UNCHECKED, Outcome, ProblemShape, SampleSet, load_samples


@dataclass(frozen=True)
class Mismatch:
    """One way a graded sample differs from what samples.yaml expects."""

    sample: str
    problem: str | None  #: None for the sample as a whole; "answers" for its written answers
    message: str

    def __str__(self) -> str:
        return f"{self.sample}: {self.problem}: {self.message}" if self.problem else f"{self.sample}: {self.message}"


@dataclass
class SampleReport:
    """The samples graded and compared."""

    expected: SampleSet
    results: list[SubmissionResult]
    mismatches: list[Mismatch]
    warnings: list[str] = field(default_factory=list)  #: the batch's warnings (e.g. stray files)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def matched(self) -> list[str]:
        """The samples that came out as expected, in name order."""
        bad = {m.sample for m in self.mismatches}
        return [name for name in sorted(self.expected.samples) if name not in bad]



# --------------------------------------------------------------------------- comparing


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _where(c: CheckResult) -> str:
    first = c.feedback.strip().splitlines()[0] if c.feedback.strip() else ""
    first = first if len(first) <= 100 else first[:97] + "..."
    name = f"{c.problem}/{c.check}" if c.kind == "question" else c.check + (f"/{c.case}" if c.case else "")
    named = f", {c.diagnosis}" if c.diagnosis else ""
    return f"{name} ({c.status.value}{named}" + (f": {first}" if first else "") + ")"


def _listed(results: list[CheckResult], limit: int = 3) -> str:
    shown = "; ".join(_where(c) for c in results[:limit])
    return shown + (f"; and {len(results) - limit} more" if len(results) > limit else "")


def _compare_code(shape: ProblemShape, expect: Outcome | None, code: list[CheckResult]) -> list[str]:
    """What differs between one problem's code-check results and ``expect`` (None: full marks), in words."""
    if not code:
        return ["no code-check results"]
    score = sum(c.score for c in code)
    lost = [c for c in code if c.status is not Status.PASSED]
    if expect is None:
        out = []
        if lost:
            out.append(f"expected full marks, lost points on {len(lost)} of {len(code)} result(s): {_listed(lost)}")
        short = [c for c in code if c.status is Status.PASSED and not _close(c.score, c.max_score)]
        if short:
            out.append(f"passed results short of their points: {_listed(short)}")
        if not out and not _close(score, shape.points):
            out.append(f"scores {score:g}, expected the problem's {shape.points:g} points of code checks")
        return out
    out = []
    if expect.whole:
        kept = [c for c in code if c.status is not expect.status or c.score != 0]
        if kept:
            out.append(f"expected every result {expect.status.value} with 0 points; not so for {len(kept)} of "
                       f"{len(code)}: {_listed(kept)}")
    elif expect.cases is not None:
        should = [c for c in code if (expect.lose is None or c.check in expect.lose)
                  and shape.groups.get(c.case or "") in expect.cases]
        wrongly_kept = [c for c in should if c.status is Status.PASSED or c.score != 0]
        if wrongly_kept:
            out.append(f"expected to lose all points on case group(s) {', '.join(expect.cases)}; kept points on "
                       f"{_listed(wrongly_kept)}")
        extra = [c for c in lost if c not in should]
        if extra:
            out.append(f"lost points outside case group(s) {', '.join(expect.cases)}: {_listed(extra)}")
    else:
        if not lost:
            out.append(f"expected to lose points on {', '.join(expect.lose)}, but every result passes "
                       f"(scores {score:g})")
        got = list(dict.fromkeys(c.check for c in lost))
        if lost and not score < shape.points:
            out.append(f"results not passed, yet the problem scores its full {shape.points:g}: {_listed(lost)}")
        if lost and set(got) != set(expect.lose):
            out.append(f"expected to lose points on exactly {', '.join(expect.lose)}; lost them on "
                       f"{', '.join(got)}: {_listed(lost)}")
    statuses = [c for c in lost if c.status is not expect.status]
    if statuses and not expect.whole:
        out.append(f"expected the lost results {expect.status.value}; got {_listed(statuses)}")
    short = [c for c in code if c.status is Status.PASSED and not _close(c.score, c.max_score)]
    if short:
        out.append(f"passed results short of their points: {_listed(short)}")
    if expect.diagnosed:
        first = expect.lose[0] if expect.lose else None
        named = [c for c in lost if first is None or c.check == first]
        wrong = [c for c in named if c.diagnosis != expect.diagnosis]
        if wrong:
            want = f"diagnosis {expect.diagnosis!r}" if expect.diagnosis is not None else "no diagnosis"
            out.append(f"expected {want}" + (f" on {first}" if first else "") + "; got "
                       + ", ".join(sorted({repr(c.diagnosis) for c in wrong})) + f" on {_listed(wrong)}")
    if expect.feedback:
        missing = [c for c in lost if expect.feedback not in c.feedback]
        if missing:
            out.append(f"expected feedback containing {expect.feedback!r}; not in {_listed(missing)}")
    return out


def _compare_answers(shapes: dict[str, ProblemShape], expect: str | Outcome, result: SubmissionResult) -> list[str]:
    if expect == UNCHECKED:
        return []
    asked = {(pid, qid): kind for pid, s in shapes.items() for qid, kind in s.questions.items()}
    questions = [c for p in result.problems for c in p.checks if c.kind == "question"]
    out = []
    graded = {(c.problem, c.check) for c in questions}
    if graded != set(asked) or len(questions) != len(asked):
        missing = sorted(f"{p}/{q}" for p, q in set(asked) - graded)
        out.append(f"{len(questions)} written answer result(s) for {len(asked)} question(s)"
                   + (f"; none for {', '.join(missing)}" if missing else ""))
    if isinstance(expect, Outcome):
        wrong = [c for c in questions if c.status is not expect.status or c.score != 0
                 or (expect.feedback and expect.feedback not in c.feedback)]
        if wrong:
            out.append(f"expected every written answer {expect.describe()} and 0 points; not so for "
                       f"{_listed(wrong)}")
        return out
    wrong = []
    for c in questions:
        if asked.get((c.problem, c.check)) == "free_text":
            if c.status is not Status.PENDING or c.score != 0 or PENDING_PREFIX not in c.feedback:
                wrong.append(c)
        elif c.status is not Status.PASSED or not _close(c.score, c.max_score):
            wrong.append(c)
    if wrong:
        out.append(f"expected every written answer right (free text awaiting manual grading); not so for "
                   f"{_listed(wrong, limit=4)}")
    return out


def compare(expected: SampleSet, results: Iterable[SubmissionResult]) -> list[Mismatch]:
    """Every way ``results`` (the samples graded) differ from ``expected``, sample by sample, problem by problem."""
    by_name = {r.student: r for r in results}
    out: list[Mismatch] = []
    for name in sorted(set(by_name) - set(expected.samples)):
        out.append(Mismatch(name, None, f"graded, but {expected.file} has no entry for it"))
    for name, sample in sorted(expected.samples.items()):
        result = by_name.get(name)
        if result is None:
            out.append(Mismatch(name, None, "not graded (is its folder a submission?)"))
            continue
        graded = {p.problem: p for p in result.problems}
        for pid, shape in expected.problems.items():
            problem = graded.get(pid)
            if problem is None:
                out.append(Mismatch(name, pid, "no result for this problem"))
                continue
            if not shape.checks:
                continue
            code = [c for c in problem.checks if c.kind == "check"]
            for message in _compare_code(shape, sample.problems.get(pid), code):
                out.append(Mismatch(name, pid, message))
        for message in _compare_answers(expected.problems, sample.answers, result):
            out.append(Mismatch(name, "answers", message))
    return out


def run_samples(assignment_dir: Path | str, *, sandbox: str = "auto", jobs: int = 1,
                out: Path | None = None) -> SampleReport | None:
    """Grade ``assignment_dir/samples/`` as a batch (into ``out``; by default a temporary folder, removed
    afterwards) and compare it with ``samples.yaml``. None when the assignment has no samples; raises
    :class:`SpecError` for a broken samples.yaml (or spec)."""
    from grader.api import grade_batch  # the API imports much; loading and comparing need none of it

    expected = load_samples(assignment_dir)
    if expected is None:
        return None
    if out is not None:
        batch = grade_batch(expected.folder, Path(assignment_dir), Path(out), jobs=jobs, sandbox=sandbox)
    else:
        with tempfile.TemporaryDirectory(prefix="grader-samples-") as tmp:
            batch = grade_batch(expected.folder, Path(assignment_dir), Path(tmp), jobs=jobs, sandbox=sandbox)
    return SampleReport(expected, batch.results, compare(expected, batch.results), list(batch.warnings))
