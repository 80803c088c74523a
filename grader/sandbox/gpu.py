"""A probe that CUDA really works in a sandbox: what the machine has (gpu_devices.py) is not proof of it.

:func:`probe` runs a small float64 matrix product on the GPU in a fresh sandbox with a problem's limits,
:func:`probe_warm` in a warm pool's job, and each says why not when it fails. This module sits above the
runner, which it uses to run the probe; what a sandbox is given to reach the GPU is in gpu_devices.py,
below isolation.py.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.models import Limits, Status
from grader.sandbox import gpu_devices
from grader.sandbox.gpu_devices import GpuProbe
from grader.sandbox.pool import WarmPool, WarmSandboxError
from grader.sandbox.runner import Call, SandboxResult, run_calls

PROBE_SIZE = 64  #: the probe multiplies two PROBE_SIZE x PROBE_SIZE matrices of ones on the GPU

PROBE_SOURCE = f'''
def probe():
    import torch
    out = {{"torch": str(torch.__version__), "cuda": torch.version.cuda}}
    if torch.version.cuda is None:
        out["reason"] = "the installed torch " + str(torch.__version__) + " is a CPU-only build"
        return out
    try:
        torch.cuda.init()
        ones = torch.ones(({PROBE_SIZE}, {PROBE_SIZE}), dtype=torch.float64, device="cuda")
        out["sum"] = float((ones @ ones).sum().item())
        out["device"] = str(torch.cuda.get_device_name(0))
    except Exception as exc:
        out["reason"] = (type(exc).__name__ + ": " + str(exc))[:600]
    return out
'''


def _nodes() -> tuple[tuple[str, ...], str]:
    """The device nodes, and what a failed probe adds when /dev/nvidia-uvm is missing (asked first: the node
    that ensure_uvm may create belongs in the list)."""
    missing = gpu_devices.ensure_uvm()
    return tuple(gpu_devices.devices()), f"; {missing}" if missing else ""


NO_NODES = GpuProbe((), False, reason="no NVIDIA device nodes")
#: what problems that train on the GPU do when CUDA works in a fresh sandbox but not in a warm worker
FRESH_WORKERS = ("start a fresh Python each (seconds more per submission, the same grades), since CUDA does not "
                 "work in a warm worker here")


def probe(limits: Limits, mode: str = "auto", secrets: tuple[Path, ...] = ()) -> GpuProbe:
    """Run the CUDA probe in a fresh sandbox with ``limits`` (and the GPU exposed); cached per arguments."""
    found, hint = _nodes()
    return _probe(found, limits, mode, tuple(secrets), hint) if found else NO_NODES


@functools.lru_cache(maxsize=8)
def _probe(found: tuple[str, ...], limits: Limits, mode: str, secrets: tuple[Path, ...], hint: str) -> GpuProbe:
    return _judge(found, _run_probe(limits, mode=mode, secrets=list(secrets)), hint)


def probe_warm(limits: Limits, pool: WarmPool) -> GpuProbe:
    """Whether CUDA works in the jobs of a warm pool that sees the GPU (``WarmPool.for_gpu``), asked once per
    pool: a job forked from a zygote that had initialised CUDA could not use it."""
    with pool.probe_lock:
        if pool.cuda is None:
            found, hint = _nodes()
            if not found:
                pool.cuda = NO_NODES
            else:
                try:
                    pool.cuda = _judge(found, _run_probe(limits, pool=pool), hint)
                except WarmSandboxError as exc:
                    pool.cuda = GpuProbe(found, False, reason=f"a warm worker that sees the GPU did not start: {exc}"
                                         [:600] + hint)
        return pool.cuda


def _run_probe(limits: Limits, **where: Any) -> SandboxResult:
    """The probe's run in a sandbox with ``limits`` and the GPU; ``where`` says which sandbox (run_calls)."""
    return run_calls(PROBE_SOURCE, "gpu_probe.py", [Call("probe", "probe", ())], replace(limits, gpu=True), **where)


def _judge(found: tuple[str, ...], result: SandboxResult, hint: str) -> GpuProbe:
    """What the probe's run says of CUDA in that sandbox."""
    if result.load is not None:
        return GpuProbe(found, False, reason=f"the probe could not start: {result.load.message}"[:600] + hint)
    outcome = result.calls["probe"]
    value = outcome.value if isinstance(outcome.value, dict) else {}
    torch, cuda = str(value.get("torch", "")), value.get("cuda")
    if outcome.status is not Status.PASSED:
        return GpuProbe(found, False, reason=f"the probe failed ({outcome.status.value}): {outcome.message}"[:600]
                        + hint, torch=torch)
    if value.get("sum") == float(PROBE_SIZE ** 3):
        return GpuProbe(found, True, name=str(value.get("device", "")), torch=torch, cuda=str(cuda))
    reason = str(value.get("reason") or f"a wrong product: {value.get('sum')!r}")
    return GpuProbe(found, False, reason=reason + hint, torch=torch, cuda=None if cuda is None else str(cuda))
