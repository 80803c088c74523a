"""Case generators: named functions that build a case's inputs from parameters and a seed.

A generator returns a mapping from argument name to value. It runs on the trusted side only; the
values are handed to the sandbox as ``.npy`` files or JSON.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from grader.models import Case
from grader.registry import Registry

Generator = Callable[[np.random.Generator, Any], dict[str, Any]]
GENERATORS: Registry[Generator] = Registry("generator")


def build_inputs(case: Case) -> dict[str, Any]:
    """The inputs of one case, rebuilt deterministically from its generator, parameters and seed."""
    entry = GENERATORS[case.generator]
    params = entry.params.model_validate(case.params)
    return entry.func(np.random.default_rng(case.seed), params)


# Importing the generator modules registers them.
from grader.cases import autoencoder, seq2seq  # noqa: E402,F401
from grader.cases import regularized  # noqa: E402,F401
