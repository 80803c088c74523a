"""conv2d-forward: images and filters, and the slips of a strided, zero-padded 2-D cross-correlation (what
torch.nn.functional.conv2d computes): y[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v] * xp[n, c, s*i + u, s*j + v]
with xp the input padded by p zeros on each side."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.kit import SlipContext

from . import kit


class ConvShape(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    N: int = Field(ge=1, description="batch size")
    C: int = Field(ge=1, description="input channels")
    H: int = Field(ge=1, description="input height")
    W: int = Field(ge=1, description="input width")
    F: int = Field(ge=1, description="filters (output channels)")
    kh: int = Field(ge=1, description="kernel height")
    kw: int = Field(ge=1, description="kernel width")
    stride: int = Field(1, ge=1)
    padding: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _fits(self) -> "ConvShape":
        if self.H + 2 * self.padding < self.kh or self.W + 2 * self.padding < self.kw:
            raise ValueError("the kernel is larger than the padded input")
        return self


@kit.generator("conv_batch", ConvShape)
def conv_batch(rng: np.random.Generator, p: ConvShape) -> dict[str, Any]:
    """x (N, C, H, W), w (F, C, kh, kw), b (F,), Gaussian float64; stride and padding as ints."""
    x = rng.standard_normal((p.N, p.C, p.H, p.W))
    w = rng.standard_normal((p.F, p.C, p.kh, p.kw)) / np.sqrt(p.C * p.kh * p.kw)
    b = rng.standard_normal(p.F)
    return {"x": x, "w": w, "b": b, "stride": int(p.stride), "padding": int(p.padding)}


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | float, stride: int, padding: int) -> np.ndarray:
    """Cross-correlation as torch.nn.functional.conv2d, with bias b (F,) or 0."""
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]  # N, C, Ho, Wo, kh, kw
    y = np.einsum("nchwuv,fcuv->nfhw", windows, w)
    return y + np.reshape(b, (-1, 1, 1)) if np.ndim(b) else y + b


def _matches(s: SlipContext, **changed: Any) -> bool:
    (name,) = s.expected
    args = {k: s.inputs[k] for k in ("x", "w", "b", "stride", "padding")}
    return s.close(s.got[name], conv2d(**{**args, **changed}))


def flipped_kernel_answer(outputs: dict, inputs: dict) -> dict:
    """A true convolution: the cross-correlation with the kernel flipped along both spatial axes."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    (name,) = outputs
    x, b, stride, padding = (inputs[k] for k in ("x", "b", "stride", "padding"))
    w = inputs["w"][:, :, ::-1, ::-1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]  # N, C, Ho, Wo, kh, kw
    return {name: np.einsum("nchwuv,fcuv->nfhw", windows, w) + np.reshape(b, (-1, 1, 1))}


@kit.slip("flipped_kernel", "You flipped the kernel (a true convolution): conv2d, as in PyTorch, is a "
                            "cross-correlation, y[i, j] = sum_{u, v} w[u, v] x[s*i + u, s*j + v], no flip.",
          wrong=flipped_kernel_answer)
def flipped_kernel(s: SlipContext) -> bool:
    return _matches(s, w=s.inputs["w"][:, :, ::-1, ::-1])


def padding_ignored_answer(outputs: dict, inputs: dict) -> dict:
    """The cross-correlation of the unpadded input (the right answer where padding = 0)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    (name,) = outputs
    x, w, b, stride = (inputs[k] for k in ("x", "w", "b", "stride"))
    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]  # x itself, not padded
    return {name: np.einsum("nchwuv,fcuv->nfhw", windows, w) + np.reshape(b, (-1, 1, 1))}


@kit.slip("padding_ignored", "You ignored the padding: pad the input with `padding` zeros on each side of both "
                             "spatial axes (np.pad) before sliding the kernel.", wrong=padding_ignored_answer)
def padding_ignored(s: SlipContext) -> bool:
    return s.inputs["padding"] > 0 and _matches(s, padding=0)


def bias_missing_answer(outputs: dict, inputs: dict) -> dict:
    """The right output less its bias."""
    import numpy as np

    (name,) = outputs
    return {name: np.asarray(outputs[name], dtype=float) - np.reshape(inputs["b"], (-1, 1, 1))}


@kit.slip("bias_missing", "Your output has no bias: add b[f] to every position of output channel f.",
          wrong=bias_missing_answer)
def bias_missing(s: SlipContext) -> bool:
    return _matches(s, b=0.0)


def stride_ignored_answer(outputs: dict, inputs: dict) -> dict:
    """The cross-correlation with stride 1 (the right answer where stride = 1)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    (name,) = outputs
    x, w, b, padding = (inputs[k] for k in ("x", "w", "b", "padding"))
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xp, w.shape[2:], axis=(2, 3))  # every position: stride 1
    return {name: np.einsum("nchwuv,fcuv->nfhw", windows, w) + np.reshape(b, (-1, 1, 1))}


@kit.slip("stride_ignored", "You ignored the stride: move the kernel by `stride` positions, so the output is "
                            "(H + 2 padding - kh) // stride + 1 high (and likewise wide).",
          wrong=stride_ignored_answer)
def stride_ignored(s: SlipContext) -> bool:
    return s.inputs["stride"] > 1 and _matches(s, stride=1)
