"""Expected values of public cases as a student release ships them: one JSON file per problem.

A release has no reference solution, so ``grader release`` computes the public cases' expected values
from the reference and writes them here; the :class:`~grader.reference.CaseBook` reads them back. Values
round-trip exactly: arrays keep their dtype and shape (floats are written with ``repr`` precision),
numpy scalars their dtype, tuples stay tuples. Each case also records what it was computed from
(entry, generator, parameters, seed), so an edited release spec is caught instead of graded wrongly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from grader.models import Case

FORMAT = 1
SUFFIX = ".expected.json"


class ExpectedValuesError(Exception):
    """The expected values file is missing, malformed or does not match the spec."""


def fingerprint(case: Case) -> dict[str, Any]:
    """What a case's expected value depends on, as plain JSON data."""
    return json.loads(json.dumps({"entry": case.entry, "generator": case.generator, "params": case.params,
                                  "seed": case.seed}))


def encode(value: Any) -> Any:
    """A JSON-able form of a reference's output (arrays, numpy scalars, lists, tuples, dicts, plain values)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ExpectedValuesError(f"cannot store an array of dtype {value.dtype}")
        return {"__ndarray__": {"dtype": value.dtype.str, "shape": list(value.shape),
                                "data": value.ravel().tolist()}}
    if isinstance(value, np.generic):
        return {"__npscalar__": {"dtype": value.dtype.str, "value": value.item()}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ExpectedValuesError("cannot store a dict with non-string keys")
        return {"__dict__": {k: encode(v) for k, v in value.items()}}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ExpectedValuesError(f"cannot store a value of type {type(value).__name__}")


def decode(data: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) != 1:
        raise ExpectedValuesError(f"unexpected object with keys {sorted(data)}")
    tag, body = next(iter(data.items()))
    if tag == "__ndarray__":
        return np.array(body["data"], dtype=np.dtype(body["dtype"])).reshape(body["shape"])
    if tag == "__npscalar__":
        return np.dtype(body["dtype"]).type(body["value"])
    if tag == "__tuple__":
        return tuple(decode(v) for v in body)
    if tag == "__dict__":
        return {k: decode(v) for k, v in body.items()}
    raise ExpectedValuesError(f"unknown tag {tag!r}")


def write_expected(path: Path, problem: str, cases: list[tuple[Case, dict[str, Any]]]) -> None:
    """Write the expected values of ``cases`` (each with its outputs by return name)."""
    data = {"format": FORMAT, "problem": problem,
            "cases": {case.id: {"computed_from": fingerprint(case),
                                "outputs": {name: encode(v) for name, v in outputs.items()}}
                      for case, outputs in cases}}
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")


def read_expected(path: Path, problem: str) -> dict[str, dict[str, Any]]:
    """Case id -> {"computed_from": ..., "outputs": {name: value}} from a file written by :func:`write_expected`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExpectedValuesError(f"cannot read the expected values {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("problem") != problem:
        raise ExpectedValuesError(f"{path}: not an expected values file for problem {problem!r} "
                                  f"(format {FORMAT}); rerun grader release")
    cases = data.get("cases")
    if not isinstance(cases, dict):
        raise ExpectedValuesError(f"{path}: no 'cases' mapping")
    return {cid: {"computed_from": entry.get("computed_from"),
                  "outputs": {k: decode(v) for k, v in entry.get("outputs", {}).items()}}
            for cid, entry in cases.items()}


def expected_for(path: Path, problem: str, case: Case, table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One case's outputs from a table read by :func:`read_expected`, checked against the case's spec."""
    entry = table.get(case.id)
    if entry is None:
        raise ExpectedValuesError(f"{path}: no expected values for case {case.id} of {problem}; rerun grader release")
    if entry["computed_from"] != fingerprint(case):
        raise ExpectedValuesError(f"{path}: the expected values of case {case.id} were computed for "
                                  f"{entry['computed_from']}, but the spec now says {fingerprint(case)}; "
                                  "rerun grader release")
    return entry["outputs"]
