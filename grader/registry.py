"""A tiny name -> implementation registry, used for case generators, checks, losses and slips.

Each entry may carry a pydantic model for its parameters, so a spec that names it is validated
against that model when it is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

F = TypeVar("F", bound=Callable[..., Any])


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


@dataclass(frozen=True)
class Entry(Generic[F]):
    name: str
    func: F
    params: type[BaseModel]
    doc: str


class Registry(Generic[F]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[F]] = {}

    def register(self, name: str, params: type[BaseModel] = NoParams, doc: str | None = None) -> Callable[[F], F]:
        """Register under ``name``; ``doc`` (default: the docstring's first line) describes it or, for a slip,
        is the feedback a student reads."""

        def decorate(func: F) -> F:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            lines = (func.__doc__ or "").strip().splitlines()
            self._entries[name] = Entry(name, func, params, doc if doc is not None else lines[0] if lines else "")
            return func

        return decorate

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> Entry[F]:
        return self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)
