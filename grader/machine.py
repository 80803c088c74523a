"""What this machine offers the grader: isolation, the process cap, warm workers, Ray, torch and the GPU.

``grader doctor`` prints these facts, so an instructor knows before a batch how it will be graded; the
GPU fact is also the warning that ``grade``, ``check`` and ``validate`` print when a problem wants the
GPU and the machine has one that CUDA cannot use from inside the sandbox.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from grader.models import Limits, ProblemSpec
from grader.sandbox import gpu, isolation, privilege
from grader.sandbox.pidlimit import cgroup_root
from grader.sandbox.pool import WarmPool
from grader.spec.loader import DEFAULT_LIMITS


@dataclass(frozen=True)
class Fact:
    """One thing the machine does or does not offer; ``ok`` is False where grading is degraded."""

    name: str
    ok: bool
    text: str


def gpu_limits(problems: Iterable[ProblemSpec]) -> Limits | None:
    """The limits of the first problem that trains on the GPU when there is one, or None."""
    return next((p.limits for p in problems if p.limits.gpu), None)


def gpu_probe(problems: Iterable[ProblemSpec], sandbox: isolation.Mode = "auto",
              secrets: Iterable[Path] = ()) -> gpu.GpuProbe | None:
    """Whether CUDA works in a sandbox with the limits of the problems that want the GPU (None: none does)."""
    limits = gpu_limits(problems)
    if limits is None:
        return None
    return gpu.probe(limits, isolation.resolve_mode(sandbox), tuple(Path(s) for s in secrets))


def gpu_warning(problems: Iterable[ProblemSpec], sandbox: isolation.Mode = "auto",
                secrets: Iterable[Path] = ()) -> str | None:
    """The warning to print when a problem wants the GPU and the machine has one that the sandbox cannot use."""
    found = gpu_probe(problems, sandbox, secrets)
    if found is None or not found.devices or found.usable:
        return None
    return found.describe()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def facts(problems: Iterable[ProblemSpec] = (), sandbox: isolation.Mode = "auto",
          secrets: Iterable[Path] = ()) -> list[Fact]:
    """Every fact, in the order ``grader doctor`` prints them."""
    problems = list(problems)
    out = [Fact("python", True, f"Python {platform.python_version()}, numpy {_version('numpy')}, "
                                f"torch {_version('torch')}")]
    try:
        mode = isolation.resolve_mode(sandbox)
    except isolation.SandboxUnavailable as exc:
        out.append(Fact("isolation", False, str(exc)))
        return out
    if mode == "bwrap":
        out.append(Fact("isolation", True, "bubblewrap: each run in its own sandbox (no network, read-only "
                                           "system, the job folder read-only, small private tmpfs)"))
        out.append(Fact("workers", True, "warm: each worker imports numpy and torch once and forks a fresh "
                                         "process per submission"))
    else:
        out.append(Fact("isolation", False, isolation.reduced_isolation_warning().removeprefix("warning: ")))
        out.append(Fact("workers", True, "fresh: a new Python per submission (warm workers need bubblewrap)"))
    out.append(privilege_fact(mode))
    root = cgroup_root()
    out.append(Fact("processes", root is not None,
                    f"a pids cgroup under {root} caps each run's processes and threads" if root is not None else
                    "no pids cgroup can be made here: no cap on a run's processes (the time limit and the PID "
                    "namespace still end them all)"))
    ray = _version("ray")
    out.append(Fact("ray", True, f"ray {ray}: --executor ray can spread a batch over a cluster" if ray != "not installed"
                    else "ray is not installed: --executor ray needs pip install 'grader[ray]'"))
    wanted = gpu_limits(problems)
    found = gpu.probe(wanted or DEFAULT_LIMITS, mode, tuple(Path(s) for s in secrets))
    text = found.describe()
    if found.devices and wanted is None:
        text += "; no problem of this assignment asks for the GPU (limits.gpu)"
    out.append(Fact("gpu", found.usable or not found.devices, text))
    if mode == "bwrap" and wanted is not None and found.usable:
        out.append(warm_gpu_fact(wanted, secrets))
    return out


def privilege_fact(mode: str = "bwrap") -> Fact:
    """What student code holds: for bubblewrap, what a probe inside a real sandbox reports (see isolation.probe),
    degraded when it keeps any privilege or its uid maps to host root; for a plain child process, who it runs as."""
    if mode == "process":
        chosen = privilege.process_plan(isolation.interpreter())
        if chosen.refused is not None:
            return Fact("privilege", False, chosen.refused)
        dropped = os.geteuid() != 0 or any(arg.startswith("--reuid=") for arg in chosen.prefix)
        return Fact("privilege", dropped,
                    f"student code runs {chosen.describe()}, in a plain child process (no sandbox)")
    probe = isolation.probe()
    if probe.observed is None:
        return Fact("privilege", False, f"not probed: {probe.problem}")
    ok = probe.problem is None and probe.plan.kind != "root-mapped"
    text = probe.describe() + (f"; {probe.problem}" if probe.problem else "")
    return Fact("privilege", ok, text)


def warm_gpu_fact(limits: Limits, secrets: Iterable[Path] = ()) -> Fact:
    """Whether the problems that train on the GPU get warm workers that see it (see pool.py), asked of one."""
    with WarmPool(1, [Path(s) for s in secrets], limits.scratch_mb, limits.processes, gpu=True) as pool:
        found = gpu.probe_warm(limits, pool)
    if found.usable:
        return Fact("gpu workers", True, "warm: problems that train on the GPU run in warm workers that see it")
    return Fact("gpu workers", False, f"fresh: problems that train on the GPU {gpu.FRESH_WORKERS}: {found.reason}")
