"""Generator for the regularized linear autoencoder (Eq. 6): data with a known spectrum, the grader's
initial weights and learning rate. Trained by ``sandbox/regularized_training.py``."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import kit


class RegularizedData(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    m: int = Field(16, ge=2, le=256, description="dimension of a point")
    k: int = Field(4, ge=1, description="code dimension")
    n: int = Field(2048, ge=8, le=100_000, description="number of training points")
    lam: float = Field(0.1, gt=0, description="the lambda of Eq. 6")
    top: list[float] | None = Field(None, description="the k largest eigenvalues of X^T X / n, descending; "
                                                      "default: 2.0 * 0.75^i")
    tail: float = Field(0.3, gt=0, description="the largest of the other eigenvalues (they decay to tail / 6)")
    mean: float = Field(1.0, ge=0, description="how far the data's mean is from zero (a bias would absorb it)")
    lr: float = Field(0.1, gt=0, description="the learning rate the grader passes to build_optimizer")
    init_scale: float = Field(0.5, gt=0, description="scale of the grader's random initial weights")

    @model_validator(mode="after")
    def _identifiable(self) -> "RegularizedData":
        if self.k >= self.m:
            raise ValueError(f"k ({self.k}) must be below m ({self.m})")
        top = self.eigenvalues()[: self.k]
        if self.top is not None and len(self.top) != self.k:
            raise ValueError(f"top must list k = {self.k} eigenvalues, got {len(self.top)}")
        if np.any(np.diff(top) >= 0):
            raise ValueError("the top eigenvalues must be distinct and descending (identifiable directions)")
        if self.tail >= top[-1]:
            raise ValueError(f"tail ({self.tail}) must be below the k-th eigenvalue ({top[-1]})")
        if self.lam >= top[-1]:
            raise ValueError(f"lam ({self.lam}) must be below the k-th eigenvalue ({top[-1]}) so that no "
                             "direction switches off")
        return self

    def eigenvalues(self) -> np.ndarray:
        top = np.array(self.top if self.top is not None else 2.0 * 0.75 ** np.arange(self.k), dtype=float)
        rest = np.geomspace(self.tail, self.tail / 6, self.m - self.k)
        return np.concatenate([top, rest])


def spectrum_data(rng: np.random.Generator, n: int, s: np.ndarray, mean: float) -> tuple[np.ndarray, np.ndarray]:
    """X (n x m, points as rows) with X^T X / n = U diag(s) U^T exactly; returns X and U."""
    m = s.size
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    Z = rng.standard_normal((n, m))
    Z[:, 0] += mean  # the top direction carries a mean: the data are not centred
    Q, R = np.linalg.qr(Z)
    Q = Q * np.sign(np.diag(R))  # orthonormal columns, the first one still correlated with the mean
    X = np.sqrt(n) * Q @ np.diag(np.sqrt(s)) @ U.T
    return X, U


@kit.generator("regularized_ae_data", RegularizedData)
def regularized_ae_data(rng: np.random.Generator, p: RegularizedData) -> dict[str, Any]:
    """Points X (n x m) with a known spectrum, lam, the learning rate, and the grader's initial weights."""
    X, _ = spectrum_data(rng, p.n, p.eigenvalues(), p.mean)
    W1 = p.init_scale * rng.standard_normal((p.k, p.m)) / np.sqrt(p.m)
    W2 = p.init_scale * rng.standard_normal((p.m, p.k)) / np.sqrt(p.k)
    return {"X": X, "lam": float(p.lam), "lr": float(p.lr), "W1_init": W1, "W2_init": W2}
