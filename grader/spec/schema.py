"""The shape of the YAML files, as pydantic models (unknown keys are errors, so typos are caught)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

Slug = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
Identifier = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)


class LimitsModel(Strict):
    call_seconds: PositiveFloat | None = None
    problem_seconds: PositiveFloat | None = None
    memory_mb: PositiveInt | None = None
    output_kb: PositiveInt | None = None


class AssignmentModel(Strict):
    id: str = Slug
    title: str
    problems: list[str] = Field(min_length=1)
    limits: LimitsModel = LimitsModel()


class EntryModel(Strict):
    args: list[str] = Field(min_length=1)
    returns: list[str] = Field(min_length=1)


class CaseModel(Strict):
    id: str = Slug
    entry: str | None = None
    generator: str
    params: dict[str, Any] = {}
    seeds: list[int] = Field(min_length=1)
    visibility: Literal["public", "hidden"]


class CheckModel(Strict):
    name: str = Slug
    check: str
    points: float = Field(ge=0)
    params: dict[str, Any] = {}
    entry: str | None = None
    cases: list[str] | None = Field(None, min_length=1)


class ProblemModel(Strict):
    id: str = Slug
    title: str
    statement: str
    points: float = Field(gt=0)
    entry: dict[str, EntryModel] = Field(min_length=1)
    reference: str
    limits: LimitsModel = LimitsModel()
    cases: list[CaseModel] = Field(min_length=1)
    checks: list[CheckModel] = Field(min_length=1)
