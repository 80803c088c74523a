"""causal-attention: queries, keys and values, and the slips of single-head causal scaled dot-product
attention, out = softmax(mask(Q K^T / sqrt(d))) V with query t attending to keys 0..t."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from grader.kit import SlipContext

from . import kit


class AttentionShape(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    T: int = Field(ge=2, description="sequence length")
    d: int = Field(ge=2, description="dimension of queries and keys (d >= 2 so that 1/sqrt(d) matters)")
    dv: int = Field(ge=1, description="dimension of values")
    scale: float = Field(1.0, gt=0, description="standard deviation of Q and K")


@kit.generator("attention_qkv", AttentionShape)
def attention_qkv(rng: np.random.Generator, p: AttentionShape) -> dict[str, Any]:
    """Q, K (T x d) and V (T x dv), Gaussian, float64."""
    Q = p.scale * rng.standard_normal((p.T, p.d))
    K = p.scale * rng.standard_normal((p.T, p.d))
    V = rng.standard_normal((p.T, p.dv))
    return {"Q": Q, "K": K, "V": V}


def _softmax(S: np.ndarray, axis: int = -1) -> np.ndarray:
    E = np.exp(S - S.max(axis=axis, keepdims=True))
    return E / E.sum(axis=axis, keepdims=True)


def attention(Q: np.ndarray, K: np.ndarray, V: np.ndarray, *, scale: float | None = None, mask: str = "causal",
              axis: int = -1, mask_after: bool = False) -> np.ndarray:
    """Attention with the knobs the slips turn: the score scale (default 1/sqrt(d)), the mask ("causal": key
    j <= query t; "transposed": j >= t; "none"), the softmax's axis, and masking the probabilities instead of
    the scores (zeroing the future without renormalising)."""
    T, d = Q.shape
    S = Q @ K.T * (1.0 / np.sqrt(d) if scale is None else scale)
    keep = {"causal": np.tril(np.ones((T, T), dtype=bool)), "transposed": np.triu(np.ones((T, T), dtype=bool)),
            "none": np.ones((T, T), dtype=bool)}[mask]
    if mask_after:
        return (_softmax(S, axis) * keep) @ V
    return _softmax(np.where(keep, S, -np.inf), axis) @ V


def _matches(s: SlipContext, **knobs: Any) -> bool:
    (name,) = s.expected
    return s.close(s.got[name], attention(s.inputs["Q"], s.inputs["K"], s.inputs["V"], **knobs))


def no_mask_answer(outputs: dict, inputs: dict) -> dict:
    """softmax(Q K^T / sqrt(d)) V over every key: no causal mask."""
    import numpy as np

    (name,) = outputs
    Q, K, V = inputs["Q"], inputs["K"], inputs["V"]
    S = Q @ K.T / np.sqrt(Q.shape[1])
    A = np.exp(S - S.max(axis=1, keepdims=True))
    return {name: A / A.sum(axis=1, keepdims=True) @ V}


@kit.slip("no_mask", "You applied no causal mask: query t may only attend to keys 0..t; set the scores of "
                     "later keys to -inf before the softmax.", wrong=no_mask_answer)
def no_mask(s: SlipContext) -> bool:
    return _matches(s, mask="none")


def mask_transposed_answer(outputs: dict, inputs: dict) -> dict:
    """The mask keeps the upper triangle (key j >= query t, the future) instead of the lower one."""
    import numpy as np

    (name,) = outputs
    Q, K, V = inputs["Q"], inputs["K"], inputs["V"]
    T = Q.shape[0]
    S = np.where(np.triu(np.ones((T, T), dtype=bool)), Q @ K.T / np.sqrt(Q.shape[1]), -np.inf)
    A = np.exp(S - S.max(axis=1, keepdims=True))
    return {name: A / A.sum(axis=1, keepdims=True) @ V}


@kit.slip("mask_transposed", "Your mask is the wrong way round: query t attends to keys t..T-1 (the future) "
                             "instead of 0..t; keep the lower triangle of the scores (j <= t), e.g. np.tril.",
          wrong=mask_transposed_answer)
def mask_transposed(s: SlipContext) -> bool:
    return _matches(s, mask="transposed")


def mask_after_softmax_answer(outputs: dict, inputs: dict) -> dict:
    """The softmax over every key, then the future probabilities zeroed (rows not renormalised)."""
    import numpy as np

    (name,) = outputs
    Q, K, V = inputs["Q"], inputs["K"], inputs["V"]
    S = Q @ K.T / np.sqrt(Q.shape[1])
    A = np.exp(S - S.max(axis=1, keepdims=True))
    A = A / A.sum(axis=1, keepdims=True) * np.tril(np.ones((Q.shape[0], Q.shape[0])))
    return {name: A @ V}


@kit.slip("mask_after_softmax", "You masked after the softmax: zeroing the future probabilities leaves rows "
                                "that no longer sum to 1. Set the future scores to -inf before the softmax.",
          wrong=mask_after_softmax_answer)
def mask_after_softmax(s: SlipContext) -> bool:
    return _matches(s, mask_after=True)


def unscaled_answer(outputs: dict, inputs: dict) -> dict:
    """Causal attention on the scores Q K^T, not divided by sqrt(d)."""
    import numpy as np

    (name,) = outputs
    Q, K, V = inputs["Q"], inputs["K"], inputs["V"]
    T = Q.shape[0]
    S = np.where(np.tril(np.ones((T, T), dtype=bool)), Q @ K.T, -np.inf)
    A = np.exp(S - S.max(axis=1, keepdims=True))
    return {name: A / A.sum(axis=1, keepdims=True) @ V}


@kit.slip("unscaled", "Your scores are not scaled: divide Q K^T by sqrt(d), d the dimension of the queries "
                      "and keys.", wrong=unscaled_answer)
def unscaled(s: SlipContext) -> bool:
    return _matches(s, scale=1.0)


def scaled_by_d_answer(outputs: dict, inputs: dict) -> dict:
    """Causal attention on the scores Q K^T / d instead of / sqrt(d)."""
    import numpy as np

    (name,) = outputs
    Q, K, V = inputs["Q"], inputs["K"], inputs["V"]
    T, d = Q.shape
    S = np.where(np.tril(np.ones((T, T), dtype=bool)), Q @ K.T / d, -np.inf)
    A = np.exp(S - S.max(axis=1, keepdims=True))
    return {name: A / A.sum(axis=1, keepdims=True) @ V}


@kit.slip("scaled_by_d", "You divided the scores by d: scaled dot-product attention divides Q K^T by sqrt(d).",
          wrong=scaled_by_d_answer)
def scaled_by_d(s: SlipContext) -> bool:
    return _matches(s, scale=1.0 / s.inputs["Q"].shape[1])


def softmax_over_queries_answer(outputs: dict, inputs: dict) -> dict:
    """The causally masked scores normalised over each column (the queries, axis 0) instead of each row."""
    import numpy as np

    (name,) = outputs
    Q, K, V = inputs["Q"], inputs["K"], inputs["V"]
    T = Q.shape[0]
    S = np.where(np.tril(np.ones((T, T), dtype=bool)), Q @ K.T / np.sqrt(Q.shape[1]), -np.inf)
    A = np.exp(S - S.max(axis=0, keepdims=True))
    return {name: A / A.sum(axis=0, keepdims=True) @ V}


@kit.slip("softmax_over_queries", "Your softmax normalises each column (over the queries, axis 0): each query's "
                                  "weights over the keys, a row of the scores, must sum to 1 (axis -1).",
          wrong=softmax_over_queries_answer)
def softmax_over_queries(s: SlipContext) -> bool:
    return _matches(s, axis=0)
