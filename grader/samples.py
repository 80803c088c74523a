"""An assignment's sample submissions and the outcomes they must come to: the author's regression suite.

An assignment folder may keep ``samples/``, a folder of student folders graded like any batch, and
``samples.yaml`` beside it, saying what each sample must earn, per problem. ``grader validate`` grades
the samples and reports every difference; the repository's tests hold every assignment's samples to it.

``samples.yaml``::

    outcomes:                      # optional: named outcomes, used by name below
      not-attempted: {status: error, feedback: "defines no function"}
    samples:                       # required: one entry per folder in samples/, and no others
      correct: {}                  # full marks on every code check; written answers right
      one-slip:
        problems:                  # problem id -> outcome; a problem not listed earns full marks
          sorting: {lose: [matches-reference], diagnosis: off_by_one}
          hashing: not-attempted
      hashing-only:
        problems: {hashing: full-marks}
        others: not-attempted      # every problem with code checks not listed under problems:
      edge-case:
        problems:
          sorting: {cases: [empty-list], feedback: "IndexError"}
        others: not-attempted
        answers: {status: error, feedback: "no answers.yaml"}

A sample's ``problems`` maps problem ids to outcomes; ``others`` is the outcome of every problem with
code checks that ``problems`` does not list (default: ``full-marks``, the built-in outcome of a problem
whose code checks all pass with their full points).

An outcome (a mapping, or the name of one in ``outcomes``) says which results of a problem's code checks
lose points (are not ``passed``); every other result must pass with its full points:

``status``
    the status of every result that loses points: failed (default), error, timeout, memory or crashed.
``lose``
    the checks that lose points, and no others (on some of their cases, at least one). The first one
    names ``diagnosis`` on every result it loses. Without ``lose`` (and ``cases``), every result of the
    problem loses all its points.
``cases``
    the case groups (case ids as written in the problem's spec) on which points are lost: every result
    of the ``lose`` checks (of every check, without ``lose``) on these groups scores 0, and no other
    result loses points.
``diagnosis``
    the diagnosis named on every lost result of the first ``lose`` check (of every lost result, without
    ``lose``); ``null`` asserts that none is named. Left out, diagnoses are not compared.
``feedback``
    a phrase that every lost result's feedback contains.

A sample's ``answers`` (its written answers, questions of every problem) is one of ``right`` (default:
each question passes with full points; a free-text one awaits manual grading), ``unchecked`` (asserted
elsewhere), or an outcome with ``status`` and ``feedback`` only, which every question's result meets
with 0 points (e.g. ``{status: error, feedback: "no answers.yaml"}``).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from grader.answers.questions import PENDING_PREFIX
from grader.models import Assignment, CheckResult, Status, SubmissionResult
from grader.spec import SpecError, SpecIssue, load_assignment
from grader.spec.yamlnodes import LocatedYaml, format_loc, load_located

SAMPLES_FILE = "samples.yaml"
SAMPLES_DIR = "samples"
FULL_MARKS = "full-marks"  #: the outcome of a problem whose code checks all pass (the default)
RIGHT = "right"  #: a sample's written answers are all right (the default)
UNCHECKED = "unchecked"  #: a sample's written answers are asserted elsewhere
#: the statuses an outcome may give the results that lose points
LOSING = (Status.FAILED, Status.ERROR, Status.TIMEOUT, Status.MEMORY, Status.CRASHED)
_OUTCOME_FIELDS = ("status", "lose", "cases", "diagnosis", "feedback")
_ANSWER_FIELDS = ("status", "feedback")


@dataclass(frozen=True)
class Outcome:
    """What one problem's code checks (or a sample's written answers) come to; see the module docstring."""

    status: Status = Status.FAILED  #: the status of every result that loses points
    lose: tuple[str, ...] | None = None  #: the checks that lose points; None: every check
    cases: tuple[str, ...] | None = None  #: the case groups on which they lose; None: see the module docstring
    diagnosis: str | None = None  #: named on every lost result of ``lose[0]`` (when ``diagnosed``)
    diagnosed: bool = False  #: whether ``diagnosis`` is compared (it was written, possibly null)
    feedback: str | None = None  #: a phrase in every lost result's feedback
    line: int | None = None  #: where it is written in samples.yaml

    @property
    def whole(self) -> bool:
        """Every result of the problem loses all its points."""
        return self.lose is None and self.cases is None

    def describe(self) -> str:
        parts = [self.status.value]
        if self.lose is not None:
            parts.append(f"losing points on {', '.join(self.lose)} only")
        if self.cases is not None:
            parts.append(f"on case group(s) {', '.join(self.cases)} only")
        if self.whole:
            parts.append("on every result")
        if self.diagnosed:
            parts.append(f"diagnosis {self.diagnosis!r}")
        if self.feedback:
            parts.append(f"feedback containing {self.feedback!r}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Sample:
    """One sample's expected outcomes."""

    name: str
    problems: dict[str, Outcome] = field(default_factory=dict)  #: a problem not here earns full marks
    answers: str | Outcome = RIGHT  #: RIGHT, UNCHECKED or an Outcome every question result meets
    line: int | None = None


@dataclass(frozen=True)
class ProblemShape:
    """What the assignment's spec says about one problem, as far as samples are compared against it."""

    id: str
    checks: tuple[str, ...]  #: its code checks, in spec order
    points: float  #: the points of its code checks
    groups: dict[str, str]  #: case id -> case group (the id written in the spec)
    questions: dict[str, str]  #: written question id -> kind


@dataclass
class SampleSet:
    """An assignment's samples.yaml, checked against its samples/ folder and its specs."""

    assignment: Path
    file: Path
    folder: Path
    samples: dict[str, Sample]
    problems: dict[str, ProblemShape]


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


# --------------------------------------------------------------------------- loading


class _Reader:
    def __init__(self, doc: LocatedYaml) -> None:
        self.doc = doc
        self.issues: list[SpecIssue] = []

    def add(self, loc: Sequence[str | int], message: str) -> None:
        self.issues.append(SpecIssue(self.doc.path, self.doc.line_of(loc), format_loc(loc), message))

    def mapping(self, value: Any, loc: list, what: str) -> dict | None:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(loc, f"expected {what} (a mapping), got {_shown(value)}")
            return None
        bad = [k for k in value if not isinstance(k, str)]
        for k in bad:
            self.add(loc, f"expected names as keys, got {_shown(k)}")
        return None if bad else value

    def names(self, value: Any, loc: list, known: Sequence[str], what: str) -> tuple[str, ...] | None:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.add(loc, f"expected a non-empty list of {what}, got {_shown(value)}")
            return None
        unknown = [v for v in value if v not in known]
        if unknown:
            self.add(loc, f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}")
        if len(set(value)) != len(value):
            self.add(loc, f"a {what[:-1] if what.endswith('s') else what} is listed twice")
        return tuple(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read_yaml(path: Path) -> LocatedYaml:
    try:
        doc = load_located(path)
    except UnicodeDecodeError as exc:
        raise SpecError([SpecIssue(path, None, "", f"not UTF-8 text ({exc.reason})")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError([SpecIssue(path, mark.line + 1 if mark else None, "",
                                   f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([SpecIssue(path, None, "", f"invalid YAML: {exc}")]) from None
    if not isinstance(doc.data, dict):
        raise SpecError([SpecIssue(path, 1, "", "expected a mapping with samples: (and outcomes:) at the top level")])
    return doc


def _shapes(assignment: Assignment) -> dict[str, ProblemShape]:
    return {p.id: ProblemShape(p.id, tuple(c.name for c in p.checks), float(sum(c.points for c in p.checks)),
                               {c.id: c.group for c in p.cases}, {q.id: q.kind for q in p.questions})
            for p in assignment.problems}


def _outcome(r: _Reader, value: Any, loc: list, named: dict[str, Outcome],
             shape: ProblemShape | None) -> Outcome | None:
    """An outcome for ``shape``'s code checks, or (``shape`` None) for written answers."""
    if isinstance(value, str):
        if value not in named:
            known = f" (named: {', '.join(named)})" if named else ""
            r.add(loc, f"no outcome named {value!r} in outcomes:{known}")
            return None
        found = named[value]
        if shape is None and (found.lose or found.cases or found.diagnosed):
            r.add(loc, f"outcome {value!r} names checks, cases or a diagnosis: written answers take status "
                       "and feedback only")
            return None
        return _fit(r, found, loc, shape)
    fields = _OUTCOME_FIELDS if shape is not None else _ANSWER_FIELDS
    data = r.mapping(value, loc, "an outcome" if shape is not None else f"{RIGHT}, {UNCHECKED} or an outcome")
    if data is None:
        return None
    ok = True
    for key in data:
        if key not in fields:
            r.add([*loc, key], "unknown field (a typo?); an outcome has " + ", ".join(fields))
            ok = False
    status = Status.FAILED
    if "status" in data:
        try:
            status = Status(data["status"])
        except ValueError:
            status = None
        if status not in LOSING:
            r.add([*loc, "status"],
                  f"expected one of {', '.join(s.value for s in LOSING)}, got {_shown(data['status'])}")
            ok = False
    if "feedback" in data and not (isinstance(data["feedback"], str) and data["feedback"]):
        r.add([*loc, "feedback"], f"expected a phrase of the feedback, got {_shown(data['feedback'])}")
        ok = False
    if "diagnosis" in data and not (data["diagnosis"] is None or isinstance(data["diagnosis"], str)):
        r.add([*loc, "diagnosis"], f"expected a diagnosis name or null, got {_shown(data['diagnosis'])}")
        ok = False
    lose = cases = None
    if "lose" in data:
        lose = r.names(data["lose"], [*loc, "lose"], shape.checks if shape else (), "checks")
        ok = ok and lose is not None
    if "cases" in data:
        cases = r.names(data["cases"], [*loc, "cases"], sorted(set(shape.groups.values())) if shape else (),
                        "case groups")
        ok = ok and cases is not None
    if not ok:
        return None
    return Outcome(status, lose, cases, data.get("diagnosis"), "diagnosis" in data, data.get("feedback"),
                   r.doc.line_of(loc))


def _fit(r: _Reader, outcome: Outcome, loc: list, shape: ProblemShape | None) -> Outcome | None:
    """A named outcome used for one problem: its checks and case groups must be that problem's."""
    if shape is not None:
        for name, listed, known in (("checks", outcome.lose, shape.checks),
                                    ("case groups", outcome.cases, sorted(set(shape.groups.values())))):
            unknown = [v for v in listed or () if v not in known]
            if unknown:
                r.add(loc, f"the outcome names {name} {', '.join(unknown)}, which {shape.id} does not have")
                return None
    return Outcome(outcome.status, outcome.lose, outcome.cases, outcome.diagnosis, outcome.diagnosed,
                   outcome.feedback, r.doc.line_of(loc))


def load_samples(assignment_dir: Path | str, assignment: Assignment | None = None) -> SampleSet | None:
    """Read ``assignment_dir/samples.yaml`` against ``samples/`` and the assignment's specs.

    None when the assignment keeps neither. Raises :class:`SpecError` listing every issue (file, line,
    field): one without the other, a sample listed without a folder or a folder without an entry, an
    unknown problem, check or case group, a malformed outcome.
    """
    root = Path(assignment_dir)
    file, folder = root / SAMPLES_FILE, root / SAMPLES_DIR
    if not file.exists() and not folder.exists():
        return None
    if not file.is_file():
        raise SpecError([SpecIssue(file, None, "", f"missing: {folder} holds sample submissions, and this file "
                                                   "says what each must earn")])
    if not folder.is_dir():
        raise SpecError([SpecIssue(file, None, "", f"no folder {folder} of the sample submissions it describes")])
    assignment = assignment or load_assignment(root)
    shapes = _shapes(assignment)
    doc = _read_yaml(file)
    r = _Reader(doc)
    for key in doc.data:
        if key not in ("outcomes", "samples"):
            r.add([key], "unknown field (a typo?); the top level has samples: and outcomes:")
    named: dict[str, Outcome] = {}
    for name, value in (r.mapping(doc.data.get("outcomes"), ["outcomes"], "named outcomes") or {}).items():
        if name == FULL_MARKS:
            r.add(["outcomes", name], f"{FULL_MARKS} is built in (every code check passes); choose another name")
            continue
        # checked against each problem where it is used; any problem's checks may appear here
        found = _outcome(r, value, ["outcomes", name], {}, _union(shapes.values()))
        if found is not None:
            named[name] = found
    if "samples" not in doc.data:
        r.add([], "required field samples: is missing")
    listed = r.mapping(doc.data.get("samples"), ["samples"], "sample names and their outcomes") or {}
    samples: dict[str, Sample] = {}
    for name, entry in listed.items():
        loc = ["samples", name]
        data = r.mapping(entry, loc, "a sample's problems: and answers:")
        if data is None:
            continue
        for key in data:
            if key not in ("problems", "others", "answers"):
                r.add([*loc, key], "unknown field (a typo?); a sample has problems:, others: and answers:")
        problems: dict[str, Outcome] = {}
        listing = r.mapping(data.get("problems"), [*loc, "problems"], "problem ids and outcomes") or {}
        for pid, value in listing.items():
            shape = shapes.get(pid)
            if shape is None:
                r.add([*loc, "problems", pid], f"unknown problem; {root} has: {', '.join(shapes)}")
            elif not shape.checks:
                r.add([*loc, "problems", pid],
                      "this problem has no code checks (its written answers go under answers:)")
            elif value != FULL_MARKS:
                found = _outcome(r, value, [*loc, "problems", pid], named, shape)
                if found is not None:
                    problems[pid] = found
        if data.get("others") not in (None, FULL_MARKS):  # the outcome of every problem with code not listed
            others = _outcome(r, data["others"], [*loc, "others"], named, _union(shapes.values()))
            written = data.get("problems") if isinstance(data.get("problems"), dict) else {}
            for pid, shape in shapes.items():
                if others is not None and shape.checks and pid not in written:
                    fitted = _fit(r, others, [*loc, "others"], shape)
                    if fitted is not None:
                        problems[pid] = fitted
        answers: str | Outcome | None = data.get("answers", RIGHT)
        if not (isinstance(answers, str) and answers in (RIGHT, UNCHECKED)):
            if answers is None or (isinstance(answers, str) and answers not in named):
                r.add([*loc, "answers"], f"expected {RIGHT}, {UNCHECKED}, an outcome or an outcome's name, got "
                                         f"{_shown(answers)}")
                answers = None
            else:
                answers = _outcome(r, answers, [*loc, "answers"], named, None)
        if answers is not None:
            samples[name] = Sample(name, problems, answers, doc.line_of(loc))
        if not (folder / name).is_dir():
            r.add(loc, f"no folder {folder / name} for this sample")
    for sub in sorted(folder.iterdir()):
        if sub.is_dir() and sub.name not in listed:
            r.add(["samples"], f"the sample folder {sub} has no entry here (every sample says what it must earn)")
    if r.issues:
        raise SpecError(r.issues)
    return SampleSet(root, file, folder, samples, shapes)


def _union(shapes: Iterable[ProblemShape]) -> ProblemShape:
    checks: dict[str, None] = {}
    groups: dict[str, str] = {}
    for s in shapes:
        checks.update(dict.fromkeys(s.checks))
        groups.update({g: g for g in s.groups.values()})
    return ProblemShape("any problem", tuple(checks), 0.0, groups, {})


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
