"""The minimiser of Eq. 6 and how far trained weights are from it, invariantly to the rotation O.

Eq. 6 (points as rows x_i of X, n x m; W1 is k x m, W2 is m x k):

    L_lam(W1, W2) = (1/n) sum_i ||x_i - W2 W1 x_i||^2 + lam ||W1||_F^2 + lam ||W2||_F^2.

With s_1 > ... > s_k the top eigenvalues of X^T X / n and U_k their eigenvectors, the global minimisers
are W2* = U_k D O^T, W1* = W2*^T, D = diag(sqrt(1 - lam / s_i)) for any k x k orthogonal O (a direction
with s_i <= lam switches off: its singular value is 0). So trained weights are graded on what does not
depend on O: W1 = W2^T, col(W2) = span(U_k) and the singular values of W2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClosedForm:
    s: np.ndarray  #: all m eigenvalues of X^T X / n, descending
    U: np.ndarray  #: m x m, their eigenvectors (columns)
    k: int
    lam: float

    @property
    def Uk(self) -> np.ndarray:
        return self.U[:, : self.k]

    @property
    def singular_values(self) -> np.ndarray:
        """The singular values of W2* (and W1*): sqrt(1 - lam / s_i), 0 where s_i <= lam."""
        return target_singular_values(self.s[: self.k], self.lam)

    def W2(self) -> np.ndarray:
        """One minimiser's decoder (O = I)."""
        return self.Uk * self.singular_values

    def W1(self) -> np.ndarray:
        return self.W2().T


def target_singular_values(s: np.ndarray, lam: float) -> np.ndarray:
    return np.sqrt(np.clip(1.0 - lam / np.asarray(s, dtype=float), 0.0, None))


def closed_form(X: np.ndarray, lam: float, k: int) -> ClosedForm:
    """The minimiser of Eq. 6 for data X (n x m, one point per row)."""
    X = np.asarray(X, dtype=np.float64)
    values, vectors = np.linalg.eigh(X.T @ X / X.shape[0])
    order = np.argsort(values)[::-1]
    return ClosedForm(values[order], vectors[:, order], int(k), float(lam))


def from_expected(expected: dict) -> ClosedForm:
    """A :class:`ClosedForm` from the reference's expected values (``eigenvalues``, ``eigenvectors``, ``k``, ``lam``)."""
    return ClosedForm(np.asarray(expected["eigenvalues"], dtype=float),
                      np.asarray(expected["eigenvectors"], dtype=float), int(expected["k"]), float(expected["lam"]))


def eq6_loss(X: np.ndarray, lam: float, W1: np.ndarray, W2: np.ndarray) -> float:
    """L_lam(W1, W2) of Eq. 6 (the mean over points of the per-point summand)."""
    R = X - X @ W1.T @ W2.T
    return float(np.mean(np.sum(R * R, axis=1)) + lam * np.sum(W1 * W1) + lam * np.sum(W2 * W2))


@dataclass(frozen=True)
class Distance:
    """How far (W1, W2) is from the closed form, each part invariant to the rotation O."""

    balance: float  #: ||W1 - W2^T||_F / ||W2||_F (W1* = W2*^T)
    angle: float  #: sine of the largest principal angle between col(W2) and span(U_k)
    singular: float  #: largest |sigma_i(W2) - sqrt(1 - lam / s_i)|
    sigma: tuple[float, ...]  #: the singular values of W2, descending

    @property
    def value(self) -> float:
        return max(self.balance, self.angle, self.singular)

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.value))


def distance(W1: np.ndarray, W2: np.ndarray, cf: ClosedForm) -> Distance:
    """The rotation-invariant distance of trained weights to the minimiser of Eq. 6."""
    W1 = np.asarray(W1, dtype=np.float64)
    W2 = np.asarray(W2, dtype=np.float64)
    if not (np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))):
        nan = float("nan")
        return Distance(nan, nan, nan, ())
    target = cf.singular_values
    sigma = np.linalg.svd(W2, compute_uv=False)
    norm = np.linalg.norm(W2)
    balance = float(np.linalg.norm(W1 - W2.T) / max(norm, 1e-12)) if norm > 0 or np.linalg.norm(W1) > 0 else 0.0
    on = target > 0  # directions that stay on: col(W2) must be their span
    if norm == 0 or not on.any():
        angle = 0.0 if not on.any() else 1.0
    else:
        r = int(on.sum())
        Ur, _, _ = np.linalg.svd(W2, full_matrices=False)
        Q = Ur[:, :r]
        Ut = cf.Uk[:, on]
        angle = float(np.linalg.norm(Q - Ut @ (Ut.T @ Q), 2)) if r else 0.0
    singular = float(np.max(np.abs(sigma - target))) if sigma.size == target.size else float("inf")
    return Distance(balance, min(angle, 1.0), singular, tuple(float(v) for v in sigma))


def fitted_lambdas(sigma: np.ndarray, s: np.ndarray) -> np.ndarray:
    """For each direction, the lambda whose closed form has this singular value: s_i (1 - sigma_i^2)."""
    sigma = np.asarray(sigma, dtype=float)
    return np.asarray(s, dtype=float)[: sigma.size] * (1.0 - sigma ** 2)


def gradient_descent_steps(X: np.ndarray, cf: ClosedForm, lr: float, W1: np.ndarray, W2: np.ndarray, *,
                           tol: float, snapshot_every: int, max_steps: int) -> int | None:
    """Steps the grader's procedure needs with Eq. 6's own gradient (the reference set-up: a summed squared
    error per point and weight decay 2 lam, plain SGD at ``lr``): full-batch steps from (W1, W2), checked
    every ``snapshot_every`` steps like the driver's snapshots. None if it does not reach ``tol`` by
    ``max_steps``. Deterministic (float64), so the step budget is the same on every machine."""
    X = np.asarray(X, dtype=np.float64)
    C = X.T @ X / X.shape[0]
    W1, W2 = np.array(W1, dtype=np.float64), np.array(W2, dtype=np.float64)
    eye = np.eye(C.shape[0])
    for step in range(max_steps + 1):
        if step % snapshot_every == 0:
            d = distance(W1, W2, cf)
            if not d.finite:
                return None
            if d.value <= tol:
                return step
        R = (eye - W2 @ W1) @ C
        g1 = -2 * W2.T @ R + 2 * cf.lam * W1
        g2 = -2 * R @ W1.T + 2 * cf.lam * W2
        W1 -= lr * g1
        W2 -= lr * g2
    return None
