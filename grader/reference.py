"""Inputs and expected values of cases, from the case generators and the instructor's reference solution.

The reference solution is the instructor's code and trusted: it is imported into the grader's process
(never shown to the sandbox). Values are computed once per run and shared by every submission.
A student release (``grader release``) has no reference: its public cases' expected values are read
from the release's expected values file instead (:mod:`grader.expected_values`).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader.expected_values import ExpectedValuesError, expected_for, read_expected
from grader.models import Case, ProblemSpec
from grader.tracebacks import where


class ReferenceFailure(Exception):
    """The reference solution or a generator failed: an instructor's problem, reported as such."""


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"grader_reference_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        raise ReferenceFailure(f"cannot import the reference solution {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the instructor needs the message, not a traceback
        raise ReferenceFailure(f"the reference solution {path} failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def build_inputs(problem: ProblemSpec, case: Case) -> dict[str, Any]:
    """The inputs of one case, rebuilt deterministically from its kit's generator, parameters and seed."""
    entry = problem.kit.find_generator(case.generator) if problem.kit is not None else None
    if entry is None:
        raise ReferenceFailure(f"{problem.id}: no generator {case.generator!r} in the assignment's kit")
    if case.seed is None:
        raise ReferenceFailure(f"{problem.id}: case {case.id} has per-student seeds and was not resolved for a "
                               "student (grader/variants.py)")
    params = entry.params.model_validate(case.params)
    return entry.func(np.random.default_rng(case.seed), params)


def _plain(value: Any) -> Any:
    if hasattr(value, "detach"):  # a torch tensor from a reference written with torch
        value = value.detach().cpu().numpy()
    return np.asarray(value) if isinstance(value, np.ndarray) else value


def _key(problem: ProblemSpec, case: Case) -> tuple[str, str, int | None]:
    """A case's key in the book: its problem, its id and its seed (a per-student case has one per student)."""
    return problem.id, case.id, case.seed


class CaseBook:
    """Thread-safe cache of each case's inputs and the reference's outputs for one grading run, by problem, case and
    seed (so a per-student case, resolved for each student by grader/variants.py, is one entry per student)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._modules: dict[Path, ModuleType] = {}
        self._inputs: dict[tuple[str, str, int | None], dict[str, Any]] = {}
        self._expected: dict[tuple[str, str, int | None], dict[str, Any]] = {}
        self._tables: dict[Path, dict[str, dict[str, Any]]] = {}  #: a release's expected values, by file

    def forget(self, problem: ProblemSpec, cases: list[Case]) -> None:
        """Drop ``cases``' values (one student's per-student cases, once graded: nobody else needs them)."""
        with self._lock:
            for case in cases:
                self._inputs.pop(_key(problem, case), None)
                self._expected.pop(_key(problem, case), None)

    def inputs(self, problem: ProblemSpec, case: Case) -> dict[str, Any]:
        key = _key(problem, case)
        with self._lock:
            if key not in self._inputs:
                try:
                    values = build_inputs(problem, case)
                except ReferenceFailure:
                    raise
                except Exception as exc:  # noqa: BLE001
                    raise ReferenceFailure(f"{problem.id}: generator {case.generator!r} failed on case "
                                          f"{case.id}: {where(exc)}{type(exc).__name__}: {exc}") from exc
                missing = [a for a in problem.entry(case.entry).args if a not in values]
                if missing:
                    raise ReferenceFailure(f"{problem.id}: generator {case.generator!r} does not provide "
                                          f"{missing} for case {case.id}")
                for v in values.values():
                    if isinstance(v, np.ndarray):
                        v.setflags(write=False)
                self._inputs[key] = values
            return self._inputs[key]

    def expected(self, problem: ProblemSpec, case: Case) -> dict[str, Any]:
        key = _key(problem, case)
        inputs = self.inputs(problem, case)
        with self._lock:
            if key not in self._expected and problem.reference is None and problem.expected is not None:
                self._expected[key] = self._released(problem, case)
            if key not in self._expected:
                entry = problem.entry(case.entry)
                module = self._modules.get(problem.reference) or load_module(problem.reference)
                self._modules[problem.reference] = module
                func = getattr(module, entry.name, None)
                if not callable(func):
                    raise ReferenceFailure(f"the reference solution {problem.reference} defines no {entry.name}()")
                try:
                    value = func(*[np.array(inputs[a]) if isinstance(inputs[a], np.ndarray) else inputs[a]
                                   for a in entry.args])
                except Exception as exc:  # noqa: BLE001
                    raise ReferenceFailure(f"the reference {entry.name}() failed on case {case.id}: "
                                          f"{where(exc)}{type(exc).__name__}: {exc}") from exc
                values = value if len(entry.returns) > 1 else (value,)
                self._expected[key] = {n: _plain(v) for n, v in zip(entry.returns, values)}
            return self._expected[key]

    def _released(self, problem: ProblemSpec, case: Case) -> dict[str, Any]:
        """A student release's expected value, read from its file (call with the lock held)."""
        path = problem.expected
        assert path is not None
        try:
            if path not in self._tables:
                self._tables[path] = read_expected(path, problem.id)
            return expected_for(path, problem.id, case, self._tables[path])
        except ExpectedValuesError as exc:
            raise ReferenceFailure(str(exc)) from exc
