"""``finite_difference``: gradients agree with central differences of a named loss (no reference needed)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from grader.checks.base import CHECKS, CaseData, Verdict, as_array, require_shape
from grader.tolerance import narrowest, precision_note


class FiniteDifferenceParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    loss: str = Field(description="a loss registered by the assignment's kit")
    wrt: dict[str, str] = Field(min_length=1, description="input name -> the output holding its gradient")
    directions: int = Field(3, ge=1, le=20)
    step: float = Field(1e-5, gt=0, description="relative step along a unit direction")
    rtol: float = Field(1e-4, ge=0)
    atol: float = Field(1e-8, ge=0)

    @field_validator("loss")
    @classmethod
    def _known_loss(cls, name: str, info: ValidationInfo) -> str:
        kit = (info.context or {}).get("kit")
        if kit is not None and name not in kit.known("loss"):
            known = ", ".join(kit.known("loss")) or "none (register one with @kit.loss)"
            raise ValueError(f"unknown loss {name!r}; the assignment's kit has: {known}{kit.hint()}")
        return name

    @field_validator("wrt")
    @classmethod
    def _known_names(cls, wrt: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        entries = (info.context or {}).get("entries", {}).values()
        args = {a for e in entries for a in e.args}
        rets = {r for e in entries for r in e.returns}
        if entries and not (set(wrt) <= args and set(wrt.values()) <= rets):
            raise ValueError(f"expected input names from {sorted(args)} mapped to outputs from {sorted(rets)}")
        return wrt


@CHECKS.register("finite_difference", FiniteDifferenceParams)
def finite_difference(data: CaseData, p: FiniteDifferenceParams) -> Verdict:
    """Directional derivatives of the loss along random directions equal <gradient, direction>."""
    found = data.kit.find_loss(p.loss) if data.kit is not None else None
    if found is None:
        raise KeyError(f"no loss {p.loss!r} in the assignment's kit")
    loss = found.func
    outputs = data.outputs()
    grads = {}
    for arg, out in p.wrt.items():
        grads[arg] = as_array(outputs[out], out)
        require_shape(grads[arg], np.asarray(data.inputs[arg]), out)
    rng = np.random.default_rng(10_007 + data.case.seed)
    worst = 0.0
    for _ in range(p.directions):
        dirs = {a: rng.standard_normal(np.shape(data.inputs[a])) for a in p.wrt}
        norm = np.sqrt(sum(float(np.sum(d * d)) for d in dirs.values()))
        scale = np.sqrt(sum(float(np.sum(np.square(data.inputs[a]))) for a in p.wrt)) or 1.0
        h = p.step * scale / norm
        plus = {**data.inputs, **{a: data.inputs[a] + h * d for a, d in dirs.items()}}
        minus = {**data.inputs, **{a: data.inputs[a] - h * d for a, d in dirs.items()}}
        numeric = (loss(plus) - loss(minus)) / (2 * h)
        claimed = sum(float(np.sum(grads[a] * d)) for a, d in dirs.items())
        err = abs(claimed - numeric)
        if err > p.atol + p.rtol * abs(numeric):
            worst = max(worst, err / max(abs(numeric), 1e-300))
    if worst == 0.0:
        return Verdict(True, f"agrees with finite differences of the loss along {p.directions} random directions")
    note = precision_note(worst, p.rtol, narrowest([outputs[out] for out in p.wrt.values()]),
                          " or ".join(p.wrt.values()))
    if note:  # rounding can account for it: say that, not that the derivation is wrong
        return Verdict(False, "your gradients disagree with finite differences of the loss along a random direction "
                              f"(relative error {worst:.3g}, allowed {p.rtol:g}); {note}", diagnosis="precision")
    return Verdict(False, "your gradients disagree with finite differences of the loss along a random direction "
                          f"(relative error {worst:.3g}); check the derivation, not just the shapes")
