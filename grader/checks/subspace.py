"""``subspace_projector``: the product of two factors is the projector onto the top-k principal subspace.

Graded invariantly: any factorisation W2 W1 = U_k U_k^T is right (signs, rotations, any invertible
mixing inside the subspace). The projector is computed here from the case's data, independently of
the reference solution.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from grader.checks.base import CHECKS, AnswerError, CaseData, Verdict, as_array
from grader.checks.slips import SLIPS, SlipContext, SlipNames, diagnose
from grader.tolerance import Tolerance


class SubspaceParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    encoder: str = Field("W1", description="output name of the k x m factor")
    decoder: str = Field("W2", description="output name of the m x k factor")
    data: str = Field("X", description="input name of the data (m x n, samples as columns)")
    dim: str = Field("k", description="input name of the subspace dimension")
    atol: float = Field(1e-6, gt=0, description="allowed Frobenius distance between the projectors")
    diagnose: SlipNames = Field(default_factory=list, description="slips to recognise, in order")


def top_projector(X: np.ndarray, k: int, *, smallest: bool = False) -> np.ndarray:
    """U U^T for the k eigenvectors of X X^T with the largest (or smallest) eigenvalues."""
    _, vecs = np.linalg.eigh(X @ X.T)  # ascending
    U = vecs[:, :k] if smallest else vecs[:, ::-1][:, :k]
    return U @ U.T


@CHECKS.register("subspace_projector", SubspaceParams)
def subspace_projector(data: CaseData, p: SubspaceParams) -> Verdict:
    """decoder @ encoder equals the projector onto the top-k eigenvectors of X X^T."""
    outputs = data.outputs()
    W1, W2 = as_array(outputs[p.encoder], p.encoder), as_array(outputs[p.decoder], p.decoder)
    X, k = np.asarray(data.inputs[p.data]), int(data.inputs[p.dim])
    m = X.shape[0]
    expected = top_projector(X, k)
    ok_shapes = W1.shape == (k, m) and W2.shape == (m, k)
    if ok_shapes and np.all(np.isfinite(W1)) and np.all(np.isfinite(W2)):
        P = W2 @ W1
        distance = float(np.linalg.norm(P - expected))
        if distance <= p.atol * max(1.0, np.sqrt(k)):
            return Verdict(True, f"{p.decoder} {p.encoder} is the projector onto the top-{k} principal subspace")
    slip = diagnose(p.diagnose, SlipContext({"W1": W1, "W2": W2}, {"P": expected}, data.inputs,
                                            Tolerance(0.0, p.atol * max(1.0, np.sqrt(k)))))
    if slip is not None:
        return Verdict(False, slip[1], diagnosis=slip[0])
    if not ok_shapes:
        raise AnswerError(f"{p.encoder} has shape {W1.shape} and {p.decoder} {W2.shape}; expected ({k}, {m}) "
                          f"and ({m}, {k})")
    if not (np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))):
        raise AnswerError(f"{p.encoder} or {p.decoder} contains NaN or infinite entries")
    return Verdict(False, f"{p.decoder} {p.encoder} is not the projector onto the top-{k} principal subspace "
                          f"(distance {np.linalg.norm(W2 @ W1 - expected):.3g})")


def _projector_onto(P: np.ndarray, Q: np.ndarray, tol: Tolerance) -> bool:
    return P.shape == Q.shape and float(np.linalg.norm(P - Q)) <= tol.atol


@SLIPS.register("smallest_eigenvectors")
def smallest_eigenvectors(s: SlipContext) -> bool:
    """You used the k eigenvectors with the smallest eigenvalues: numpy.linalg.eigh sorts them in ascending order."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    if W1.shape != (k, X.shape[0]) or W2.shape != (X.shape[0], k):
        return False
    P = W2 @ W1
    evals = np.linalg.eigvalsh(X @ X.T)  # ascending
    is_projector = np.linalg.norm(P @ P - P) <= 1e-6 and abs(np.trace(P) - k) <= 1e-6
    return bool(is_projector and abs(np.trace(P @ X @ X.T) - evals[:k].sum()) <= 1e-6 * evals[-1])


@SLIPS.register("gram_eigenvectors")
def gram_eigenvectors(s: SlipContext) -> bool:
    """You used eigenvectors of X^T X (n x n, one per sample) instead of X X^T (m x m, one per feature)."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    n = X.shape[1]
    if W1.shape != (k, n) or W2.shape != (n, k):
        return False
    return _projector_onto(W2 @ W1, top_projector(X.T, k), s.tol)


@SLIPS.register("factors_swapped")
def factors_swapped(s: SlipContext) -> bool:
    """W1 and W2 are swapped or transposed: W1 is the k x m encoder, W2 the m x k decoder."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    m = X.shape[0]
    if W1.shape != (m, k) or W2.shape != (k, m):
        return False
    return _projector_onto(W1 @ W2, s.expected["P"], s.tol)


@SLIPS.register("wrong_dimension")
def wrong_dimension(s: SlipContext) -> bool:
    """Your subspace has the wrong dimension: keep exactly k components."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    m = X.shape[0]
    if W1.ndim != 2 or W2.ndim != 2 or W1.shape[1] != m or W2.shape[0] != m or W1.shape[0] != W2.shape[1]:
        return False
    j = W1.shape[0]
    return j != k and 0 < j <= m and _projector_onto(W2 @ W1, top_projector(X, j), s.tol)
