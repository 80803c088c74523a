"""The linear autoencoder's gradients: the loss for finite differences, and the slips of its scaling.

The feedback of the generic slips (``sign``, ``transposed``) is worded for this problem in its spec.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.kit import SlipContext

from . import kit


@kit.loss("linear_autoencoder")
def linear_autoencoder(v: dict[str, Any]) -> float:
    """L(W1, W2) = ||X - W2 W1 X||_F^2."""
    residual = v["X"] - v["W2"] @ (v["W1"] @ v["X"])
    return float(np.sum(residual * residual))


def scaled_by_n_answer(outputs: dict, inputs: dict) -> dict:
    """The gradients of the mean over samples, ||X - W2 W1 X||_F^2 / n: the right ones divided by n."""
    import numpy as np

    n = inputs["X"].shape[1]
    return {name: np.asarray(value, dtype=float) / n for name, value in outputs.items()}


@kit.slip("scaled_by_n", wrong=scaled_by_n_answer)
def scaled_by_n(s: SlipContext) -> bool:
    """Your values are divided by n, the number of samples: the loss is a sum over samples, not a mean."""
    return s.all_scaled(1.0 / s.inputs["X"].shape[1])


def scaled_by_mn_answer(outputs: dict, inputs: dict) -> dict:
    """The gradients of the mean squared error, ||X - W2 W1 X||_F^2 / (m n): the right ones divided by m n."""
    import numpy as np

    size = inputs["X"].size
    return {name: np.asarray(value, dtype=float) / size for name, value in outputs.items()}


@kit.slip("scaled_by_mn", wrong=scaled_by_mn_answer)
def scaled_by_mn(s: SlipContext) -> bool:
    """Your values are divided by m*n: the loss is the squared Frobenius norm, not the mean squared error."""
    return s.all_scaled(1.0 / s.inputs["X"].size)
