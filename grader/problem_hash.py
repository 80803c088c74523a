"""Per-problem fingerprints: what decides one problem's grade, hashed part by part.

A problem's grade is decided by its spec, its reference solution, the kit code it uses and the engine's checks
it runs. When one of those changes, that problem is regraded for everyone and every other stored grade stays.
The parts, each hashed on its own so that a regrade can say what changed:

- ``spec``: the problem's YAML as parsed (comments and layout do not count), without ``mutants:`` (mutation
  testing of the cases decides no grade) and ``leaderboard:`` (a ranking of the class, written with the reports);
- ``assignment``: the assignment.yaml's defaults the problem inherits (limits, ...), without its list and
  order of problems, its title and its ``late:`` policy (applied when outputs are written, never stored);
- ``reference``: the reference solution's file;
- ``kit:<file>``: each kit module that defines a generator, check, slip, loss, across-cases hook, calibration or
  companion the problem uses, and the kit modules those import (relative imports, followed); a package's
  ``__init__.py`` counts when one of them is defined there or a name other than the kit object is imported from it
  (it mostly lists modules: adding a problem there regrades nothing else);
- ``sandbox:<name>``: the sandbox modules of the problem's drivers, the ones those import, and any whose name a
  counted kit module spells out (an object handed to student code names its module in ``__sandbox__``);
- ``engine:<file>``: the built-in checks it runs, and the slips, tolerances and check base they all share; the
  engine's scoring of written questions, for a problem with questions;
- ``secret``: for a problem with per-student cases or questions (grader/variants.py), the course secret's identity
  (a keyed hash of it, never the secret), so that a new secret regrades those problems and no other.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from grader.fingerprint import UNGRADED_KEYS
from grader.models import Assignment, ProblemSpec
from grader.variants import Secret, has_variants

#: keys of a problem's YAML that decide no grade
SPEC_IGNORED = UNGRADED_KEYS  #: the same keys the whole assignment's hash leaves out
#: keys of assignment.yaml that decide no problem's grade
ASSIGNMENT_IGNORED = ("problems", "title", "late", *UNGRADED_KEYS)
#: engine files every check leans on
ENGINE_SHARED = ("checks/base.py", "checks/slips.py", "tolerance.py")
#: engine files that score written questions
QUESTIONS_ENGINE = ("answers/questions.py", "answers/scoring.py")

_GRADER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ProblemFingerprint:
    problem: str
    parts: dict[str, str]  #: part name -> its hash

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.parts, sort_keys=True).encode()).hexdigest()

    def changed(self, before: dict[str, str] | None) -> list[str]:
        """The parts that differ from ``before`` (added, removed or changed), in name order; every part when
        ``before`` is unknown."""
        if before is None:
            return sorted(self.parts)
        return sorted(k for k in set(self.parts) | set(before) if self.parts.get(k) != before.get(k))


def _bytes_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable {exc.errno}"


def _yaml_hash(path: Path, ignored: tuple[str, ...]) -> str:
    """The parsed YAML's canonical JSON, without ``ignored`` top-level keys (the raw bytes when it does not parse:
    the loader would have refused it anyway)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return _bytes_hash(path)
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in ignored}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _used_names(problem: ProblemSpec) -> dict[str, set[str]]:
    """The registered names a problem uses: generators, checks, slips, losses, drivers."""
    used: dict[str, set[str]] = {k: set() for k in ("generator", "check", "slip", "loss", "driver")}
    used["generator"] |= {c.generator for c in problem.cases}
    used["driver"] |= {e.driver for e in problem.entries if e.driver}
    for check in problem.checks:
        used["check"].add(check.check)
        params = check.params
        for ref in getattr(params, "diagnose", None) or ():
            used["slip"].add(getattr(ref, "name", ref))
        loss = getattr(params, "loss", None)
        if isinstance(loss, str):
            used["loss"].add(loss)
    return used


def _source(func: Any) -> Path | None:
    try:
        found = inspect.getsourcefile(inspect.unwrap(func))
    except (TypeError, OSError):
        return None
    return Path(found).resolve() if found else None


def _kit_names(init: Path) -> set[str]:
    """The names a package's ``__init__.py`` binds to ``Kit(...)`` (the kit object every module imports)."""
    try:
        tree = ast.parse(init.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if (func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)) == "Kit":
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _kit_imports(path: Path, root: Path) -> set[Path]:
    """The kit files a kit module imports relatively (``from . import x``, ``from .a.b import y``). A package's
    ``__init__.py`` counts when a name is imported from it that is neither a module nor the kit object (a constant
    or helper defined there); importing the kit object alone does not make every module depend on it."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError):
        return set()
    found: set[Path] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        base = path.parent
        for _ in range(node.level - 1):
            base = base.parent
        parts = node.module.split(".") if node.module else []
        target = base.joinpath(*parts)
        if parts and target.with_suffix(".py").is_file():
            found.add(target.with_suffix(".py").resolve())
            continue
        init = target / "__init__.py"
        for alias in node.names:
            module = [c for c in (target / f"{alias.name}.py", target / alias.name / "__init__.py") if c.is_file()]
            if module:
                found.add(module[0].resolve())
            elif init.is_file() and alias.name not in _kit_names(init):
                found.add(init.resolve())  # a name defined in the package's __init__.py
    return {f for f in found if f.is_relative_to(root)}


def _names_in(path: Path) -> set[str]:
    """Every name imported, and every string constant, in a Python file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
    return names


def _kit_parts(problem: ProblemSpec, kit: Any, used: dict[str, set[str]]) -> dict[str, str]:
    if kit is None or getattr(kit, "root", None) is None:
        return {}
    root = Path(kit.root).resolve()
    root = root.parent if root.is_file() else root
    funcs: list[Any] = []
    for kind, registry in (("generator", kit.generators), ("check", kit.checks), ("slip", kit.slips),
                           ("loss", kit.losses)):
        funcs += [registry[name].func for name in used[kind] if name in registry]
    funcs += [kit.hooks[name] for name in used["check"] if name in kit.hooks]
    for driver in used["driver"]:
        funcs += [f for f in (kit.calibrations.get(driver), kit.companions.get(driver)) if f is not None]
    todo = {src for src in map(_source, funcs) if src is not None and src.is_relative_to(root)}
    files: set[Path] = set()
    while todo:
        path = todo.pop()
        if path not in files:
            files.add(path)
            todo |= _kit_imports(path, root) - files
    modules = {name: Path(p).resolve() for name, p in kit.sandbox_modules.items()}
    spelled = set().union(*(_names_in(f) for f in files)) if files else set()
    todo_names = {n for n in modules if n in used["driver"] or n in spelled}
    sandbox: set[str] = set()
    while todo_names:
        name = todo_names.pop()
        if name not in sandbox:
            sandbox.add(name)
            todo_names |= {n for n in _names_in(modules[name]) if n in modules} - sandbox
    parts = {f"kit:{f.relative_to(root).as_posix()}": _bytes_hash(f) for f in files}
    parts.update({f"sandbox:{n}": _bytes_hash(modules[n]) for n in sandbox})
    return parts


def _engine_parts(problem: ProblemSpec, kit: Any) -> dict[str, str]:
    from grader.checks.base import CHECKS

    files = {(_GRADER / rel).resolve() for rel in ENGINE_SHARED}
    for check in problem.checks:
        if check.check in CHECKS and (kit is None or check.check not in kit.checks):
            src = _source(CHECKS[check.check].func)
            if src is not None:
                files.add(src)
    if problem.questions:  # written questions are scored by the engine's answers package
        files |= {(_GRADER / rel).resolve() for rel in QUESTIONS_ENGINE}
    return {f"engine:{f.relative_to(_GRADER).as_posix()}": _bytes_hash(f) for f in files if f.is_relative_to(_GRADER)}


def problem_fingerprint(assignment: Assignment, problem: ProblemSpec,
                        secret: Secret | None = None) -> ProblemFingerprint:
    """The parts that decide ``problem``'s grade in ``assignment``, each hashed; ``secret``, the course secret its
    per-student cases and questions derive from (its identity is a part of those problems' fingerprints)."""
    parts = {"spec": _yaml_hash(problem.source, SPEC_IGNORED)}
    if has_variants(problem):
        parts["secret"] = secret.identity if secret is not None else "none"
    settings = assignment.root / "assignment.yaml"
    if settings.is_file():
        parts["assignment"] = _yaml_hash(settings, ASSIGNMENT_IGNORED)
    if problem.reference is not None:
        parts["reference"] = _bytes_hash(problem.reference)
    kit = problem.kit if problem.kit is not None else assignment.kit
    parts.update(_kit_parts(problem, kit, _used_names(problem)))
    parts.update(_engine_parts(problem, kit))
    return ProblemFingerprint(problem.id, parts)


def problem_fingerprints(assignment: Assignment, secret: Secret | None = None) -> dict[str, ProblemFingerprint]:
    """Every problem's fingerprint, by problem id."""
    return {p.id: problem_fingerprint(assignment, p, secret) for p in assignment.problems}


def describe_changes(problem: ProblemSpec, parts: list[str]) -> str:
    """What changed in what decides ``problem``'s grade, as a person reads it: file names."""
    if not parts:
        return "it was graded before this grader stored what decides each problem's grade"
    named = []
    for part in parts:
        kind, _, rest = part.partition(":")
        named.append({"spec": problem.source.name, "assignment": "assignment.yaml's defaults",
                      "reference": problem.reference.name if problem.reference else "its reference",
                      "kit": f"kit/{rest}", "sandbox": f"sandbox module {rest}",
                      "engine": f"grader/{rest}", "secret": "the course secret"}.get(kind, part))
    return ", ".join(dict.fromkeys(named)) + " changed"
