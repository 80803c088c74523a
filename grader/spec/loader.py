"""Load an assignment folder into typed spec objects, collecting every problem with its location."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import BaseModel, ValidationError

from grader.answers.questions import QUESTION_KINDS
from grader.kit import EMPTY, Kit, KitError, load_kit
from grader.models import Assignment, Case, CheckSpec, EntryPoint, Limits, ProblemSpec, Visibility
from grader.spec.errors import SpecError, SpecIssue
from grader.spec.schema import PER_STUDENT, AssignmentModel, LimitsModel, ProblemModel, ReleasedProblemModel
from grader.spec.yamlnodes import LocatedYaml, format_loc, load_located

ASSIGNMENT_FILE = "assignment.yaml"
DEFAULT_LIMITS = Limits(call_seconds=30.0, problem_seconds=300.0, memory_mb=4096, output_kb=64, load_seconds=60.0)


class _Issues:
    def __init__(self) -> None:
        self.items: list[SpecIssue] = []

    def add(self, doc: LocatedYaml, loc: Sequence[str | int], message: str) -> None:
        self.items.append(SpecIssue(doc.path, doc.line_of(loc), format_loc(loc), message))

    def add_validation(self, doc: LocatedYaml, prefix: Sequence[str | int], err: ValidationError) -> None:
        for e in err.errors():
            loc = [part for i, part in enumerate(e["loc"])  # drop the kind tag pydantic adds for unions
                   if not (part in QUESTION_KINDS and i > 0 and isinstance(e["loc"][i - 1], int))]
            loc = [*prefix, *loc]
            got = e.get("input")
            shown = repr(got)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] != "missing" and not msg.startswith("Extra inputs"):
                msg = msg if isinstance(got, (dict, list)) else f"{msg} (got {shown})"
            elif msg.startswith("Extra inputs"):
                msg = "unknown field (a typo?)"
            else:
                msg = "required field is missing"
            self.add(doc, loc, msg)


def _read(path: Path, issues: _Issues) -> LocatedYaml | None:
    try:
        doc = load_located(path)
    except FileNotFoundError:
        issues.items.append(SpecIssue(path, None, "", "file not found"))
        return None
    except UnicodeDecodeError as exc:
        issues.items.append(SpecIssue(path, None, "", f"not UTF-8 text ({exc.reason})"))
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        issues.items.append(SpecIssue(path, line, "", f"invalid YAML: {exc.problem or exc}"))
        return None
    except yaml.YAMLError as exc:
        issues.items.append(SpecIssue(path, None, "", f"invalid YAML: {exc}"))
        return None
    if not isinstance(doc.data, dict):
        issues.items.append(SpecIssue(path, 1, "", "expected a mapping of fields at the top level"))
        return None
    return doc


def _validate(model: type[BaseModel], data: Any, doc: LocatedYaml, prefix: list, issues: _Issues,
              context: dict | None = None) -> Any:
    try:
        return model.model_validate(data, context=context)
    except ValidationError as err:
        issues.add_validation(doc, prefix, err)
        return None


def _limits(base: Limits, override: LimitsModel) -> Limits:
    values = {k: v for k, v in override.model_dump().items() if v is not None}
    return Limits(**{**base.__dict__, **values})


def load_assignment(root: Path | str) -> Assignment:
    """Load and validate ``root/assignment.yaml`` and every problem it lists.

    Raises :class:`SpecError` listing every issue found (file, line, field, what was expected).
    """
    root = Path(root)
    issues = _Issues()
    if not root.is_dir():
        raise SpecError([SpecIssue(root, None, "", "not a folder (expected an assignment folder)")])
    doc = _read(root / ASSIGNMENT_FILE, issues)
    if doc is None:
        raise SpecError(issues.items)
    model = _validate(AssignmentModel, doc.data, doc, [], issues)
    if model is None:
        raise SpecError(issues.items)
    limits = _limits(DEFAULT_LIMITS, model.limits)
    kit, kit_path = _kit(root, model.kit, doc, issues)
    if kit is None:
        raise SpecError(issues.items)
    problems = []
    for i, pid in enumerate(model.problems):
        path = root / f"{pid}.yaml"
        if not path.is_file():
            issues.add(doc, ["problems", i], f"no problem file {path.name} beside assignment.yaml")
            continue
        spec = _load_problem(path, pid, limits, issues, kit, released=model.released)
        if spec is not None:
            problems.append(spec)
    if len(set(model.problems)) != len(model.problems):
        issues.add(doc, ["problems"], "a problem is listed twice")
    if issues.items:
        raise SpecError(issues.items)
    return Assignment(model.id, model.title, root.resolve(), tuple(problems), model.released, kit, kit_path,
                      model.late)


def _kit(root: Path, name: str | None, doc: LocatedYaml, issues: _Issues) -> tuple[Kit | None, Path | None]:
    """The assignment's kit (the built-ins only when it names none), or None after noting why it cannot load."""
    if name is None:
        return EMPTY, None
    path = root / name
    if not name.endswith(".py") and path.is_dir() and (root / f"{name}.py").is_file():
        issues.add(doc, ["kit"], f"both {name}.py and {name}/ are beside assignment.yaml: keep one (the kit is a "
                                 "module or a package)")
        return None, None
    if not name.endswith(".py") and not path.is_dir() and (root / f"{name}.py").is_file():
        path = root / f"{name}.py"
    try:
        return load_kit(path), path.resolve()
    except KitError as exc:
        issues.add(doc, ["kit"], str(exc))
        return None, None


def _load_problem(path: Path, expected_id: str, limits: Limits, issues: _Issues, kit: Kit, *,
                  released: bool = False) -> ProblemSpec | None:
    doc = _read(path, issues)
    if doc is None:
        return None
    before = len(issues.items)
    model: ProblemModel | None = _validate(ReleasedProblemModel if released else ProblemModel, doc.data, doc, [],
                                           issues)
    if model is None:
        return None
    if model.id != expected_id:
        issues.add(doc, ["id"], f"expected {expected_id!r} (the file's name), got {model.id!r}")
    entries = tuple(EntryPoint(n, tuple(e.args), tuple(e.returns), e.driver, e.signature)
                    for n, e in model.entry.items())
    for name, e in model.entry.items():
        if e.driver is not None and e.driver not in kit.drivers:
            known = ", ".join(kit.known("driver")) or "none"
            issues.add(doc, ["entry", name, "driver"], f"no driver {e.driver!r} in the assignment's kit (it has: "
                                                       f"{known})")
    reference = (path.parent / model.reference).resolve() if model.reference else None
    if reference is not None and not reference.is_file():
        issues.add(doc, ["reference"], f"no reference solution at {reference}")
    expected_file = getattr(model, "expected", None)
    expected = (path.parent / expected_file).resolve() if expected_file else None
    if expected is not None and not expected.is_file():
        issues.add(doc, ["expected"], f"no expected values file at {expected} (rerun grader release)")
    cases = _cases(model, doc, issues, kit, released)
    checks = _checks(model, doc, issues, {c.group for c in cases}, entries, kit)
    board = model.leaderboard
    if board is not None and board.check not in {c.name for c in model.checks}:
        issues.add(doc, ["leaderboard", "check"], f"no check named {board.check!r} in this problem (it has: "
                                                  f"{', '.join(c.name for c in model.checks) or 'none'})")
    seen: set[str] = set()
    for i, q in enumerate(model.questions):
        if q.id in seen:
            issues.add(doc, ["questions", i, "id"], f"duplicate question id {q.id!r}")
        seen.add(q.id)
        if released and getattr(q, "params", None):
            issues.add(doc, ["questions", i, "params"], "a student release holds no per-student params (each "
                                                        "student's release has their own): rerun grader release "
                                                        "--roster")
    total = sum(c.points for c in model.checks) + sum(q.points for q in model.questions)
    if abs(total - model.points) > 1e-9:
        issues.add(doc, ["points"], f"the checks' and questions' points add up to {total:g}, not {model.points:g}")
    if len(issues.items) > before:
        return None
    return ProblemSpec(model.id, model.title, model.statement.strip(), model.points, entries, tuple(cases),
                       tuple(checks), reference, _limits(limits, model.limits), path, tuple(model.questions),
                       expected, kit, leaderboard=board)


def _cases(model: ProblemModel, doc: LocatedYaml, issues: _Issues, kit: Kit, released: bool = False) -> list[Case]:
    cases: list[Case] = []
    seen: set[str] = set()
    for i, c in enumerate(model.cases):
        entry = c.entry or (next(iter(model.entry)) if len(model.entry) == 1 else None)
        if entry not in model.entry:
            issues.add(doc, ["cases", i, "entry"],
                       f"expected one of {sorted(model.entry)} (the problem has several entry points)")
            continue
        generator = kit.find_generator(c.generator)
        if generator is None:
            known = ", ".join(kit.known("generator")) or "none (an assignment's kit registers its generators)"
            issues.add(doc, ["cases", i, "generator"], f"unknown generator {c.generator!r}; known: {known}"
                                                           f"{kit.hint()}")
            continue
        params = _validate(generator.params, c.params, doc, ["cases", i, "params"], issues)
        if params is None:
            continue
        per_student = c.seeds == PER_STUDENT
        if per_student and released:
            issues.add(doc, ["cases", i, "seeds"], "a student release holds no per-student seeds (each student's "
                                                   "release has their own): rerun grader release --roster")
            continue
        seeds: list[int | None] = [None] if per_student else list(c.seeds)
        for seed in seeds:
            cid = c.id if len(seeds) == 1 else f"{c.id}-s{seed}"
            if cid in seen:
                issues.add(doc, ["cases", i, "id"], f"duplicate case id {cid!r}")
            seen.add(cid)
            cases.append(Case(cid, entry, c.generator, params.model_dump(), seed, Visibility(c.visibility), c.id,
                              per_student=per_student))
    return cases


def _checks(model: ProblemModel, doc: LocatedYaml, issues: _Issues, groups: set[str],
            entries: tuple[EntryPoint, ...], kit: Kit) -> list[CheckSpec]:
    checks: list[CheckSpec] = []
    names: set[str] = set()
    for i, c in enumerate(model.checks):
        if c.name in names:
            issues.add(doc, ["checks", i, "name"], f"duplicate check name {c.name!r}")
        names.add(c.name)
        found = kit.find_check(c.check)
        if found is None:
            issues.add(doc, ["checks", i, "check"],
                       f"unknown check {c.check!r}; known: {', '.join(kit.known('check'))}{kit.hint()}")
            continue
        for j, group in enumerate(c.cases or []):
            if group not in groups:
                issues.add(doc, ["checks", i, "cases", j], f"no case with id {group!r}")
        if c.entry is not None and c.entry not in {e.name for e in entries}:
            issues.add(doc, ["checks", i, "entry"], f"expected one of {sorted(e.name for e in entries)}")
        elif c.entry is None and c.cases is None and len(entries) > 1:
            issues.add(doc, ["checks", i], "the problem has several entry points: give 'entry' or 'cases'")
        scope = [e for e in entries if c.entry in (None, e.name)]
        context = {"entries": {e.name: e for e in scope}, "kit": kit}
        params = _validate(found.params, c.params, doc, ["checks", i, "params"], issues, context)
        if params is None:
            continue
        cases = tuple(c.cases) if c.cases is not None else None  # () in a release: all its cases were hidden
        checks.append(CheckSpec(c.name, c.check, params, c.points, cases, c.entry))
    return checks
