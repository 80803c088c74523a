"""Named losses, computed on the trusted side for checks that are independent of the reference."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from grader.registry import Registry

Loss = Callable[[dict[str, Any]], float]
LOSSES: Registry[Loss] = Registry("loss")


@LOSSES.register("linear_autoencoder")
def linear_autoencoder(v: dict[str, Any]) -> float:
    """L(W1, W2) = ||X - W2 W1 X||_F^2."""
    residual = v["X"] - v["W2"] @ (v["W1"] @ v["X"])
    return float(np.sum(residual * residual))
