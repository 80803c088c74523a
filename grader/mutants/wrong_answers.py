"""The wrong answers of the engine's generic slips (``sign``, ``factor_two``, ``double``, ``transposed``, ``swapped``,
``zeros``, ``returned_inputs``), built from the reference's outputs for slip mutants.

Each is ``(outputs, inputs) -> outputs`` like a kit's ``wrong=``, and self-contained: it is copied into the sandbox as
source. They live here rather than beside the slips in ``grader/checks/slips.py``: that file decides grades (its
hash is part of every problem's fingerprint), these decide none.
"""

from __future__ import annotations

from typing import Callable

from grader.kit import WrongAnswer

#: a built-in slip's name -> the builder of its wrong answer
WRONG_ANSWERS: dict[str, WrongAnswer] = {}


def _wrong_answer(name: str) -> Callable[[WrongAnswer], WrongAnswer]:
    def decorate(func: WrongAnswer) -> WrongAnswer:
        WRONG_ANSWERS[name] = func
        return func

    return decorate


@_wrong_answer("transposed")
def transposed_answer(outputs: dict, inputs: dict) -> dict:
    """Every 2-D output of another shape than its transpose, transposed."""
    import numpy

    arrays = {n: numpy.asarray(v) for n, v in outputs.items()}
    return {n: a.T.copy() if a.ndim == 2 and a.shape[0] != a.shape[1] else a for n, a in arrays.items()}


@_wrong_answer("factor_two")
def factor_two_answer(outputs: dict, inputs: dict) -> dict:
    import numpy

    return {n: 0.5 * numpy.asarray(v, dtype=float) for n, v in outputs.items()}


@_wrong_answer("double")
def double_answer(outputs: dict, inputs: dict) -> dict:
    import numpy

    return {n: 2.0 * numpy.asarray(v, dtype=float) for n, v in outputs.items()}


@_wrong_answer("sign")
def sign_answer(outputs: dict, inputs: dict) -> dict:
    import numpy

    return {n: -numpy.asarray(v, dtype=float) for n, v in outputs.items()}


@_wrong_answer("swapped")
def swapped_answer(outputs: dict, inputs: dict) -> dict:
    names = list(outputs)
    return {names[0]: outputs[names[1]], names[1]: outputs[names[0]]} if len(names) == 2 else dict(outputs)


@_wrong_answer("zeros")
def zeros_answer(outputs: dict, inputs: dict) -> dict:
    import numpy

    return {n: numpy.zeros_like(numpy.asarray(v, dtype=float)) for n, v in outputs.items()}


@_wrong_answer("returned_inputs")
def returned_inputs_answer(outputs: dict, inputs: dict) -> dict:
    """Each output replaced by the first input array of its shape (else the first input array)."""
    import numpy

    arrays = [v for v in inputs.values() if isinstance(v, numpy.ndarray)]
    if not arrays:
        return dict(outputs)
    out = {}
    for n, v in outputs.items():
        shape = numpy.shape(v)
        out[n] = next((a for a in arrays if a.shape == shape), arrays[0]).copy()
    return out
