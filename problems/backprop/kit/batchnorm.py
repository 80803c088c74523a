"""batchnorm-backward: batches for training-mode batch norm over the batch axis, the probe loss
sum(dout * batchnorm(x)) for finite differences, and the slips of the backward pass.

Forward: xhat = (x - mean(x, 0)) / sqrt(var(x, 0) + eps) (biased variance), out = gamma * xhat + beta.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from grader.kit import SlipContext

from . import kit


class BatchShape(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    n: int = Field(ge=3, description="batch size (rows of x)")
    d: int = Field(ge=1, description="number of features (columns of x)")
    eps: float = Field(1e-5, gt=0, description="added to the variance")


@kit.generator("batchnorm_batch", BatchShape)
def batchnorm_batch(rng: np.random.Generator, p: BatchShape) -> dict[str, Any]:
    """x (n x d) with a different mean and spread per feature, gamma (d,) of both signs, an upstream gradient
    dout (n x d), and eps (a float)."""
    loc = rng.uniform(-3.0, 3.0, size=p.d)
    spread = rng.uniform(0.5, 3.0, size=p.d)
    x = loc + spread * rng.standard_normal((p.n, p.d))
    gamma = rng.uniform(0.5, 2.0, size=p.d) * rng.choice([-1.0, 1.0], size=p.d)
    dout = rng.standard_normal((p.n, p.d))
    return {"dout": dout, "x": x, "gamma": gamma, "eps": float(p.eps)}


def normalize(x: np.ndarray, eps: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(xhat, 1 / sqrt(var + eps)) with the mean and biased variance over ``axis``."""
    mu = x.mean(axis=axis, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    return (x - mu) * inv_std, inv_std


@kit.loss("batchnorm_probe")
def batchnorm_probe(v: dict[str, Any]) -> float:
    """sum(dout * (gamma * xhat + beta)): its gradients in x and gamma are dx and dgamma (beta adds a constant)."""
    xhat, _ = normalize(v["x"], v["eps"])
    return float(np.sum(v["dout"] * v["gamma"] * xhat))


def parameter_grads(dout: np.ndarray, xhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (dout * xhat).sum(axis=0), dout.sum(axis=0)


def _dx_matches(s: SlipContext, wrong_dx: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> bool:
    """dx equals ``wrong_dx(dxhat, xhat, inv_std)`` while dgamma and dbeta are right."""
    dout, x, gamma, eps = s.inputs["dout"], s.inputs["x"], s.inputs["gamma"], s.inputs["eps"]
    xhat, inv_std = normalize(x, eps)
    dx = wrong_dx(dout * gamma, xhat, inv_std)
    return (s.close(s.got["dx"], dx) and s.close(s.got["dgamma"], s.expected["dgamma"])
            and s.close(s.got["dbeta"], s.expected["dbeta"]))


def constants_treated_answer(outputs: dict, inputs: dict) -> dict:
    """dx = dout * gamma / sqrt(var + eps), the batch mean and variance taken as constants; dgamma, dbeta right."""
    import numpy as np

    x = np.asarray(inputs["x"], dtype=float)
    return {"dx": inputs["dout"] * inputs["gamma"] / np.sqrt(x.var(axis=0) + inputs["eps"])}


@kit.slip("constants_treated", "Your dx treats the batch mean and variance as constants "
                               "(dx = dout * gamma / sqrt(var + eps)): both depend on every x_i, so dx has two "
                               "more terms, -mean(dxhat) and -xhat * mean(dxhat * xhat).",
          wrong=constants_treated_answer)
def constants_treated(s: SlipContext) -> bool:
    return _dx_matches(s, lambda dxhat, xhat, inv_std: dxhat * inv_std)


def variance_constant_answer(outputs: dict, inputs: dict) -> dict:
    """dx = (dxhat - mean(dxhat)) / sqrt(var + eps): the mean's term kept, the variance's dropped."""
    import numpy as np

    x = np.asarray(inputs["x"], dtype=float)
    dxhat = inputs["dout"] * inputs["gamma"]
    return {"dx": (dxhat - dxhat.mean(axis=0)) / np.sqrt(x.var(axis=0) + inputs["eps"])}


@kit.slip("variance_constant", "Your dx treats the batch variance as a constant: you kept the mean's term "
                               "-mean(dxhat) but not the variance's, -xhat * mean(dxhat * xhat).",
          wrong=variance_constant_answer)
def variance_constant(s: SlipContext) -> bool:
    return _dx_matches(s, lambda dxhat, xhat, inv_std: inv_std * (dxhat - dxhat.mean(axis=0, keepdims=True)))


def dgamma_dbeta_swapped_answer(outputs: dict, inputs: dict) -> dict:
    """(dx, dbeta, dgamma): the right values, the last two in the wrong order."""
    return {"dgamma": outputs["dbeta"], "dbeta": outputs["dgamma"]}


@kit.slip("dgamma_dbeta_swapped", "dgamma and dbeta are swapped: dgamma = sum_i dout_i * xhat_i and "
                                  "dbeta = sum_i dout_i; return (dx, dgamma, dbeta) in that order.",
          wrong=dgamma_dbeta_swapped_answer)
def dgamma_dbeta_swapped(s: SlipContext) -> bool:
    return (s.close(s.got["dgamma"], s.expected["dbeta"]) and s.close(s.got["dbeta"], s.expected["dgamma"])
            and s.close(s.got["dx"], s.expected["dx"]))


def layer_norm_axis_answer(outputs: dict, inputs: dict) -> dict:
    """The right backward pass, for xhat normalised over each row's features (axis 1) instead of the batch."""
    import numpy as np

    dout, x, gamma, eps = inputs["dout"], np.asarray(inputs["x"], dtype=float), inputs["gamma"], inputs["eps"]
    inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - x.mean(axis=1, keepdims=True)) * inv_std
    dxhat = dout * gamma
    dx = inv_std * (dxhat - dxhat.mean(axis=1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))
    return {"dx": dx, "dgamma": np.sum(dout * xhat, axis=0), "dbeta": np.sum(dout, axis=0)}


@kit.slip("layer_norm_axis", "You normalised each row over its features (axis 1, a layer norm): batch norm "
                             "takes the mean and variance of each feature over the batch (axis 0).",
          wrong=layer_norm_axis_answer)
def layer_norm_axis(s: SlipContext) -> bool:
    """The backward pass of x -> gamma * xhat + beta with xhat normalised along axis 1."""
    dout, x, gamma, eps = s.inputs["dout"], s.inputs["x"], s.inputs["gamma"], s.inputs["eps"]
    xhat, inv_std = normalize(x, eps, axis=1)
    dxhat = dout * gamma
    dx = inv_std * (dxhat - dxhat.mean(axis=1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))
    dgamma, dbeta = parameter_grads(dout, xhat)
    return s.close(s.got["dx"], dx) and s.close(s.got["dgamma"], dgamma) and s.close(s.got["dbeta"], dbeta)
