"""softmax-xent-grad: logits and labels, the mean cross-entropy (for finite differences), and the slips of
its gradient dL/dZ = (softmax(Z) - onehot(y)) / n."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from grader.kit import AnswerError, CaseData, SlipContext, Verdict, as_array

from . import kit


class LogitsShape(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    n: int = Field(ge=1, description="batch size (rows of Z)")
    c: int = Field(ge=2, description="number of classes (columns of Z)")
    scale: float = Field(2.0, gt=0, description="standard deviation of the logits")
    offset: float = Field(0.0, description="added to every logit: 1000 makes a softmax without the max shift overflow")


@kit.generator("logits_labels", LogitsShape)
def logits_labels(rng: np.random.Generator, p: LogitsShape) -> dict[str, Any]:
    """Gaussian logits Z (n x c, float64) shifted by ``offset``, and integer labels y (n,) in [0, c)."""
    Z = p.scale * rng.standard_normal((p.n, p.c)) + p.offset
    y = rng.integers(0, p.c, size=p.n).astype(np.int64)
    return {"Z": Z, "y": y}


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row max (stable)."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def one_hot(y: np.ndarray, c: int) -> np.ndarray:
    Y = np.zeros((len(y), c))
    Y[np.arange(len(y)), np.asarray(y, dtype=np.int64)] = 1.0
    return Y


@kit.loss("mean_cross_entropy")
def mean_cross_entropy(v: dict[str, Any]) -> float:
    """L(Z) = mean_i [logsumexp(Z_i) - Z_i,y_i], computed stably."""
    Z, y = v["Z"], np.asarray(v["y"], dtype=np.int64)
    m = Z.max(axis=1)
    lse = m + np.log(np.exp(Z - m[:, None]).sum(axis=1))
    return float(np.mean(lse - Z[np.arange(len(y)), y]))


def not_averaged_answer(outputs: dict, inputs: dict) -> dict:
    """The gradient of the summed loss: the right one times n."""
    import numpy as np

    (name,) = outputs
    return {name: np.asarray(outputs[name], dtype=float) * inputs["Z"].shape[0]}


@kit.slip("not_averaged", "Your gradient is n times too large: the loss is the mean over the batch, so "
                          "dL/dZ = (softmax(Z) - onehot(y)) / n.", wrong=not_averaged_answer)
def not_averaged(s: SlipContext) -> bool:
    return s.all_scaled(float(s.inputs["Z"].shape[0]))


def probs_only_answer(outputs: dict, inputs: dict) -> dict:
    """softmax(Z) / n: the probabilities, the one-hot labels never subtracted."""
    import numpy as np

    (name,) = outputs
    Z = np.asarray(inputs["Z"], dtype=float)
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return {name: P / Z.shape[0]}


@kit.slip("probs_only", "You returned the softmax probabilities: subtract the one-hot encoding of the labels, "
                        "dL/dZ = (softmax(Z) - onehot(y)) / n.", wrong=probs_only_answer)
def probs_only(s: SlipContext) -> bool:
    (name,) = s.expected
    P = softmax(s.inputs["Z"])
    return s.close(s.got[name], P / P.shape[0]) or s.close(s.got[name], P)


def no_max_shift_answer(outputs: dict, inputs: dict) -> dict:
    """(softmax(Z) - onehot(y)) / n with the softmax computed as exp(Z) / sum(exp(Z)), no row max subtracted: right
    where exp(Z) stays finite, NaN where the logits are +-1000."""
    import numpy as np

    (name,) = outputs
    Z, y = np.asarray(inputs["Z"], dtype=float), np.asarray(inputs["y"], dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        E = np.exp(Z)
        P = E / E.sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1.0
    return {name: P / Z.shape[0]}


@kit.slip("no_max_shift", "Your result has NaN or infinite entries where the logits are huge: exp(1000) "
                          "overflows to inf (and exp(-1000) underflows to 0, giving 0/0): subtract the row max "
                          "before exp, since softmax(z - max(z)) = softmax(z).", wrong=no_max_shift_answer)
def no_max_shift(s: SlipContext) -> bool:
    """NaN or inf in the answer, on logits where a softmax without the max shift is not finite."""
    got = next(iter(s.got.values()))
    Z = s.inputs["Z"]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        E = np.exp(Z)
        naive_fails = not np.all(np.isfinite(E / E.sum(axis=1, keepdims=True)))
    return naive_fails and not np.all(np.isfinite(got))


class RowSums(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    output: str = Field("dZ", description="the returned gradient")
    atol: float = Field(1e-8, gt=0, description="largest |row sum| accepted, relative to the largest |entry|")


@kit.check("rows_sum_to_zero", RowSums)
def rows_sum_to_zero(data: CaseData, p: RowSums) -> Verdict:
    """A property of the answer, independent of the reference: every row of dL/dZ sums to zero, because the
    softmax probabilities and the one-hot labels each sum to one."""
    dZ = as_array(data.outputs()[p.output], p.output)
    if dZ.ndim != 2 or not np.all(np.isfinite(dZ)):
        raise AnswerError(f"{p.output} should be a finite n x c array, got shape {dZ.shape}"
                          + ("" if np.all(np.isfinite(dZ)) else " with NaN or infinite entries"))
    sums = np.abs(dZ.sum(axis=1))
    scale = max(float(np.abs(dZ).max()), 1e-300)
    worst = int(np.argmax(sums))
    if sums[worst] <= p.atol * scale:
        return Verdict(True, f"every row of {p.output} sums to zero, as softmax(Z) - onehot(y) must")
    return Verdict(False, f"row {worst} of {p.output} sums to {dZ.sum(axis=1)[worst]:.3g}, not 0: softmax(Z) and "
                          "onehot(y) each sum to one over the classes, so their difference sums to zero",
                   diagnosis="rows_do_not_sum_to_zero")
