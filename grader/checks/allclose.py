"""``allclose``: the student's arrays agree with the reference solution's within a tolerance."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from grader.checks.base import CHECKS, CaseData, Verdict, as_array, require_shape
from grader.checks.slips import SlipContext, SlipNames, diagnose
from grader.tolerance import Tolerance, narrowest, precision_note


class AllcloseParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    outputs: list[str] | None = Field(None, description="return names to compare; default: all")
    rtol: float = Field(1e-6, ge=0)
    atol: float = Field(1e-9, ge=0)
    diagnose: SlipNames = Field(default_factory=list, description="slips to recognise, in order")

    @field_validator("outputs")
    @classmethod
    def _known_outputs(cls, names: list[str] | None, info: ValidationInfo) -> list[str] | None:
        entries = (info.context or {}).get("entries", {})
        known = {r for e in entries.values() for r in e.returns}
        if names is not None and entries and not set(names) <= known:
            raise ValueError(f"unknown output(s) {sorted(set(names) - known)}; the entry points return {sorted(known)}")
        return names


@CHECKS.register("allclose", AllcloseParams)
def allclose(data: CaseData, p: AllcloseParams) -> Verdict:
    """Each output matches the reference within rtol/atol (Frobenius norm); slips are named."""
    tol = Tolerance(p.rtol, p.atol)
    names = p.outputs or list(data.entry.returns)
    outputs = data.outputs()
    got = {n: as_array(outputs[n], n) for n in names}
    expected: dict[str, Any] = {n: np.asarray(data.expected[n], dtype=np.float64) for n in names}
    if all(tol.matches(got[n], expected[n]) for n in names):
        return Verdict(True, f"matches the reference within rtol={p.rtol:g}, atol={p.atol:g}")
    slip = diagnose(p.diagnose, SlipContext(got, expected, data.inputs, tol), data.kit)
    if slip is not None:
        return Verdict(False, slip[1], diagnosis=slip[0])
    for n in names:
        require_shape(got[n], expected[n], n)  # raises with a message naming the wrong shape
    worst = max(names, key=lambda n: tol.error(got[n], expected[n]))
    error = tol.error(got[worst], expected[worst])
    note = precision_note(error, _allowed(tol, expected[worst]), narrowest([outputs[worst]]), worst)
    return Verdict(False, f"{worst} differs from the expected value: relative error {error:.3g} (allowed {p.rtol:g})"
                          + (f"; {note}" if note else ""), diagnosis="precision" if note else None)


def _allowed(tol: Tolerance, expected: np.ndarray) -> float:
    """The largest relative error ``tol`` accepts for ``expected`` (its atol counted relative to its norm)."""
    scale = float(np.linalg.norm(expected))
    return tol.rtol + tol.atol / scale if scale > 0 else tol.atol
