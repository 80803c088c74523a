"""Written questions as a student release declares them: the answer may be left out.

``grader release`` removes the answers (and the alternatives, explanations and telling aliases) of
hidden questions. A released question still knows its form (options, unit, kind), so ``grader check``
can say which answers are malformed; it can no longer say which are right, and never needs to: hidden
questions are only format-checked by a self-check. Scoring such a question is refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, model_validator

from grader.answers.questions import FreeText, MultipleChoice, Number, Score, SingleChoice, Tokens
from grader.models import Status

RELEASED_NOTE = "graded after submission (the student release has no answer for it)"


UNANSWERED = Score(0.0, RELEASED_NOTE, "released", Status.PENDING)


class ReleasedSingleChoice(SingleChoice):
    answer: str | None = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> "ReleasedSingleChoice":  # overrides the parent's check
        given = [self.answer] if self.answer is not None else []
        bad = [a for a in [*given, *self.aliases, *(str(x.answer) for x in self.alternatives)] if a not in self.options]
        if bad:
            raise ValueError(f"not among the options {self.options}: {bad}")
        return self

    def score(self, value: Any) -> Score:
        if self.answer is None:
            self.option(value)  # raises AnswerFormatError on a malformed answer
            return UNANSWERED
        return super().score(value)


class ReleasedMultipleChoice(MultipleChoice):
    answer: list[str] | None = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _answers_are_options(self) -> "ReleasedMultipleChoice":  # overrides the parent's check
        bad = [a for a in [*(self.answer or []), *self.aliases, *self.explanations] if a not in self.options]
        if bad:
            raise ValueError(f"not among the options {self.options}: {bad}")
        return self

    def score(self, value: Any) -> Score:
        if self.answer is None:
            self.choices(value)
            return UNANSWERED
        return super().score(value)


class ReleasedNumber(Number):
    answer: float | None = None  # type: ignore[assignment]

    def score(self, raw: Any) -> Score:
        if self.answer is None:
            self.value(raw)
            return UNANSWERED
        return super().score(raw)


class ReleasedTokens(Tokens):
    answer: list[str] | None = None  # type: ignore[assignment]

    def score(self, raw: Any) -> Score:
        if self.answer is None:
            self.tokens(raw)
            return UNANSWERED
        return super().score(raw)


ReleasedQuestion = Annotated[Union[ReleasedSingleChoice, ReleasedMultipleChoice, ReleasedNumber, ReleasedTokens,
                                   FreeText], Field(discriminator="kind")]

#: what a release strips from a hidden question (``aliases`` only when they single out options)
ANSWER_FIELDS = ("answer", "alternatives", "explanations")
