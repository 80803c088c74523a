"""Case generators: named functions that build a case's inputs from parameters and a seed.

A generator returns a mapping from argument name to value. It runs on the trusted side only; the
values are handed to the sandbox as ``.npy`` files or JSON.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.models import Case
from grader.registry import Registry

Generator = Callable[[np.random.Generator, Any], dict[str, Any]]
GENERATORS: Registry[Generator] = Registry("generator")


class AutoencoderShape(BaseModel):
    model_config = ConfigDict(extra="forbid")
    m: int = Field(ge=1, description="input dimension")
    n: int = Field(ge=1, description="number of samples (columns of X)")
    k: int = Field(ge=1, description="code dimension")

    @model_validator(mode="after")
    def _k_below_m(self) -> "AutoencoderShape":
        if self.k > self.m:
            raise ValueError(f"k ({self.k}) must not exceed m ({self.m})")
        return self


@GENERATORS.register("gaussian_autoencoder", AutoencoderShape)
def gaussian_autoencoder(rng: np.random.Generator, p: AutoencoderShape) -> dict[str, Any]:
    """Gaussian data X (m x n) and random weights W1 (k x m), W2 (m x k), all float64."""
    X = rng.standard_normal((p.m, p.n))
    W1 = rng.standard_normal((p.k, p.m)) / np.sqrt(p.m)
    W2 = rng.standard_normal((p.m, p.k)) / np.sqrt(p.k)
    return {"X": X, "W1": W1, "W2": W2}


def build_inputs(case: Case) -> dict[str, Any]:
    """The inputs of one case, rebuilt deterministically from its generator, parameters and seed."""
    entry = GENERATORS[case.generator]
    params = entry.params.model_validate(case.params)
    return entry.func(np.random.default_rng(case.seed), params)
