"""The in-sandbox harness: load the student's code, make the calls, write back plain values.

This file is copied into each job folder and run by a separate Python inside the sandbox; it imports
nothing from the grader. It judges nothing: it only reports what the student's code returned or raised.
Everything it writes is treated as untrusted by the grader.

Usage: python -I -B harness.py JOB_DIR EVENT_FD START_INDEX

Job folder (read-only): ``calls.json`` (what to call), ``in/`` (inputs as .npy), ``scratch/`` (the
working directory, a small private tmpfs under bubblewrap). Nothing is written to the host: events
``loaded``, ``start ID``, and the framed results ``end ID N`` / ``load-failed N`` (followed by N bytes of
JSON, arrays inside as base64 .npy) go to EVENT_FD, so the grader can time each call and read its value.
"""

import base64
import io
import json
import linecache
import os
import signal
import sys
import traceback
import types

MAX_DEPTH = 16
MAX_ITEMS = 10_000
MAX_TEXT = 4_000


def _emit(fd, line, payload=None):
    data = (line + "\n").encode()
    if payload is not None:
        body = json.dumps(payload).encode()
        data = (f"{line} {len(body)}\n").encode() + body
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _short(text):
    text = str(text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _student_traceback(exc, filename):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = [f'  File "{f.filename}", line {f.lineno}, in {f.name}\n    {f.line or ""}' for f in frames]
    lines.append(f"{type(exc).__name__}: {_short(exc)}")
    return _short("\n".join(lines))


def _failure(exc, filename):
    if isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, SystemExit):
        kind = "exit"
    elif isinstance(exc, RecursionError):
        kind = "recursion"
    else:
        kind = "exception"
    return {
        "ok": False,
        "kind": kind,
        "type": type(exc).__name__,
        "message": _short(exc),
        "traceback": _student_traceback(exc, filename),
    }


class _Encoder:
    """Turns a returned value into JSON plus .npy files; rejects anything that is not plain data."""


    def encode(self, value, depth=0):
        if depth > MAX_DEPTH:
            raise TypeError("the returned value is nested too deeply")
        if value is None or type(value) in (bool, int, float, str):
            if type(value) is str and len(value) > 1_000_000:
                raise TypeError("a returned string is longer than 1,000,000 characters")
            return {"json": value}
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.Tensor):
            value = value.detach().cpu().resolve_conj().resolve_neg()
            if value.dtype == torch.bfloat16:  # numpy has no bfloat16: float32 holds every bfloat16 value exactly
                value = value.float()
            return self._array(value.numpy())
        np = sys.modules.get("numpy")
        if np is not None and isinstance(value, (np.ndarray, np.generic)):
            return self._array(value)
        if type(value) in (list, tuple):
            if len(value) > MAX_ITEMS:
                raise TypeError(f"a returned {type(value).__name__} has more than {MAX_ITEMS} items")
            kind = "list" if type(value) is list else "tuple"
            return {kind: [self.encode(v, depth + 1) for v in value]}
        if type(value) is dict:
            if not all(type(k) is str for k in value):
                raise TypeError("a returned dict has keys that are not strings")
            return {"dict": {k: self.encode(v, depth + 1) for k, v in value.items()}}
        raise TypeError(f"cannot return a value of type {type(value).__module__}.{type(value).__name__}; "
                        "return numbers, strings, lists, tuples, dicts, numpy arrays or torch tensors")

    def _array(self, value):
        import numpy as np

        array = np.array(value, copy=True, order="C", subok=False)  # a plain ndarray, any shape (0-d too)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"a returned array has dtype {array.dtype}; expected numbers")
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return {"npy_b64": base64.b64encode(buffer.getvalue()).decode("ascii")}


def _decode_arg(job_dir, spec):
    if "object" in spec:  # built by a kit's sandbox module from plain data
        return _module(job_dir, spec["object"]).build(spec["spec"])
    if "npy" in spec:
        import numpy as np

        return np.load(os.path.join(job_dir, spec["npy"]), allow_pickle=False)
    if "npy_b64" in spec:  # inputs sent inline (to a warm worker)
        import numpy as np

        return np.load(io.BytesIO(base64.b64decode(spec["npy_b64"])), allow_pickle=False)
    return spec["json"]


def _module(job_dir, name):
    """A kit's sandbox module: a driver that drives the student's code (e.g. a training loop), or the builder
    of an object handed to it."""
    import importlib.util

    if not isinstance(name, str) or not name.replace("_", "").isalnum() or not name.islower():
        raise ValueError(f"bad sandbox module name {name!r}")
    path = os.path.join(job_dir, "drivers", f"{name}.py")
    if not os.path.isfile(path):
        raise ModuleNotFoundError(f"no sandbox module {name!r} (the assignment's kit declares none by that name)")
    spec = importlib.util.spec_from_file_location(f"grader_driver_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    job_dir, fd, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.closerange(3, fd)  # what bubblewrap leaves open (its user namespace's descriptor): only the event pipe stays
    os.closerange(fd + 1, 1 << 20)
    import ctypes

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE: no process of the same user can reach this one
    with open(os.path.join(job_dir, "calls.json"), encoding="utf-8") as fh:
        job = json.load(fh)
    with open(os.path.join(job_dir, job["source"]), encoding="utf-8") as fh:
        job["source"] = fh.read()
    execute(job, job_dir, fd, start)


def execute(job, job_dir, fd, start):
    """Load ``job["source"]`` as the student's module and make the calls from index ``start``.

    ``job_dir`` is where the kit's sandbox modules (drivers/) and input files live.
    """
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-large file raises OSError instead
    filename, source = job["filename"], job["source"]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType("solution")
    module.__file__ = filename
    sys.modules["solution"] = module
    try:
        code = compile(source, filename, "exec")
        exec(code, module.__dict__)
    except SyntaxError as exc:
        _emit(fd, "load-failed", {
            "ok": False, "kind": "syntax", "type": type(exc).__name__,
            "message": _short(exc.msg), "line": exc.lineno, "text": _short(exc.text or "").rstrip(),
            "traceback": "",
        })
        return
    except BaseException as exc:  # noqa: BLE001 - every failure is reported, none judged here
        _emit(fd, "load-failed", _failure(exc, filename))
        return
    _emit(fd, "loaded")

    for call in job["calls"][start:]:
        cid = call["id"]
        _emit(fd, f"start {cid}")
        try:
            args = [_decode_arg(job_dir, a) for a in call["args"]]
            if call.get("driver"):
                value = _module(job_dir, call["driver"]).run(module.__dict__, *args, tick=lambda: _emit(fd, "tick"))
            else:
                func = module.__dict__.get(call["function"])
                if func is None:
                    raise NameError(f"{filename} defines no function {call['function']!r}")
                if not callable(func):
                    raise TypeError(f"{call['function']!r} in {filename} is not a function")
                value = func(*args)
            result = {"ok": True, "value": _Encoder().encode(value)}
        except BaseException as exc:  # noqa: BLE001
            result = _failure(exc, filename)
        try:
            _emit(fd, f"end {cid}", result)
        except BaseException as exc:  # noqa: BLE001 - e.g. a MemoryError while encoding
            _emit(fd, f"end {cid}", _failure(exc, filename))


def finish():
    """End the process at once: threads the student left running do not keep it alive."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    finally:
        finish()
