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


#: the relative rounding error of one operation (machine epsilon) of each floating-point width
EPSILON = {np.dtype(np.float16): float(np.finfo(np.float16).eps), np.dtype(np.float32): float(np.finfo(np.float32).eps),
           np.dtype(np.float64): float(np.finfo(np.float64).eps)}

#: a tolerance of at least this many roundings (epsilons) of a width accepts answers computed in that width: float32
#: answers to the shipped problems are measured within 5 roundings of float32 of the float64 values (34 where
#: exponentials of logits up to 1000 are taken)
ACCEPTS = 50
#: an error up to this many roundings of a width may be that width's rounding (the same bound: answers computed in a
#: width are measured within it); one beyond it is not put down to rounding (a float16 answer 7% off is a mistake)
EXPLAINS = 50


def narrowest(values: list) -> np.dtype | None:
    """The narrowest floating-point dtype among the student's raw values (arrays, numpy scalars; None when none is
    a float: lists, ints and Python floats carry no width)."""
    widths = [np.asarray(v).dtype for v in values if isinstance(v, (np.ndarray, np.generic))]
    floats = [d for d in widths if d in EPSILON]
    return min(floats, key=lambda d: d.itemsize) if floats else None


def accepts(allowed: float, dtype: np.dtype) -> bool:
    """Whether a relative tolerance ``allowed`` accepts answers computed in ``dtype`` (float16, float32, float64)."""
    return allowed >= ACCEPTS * EPSILON[np.dtype(dtype)]


def precision_note(error: float, allowed: float, dtype: np.dtype | None, name: str = "the answer",
                   measure: str = "relative error") -> str:
    """What precision may explain of an ``error`` above ``allowed``, or "" when rounding cannot explain it.
    ``dtype``: the narrowest float width the student returned (see :func:`narrowest`); ``name``: what was returned.

    A float16/float32 result whose error fits its rounding, on a check that does not accept that width, is told to
    compute in a wider one; a float64 result with an error of float32 rounding's size, on a check that does not
    accept float32, was probably computed in float32 on the way (a float32 tensor, a cast). Worded as what rounding
    can account for, never as a claim that the math is right."""
    if not (error > allowed) or not math.isfinite(error):
        return ""
    width = dtype if dtype is not None and dtype.itemsize < 8 else np.dtype(np.float32)
    eps = EPSILON[width]
    if accepts(allowed, width) or error > EXPLAINS * eps:
        return ""
    if width is dtype:
        wider = "float32 or float64" if width.itemsize < 4 and accepts(allowed, np.dtype(np.float32)) else "float64"
        return (f"{name} is {width.name}, whose rounding (about {eps:.1g} per operation) can account for a {measure} "
                f"this small, but not within what this check allows: compute in {wider}")
    return (f"a {measure} this small is about what float32 rounding gives: computed in float32 somewhere? This check "
            "expects float64 precision")
