"""Valid rewrites of the reference's answer, which must keep full marks: the same answer as another type, at
another precision, or in another basis.

Built in: ``float32`` (floating inputs cast to float32 before the call, floating outputs after it), ``lists``
(array outputs as nested lists), ``torch`` (array outputs as torch tensors; only where torch imports). A kit adds
its own with ``@kit.rewrite(name, entries=...)``. Each applies to the entries without a driver (a driven entry's
function returns nothing the grader compares); a spec marks a rewrite that is not a valid answer to one of its
entries under ``mutants: rewrites_not_valid``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Callable

from grader.kit import Kit, KitError
from grader.models import ProblemSpec
from grader.mutants.inline import where
from grader.mutants.wrappers import wrapped


@dataclass(frozen=True)
class ValidRewrite:
    name: str
    after: Callable  #: (outputs, inputs) -> outputs, self-contained
    before: Callable | None = None  #: inputs -> inputs, self-contained
    entries: tuple[str, ...] | None = None  #: the entries it applies to; None: every entry without a driver
    doc: str = ""


def float32_inputs(inputs: dict) -> dict:
    import numpy

    return {n: v.astype(numpy.float32) if isinstance(v, numpy.ndarray) and v.dtype.kind == "f" else v
            for n, v in inputs.items()}


def float32_outputs(outputs: dict, inputs: dict) -> dict:
    import numpy

    return {n: v.astype(numpy.float32) if isinstance(v, numpy.ndarray) and v.dtype.kind == "f" else v
            for n, v in outputs.items()}


def list_outputs(outputs: dict, inputs: dict) -> dict:
    import numpy

    return {n: v.tolist() if isinstance(v, numpy.ndarray) else v for n, v in outputs.items()}


def torch_outputs(outputs: dict, inputs: dict) -> dict:
    import numpy
    import torch

    return {n: torch.from_numpy(numpy.ascontiguousarray(v)) if isinstance(v, numpy.ndarray) and v.dtype.kind in "biuf"
            else v for n, v in outputs.items()}


BUILT_IN = (
    ValidRewrite("float32", float32_outputs, float32_inputs, doc="computed in float32"),
    ValidRewrite("lists", list_outputs, doc="arrays returned as nested lists"),
    ValidRewrite("torch", torch_outputs, doc="arrays returned as torch tensors"),
)


def _torch_here() -> bool:
    return importlib.util.find_spec("torch") is not None


def known(kit: Kit) -> list[str]:
    """Every rewrite's name, built-in and the kit's (whether or not it can run on this machine)."""
    return [r.name for r in BUILT_IN] + sorted(kit.rewrites)


def available(kit: Kit) -> list[ValidRewrite]:
    """The rewrites to try here: the built-in ones (torch where it imports), then the kit's."""
    clash = sorted(set(kit.rewrites) & {r.name for r in BUILT_IN})
    if clash:
        raise KitError(f"{where(kit.rewrites[clash[0]].func)}: the kit's rewrite {clash[0]!r} reuses a built-in "
                       f"rewrite's name (built in: {', '.join(r.name for r in BUILT_IN)}); give it another")
    found = [r for r in BUILT_IN if r.name != "torch" or _torch_here()]
    return found + [ValidRewrite(r.name, r.func, None, r.entries, r.doc) for _, r in sorted(kit.rewrites.items())]


def applies_to(rewrite: ValidRewrite, problem: ProblemSpec) -> list[str]:
    """The problem's entries without a driver that ``rewrite`` applies to (empty: it is not for this problem)."""
    return [e.name for e in problem.entries if e.driver is None
            and (rewrite.entries is None or e.name in rewrite.entries)]


def rewritten(reference: str, problem: ProblemSpec, rewrite: ValidRewrite, entries: list[str]) -> str:
    """The reference with ``rewrite`` applied to ``entries``."""
    return wrapped(reference, [problem.entry(e) for e in entries], rewrite.after, f"the rewrite {rewrite.name!r}",
                   rewrite.before)
