"""The kit of tests/variants: one generator of a matrix and a vector."""

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from grader.kit import Kit

kit = Kit(__file__)


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(ge=1)
    d: int = Field(ge=1)


@kit.generator("matrix_vector", Shape)
def matrix_vector(rng: np.random.Generator, p: Shape) -> dict:
    return {"A": rng.standard_normal((p.n, p.d)), "w": rng.standard_normal(p.d)}
