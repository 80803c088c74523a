"""What an assignment's samples must earn: samples.yaml's schema, as typed dataclasses, and its loader
(errors name the file and line). The schema is documented in :mod:`grader.samples`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from grader.models import Assignment, Status
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


