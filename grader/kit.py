"""The authoring API of problem kits: what a course author's own code adds to the engine.

A kit is trusted instructor code that lives in the assignment folder (``assignment.yaml`` names it with
``kit: kit``: a module ``kit.py`` or a package ``kit/``), loaded into the grader's process like the
reference solutions and never shown to a sandbox, except the files it declares as sandbox modules. It
makes one :class:`Kit` and registers on it, by name:

- **generators** ``(rng, params) -> {argument: value}``: a case's inputs, from its ``params`` (a pydantic
  model, validated when the spec loads) and a seeded ``numpy.random.Generator``;
- **losses** ``(values) -> float`` for the ``finite_difference`` check;
- **slips** ``(SlipContext) -> bool`` with their feedback: a wrong answer the checks name when it matches; with
  ``wrong=``, a builder of that wrong answer from the reference's outputs, for mutation testing;
- **rewrites** ``(outputs, inputs) -> outputs``: valid variants of the reference's answer (another basis, another
  type) that must keep full marks (``grader validate --mutants``);
- **checks** ``(CaseData, params) -> Verdict``, and hooks that see all of one check's results;
- **sandbox modules**: files copied into each sandbox. A *driver* (``run(namespace, *args, tick)``) drives
  the student's code; a module with ``build(spec)`` rebuilds an object handed to the student's code (the
  object's class defines ``__sandbox__() -> (module, spec)``, plain data); a name starting with ``_`` is a
  helper the others load;
- per driver, a **calibration** run once per case and session on the reference solution before anything
  is judged (``ctx.run_reference(settings)`` runs it through the driver in a fresh sandbox), and a
  **companion** that gives the driver its settings and the checks their context (plain data);
- **report parts**: tables and charts built from the stored check data, rendered by the engine's templates.

Names are checked when the spec loads (a typo in a spec names the file and line). A kit's name may not
reuse a built-in one. See ``docs/authoring.md`` for a worked example.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np
from pydantic import BaseModel

import grader.checks  # noqa: F401  (the built-in checks, registered)
from grader.checks.base import (ACROSS_CASES, CHECKS, AcrossCases, AnswerError, CaseData, CheckFunc, NotGraded,
                                Verdict, as_array, require_shape)
from grader.checks.slips import SLIPS, SlipContext, SlipTest
from grader.models import Case, CheckResult, CheckSpec, ProblemSpec, Status, SubmissionResult
from grader.reference import ReferenceFailure
from grader.registry import Entry, NoParams, Registry
from grader.tolerance import Tolerance
from grader.tracebacks import where

if TYPE_CHECKING:  # pragma: no cover
    from grader.models import ProblemResult
    from grader.report.parts import Part

Generator = Callable[[np.random.Generator, Any], dict[str, Any]]
Loss = Callable[[dict[str, Any]], float]
#: builds a slip's wrong answer: (the reference's outputs by return name, the case's inputs) -> the wrong outputs; for
#: mutation testing (``grader validate --mutants``), which copies it into the sandbox as source: it is self-contained
WrongAnswer = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
#: a valid rewrite of an answer: (the reference's outputs by return name, the case's inputs) -> the outputs rewritten
RewriteFunc = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
MODULE_NAME = re.compile(r"^_?[a-z][a-z0-9_]*$")
REWRITE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

__all__ = ["AnswerError", "CalibrationContext", "CalibrationFailed", "CaseData", "CheckResult", "CompanionContext",
           "DriverContext", "Kit", "KitError", "NoParams", "NotGraded", "ReferenceFailure", "ReferenceRun", "Rewrite",
           "SlipContext", "Status", "SubmissionResult", "Tolerance", "Verdict", "WrongAnswer", "as_array", "require_shape"]


class KitError(Exception):
    """A kit cannot be loaded or declares something wrong; the message names the file."""


class CalibrationFailed(Exception):
    """The reference could not be measured on this machine in this session; the message says why (for staff)."""


@dataclass(frozen=True)
class DriverContext:
    settings: dict[str, Any] = field(default_factory=dict)  #: handed to the driver as its last argument
    info: dict[str, Any] = field(default_factory=dict)  #: for the checks only (CaseData.context); plain data


@dataclass(frozen=True)
class ReferenceRun:
    """The reference solution run through a driver in a fresh sandbox, as the grader measured it."""

    value: Any  #: what the driver returned (plain data)
    ticks: tuple[float, ...]  #: its progress ticks, by the grader's clock (seconds since the call began)
    seconds: float  #: the whole call


@dataclass(frozen=True)
class DrivenCase:
    """One driven case of a problem, as the trusted side knows it."""

    problem: ProblemSpec
    case: Case
    inputs: Mapping[str, Any]
    expected: Mapping[str, Any]  #: the reference's outputs (a release's expected values)
    checks: tuple[CheckSpec, ...]  #: the problem's checks that grade this case


@dataclass(frozen=True)
class CalibrationContext(DrivenCase):
    """What a calibration sees: the case, and a way to run the reference through its driver."""

    run_reference: Callable[[dict[str, Any]], ReferenceRun]  #: raises CalibrationFailed


@dataclass(frozen=True)
class CompanionContext(DrivenCase):
    """What a driver's companion sees before a submission's call."""

    #: the calibration's data; None where there is no reference to run (a student release) or no calibration
    calibration: Any = None
    calibration_error: str | None = None  #: why the calibration failed in this session (for staff), if it did


@dataclass(frozen=True)
class Rewrite:
    """A valid rewrite of the reference's answer, registered by a kit (:meth:`Kit.rewrite`)."""

    name: str
    func: RewriteFunc  #: self-contained: ``grader validate --mutants`` copies its source into the sandbox
    entries: tuple[str, ...] | None = None  #: the entry points it applies to (None: every one without a driver)
    doc: str = ""


Companion = Callable[[CompanionContext], DriverContext]
Calibration = Callable[[CalibrationContext], Any]
ReportPart = Callable[["ProblemResult"], "list[Part]"]  #: one student's problem -> parts of their report
SummaryPart = Callable[[str, "list[SubmissionResult]"], "list[Part]"]  #: (problem id, the class) -> summary parts


class Kit:
    """One assignment's problem-specific code, registered by name. ``Kit(__file__)`` in the kit's module:
    sandbox files are given relative to that file's folder."""

    def __init__(self, file: str | Path | None = None) -> None:
        self.root = Path(file).resolve().parent if file else None
        self.package = ""  #: the name its module was imported under (set by load_kit), for its submodules
        self.unimported: list[Path] = []  #: the package's modules that nothing imported (a forgotten import?)
        self.generators: Registry[Generator] = Registry("generator")
        self.losses: Registry[Loss] = Registry("loss")
        self.slips: Registry[SlipTest] = Registry("slip")
        self.wrong_answers: dict[str, WrongAnswer] = {}  #: slip -> the builder of its wrong answer
        self.rewrites: dict[str, Rewrite] = {}
        self.checks: Registry[CheckFunc] = Registry("check")
        self.hooks: dict[str, AcrossCases] = {}
        self.sandbox_modules: dict[str, Path] = {}
        self.drivers: set[str] = set()
        self.companions: dict[str, Companion] = {}
        self.calibrations: dict[str, Calibration] = {}
        self.report_parts: list[ReportPart] = []
        self.summary_parts: list[SummaryPart] = []

    # ------------------------------------------------------------------ registration (the author's side)

    def generator(self, name: str, params: type[BaseModel] = NoParams) -> Callable[[Generator], Generator]:
        return self.generators.register(name, params)

    def loss(self, name: str) -> Callable[[Loss], Loss]:
        return self.losses.register(name)

    def slip(self, name: str, feedback: str | None = None, *,
             wrong: WrongAnswer | None = None) -> Callable[[SlipTest], SlipTest]:
        """A named wrong answer; ``feedback`` is what the student reads (default: the function's docstring's
        first line; ``{names}`` stands for the outputs compared). A spec may word it anew for its problem.

        ``wrong(outputs, inputs) -> outputs`` builds that wrong answer from the reference's outputs (by return
        name) and the case's inputs, for mutation testing (``grader validate --mutants`` grades it and expects
        this slip's name). It runs in the sandbox, copied there as source: a ``def`` that imports what it uses
        inside its body and reads nothing else of the kit."""
        if name in SLIPS:
            raise KitError(f"slip {name!r} is built in; give the kit's slip another name")
        if wrong is not None:
            if not callable(wrong):
                raise KitError(f"slip {name!r}: wrong= must be a function (outputs, inputs) -> outputs")
            self.wrong_answers[name] = wrong
        return self.slips.register(name, doc=feedback)

    def rewrite(self, name: str, entries: list[str] | tuple[str, ...] | None = None
                ) -> Callable[[RewriteFunc], RewriteFunc]:
        """A valid rewrite of the answer, ``func(outputs, inputs) -> outputs`` (e.g. the same subspace in another
        basis), applied to the reference's outputs for ``entries`` (default: every entry point without a driver):
        ``grader validate --mutants`` checks that it keeps full marks. Self-contained like a slip's ``wrong=``."""
        if not REWRITE_NAME.match(name):
            raise KitError(f"rewrite name {name!r}: expected lowercase letters, digits and _")
        if name in self.rewrites:
            raise KitError(f"rewrite {name!r} is registered twice")

        def decorate(func: RewriteFunc) -> RewriteFunc:
            lines = (func.__doc__ or "").strip().splitlines()
            self.rewrites[name] = Rewrite(name, func, tuple(entries) if entries is not None else None,
                                          lines[0] if lines else "")
            return func

        return decorate

    def check(self, name: str, params: type[BaseModel] = NoParams) -> Callable[[CheckFunc], CheckFunc]:
        if name in CHECKS:
            raise KitError(f"check {name!r} is built in; give the kit's check another name")
        return self.checks.register(name, params)

    def across_cases(self, check: str) -> Callable[[AcrossCases], AcrossCases]:
        """A hook that sees all of one kit check's results (and the student's values) after the per-case pass."""

        def decorate(func: AcrossCases) -> AcrossCases:
            self.hooks[check] = func
            return func

        return decorate

    def sandbox_module(self, name: str, file: str | Path) -> None:
        """A file copied into every sandbox as ``name.py`` (a builder of handed objects, or a helper)."""
        if not MODULE_NAME.match(name):
            raise KitError(f"sandbox module name {name!r}: expected lowercase letters, digits and _")
        if name in self.sandbox_modules:
            raise KitError(f"sandbox module {name!r} is declared twice")
        path = (Path(file) if self.root is None else self.root / file).resolve()
        if not path.is_file():
            raise KitError(f"sandbox module {name!r}: no file {path}")
        if self.root is not None and not path.is_relative_to(self.root):
            raise KitError(f"sandbox module {name!r}: {path} lies outside the kit's folder {self.root}")
        self.sandbox_modules[name] = path

    def driver(self, name: str, file: str | Path) -> None:
        """A sandbox module with ``run(namespace, *args, tick)`` that an entry point names with ``driver:``."""
        if name.startswith("_"):
            raise KitError(f"driver {name!r}: a name starting with _ is a helper, not a driver")
        self.sandbox_module(name, file)
        self.drivers.add(name)

    def companion(self, driver: str) -> Callable[[Companion], Companion]:
        def decorate(func: Companion) -> Companion:
            self.companions[driver] = func
            return func

        return decorate

    def calibration(self, driver: str) -> Callable[[Calibration], Calibration]:
        def decorate(func: Calibration) -> Calibration:
            self.calibrations[driver] = func
            return func

        return decorate

    def report_part(self, func: ReportPart) -> ReportPart:
        """A part of a student's report, built from one ProblemResult (parts from grader.report.parts)."""
        self.report_parts.append(func)
        return func

    def summary_part(self, func: SummaryPart) -> SummaryPart:
        """A part of the class summary, built from one problem's results across the class."""
        self.summary_parts.append(func)
        return func

    # ------------------------------------------------------------------ lookups (the engine's side)

    def find_generator(self, name: str) -> Entry[Generator] | None:
        return self.generators[name] if name in self.generators else None

    def find_loss(self, name: str) -> Entry[Loss] | None:
        return self.losses[name] if name in self.losses else None

    def find_slip(self, name: str) -> Entry[SlipTest] | None:
        return self.slips[name] if name in self.slips else SLIPS[name] if name in SLIPS else None

    def find_check(self, name: str) -> Entry[CheckFunc] | None:
        return self.checks[name] if name in self.checks else CHECKS[name] if name in CHECKS else None

    def hook(self, check: str) -> AcrossCases | None:
        return self.hooks.get(check) or ACROSS_CASES.get(check)

    def hint(self) -> str:
        """A note for an unknown name: the kit's modules that were never imported, if any."""
        if not self.unimported or self.root is None:
            return ""
        names = ", ".join(str(p.relative_to(self.root.parent)) for p in self.unimported)
        return f" (note: {names} never imported: is an import missing from the kit's __init__.py?)"

    def known(self, kind: str) -> list[str]:
        """Every name of one kind (generator, loss, slip, check, driver), built-in ones included."""
        own = {"generator": self.generators, "loss": self.losses, "slip": self.slips, "check": self.checks}
        builtin = {"slip": SLIPS, "check": CHECKS}
        if kind == "driver":
            return sorted(self.drivers)
        names = set(own[kind].names()) | set(builtin[kind].names() if kind in builtin else [])
        return sorted(names)


EMPTY = Kit()  #: the kit of an assignment that has none: the built-in checks and slips only


def kit_of(problem: ProblemSpec) -> Kit:
    """The kit ``problem`` was loaded with (the built-ins only, for one made by hand without a kit)."""
    return problem.kit if isinstance(problem.kit, Kit) else EMPTY


_loaded: dict[Path, Kit] = {}
_lock = threading.Lock()


def load_kit(path: Path) -> Kit:
    """Import the kit at ``path`` (a ``.py`` file, or a package folder) once per process; its ``kit`` attribute
    must be a :class:`Kit`. Raises :class:`KitError` with the file and what went wrong."""
    path = path.resolve()
    with _lock:
        if path in _loaded:
            return _loaded[path]
        init = path / "__init__.py" if path.is_dir() else path
        if not init.is_file():
            raise KitError(f"{path}: no kit there (expected a .py file or a package folder with __init__.py)")
        name = f"grader_kit_{hashlib.sha256(str(path).encode()).hexdigest()[:16]}"  # the same in every process
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(path)] if path.is_dir() else None)
        if spec is None or spec.loader is None:
            raise KitError(f"{init}: cannot be imported")
        module = importlib.util.module_from_spec(spec)
        _forget(name)  # a kit imported again (after a failure, or once forgotten) registers on its new Kit
        sys.modules[name] = module  # so the kit's own modules import each other relatively
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - the author needs the file and the message
            _forget(name)
            raise KitError(f"{init}: the kit failed to import: {where(exc, path)}{type(exc).__name__}: {exc}") \
                from exc
        kit = getattr(module, "kit", None)
        if not isinstance(kit, Kit):
            raise KitError(f"{init}: defines no `kit = Kit(__file__)` (from grader.kit import Kit)")
        _check_names(kit, init)
        kit.package = name
        kit.unimported = _unimported(kit, path, name) if path.is_dir() else []
        _loaded[path] = kit
        return kit


def _forget(package: str) -> None:
    for loaded in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[loaded]


def _check_names(kit: Kit, init: Path) -> None:
    """What a kit registers for a driver or a check names one that exists (a typo would be silently unused)."""
    wrong = [f"a {kind} for driver {name!r}" for kind, names in (("companion", kit.companions),
                                                                  ("calibration", kit.calibrations))
             for name in names if name not in kit.drivers]
    wrong += [f"an across-cases hook for check {name!r}" for name in kit.hooks if kit.find_check(name) is None]
    if wrong:
        raise KitError(f"{init}: the kit registers {', '.join(wrong)}, which it does not declare (drivers: "
                       f"{', '.join(sorted(kit.drivers)) or 'none'}; checks: {', '.join(kit.known('check'))})")


def _unimported(kit: Kit, path: Path, package: str) -> list[Path]:
    """The package's .py files that no import reached (sandbox modules aside: they run in the sandbox)."""
    sandbox = set(kit.sandbox_modules.values())
    found = []
    for file in sorted(path.rglob("*.py")):
        if "__pycache__" in file.parts or file.resolve() in sandbox:
            continue
        parts = file.relative_to(path).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if parts and ".".join((package, *parts)) not in sys.modules:
            found.append(file)
    return found


def kit_module(kit: Kit, name: str = "") -> ModuleType:
    """The kit's module, or its submodule ``name`` (e.g. ``"training.checks"``), for tests and tools."""
    if not kit.package:
        raise KitError("the kit was not loaded by load_kit")
    return importlib.import_module(f"{kit.package}.{name}" if name else kit.package)
