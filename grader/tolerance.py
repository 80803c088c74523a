"""Numerical tolerance: one place that decides whether two arrays agree."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """``||got - expected|| <= atol + rtol * ||expected||`` in the Frobenius norm.

    A norm-wise test rather than an element-wise one: a gradient that is right except for rounding
    in its tiny entries still passes, and one wrong entry among many large ones still fails.
    """

    rtol: float
    atol: float

    def __post_init__(self) -> None:
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite, non-negative number, got {value!r}")

    def error(self, got: np.ndarray, expected: np.ndarray) -> float:
        """The relative error ``||got - expected|| / ||expected||`` (absolute when expected is 0)."""
        diff = float(np.linalg.norm(np.asarray(got, dtype=np.float64) - expected))
        scale = float(np.linalg.norm(expected))
        return diff / scale if scale > 0 else diff

    def matches(self, got: np.ndarray, expected: np.ndarray) -> bool:
        got = np.asarray(got, dtype=np.float64)
        if got.shape != expected.shape or not np.all(np.isfinite(got)):
            return False
        diff = float(np.linalg.norm(got - expected))
        return diff <= self.atol + self.rtol * float(np.linalg.norm(expected))
