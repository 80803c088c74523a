"""``subspace_projector``: the product of two returned factors is the projector onto the top-k principal subspace
of the data (the span of the k eigenvectors of X X^T with the largest eigenvalues, for data X with samples as
columns).

Graded invariantly: any factorisation left @ right = U_k U_k^T is right (signs, rotations, any invertible
mixing inside the subspace). The projector is computed here from the case's data, independently of
the reference solution. Slips see the student's factors under their output names and the expected
projector as ``P``.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from grader.checks.base import CHECKS, AnswerError, CaseData, Verdict, as_array
from grader.checks.slips import SlipContext, SlipNames, diagnose
from grader.tolerance import Tolerance, narrowest, precision_note


class SubspaceParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    right: str = Field(description="output name of the k x m factor (applied first)")
    left: str = Field(description="output name of the m x k factor")
    data: str = Field(description="input name of the data (m x n, samples as columns)")
    dim: str = Field(description="input name of the subspace dimension")
    atol: float = Field(1e-6, gt=0, description="allowed Frobenius distance between the projectors")
    diagnose: SlipNames = Field(default_factory=list, description="slips to recognise, in order")


def top_projector(X: np.ndarray, k: int, *, smallest: bool = False) -> np.ndarray:
    """U U^T for the k eigenvectors of X X^T with the largest (or smallest) eigenvalues."""
    _, vecs = np.linalg.eigh(X @ X.T)  # ascending
    U = vecs[:, :k] if smallest else vecs[:, ::-1][:, :k]
    return U @ U.T


@CHECKS.register("subspace_projector", SubspaceParams)
def subspace_projector(data: CaseData, p: SubspaceParams) -> Verdict:
    """left @ right equals the projector onto the top-k eigenvectors of X X^T."""
    outputs = data.outputs()
    right, left = as_array(outputs[p.right], p.right), as_array(outputs[p.left], p.left)
    X, k = np.asarray(data.inputs[p.data]), int(data.inputs[p.dim])
    m = X.shape[0]
    expected = top_projector(X, k)
    ok_shapes = right.shape == (k, m) and left.shape == (m, k)
    if ok_shapes and np.all(np.isfinite(right)) and np.all(np.isfinite(left)):
        P = left @ right
        distance = float(np.linalg.norm(P - expected))
        if distance <= p.atol * max(1.0, np.sqrt(k)):
            return Verdict(True, f"{p.left} {p.right} is the projector onto the top-{k} principal subspace")
    slip = diagnose(p.diagnose, SlipContext({p.right: right, p.left: left}, {"P": expected}, data.inputs,
                                            Tolerance(0.0, p.atol * max(1.0, np.sqrt(k)))), data.kit)
    if slip is not None:
        return Verdict(False, slip[1], diagnosis=slip[0])
    if not ok_shapes:
        raise AnswerError(f"{p.right} has shape {right.shape} and {p.left} {left.shape}; expected ({k}, {m}) "
                          f"and ({m}, {k})")
    if not (np.all(np.isfinite(right)) and np.all(np.isfinite(left))):
        raise AnswerError(f"{p.right} or {p.left} contains NaN or infinite entries")
    distance = float(np.linalg.norm(left @ right - expected))
    allowed = p.atol * max(1.0, np.sqrt(k))
    note = precision_note(distance / np.sqrt(k), allowed / np.sqrt(k), narrowest([outputs[p.right], outputs[p.left]]),
                          f"{p.right} or {p.left}", "relative distance")
    if note:  # rounding can explain it: say that, not that the subspace is wrong
        return Verdict(False, f"{p.left} {p.right} is {distance:.3g} from the projector onto the top-{k} principal "
                              f"subspace (allowed {allowed:.3g}); {note}", diagnosis="precision")
    return Verdict(False, f"{p.left} {p.right} is not the projector onto the top-{k} principal subspace "
                          f"(distance {distance:.3g}; allowed {allowed:.3g})")
