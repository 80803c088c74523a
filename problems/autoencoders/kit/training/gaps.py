"""How the driver's probes are compared with the linear models they should follow: arrays from plain data,
relative gaps, and the tolerance that float32 arithmetic allows.

Shared by :mod:`structure` (the model), :mod:`objective` (the loss and
the optimizer) and :mod:`curve` (the first snapshot against the grader's initial weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np

LINEAR_RTOL = 1e-4  #: float32 forward maps, gradients and updates agree with their linear models to about 1e-6


def as_array(value: Any) -> np.ndarray:
    """A probe's value (nested lists from JSON) as a float64 array."""
    return np.asarray(value, dtype=np.float64)


def relative_gap(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| relative to the larger of the two norms (0 when both are zero)."""
    scale = max(float(np.linalg.norm(b)), float(np.linalg.norm(a)), 1e-12)
    return float(np.linalg.norm(a - b) / scale)


def short_class(qualname: str) -> str:
    """``torch.optim.sgd.SGD`` -> ``SGD``."""
    return qualname.rsplit(".", 1)[-1]
