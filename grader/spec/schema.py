"""The shape of the YAML files, as pydantic models (unknown keys are errors, so typos are caught)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, field_validator, model_validator

from grader.answers.questions import Question
from grader.answers.released import ReleasedQuestion
from grader.policy.rules import LatePolicy
from grader.variants import PER_STUDENT

Slug = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
Identifier = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)


class LimitsModel(Strict):
    call_seconds: PositiveFloat | None = None
    load_seconds: PositiveFloat | None = None
    scratch_mb: PositiveInt | None = None
    processes: PositiveInt | None = None
    problem_seconds: PositiveFloat | None = None
    memory_mb: PositiveInt | None = None
    output_kb: PositiveInt | None = None
    gpu: bool | None = None  #: expose the machine's NVIDIA GPU to the sandbox, when it has one


class AssignmentModel(Strict):
    id: str = Slug
    title: str
    problems: list[str] = Field(min_length=1)
    limits: LimitsModel = LimitsModel()
    released: bool = False  #: a student handout written by `grader release`
    #: the assignment's kit (grader.kit): a module ``<kit>.py`` or a package ``<kit>/`` beside assignment.yaml
    kit: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.py)?$")
    #: the due time, late penalty and slip days (grader.policy.rules), applied when outputs are written: never
    #: stored with the grades, so changing it regrades nothing
    late: LatePolicy | None = None


class EntryModel(Strict):
    args: list[str] = Field(min_length=1)
    returns: list[str] = Field(min_length=1)
    #: a driver of the assignment's kit that drives the student's code with the case's inputs
    driver: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]*$")
    signature: str | None = None  #: what students write, when a driver calls several functions of theirs


class CaseModel(Strict):
    id: str = Slug
    entry: str | None = None
    generator: str
    params: dict[str, Any] = {}
    #: a list of seeds (one case each), or ``per_student``: one case whose seed derives from the course secret, the
    #: student and the case (grader/variants.py)
    seeds: list[int] | Literal["per_student"]
    visibility: Literal["public", "hidden"]

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, value: Any) -> Any:
        if value == PER_STUDENT:
            return value
        if not isinstance(value, list) or not value:
            raise ValueError(f"expected a non-empty list of seeds (integers) or {PER_STUDENT!r}")
        bad = [v for v in value if isinstance(v, bool) or not isinstance(v, int) or v < 0]
        if bad:
            raise ValueError(f"seeds are integers of at least 0, got {bad}")
        return value


class CheckModel(Strict):
    name: str = Slug
    check: str
    points: float = Field(ge=0)
    params: dict[str, Any] = {}
    entry: str | None = None
    cases: list[str] | None = Field(None, min_length=1)


def _stated(reason: str) -> str:
    if not reason.strip():
        raise ValueError("give a reason (it is what the next author reads)")
    return reason.strip()


class EquivalentMark(Strict):
    """A mutant of the reference that no case can tell apart from it, and why (``grader validate --mutants``)."""

    mutant: str = Field(min_length=1, description="the mutant's id, as `grader validate --mutants` prints it")
    reason: str

    @field_validator("reason")
    @classmethod
    def _reason(cls, reason: str) -> str:
        return _stated(reason)


class RewriteMark(Strict):
    """A rewrite of the reference that is not a valid answer to this problem (for ``entry``, or every entry)."""

    rewrite: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    entry: str | None = None
    reason: str

    @field_validator("reason")
    @classmethod
    def _reason(cls, reason: str) -> str:
        return _stated(reason)


class MutantsModel(Strict):
    """Mutation testing's marks (``grader validate --mutants``); they decide no grade."""

    #: the reference's functions to mutate (default: every top-level function)
    functions: list[str] | None = Field(None, min_length=1)
    equivalent: list[EquivalentMark] = []
    rewrites_not_valid: list[RewriteMark] = []

    @field_validator("functions")
    @classmethod
    def _identifiers(cls, names: list[str] | None) -> list[str] | None:
        bad = [n for n in names or [] if not n.isidentifier()]
        if bad:
            raise ValueError(f"expected names of the reference's functions, got {bad}")
        return names

    @model_validator(mode="after")
    def _once(self) -> "MutantsModel":
        ids = [m.mutant for m in self.equivalent]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"mutant(s) marked equivalent twice: {twice}")
        return self


class LeaderboardModel(Strict):
    """A metric to rank the class by (grader/leaderboard.py): it decides no grade (left out of the fingerprint)."""

    metric: str = Field(min_length=1)  #: a key of the check's result data, e.g. time_to_target
    check: str = Slug  #: the check (its name in this spec) whose results' data holds the metric
    order: Literal["asc", "desc"]  #: asc: lower is better (Gradescope's word)
    label: str | None = Field(None, min_length=1)  #: how the board names the metric (default: the metric)
    #: over the check's cases, for a student whose check passed on every case
    aggregate: Literal["mean", "median", "min", "max", "sum"] = "mean"


class ProblemModel(Strict):
    id: str = Slug
    title: str
    statement: str
    points: float = Field(gt=0)
    entry: dict[str, EntryModel] = {}
    reference: str | None = None
    limits: LimitsModel = LimitsModel()
    cases: list[CaseModel] = []
    checks: list[CheckModel] = []
    questions: list[Question] = []
    mutants: MutantsModel | None = None  #: mutation testing's marks: decide no grade, left out of the fingerprint
    leaderboard: LeaderboardModel | None = None  #: a metric to rank the class by: decides no grade either

    @model_validator(mode="after")
    def _code_or_questions(self) -> "ProblemModel":
        if not self.checks and not self.questions:
            raise ValueError("a problem needs checks (on code) or questions (written answers), or both")
        if self.checks:
            missing = [f for f in ("entry", "reference", "cases") if not getattr(self, f)]
            if missing:
                raise ValueError(f"a problem with checks needs {', '.join(missing)}")
        if self.mutants is not None and not self.checks:
            raise ValueError("'mutants' marks mutants of a reference solution: a problem without checks has none")
        return self


# --------------------------------------------------------------------------- student releases


class ReleasedCheckModel(CheckModel):
    """A check in a student release: its case list may be empty (all its cases were hidden)."""

    cases: list[str] | None = None


class ReleasedProblemModel(ProblemModel):
    """A problem in a student release (``released: true`` in assignment.yaml): public cases only, no
    reference solution but ``expected``, a JSON file of the public cases' expected values; hidden
    questions without their answers."""

    expected: str | None = None
    checks: list[ReleasedCheckModel] = []  # type: ignore[assignment]
    questions: list[ReleasedQuestion] = []  # type: ignore[assignment]

    @model_validator(mode="after")
    def _code_or_questions(self) -> "ReleasedProblemModel":  # overrides the parent's check
        if not self.checks and not self.questions:
            raise ValueError("a problem needs checks (on code) or questions (written answers), or both")
        if self.reference is not None:
            raise ValueError("a released problem has no reference solution; its expected values are in 'expected'")
        if self.checks:
            missing = [f for f in ("entry", "expected") if not getattr(self, f)]
            if missing:
                raise ValueError(f"a released problem with checks needs {', '.join(missing)}")
        return self
