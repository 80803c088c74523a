"""``equals``: the student's value equals the reference's exactly (booleans, token lists, integers).

Type matters: ``bool`` needs a real Python bool (not numpy.bool_ and not 0/1), ``tokens`` a list of
strings. Wrong answers on specific case groups can carry a hint (a named slip and its feedback), and a
student who gives the same answer on every case is told so ("always True").
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from grader.checks.base import CHECKS, AnswerError, CaseData, Verdict, register_across_cases
from grader.checks.slips import SlipContext, SlipNames, diagnose
from grader.models import CheckResult, Status
from grader.tolerance import Tolerance


class Hint(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    diagnosis: str
    feedback: str


class EqualsParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    type: Literal["bool", "tokens", "int", "str"]
    output: str | None = Field(None, description="return name to compare; default: the only one")
    hints: dict[str, Hint] = Field(default_factory=dict, description="case group -> hint when wrong there")
    diagnose: SlipNames = Field(default_factory=list, description="slips to recognise (token lists)")
    constant_answer: bool = Field(False, description="name the slip when every case got the same answer")


def _typed(value: Any, kind: str) -> Any:
    # a value of the wrong type is an error (the README's statuses), never a wrong answer
    if kind == "bool":
        if isinstance(value, np.ndarray) and value.dtype == bool and value.shape == ():
            raise AnswerError("returned a 0-d array of booleans (a numpy.bool_ or a 0-d torch tensor), not a Python "
                              "bool: wrap it with bool(...)", Status.ERROR)
        if type(value) is not bool:
            raise AnswerError(f"expected True or False, got {type(value).__name__} {str(value)[:40]}", Status.ERROR)
        return value
    if kind == "tokens":
        if not isinstance(value, (list, tuple)) or not all(isinstance(t, str) for t in value):
            raise AnswerError(f"expected a list of token strings, got {type(value).__name__}", Status.ERROR)
        return list(value)
    if kind == "int":
        if type(value) is not int:
            raise AnswerError(f"expected an int, got {type(value).__name__}", Status.ERROR)
        return value
    if type(value) is not str:
        raise AnswerError(f"expected a string, got {type(value).__name__}", Status.ERROR)
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


@CHECKS.register("equals", EqualsParams)
def equals(data: CaseData, p: EqualsParams) -> Verdict:
    """The value equals the reference's, with the right type."""
    name = p.output or data.entry.returns[0]
    got = _typed(data.outputs()[name], p.type)
    expected = data.expected[name]
    expected = list(expected) if p.type == "tokens" else expected
    if got == expected:
        return Verdict(True, f"correct: {_show(got)}")
    hint = p.hints.get(data.case.group)
    if hint is not None:
        return Verdict(False, f"{hint.feedback} (you returned {_show(got)})", diagnosis=hint.diagnosis)
    slip = diagnose(p.diagnose, SlipContext({name: got}, {name: expected}, data.inputs, Tolerance(0, 0)), data.kit)
    if slip is not None:
        return Verdict(False, f"{slip[1]} (you returned {_show(got)}, expected {_show(expected)})", slip[0])
    return Verdict(False, f"you returned {_show(got)}, expected {_show(expected)}")


@register_across_cases("equals")
def constant_answers(params: EqualsParams, results: list[CheckResult], values: list[Any]) -> None:
    """When every case got the same answer and some are wrong, say so on each wrong one."""
    if not params.constant_answer or len(values) < 2:
        return
    typed = [v for v in values if type(v) is bool or isinstance(v, (int, str))]
    if len(typed) != len(values) or len(set(map(repr, typed))) != 1:
        return
    answer = typed[0]
    for r in results:
        if r.status is Status.FAILED:
            r.diagnosis = f"always_{str(answer).lower()}"
            r.feedback = (f"you return {answer!r} for every input, so only the cases where that happens to be "
                          f"right pass; decide from the data. {r.feedback}")
