"""Trusted-side decoding of what the sandbox sent: JSON and ``.npy`` only, with size and depth caps.

Nothing read here can execute: ``json`` builds plain dicts, lists, strings and numbers, and
``numpy.load(allow_pickle=False)`` builds plain ndarrays of numeric dtypes only.
"""

from __future__ import annotations

import base64
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np


MAX_RESULT_BYTES = 64 * 1024 * 1024  #: the largest framed result read from the event pipe
MAX_DEPTH = 20


class WireError(Exception):
    """What the sandbox sent is not a well-formed value."""


def parse_payload(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"the result is not valid JSON ({exc.__class__.__name__})") from exc
    except ValueError as exc:  # int() refuses more than sys.get_int_max_str_digits() digits
        raise WireError(f"your code returned an integer too large for a float (more than "
                        f"{sys.get_int_max_str_digits()} digits)") from exc


def _digits(number: int) -> str:
    """How many decimal digits ``number`` has, without converting past Python's digit limit."""
    try:
        return str(len(str(abs(number))))
    except ValueError:
        return f"about {int(number.bit_length() * math.log10(2)) + 1}"


def _plain(body: Any) -> Any:
    """A JSON scalar the checks can use: an integer must fit a float (numbers are compared as floats)."""
    if body is not None and type(body) not in (bool, int, float, str):
        raise WireError("malformed plain value")
    if type(body) is int:
        try:
            float(body)
        except OverflowError:
            raise WireError(f"your code returned an integer too large for a float ({_digits(body)} digits; "
                            "the largest float is about 1.8e308)") from None
    return body


def _npy(body: Any) -> np.ndarray:
    if not isinstance(body, str):
        raise WireError("malformed array")
    try:
        raw = base64.b64decode(body.encode("ascii"), validate=True)
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError, UnicodeEncodeError) as exc:
        raise WireError(f"an array is not a valid .npy payload ({exc})") from exc
    if type(array) is not np.ndarray or array.dtype.kind not in "biufc":
        raise WireError("an array does not hold numbers")
    return array


def decode(value: Any, depth: int = 0) -> Any:
    """Rebuild a returned value from its wire form: ``{"json": v}``, ``{"npy_b64": s}``, lists, tuples, dicts."""
    if depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    if not isinstance(value, dict) or len(value) != 1:
        raise WireError("malformed value")
    ((kind, body),) = value.items()
    if kind == "json":
        return _plain(body)
    if kind == "npy_b64":
        return _npy(body)
    if kind in ("list", "tuple") and isinstance(body, list):
        items = [decode(v, depth + 1) for v in body]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and isinstance(body, dict):
        return {str(k): decode(v, depth + 1) for k, v in body.items()}
    raise WireError(f"unknown value kind {kind!r}")


def encode_arg(value: Any, folder: Path | None, name: str) -> dict[str, Any]:
    """One input for the sandbox: arrays as .npy (a file in ``folder``, or inline when it is None), an object
    whose class has ``__sandbox__() -> (module, spec)`` as that description (a kit's sandbox module rebuilds
    it), everything else as JSON."""
    if isinstance(value, np.ndarray):
        if folder is None:
            buffer = io.BytesIO()
            np.save(buffer, value, allow_pickle=False)
            return {"npy_b64": base64.b64encode(buffer.getvalue()).decode("ascii")}
        np.save(folder / f"{name}.npy", value, allow_pickle=False)
        return {"npy": f"in/{name}.npy"}
    describe = getattr(type(value), "__sandbox__", None)
    if describe is not None:  # a kit's object, rebuilt inside the sandbox by its module's build(spec)
        module, spec = describe(value)
        json.dumps(spec)
        return {"object": str(module), "spec": spec}
    json.dumps(value)  # raises for anything that is not plain data
    return {"json": value}
