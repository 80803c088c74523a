"""Generators for the linear-autoencoder problems: gradients, PCA, stationary points."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import kit


class AutoencoderShape(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    m: int = Field(ge=1, description="input dimension")
    n: int = Field(ge=1, description="number of samples (columns of X)")
    k: int = Field(ge=1, description="code dimension")

    @model_validator(mode="after")
    def _k_below_m(self) -> "AutoencoderShape":
        if self.k > self.m:
            raise ValueError(f"k ({self.k}) must not exceed m ({self.m})")
        return self


@kit.generator("gaussian_autoencoder", AutoencoderShape)
def gaussian_autoencoder(rng: np.random.Generator, p: AutoencoderShape) -> dict[str, Any]:
    """Gaussian data X (m x n) and random weights W1 (k x m), W2 (m x k), all float64."""
    X = rng.standard_normal((p.m, p.n))
    W1 = rng.standard_normal((p.k, p.m)) / np.sqrt(p.m)
    W2 = rng.standard_normal((p.m, p.k)) / np.sqrt(p.k)
    return {"X": X, "W1": W1, "W2": W2}


class PcaShape(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    m: int = Field(ge=2, description="dimension of a sample")
    n: int = Field(ge=3, description="number of samples")
    k: int = Field(ge=1, description="number of principal components")
    decay: float = Field(0.5, gt=0, lt=0.9, description="ratio of successive eigenvalues (well separated)")
    #: random: principal directions in a random orthonormal basis; shuffled_axes: the coordinate axes, with the
    #: variances in a shuffled order and the smallest on the first axis, so X X^T is diagonal and its largest
    #: entries are not its first ones (an eigensolver that does not sort, numpy.linalg.eig, then lists a small
    #: one first)
    basis: Literal["random", "shuffled_axes"] = "random"
    #: the data's size: X is multiplied by it (so X X^T by its square): a test of stationarity with an absolute
    #: threshold, e.g. numpy.allclose(gradient, 0), breaks on data far from unit size
    scale: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _identifiable(self) -> "PcaShape":
        rank = min(self.m, self.n - 1)  # centring the samples removes one dimension
        if self.k >= rank:
            raise ValueError(f"k ({self.k}) must be below the rank of the centred data, min(m, n - 1) = {rank}")
        return self


def pca_data(rng: np.random.Generator, m: int, n: int, decay: float,
             basis: str = "random") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero-centred X (m x n) with X X^T = U diag(s) U^T exactly: returns X, U (m x m) and s (descending)."""
    rank = min(m, n - 1)
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    if basis == "shuffled_axes":  # U a permutation: X X^T diagonal, its variances shuffled, the smallest first
        order = rng.permutation(m)
        last = rank - 1  # the smallest nonzero variance goes on the first axis (numpy.linalg.eig lists it first)
        where = int(np.flatnonzero(order == 0)[0])
        order[where], order[last] = order[last], order[where]
        U = np.eye(m)[:, order]
    Z = rng.standard_normal((n, rank))
    Z -= Z.mean(axis=0)
    Q, _ = np.linalg.qr(Z)  # n x rank, orthonormal columns, each summing to zero
    s = np.zeros(m)
    s[:rank] = 10.0 * decay ** np.arange(rank) * n
    X = U[:, :rank] @ np.diag(np.sqrt(s[:rank])) @ Q.T
    return X, U, s


@kit.generator("pca_data", PcaShape)
def pca_problem(rng: np.random.Generator, p: PcaShape) -> dict[str, Any]:
    """Zero-centred data with a well-separated spectrum, and the number of components k."""
    X, _, _ = pca_data(rng, p.m, p.n, p.decay, p.basis)
    return {"X": X * p.scale, "k": p.k}


CandidateKind = Literal["pca", "pca_mixed", "pca_null_shift", "saddle", "zero", "random", "perturbed",
                        "only_w1_condition", "only_w2_condition"]


class CandidateParams(PcaShape):
    kind: CandidateKind
    perturbation: float = Field(0.05, gt=0, description="relative size of the perturbation (kind perturbed)")


@kit.generator("stationary_candidate", CandidateParams)
def stationary_candidate(rng: np.random.Generator, p: CandidateParams) -> dict[str, Any]:
    """Weights (W1, W2) of a known kind for data X: PCA, mixed PCA, saddles, zero, random, perturbed, ..."""
    X, U, s = pca_data(rng, p.m, p.n, p.decay, p.basis)
    X = X * p.scale
    k, m = p.k, p.m
    Uk = U[:, :k]
    if p.kind == "pca":
        W1, W2 = Uk.T.copy(), Uk.copy()
    elif p.kind == "pca_mixed":
        A = np.eye(k) + 0.5 * rng.standard_normal((k, k)) / np.sqrt(k)
        W1, W2 = np.linalg.solve(A, Uk.T), Uk @ A
    elif p.kind == "pca_null_shift":
        # PCA with W1 moved along the data's null space (n - 1 < m: X X^T is singular): W1 X is unchanged, so both
        # gradients still vanish, yet W2 W1 is no longer symmetric: only the gradients, taken as written, say
        # "stationary" here (R^T in place of R, or a test that W2 W1 is a symmetric projector, does not)
        rank = min(m, p.n - 1)
        if rank >= m:
            raise ValueError(f"kind pca_null_shift needs data with a null space: n - 1 < m (got m={m}, n={p.n})")
        null = U[:, rank:]
        W1 = Uk.T + rng.standard_normal((k, m - rank)) @ null.T
        W2 = Uk.copy()
    elif p.kind == "saddle":  # the top k - 1 eigenvectors and the (k+1)-th: stationary, not a minimum
        Us = U[:, list(range(k - 1)) + [k]]
        W1, W2 = Us.T.copy(), Us.copy()
    elif p.kind == "zero":
        W1, W2 = np.zeros((k, m)), np.zeros((m, k))
    elif p.kind == "random":
        W1, W2 = rng.standard_normal((k, m)), rng.standard_normal((m, k))
    elif p.kind == "perturbed":
        W1 = Uk.T + p.perturbation * rng.standard_normal((k, m)) / np.sqrt(m)
        W2 = Uk + p.perturbation * rng.standard_normal((m, k)) / np.sqrt(m)
    elif p.kind == "only_w2_condition":  # W2 optimal for a random W1: dL/dW2 = 0, dL/dW1 != 0
        S = X @ X.T
        W1 = rng.standard_normal((k, m))
        W2 = S @ W1.T @ np.linalg.inv(W1 @ S @ W1.T)
    else:  # only_w1_condition: W1 optimal for a random W2: dL/dW1 = 0, dL/dW2 != 0
        W2 = rng.standard_normal((m, k))
        W1 = np.linalg.solve(W2.T @ W2, W2.T)
    return {"X": X, "W1": W1, "W2": W2}
