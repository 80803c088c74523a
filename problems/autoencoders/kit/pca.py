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


def smallest_eigenvectors_answer(outputs: dict, inputs: dict) -> dict:
    """The first k eigenvectors of X X^T from numpy.linalg.eigh: those of the k smallest eigenvalues."""
    import numpy as np

    X, k = np.asarray(inputs["X"], dtype=float), int(inputs["k"])
    _, vectors = np.linalg.eigh(X @ X.T)  # ascending
    Uk = vectors[:, :k]
    return {"W1": Uk.T.copy(), "W2": Uk.copy()}


@kit.slip("smallest_eigenvectors", wrong=smallest_eigenvectors_answer)
def smallest_eigenvectors(s: SlipContext) -> bool:
    """You used the k eigenvectors with the smallest eigenvalues: numpy.linalg.eigh sorts them in ascending order."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    if W1.shape != (k, X.shape[0]) or W2.shape != (X.shape[0], k):
        return False
    P = W2 @ W1
    evals = np.linalg.eigvalsh(X @ X.T)  # ascending
    is_projector = np.linalg.norm(P @ P - P) <= 1e-6 and abs(np.trace(P) - k) <= 1e-6
    return bool(is_projector and abs(np.trace(P @ X @ X.T) - evals[:k].sum()) <= 1e-6 * evals[-1])


def gram_eigenvectors_answer(outputs: dict, inputs: dict) -> dict:
    """The top k eigenvectors of the Gram matrix X^T X (n x n): W1 k x n, W2 n x k."""
    import numpy as np

    X, k = np.asarray(inputs["X"], dtype=float), int(inputs["k"])
    _, vectors = np.linalg.eigh(X.T @ X)  # ascending
    Vk = vectors[:, ::-1][:, :k]
    return {"W1": Vk.T.copy(), "W2": Vk.copy()}


@kit.slip("gram_eigenvectors", wrong=gram_eigenvectors_answer)
def gram_eigenvectors(s: SlipContext) -> bool:
    """You used eigenvectors of X^T X (n x n, one per sample) instead of X X^T (m x m, one per feature)."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    n = X.shape[1]
    if W1.shape != (k, n) or W2.shape != (n, k):
        return False
    return _projector_onto(W2 @ W1, top_projector(X.T, k), s.tol)


def unsorted_eigenvectors_answer(outputs: dict, inputs: dict) -> dict:
    """The first k eigenvectors of X X^T from numpy.linalg.eig, in its own order, not sorted by eigenvalue (the right
    subspace only where eig happens to list the top k first)."""
    import numpy as np

    X, k = np.asarray(inputs["X"], dtype=float), int(inputs["k"])
    _, vectors = np.linalg.eig(X @ X.T)
    Uk = np.real(vectors[:, :k])
    return {"W1": Uk.T.copy(), "W2": Uk.copy()}


@kit.slip("unsorted_eigenvectors", wrong=unsorted_eigenvectors_answer)
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


def factors_swapped_answer(outputs: dict, inputs: dict) -> dict:
    """The decoder returned first: W1 is the m x k factor, W2 the k x m one."""
    return {"W1": outputs["W2"], "W2": outputs["W1"]}


@kit.slip("factors_swapped", wrong=factors_swapped_answer)
def factors_swapped(s: SlipContext) -> bool:
    """W1 and W2 are swapped or transposed: W1 is the k x m encoder, W2 the m x k decoder."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    m = X.shape[0]
    if W1.shape != (m, k) or W2.shape != (k, m):
        return False
    return _projector_onto(W1 @ W2, s.expected["P"], s.tol)


def wrong_dimension_answer(outputs: dict, inputs: dict) -> dict:
    """The top k + 1 principal directions instead of k (one component too many)."""
    import numpy as np

    X, k = np.asarray(inputs["X"], dtype=float), int(inputs["k"])
    _, vectors = np.linalg.eigh(X @ X.T)  # ascending
    U = vectors[:, ::-1][:, :k + 1]
    return {"W1": U.T.copy(), "W2": U.copy()}


@kit.slip("wrong_dimension", wrong=wrong_dimension_answer)
def wrong_dimension(s: SlipContext) -> bool:
    """Your subspace has the wrong dimension: keep exactly k components."""
    W1, W2, X, k = s.got["W1"], s.got["W2"], s.inputs["X"], int(s.inputs["k"])
    m = X.shape[0]
    if W1.ndim != 2 or W2.ndim != 2 or W1.shape[1] != m or W2.shape[0] != m or W1.shape[0] != W2.shape[1]:
        return False
    j = W1.shape[0]
    return j != k and 0 < j <= m and _projector_onto(W2 @ W1, top_projector(X, j), s.tol)


@kit.rewrite("rotated_basis", entries=["pca_autoencoder"])
def rotated_basis(outputs: dict, inputs: dict) -> dict:
    """Another orthonormal basis of the same subspace: W1 -> R W1 and W2 -> W2 R^T for a random orthogonal R (k x k,
    a fixed seed), so that W2 W1 is unchanged; any such factorisation is right (``grader validate --mutants``)."""
    import numpy as np

    W1, W2 = np.asarray(outputs["W1"], dtype=float), np.asarray(outputs["W2"], dtype=float)
    R, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((W1.shape[0], W1.shape[0])))
    return {"W1": R @ W1, "W2": W2 @ R.T}
