"""Recognisable mistakes ("slips"): each names a wrong answer a student is likely to give.

A slip is tested by rebuilding that wrong answer from the expected one and comparing it with what the
student returned; the first slip that matches names the mistake in the feedback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable

from pydantic import AfterValidator

import numpy as np

from grader.registry import Registry
from grader.tolerance import Tolerance


@dataclass(frozen=True)
class SlipContext:
    got: dict[str, np.ndarray]  #: the student's outputs, any shape
    expected: dict[str, np.ndarray]
    inputs: dict[str, Any]
    tol: Tolerance

    def close(self, got: np.ndarray, expected: np.ndarray) -> bool:
        return got.shape == expected.shape and self.tol.matches(got, expected)

    def all_scaled(self, factor: float) -> bool:
        return all(self.close(self.got[n], self.expected[n] * factor) for n in self.expected)


SlipTest = Callable[[SlipContext], bool]
SLIPS: Registry[SlipTest] = Registry("slip")


def _known_slips(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in SLIPS]
    if unknown:
        raise ValueError(f"unknown slip(s) {unknown}; known: {', '.join(SLIPS.names())}")
    return names


#: a spec's list of slips to recognise, in order, each a registered name
SlipNames = Annotated[list[str], AfterValidator(_known_slips)]


@SLIPS.register("transposed")
def transposed(s: SlipContext) -> bool:
    """{names} look transposed: each gradient must have the shape of its weight (dL/dW1 is k x m, like W1)."""
    flips = [s.close(s.got[n].T, s.expected[n]) and s.got[n].shape != s.expected[n].shape for n in s.expected]
    fine = [s.close(s.got[n], s.expected[n]) for n in s.expected]
    return any(flips) and all(f or ok for f, ok in zip(flips, fine))


@SLIPS.register("factor_two")
def factor_two(s: SlipContext) -> bool:
    """Your values are half the expected ones: differentiating a square brings down a factor 2."""
    return s.all_scaled(0.5)


@SLIPS.register("sign")
def sign(s: SlipContext) -> bool:
    """Your values have the wrong sign: the residual X - W2 W1 X enters the gradient with a minus sign."""
    return s.all_scaled(-1.0)


@SLIPS.register("swapped")
def swapped(s: SlipContext) -> bool:
    """The two results are swapped: return them in the order the statement gives."""
    names = list(s.expected)
    return len(names) == 2 and s.close(s.got[names[0]], s.expected[names[1]]) and s.close(
        s.got[names[1]], s.expected[names[0]])


@SLIPS.register("scaled_by_n")
def scaled_by_n(s: SlipContext) -> bool:
    """Your values are divided by n, the number of samples: the loss is a sum over samples, not a mean."""
    return s.all_scaled(1.0 / s.inputs["X"].shape[1])


@SLIPS.register("scaled_by_mn")
def scaled_by_mn(s: SlipContext) -> bool:
    """Your values are divided by m*n: the loss is the squared Frobenius norm, not the mean squared error."""
    return s.all_scaled(1.0 / s.inputs["X"].size)


@SLIPS.register("zeros")
def zeros(s: SlipContext) -> bool:
    """You returned zeros."""
    return all(np.all(s.got[n] == 0) for n in s.expected) and any(np.any(e != 0) for e in s.expected.values())


@SLIPS.register("returned_inputs")
def returned_inputs(s: SlipContext) -> bool:
    """You returned the inputs unchanged instead of computing the answer."""
    arrays = [v for v in s.inputs.values() if isinstance(v, np.ndarray)]
    return all(any(a.shape == s.got[n].shape and np.array_equal(a, s.got[n]) for a in arrays) for n in s.expected)


def diagnose(names: list[str], ctx: SlipContext) -> tuple[str, str] | None:
    """The first listed slip that explains the student's answer, with its feedback."""
    for name in names:
        entry = SLIPS[name]
        try:
            matched = entry.func(ctx)
        except (KeyError, IndexError, ValueError, ZeroDivisionError):
            matched = False
        if matched:
            return name, entry.doc.format(names=" and ".join(ctx.expected))
    return None
