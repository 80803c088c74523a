"""Slips of the PCA problem: wrong factorisations that the ``subspace_projector`` check names.

The check hands them the student's factors as ``W1`` (k x m) and ``W2`` (m x k), the expected projector
as ``P``, and the case's inputs ``X`` and ``k``.
"""

from __future__ import annotations

import numpy as np

from grader.checks.subspace import top_projector
from grader.kit import SlipContext, Tolerance

from . import kit


def _projector_onto(P: np.ndarray, Q: np.ndarray, tol: Tolerance) -> bool:
    return P.shape == Q.shape and float(np.linalg.norm(P - Q)) <= tol.atol


@kit.slip("smallest_eigenvectors")
def smallest_eigenvectors(s: SlipContext) -> bool:
    """You used the k eigenvectors with the smallest eigenvalues: numpy.linalg.eigh sorts them in ascending order."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    if W1.shape != (k, X.shape[0]) or W2.shape != (X.shape[0], k):
        return False
    P = W2 @ W1
    evals = np.linalg.eigvalsh(X @ X.T)  # ascending
    is_projector = np.linalg.norm(P @ P - P) <= 1e-6 and abs(np.trace(P) - k) <= 1e-6
    return bool(is_projector and abs(np.trace(P @ X @ X.T) - evals[:k].sum()) <= 1e-6 * evals[-1])


@kit.slip("gram_eigenvectors")
def gram_eigenvectors(s: SlipContext) -> bool:
    """You used eigenvectors of X^T X (n x n, one per sample) instead of X X^T (m x m, one per feature)."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    n = X.shape[1]
    if W1.shape != (k, n) or W2.shape != (n, k):
        return False
    return _projector_onto(W2 @ W1, top_projector(X.T, k), s.tol)


@kit.slip("unsorted_eigenvectors")
def unsorted_eigenvectors(s: SlipContext) -> bool:
    """You kept k eigenvectors of X X^T, but not those with the largest eigenvalues: numpy.linalg.eig returns them in no particular order; sort by eigenvalue (or use numpy.linalg.eigh, which sorts them in ascending order)."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    m = X.shape[0]
    if W1.shape != (k, m) or W2.shape != (m, k):
        return False
    P, S = W2 @ W1, X @ X.T
    scale = np.linalg.norm(S)
    is_projector = np.linalg.norm(P @ P - P) <= 1e-6 and abs(np.trace(P) - k) <= 1e-6
    spanned_by_eigenvectors = np.linalg.norm(P @ S - S @ P) <= 1e-6 * scale  # P commutes with S
    return bool(is_projector and spanned_by_eigenvectors and not s.close(P, s.expected["P"]))


@kit.slip("factors_swapped")
def factors_swapped(s: SlipContext) -> bool:
    """W1 and W2 are swapped or transposed: W1 is the k x m encoder, W2 the m x k decoder."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    m = X.shape[0]
    if W1.shape != (m, k) or W2.shape != (k, m):
        return False
    return _projector_onto(W1 @ W2, s.expected["P"], s.tol)


@kit.slip("wrong_dimension")
def wrong_dimension(s: SlipContext) -> bool:
    """Your subspace has the wrong dimension: keep exactly k components."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    m = X.shape[0]
    if W1.ndim != 2 or W2.ndim != 2 or W1.shape[1] != m or W2.shape[0] != m or W1.shape[0] != W2.shape[1]:
        return False
    j = W1.shape[0]
    return j != k and 0 < j <= m and _projector_onto(W2 @ W1, top_projector(X, j), s.tol)
