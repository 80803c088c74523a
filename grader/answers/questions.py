"""Written questions: their kinds as declared in a problem spec, and how an answer to each is scored.

Kinds: ``single_choice``, ``multiple_choice`` (with a stated partial-credit rule), ``number`` (with a
tolerance and a unit; equivalent forms such as 94, "94%" and 0.94 count), ``tokens`` and ``free_text``
(graded by hand). Accepted alternatives may carry partial credit and their own feedback.

A ``number`` question may take per-student parameters (``params: {lr: {uniform: [0.01, 0.1]}}``), shown in its
prompt as ``{lr}``, with its answer an expression of them (``answer: "2 * lr"``): grader/variants.py draws each
student's values from the course secret and :meth:`Number.with_params` makes the student's own question.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


def _number_or_expression(value: Any) -> Any:
    """A number written as a string (``"94"``) is that number; any other string is an expression."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


class NumberAlternative(Alternative):
    answer: float | str  #: a string: an expression of the question's per-student params

    _answer = field_validator("answer", mode="before")(_number_or_expression)


#: what an answer expression may call, and the constants it may name
EXPRESSION_FUNCTIONS = {"sqrt": math.sqrt, "exp": math.exp, "log": math.log, "log10": math.log10, "log2": math.log2,
                        "sin": math.sin, "cos": math.cos, "tan": math.tan, "tanh": math.tanh, "abs": abs,
                        "min": min, "max": max}
EXPRESSION_CONSTANTS = {"pi": math.pi, "e": math.e}
_OPERATORS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
              ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b, ast.Mod: lambda a, b: a % b,
              ast.FloorDiv: lambda a, b: a // b}


class ExpressionError(ValueError):
    """An answer expression that cannot be read or evaluated; the message names what."""


def parse_expression(text: str, names: set[str]) -> ast.Expression:
    """``text`` as an arithmetic expression of ``names`` (numbers, + - * / // % **, the functions of
    :data:`EXPRESSION_FUNCTIONS`, pi and e); anything else is an :class:`ExpressionError`. Nothing is ever run."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"{text!r} is not an expression ({exc.msg})") from exc
    known = names | set(EXPRESSION_CONSTANTS)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.Load, ast.operator, ast.unaryop)):
            if isinstance(node, ast.operator) and type(node) not in _OPERATORS:
                raise ExpressionError(f"{text!r}: operator {type(node).__name__} is not allowed")
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            continue
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise ExpressionError(f"{text!r}: only + and - may precede a value")
            continue
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in EXPRESSION_FUNCTIONS) or node.keywords:
                raise ExpressionError(f"{text!r}: only {', '.join(EXPRESSION_FUNCTIONS)} may be called, with "
                                      "positional arguments")
            continue
        if isinstance(node, ast.Name):
            if node.id not in known and not (node.id in EXPRESSION_FUNCTIONS and id(node) in called):
                raise ExpressionError(f"{text!r}: unknown name {node.id!r} (the params are: "
                                      f"{', '.join(sorted(names)) or 'none'})")
            continue
        raise ExpressionError(f"{text!r}: {type(node).__name__} is not allowed in an answer expression")
    return tree


def evaluate(text: str, values: dict[str, float]) -> float:
    """The value of an answer expression for one student's ``values`` (in float arithmetic)."""
    tree = parse_expression(text, set(values))

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return float(values[node.id] if node.id in values else EXPRESSION_CONSTANTS[node.id])
        if isinstance(node, ast.UnaryOp):
            return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
        if isinstance(node, ast.BinOp):
            return float(_OPERATORS[type(node.op)](ev(node.left), ev(node.right)))
        if isinstance(node, ast.Call):
            return float(EXPRESSION_FUNCTIONS[node.func.id](*(ev(a) for a in node.args)))  # type: ignore[union-attr]
        raise ExpressionError(f"{text!r}: cannot evaluate {type(node).__name__}")

    try:
        value = ev(tree)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise ExpressionError(f"{text!r} cannot be evaluated for {values}: {type(exc).__name__}: {exc}") from exc
    if isinstance(value, complex) or not math.isfinite(value):
        raise ExpressionError(f"{text!r} is not a finite number for {values}")
    return value


class Param(BaseModel):
    """How one per-student parameter is drawn: ``uniform: [lo, hi]`` (rounded to ``digits`` significant digits, the
    value shown is the value used), ``integers: [lo, hi]`` (both included) or ``choice: [...]``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)
    uniform: tuple[float, float] | None = None
    integers: tuple[int, int] | None = None
    choice: list[float] | None = Field(None, min_length=1)
    digits: int = Field(3, ge=1, le=15, description="significant digits kept of a uniform draw")

    @model_validator(mode="after")
    def _one_way(self) -> "Param":
        given = [k for k in ("uniform", "integers", "choice") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of uniform: [lo, hi], integers: [lo, hi], choice: [...]")
        bounds = self.uniform or self.integers
        if bounds is not None and not bounds[0] < bounds[1]:
            raise ValueError(f"expected lo < hi, got {list(bounds)}")
        return self

    def draw(self, rng: Any) -> float | int:
        """One value, from a numpy Generator."""
        if self.uniform is not None:
            value = float(rng.uniform(*self.uniform))
            return float(f"{value:.{self.digits}g}")
        if self.integers is not None:
            return int(rng.integers(self.integers[0], self.integers[1], endpoint=True))
        assert self.choice is not None
        return self.choice[int(rng.integers(len(self.choice)))]


def _placeholder(name: str) -> str:
    return "{" + name + "}"


class Number(_Base):
    kind: Literal["number"]
    answer: float | str  #: a string: an expression of ``params`` (per-student questions)
    unit: str | None = Field(None, description='"%" accepts 94, "94%" and 0.94; "s" accepts 26, "26 s", "26 sec"')
    abs_tol: float = Field(0.0, ge=0)
    rel_tol: float = Field(1e-9, ge=0)
    alternatives: list[NumberAlternative] = Field(default_factory=list)
    #: per-student parameters, by name: each student's values are drawn from the course secret (grader/variants.py)
    params: dict[str, Param] = Field(default_factory=dict)

    _answer = field_validator("answer", mode="before")(_number_or_expression)

    @model_validator(mode="after")
    def _expressions(self) -> "Number":
        names = set(self.params)
        clash = sorted(names & (set(EXPRESSION_FUNCTIONS) | set(EXPRESSION_CONSTANTS)))
        if clash or any(not n.isidentifier() for n in names):
            raise ValueError(f"params must be names other than the expressions' functions and constants, got "
                             f"{clash or sorted(names)}")
        unshown = [n for n in sorted(names) if _placeholder(n) not in self.prompt]
        if unshown:
            raise ValueError(f"the prompt must show each param: add {', '.join(map(_placeholder, unshown))}")
        for answer in [self.answer, *(a.answer for a in self.alternatives)]:
            if isinstance(answer, str):
                if not names:
                    raise ValueError(f"answer {answer!r}: an expression needs per-student params (a plain number "
                                     "otherwise)")
                parse_expression(answer, names)
        return self

    def draw(self, rng: Any) -> dict[str, float | int]:
        """One student's values of the params (in their order), from a numpy Generator."""
        return {name: p.draw(rng) for name, p in self.params.items()}

    def with_params(self, values: dict[str, float | int]) -> "Number":
        """The question as one student gets it: ``{name}`` in the prompt replaced by their value, the answer (and the
        alternatives) evaluated for them, no params left."""
        prompt = self.prompt
        for name, value in values.items():
            prompt = prompt.replace(_placeholder(name), f"{value:.15g}" if isinstance(value, float) else str(value))

        def value_of(answer: float | str | None) -> float | None:  # 15 digits: 1.632, not 1.6320000000000001
            return float(f"{evaluate(answer, values):.15g}") if isinstance(answer, str) else answer

        fields = self.model_dump(exclude={"params", "answer", "alternatives", "prompt"})
        alternatives = [a.model_copy(update={"answer": value_of(a.answer)}) for a in self.alternatives]
        return type(self)(**fields, prompt=prompt, answer=value_of(self.answer), alternatives=alternatives)

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
        if isinstance(self.answer, str):  # not resolved for a student: the form alone can be judged
            return Score(0.0, "its numbers are per student: graded with the course secret", "per_student",
                         Status.PENDING)
        shown = f"{got:g}{' ' + self.unit if self.unit and self.unit != '%' else self.unit or ''}"
        if self._close(got, self.answer):
            return Score(1.0, f"correct: {shown}")
        for alt in self.alternatives:
            if isinstance(alt.answer, float) and self._close(got, alt.answer):
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
