"""Written questions: their kinds as declared in a problem spec, and how an answer to each is scored.

Kinds: ``single_choice``, ``multiple_choice`` (with a stated partial-credit rule), ``number`` (with a
tolerance and a unit; equivalent forms such as 94, "94%" and 0.94 count), ``tokens`` and ``free_text``
(graded by hand). Accepted alternatives may carry partial credit and their own feedback.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.models import Status, Visibility


PENDING_PREFIX = "awaiting manual grading. Your answer: "


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    points: float = Field(gt=0)
    prompt: str = ""
    visibility: Visibility = Visibility.HIDDEN  #: public questions are scored by `grader check` too


class Alternative(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)
    answer: Any
    credit: float = Field(ge=0, le=1)
    feedback: str = ""


@dataclass(frozen=True)
class Score:
    """How one answer fared: a fraction of the question's points and why."""

    fraction: float
    feedback: str
    diagnosis: str | None = None
    status: Status | None = None  #: None: passed when fraction == 1, else failed


class AnswerFormatError(Exception):
    """The answer has the wrong form (type, unknown option, unit); the message is for the student."""


def _norm(text: Any) -> str:
    """A spelling as compared: case, runs of spaces, spaces around = ( ) [ ] , and the kind of quotes do not count
    (``nn.MSELoss(reduction = "sum")`` is ``nn.mseloss(reduction='sum')``)."""
    text = re.sub(r"\s+", " ", str(text)).strip().lower()
    return re.sub(r"\s*([=()\[\],])\s*", r"\1", text).replace('"', "'")


class SingleChoice(_Base):
    kind: Literal["single_choice"]
    options: list[str] = Field(min_length=2)
    answer: str
    aliases: dict[str, list[str]] = Field(default_factory=dict, description="option -> other accepted spellings")
    alternatives: list[Alternative] = Field(default_factory=list)

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> "SingleChoice":
        known = set(self.options)
        bad = [a for a in [self.answer, *self.aliases, *(str(x.answer) for x in self.alternatives)] if a not in known]
        if bad:
            raise ValueError(f"not among the options {self.options}: {bad}")
        return self

    def option(self, value: Any) -> str:
        if isinstance(value, bool):  # YAML reads yes/no as booleans
            value = "yes" if value else "no"
        if isinstance(value, (int, float)):
            value = str(value)
        if not isinstance(value, str):
            raise AnswerFormatError(f"expected one option (one of {', '.join(self.options)}), got a "
                                    f"{type(value).__name__}")
        wanted = _norm(value)
        for option in self.options:
            spellings = [option, *self.aliases.get(option, [])]
            if wanted in {_norm(s) for s in spellings}:
                return option
        raise AnswerFormatError(f"{value!r} is not one of the options: {', '.join(self.options)}")

    def score(self, value: Any) -> Score:
        chosen = self.option(value)
        if chosen == self.answer:
            return Score(1.0, f"correct: {chosen}")
        for alt in self.alternatives:
            if str(alt.answer) == chosen:
                return Score(alt.credit, alt.feedback or f"{chosen}: partly right", f"alternative:{chosen}")
        return Score(0.0, f"{chosen} is not right", f"chose:{chosen}")


class MultipleChoice(_Base):
    kind: Literal["multiple_choice"]
    options: list[str] = Field(min_length=2)
    answer: list[str] = Field(min_length=1)
    aliases: dict[str, list[str]] = Field(default_factory=dict)
    scoring: Literal["per_option", "all_or_nothing", "right_minus_wrong"] = "per_option"
    explanations: dict[str, str] = Field(default_factory=dict, description="option -> why it is (not) needed")

    @model_validator(mode="after")
    def _answers_are_options(self) -> "MultipleChoice":
        bad = [a for a in [*self.answer, *self.aliases, *self.explanations] if a not in self.options]
        if bad:
            raise ValueError(f"not among the options {self.options}: {bad}")
        return self

    @property
    def rule(self) -> str:
        return {"per_option": "each option counts: credit is the share of options you classified right",
                "all_or_nothing": "all points for exactly the right set, none otherwise",
                "right_minus_wrong": "credit per right option, minus one per wrong option, never below 0"}[self.scoring]

    def choices(self, value: Any) -> set[str]:
        """The options chosen in an answer (a list, or a comma-separated string); raises on a bad form."""
        if isinstance(value, str):
            value = [v for v in re.split(r"\s*,\s*", value.strip()) if v]
        if not isinstance(value, list):
            raise AnswerFormatError(f"expected a list of options, got a {type(value).__name__}")
        single = SingleChoice(id=self.id, points=self.points, kind="single_choice", options=self.options,
                              answer=self.options[0], aliases=self.aliases)
        return {single.option(v) for v in value}

    def score(self, value: Any) -> Score:
        chosen = self.choices(value)
        right = set(self.answer)
        missed, extra = sorted(right - chosen), sorted(chosen - right)
        if self.scoring == "all_or_nothing":
            fraction = 1.0 if not missed and not extra else 0.0
        elif self.scoring == "per_option":
            fraction = 1 - (len(missed) + len(extra)) / len(self.options)
        else:
            fraction = max(0.0, (len(right & chosen) - len(extra)) / len(right))
        if not missed and not extra:
            return Score(1.0, "correct: " + ", ".join(sorted(chosen)))
        parts = []
        for option in missed:
            parts.append(f"{option} is needed" + (f" ({self.explanations[option]})" if option in self.explanations else ""))
        for option in extra:
            parts.append(f"{option} is not needed" + (f" ({self.explanations[option]})" if option in self.explanations else ""))
        return Score(fraction, "; ".join(parts) + f". Scoring: {self.rule}.",
                     "missed:" + ",".join(missed) if missed else "extra:" + ",".join(extra))


_UNIT_WORDS = {"s": {"s", "sec", "secs", "second", "seconds"}, "%": {"%", "percent", "pct"}}


class NumberAlternative(Alternative):
    answer: float


class Number(_Base):
    kind: Literal["number"]
    answer: float
    unit: str | None = Field(None, description='"%" accepts 94, "94%" and 0.94; "s" accepts 26, "26 s", "26 sec"')
    abs_tol: float = Field(0.0, ge=0)
    rel_tol: float = Field(1e-9, ge=0)
    alternatives: list[NumberAlternative] = Field(default_factory=list)

    def value(self, raw: Any) -> float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise AnswerFormatError(f"expected a number{f' in {self.unit}' if self.unit else ''}, "
                                    f"got a {type(raw).__name__}")
        unit = None
        if isinstance(raw, str):
            m = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)?\s*", raw)
            if not m:
                raise AnswerFormatError(f"{raw!r} is not a number")
            number, unit = float(m.group(1)), (m.group(2) or None)  # float('1e999') is inf: refused below
        else:
            try:
                number = float(raw)
            except OverflowError as exc:
                raise AnswerFormatError("the number is too large") from exc
        if not math.isfinite(number):
            raise AnswerFormatError("the number is not finite")
        if unit is not None:
            accepted = _UNIT_WORDS.get(self.unit or "", {self.unit} if self.unit else set())
            if _norm(unit) not in accepted:
                raise AnswerFormatError(f"unit {unit!r} not understood" + (f"; give the value in {self.unit}"
                                                                            if self.unit else "; give a plain number"))
        if self.unit == "%" and unit is None and 0 < abs(number) <= 1:
            number *= 100  # 0.94 means 94%
        return number

    def _close(self, got: float, target: float) -> bool:
        return abs(got - target) <= max(self.abs_tol, self.rel_tol * abs(target))

    def score(self, raw: Any) -> Score:
        got = self.value(raw)
        shown = f"{got:g}{' ' + self.unit if self.unit and self.unit != '%' else self.unit or ''}"
        if self._close(got, self.answer):
            return Score(1.0, f"correct: {shown}")
        for alt in self.alternatives:
            if self._close(got, alt.answer):
                return Score(alt.credit, alt.feedback or f"{shown} is accepted", f"alternative:{alt.answer:g}")
        return Score(0.0, f"{shown} is not right", "wrong_value")


class Tokens(_Base):
    kind: Literal["tokens"]
    answer: list[str]
    alternatives: list[Alternative] = Field(default_factory=list)

    @staticmethod
    def tokens(raw: Any) -> list[str]:
        if isinstance(raw, str):
            return [t for t in re.split(r"[\s,]+", raw.strip().strip("[]")) if t]
        if isinstance(raw, list) and all(isinstance(t, (str, int, float)) and not isinstance(t, bool) for t in raw):
            return [str(t).strip() for t in raw]
        raise AnswerFormatError(f"expected a list of tokens, got a {type(raw).__name__}")

    def score(self, raw: Any) -> Score:
        got = self.tokens(raw)
        if got == self.answer:
            return Score(1.0, "correct: " + " ".join(got))
        for alt in self.alternatives:
            if got == self.tokens(alt.answer):
                return Score(alt.credit, alt.feedback or "partly right", "alternative:" + " ".join(got))
        return Score(0.0, f"{' '.join(got)} is not right", "wrong_tokens")


class FreeText(_Base):
    kind: Literal["free_text"]
    max_chars: int = Field(5000, ge=1)

    def score(self, raw: Any) -> Score:
        if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
            raise AnswerFormatError(f"expected text, got a {type(raw).__name__}")
        text = str(raw).strip()
        if not text:
            raise AnswerFormatError("the answer is empty")
        if len(text) > self.max_chars:
            raise AnswerFormatError(f"the answer is longer than {self.max_chars} characters")
        return Score(0.0, f"{PENDING_PREFIX}{text}", "manual", Status.PENDING)


Question = Annotated[Union[SingleChoice, MultipleChoice, Number, Tokens, FreeText], Field(discriminator="kind")]
QUESTION_KINDS = ("single_choice", "multiple_choice", "number", "tokens", "free_text")
