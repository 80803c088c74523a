"""Trusted-side decoding of what the sandbox wrote: JSON and ``.npy`` only, with size and depth caps.

Nothing read here can execute: ``json`` builds plain dicts, lists, strings and numbers, and
``numpy.load(allow_pickle=False)`` builds plain ndarrays of numeric dtypes only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from grader.sandbox.scripted import ScriptedDecoder

MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_NPY_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 20


class WireError(Exception):
    """What the sandbox wrote is not a well-formed value."""


def read_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise WireError("no result was written") from exc
    if size > MAX_JSON_BYTES:
        raise WireError(f"the result is too large ({size} bytes)")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"the result is not valid JSON ({exc.__class__.__name__})") from exc


def _npy(folder: Path, name: Any) -> np.ndarray:
    if not isinstance(name, str) or "/" in name or name.startswith(".") or not name.endswith(".npy"):
        raise WireError(f"bad array reference {name!r}")
    path = folder / name
    if not path.is_file() or path.is_symlink():
        raise WireError(f"array file {name} is missing")
    if path.stat().st_size > MAX_NPY_BYTES:
        raise WireError(f"array file {name} is too large")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise WireError(f"array file {name} is not a valid .npy file ({exc})") from exc
    if type(array) is not np.ndarray or array.dtype.kind not in "biufc":
        raise WireError(f"array file {name} does not hold numbers")
    return array


def decode(value: Any, folder: Path, depth: int = 0) -> Any:
    """Rebuild a returned value from its wire form: ``{"json": v}``, ``{"npy": f}``, lists, tuples, dicts."""
    if depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    if not isinstance(value, dict) or len(value) != 1:
        raise WireError("malformed value")
    ((kind, body),) = value.items()
    if kind == "json":
        if body is not None and type(body) not in (bool, int, float, str):
            raise WireError("malformed plain value")
        return body
    if kind == "npy":
        return _npy(folder, body)
    if kind in ("list", "tuple") and isinstance(body, list):
        items = [decode(v, folder, depth + 1) for v in body]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and isinstance(body, dict):
        return {str(k): decode(v, folder, depth + 1) for k, v in body.items()}
    raise WireError(f"unknown value kind {kind!r}")


def encode_arg(value: Any, folder: Path, name: str) -> dict[str, Any]:
    """Write one input for the sandbox: arrays as .npy, everything else as JSON."""
    if isinstance(value, np.ndarray):
        np.save(folder / f"{name}.npy", value, allow_pickle=False)
        return {"npy": f"in/{name}.npy"}
    if isinstance(value, ScriptedDecoder):  # rebuilt inside the sandbox from its description
        return {"object": "scripted_decoder", "spec": value.spec}
    json.dumps(value)  # raises for anything that is not plain data
    return {"json": value}
