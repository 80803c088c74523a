"""Recognisable mistakes ("slips"): each names a wrong answer a student is likely to give.

A slip is tested by rebuilding that wrong answer from the expected one and comparing it with what the
student returned; the first slip that matches names the mistake in the feedback.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated, Any, Callable

from pydantic import BeforeValidator, ValidationInfo

import numpy as np

from grader.registry import Registry
from grader.tolerance import Tolerance
from grader.tracebacks import where


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


@dataclass(frozen=True)
class SlipRef:
    """One slip a check recognises: its registered name, and the feedback the spec gives it (None: the slip's own)."""

    name: str
    feedback: str | None = None


def _slip_refs(items: Any, info: ValidationInfo) -> list[SlipRef]:
    """A spec's ``diagnose`` list: each item a slip's name, or ``{name: feedback}`` to word it for this problem.
    Names are checked against the built-in slips and the assignment's kit (the loader's context)."""
    if not isinstance(items, list):
        raise ValueError("expected a list of slip names")
    kit = (info.context or {}).get("kit")
    refs = []
    for item in items:
        if isinstance(item, SlipRef):
            refs.append(item)
        elif isinstance(item, str):
            refs.append(SlipRef(item))
        elif isinstance(item, dict) and len(item) == 1 and all(isinstance(v, str) for v in item.values()) \
                and all(isinstance(k, str) for k in item):
            ((name, feedback),) = item.items()
            refs.append(SlipRef(name, feedback))
        else:
            raise ValueError(f"expected a slip name or {{name: feedback}}, got {item!r}")
    known = kit.known("slip") if kit is not None else SLIPS.names()
    unknown = [r.name for r in refs if r.name not in known]
    if unknown:
        hint = kit.hint() if kit is not None else ""
        raise ValueError(f"unknown slip(s) {unknown}; known: {', '.join(known)}{hint}")
    return refs


#: a spec's list of slips to recognise, in order: registered names, each optionally with its own feedback
SlipNames = Annotated[list[SlipRef], BeforeValidator(_slip_refs)]


@SLIPS.register("transposed")
def transposed(s: SlipContext) -> bool:
    """{names} look transposed: each result must have the shape of the expected one."""
    flips = [s.close(s.got[n].T, s.expected[n]) and s.got[n].shape != s.expected[n].shape for n in s.expected]
    fine = [s.close(s.got[n], s.expected[n]) for n in s.expected]
    return any(flips) and all(f or ok for f, ok in zip(flips, fine))


@SLIPS.register("factor_two")
def factor_two(s: SlipContext) -> bool:
    """Your values are half the expected ones: differentiating a square brings down a factor 2."""
    return s.all_scaled(0.5)


@SLIPS.register("double")
def double(s: SlipContext) -> bool:
    """Your values are twice the expected ones."""
    return s.all_scaled(2.0)


@SLIPS.register("sign")
def sign(s: SlipContext) -> bool:
    """Your values have the wrong sign."""
    return s.all_scaled(-1.0)


@SLIPS.register("swapped")
def swapped(s: SlipContext) -> bool:
    """The two results are swapped: return them in the order the statement gives."""
    names = list(s.expected)
    return len(names) == 2 and s.close(s.got[names[0]], s.expected[names[1]]) and s.close(
        s.got[names[1]], s.expected[names[0]])


@SLIPS.register("zeros")
def zeros(s: SlipContext) -> bool:
    """You returned zeros."""
    return all(np.all(s.got[n] == 0) for n in s.expected) and any(np.any(e != 0) for e in s.expected.values())


@SLIPS.register("returned_inputs")
def returned_inputs(s: SlipContext) -> bool:
    """You returned the inputs unchanged instead of computing the answer."""
    arrays = [v for v in s.inputs.values() if isinstance(v, np.ndarray)]
    return all(any(a.shape == s.got[n].shape and np.array_equal(a, s.got[n]) for a in arrays) for n in s.expected)


_warned: set[tuple[str, str]] = set()


def _warn_once(name: str, exc: Exception) -> None:
    key = (name, f"{type(exc).__name__}: {exc}")
    if key not in _warned:
        _warned.add(key)
        hint = " (a typo in an input or output name?)" if isinstance(exc, KeyError) else ""
        print(f"warning: slip {name!r} raised {type(exc).__name__}: {exc} at {where(exc).rstrip(': ') or 'an unknown place'}"
              f"{hint}; it counts as not matching", file=sys.stderr)


def diagnose(refs: list[SlipRef], ctx: SlipContext, kit: Any = None) -> tuple[str, str] | None:
    """The first listed slip that explains the student's answer, with its feedback. ``kit``
    (:class:`grader.kit.Kit`) finds the assignment's own slips. A slip that cannot apply to these values (an
    IndexError, ValueError, ZeroDivisionError or FloatingPointError: shapes, arithmetic) does not match; one
    that raises anything else (a KeyError: a name the values do not have; a bug) does not match either, and
    the grader's terminal says which slip, where and why, once."""
    for ref in refs:
        entry = kit.find_slip(ref.name) if kit is not None else SLIPS[ref.name]
        if entry is None:
            continue
        try:
            matched = bool(entry.func(ctx))
        except (IndexError, ValueError, ZeroDivisionError, FloatingPointError):
            matched = False
        except Exception as exc:  # noqa: BLE001 - an author's slip never costs the student their check
            _warn_once(ref.name, exc)
            matched = False
        if matched:
            text = ref.feedback if ref.feedback is not None else entry.doc
            return ref.name, text.replace("{names}", " and ".join(ctx.expected))
    return None
