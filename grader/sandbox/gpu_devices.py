"""What a sandbox needs to reach the machine's NVIDIA GPU: device nodes, the driver's folders, device groups.

CUDA inside bubblewrap needs three things besides a CUDA build of torch:

- the device nodes ``/dev/nvidia*``, bound with ``--dev-bind`` (bwrap's own ``/dev`` is mounted
  ``nodev``, so a plain bind of a node is refused by the driver);
- sysfs, read-only: without ``/sys``, ``cuInit`` fails with ``CUDA_ERROR_OPERATING_SYSTEM`` (304);
- the driver's user-space library, ``libcuda.so.1`` (and its siblings such as ``libnvidia-ml.so.1``).
  Most machines have it under ``/usr`` and in ldconfig's cache, which every sandbox sees. Containers
  often put it elsewhere and find it through ``LD_LIBRARY_PATH``, which the sandbox's cleared environment
  does not pass on: a folder outside the system folders is bound read-only, and a folder the loader
  would not search by itself (``/usr/local/nvidia/lib64`` with no cache entry, say) is named in the
  sandbox's ``LD_LIBRARY_PATH``.

This module sits at the bottom of the sandbox package: isolation.py builds bubblewrap's arguments from it,
and it imports nothing of the grader but mounts.py. What the machine has is not proof that CUDA works in
the sandbox: gpu.py's probe, above the runner, says whether it does, as a :class:`GpuProbe` (kept here so
that a warm pool can hold one without importing the probe).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox import mounts

DRIVER_LIBRARY = "libcuda.so.1"
#: folders every sandbox already sees (see isolation._base_args); a driver library there needs no bind
SYSTEM_ROOTS = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin")
#: where drivers live outside the system folders on common set-ups, looked at besides LD_LIBRARY_PATH
KNOWN_DRIVER_DIRS = ("/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/run/opengl-driver/lib")
#: where the dynamic loader looks without being told (besides its cache, /etc/ld.so.cache)
LOADER_DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")
UVM_NODE = "/dev/nvidia-uvm"  #: the unified-memory node CUDA needs besides /dev/nvidiactl and /dev/nvidiaN


def devices() -> list[str]:
    """The NVIDIA device nodes of this machine (empty without a GPU or its driver)."""
    return sorted(str(p) for p in Path("/dev").glob("nvidia*"))


@functools.lru_cache(maxsize=1)
def ensure_uvm() -> str | None:
    """Make sure ``/dev/nvidia-uvm`` exists where the GPU's other nodes do; None when it does (or there is no
    GPU), else why it is missing.

    The driver creates that node at a machine's first CUDA use, through its setuid helper
    ``nvidia-modprobe``. Inside a sandbox that cannot happen (no helper, a private /dev), and CUDA would
    fail to initialise there; so the grader asks the helper itself, once, before binding the nodes.
    """
    found = devices()
    if not found or UVM_NODE in found:
        return None
    helper = shutil.which("nvidia-modprobe")
    if helper is not None:
        try:
            subprocess.run([helper, "-u", "-c=0"], capture_output=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if UVM_NODE in devices():
            return None
    return (f"{UVM_NODE} is missing (the driver creates it at a machine's first CUDA use): run "
            "`nvidia-modprobe -u -c=0`, or any CUDA program, once as root")


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def parse_ldconfig(text: str, name: str = DRIVER_LIBRARY) -> list[str]:
    """The paths ``ldconfig -p`` lists for the library ``name``."""
    paths = []
    for line in text.splitlines():
        left, sep, right = line.partition("=>")
        if sep and left.strip().split(" ", 1)[0] == name:
            paths.append(right.strip())
    return paths


def _ldconfig_paths() -> list[str]:
    for exe in ("/sbin/ldconfig", "/usr/sbin/ldconfig"):
        if os.path.exists(exe):
            try:
                done = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                return []
            return parse_ldconfig(done.stdout)
    return []


@dataclass(frozen=True)
class DriverFolders:
    """Where the driver library lies, as a sandbox needs to be told: each folder resolved, once."""

    #: outside the folders every sandbox sees (SYSTEM_ROOTS): bound read-only
    bind: tuple[str, ...] = ()
    #: neither in ldconfig's cache nor a default folder of the loader, so the loader finds the library there
    #: only through LD_LIBRARY_PATH, which the sandbox's cleared environment must name again (e.g.
    #: /usr/local/nvidia/lib64: under /usr, so seen by every sandbox, but found through LD_LIBRARY_PATH)
    search: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1)
def driver_folders() -> DriverFolders:
    """The folders holding the driver library, from this process's LD_LIBRARY_PATH, ldconfig's cache and
    the usual container locations, sorted into those to bind and those to search (see DriverFolders)."""
    listed = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if d]
    cached = _ldconfig_paths()
    candidates = [os.path.join(d, DRIVER_LIBRARY) for d in (*listed, *KNOWN_DRIVER_DIRS)] + cached
    found: list[str] = []
    for lib in candidates:
        if not os.path.exists(lib):
            continue
        for folder in (os.path.dirname(lib), os.path.dirname(os.path.realpath(lib))):
            real = os.path.realpath(folder)
            if real not in found:
                found.append(real)
    roots = tuple(os.path.realpath(r) for r in SYSTEM_ROOTS)
    known = {os.path.realpath(os.path.dirname(lib)) for lib in cached}
    known.update(os.path.realpath(d) for d in LOADER_DEFAULT_DIRS)
    return DriverFolders(bind=tuple(f for f in found if not _under(f, roots)),
                         search=tuple(f for f in found if f not in known))


def device_groups() -> tuple[int, ...]:
    """The groups owning device nodes that not every user may open (``crw-rw----  root video``, say): a sandbox
    that runs as an unprivileged user joins them, so CUDA can open the nodes (see privilege.py)."""
    groups = set()
    for dev in devices():
        try:
            mode, gid = os.stat(dev).st_mode, os.stat(dev).st_gid
        except OSError:
            continue
        if mode & 0o006 != 0o006 and mode & 0o060 == 0o060:
            groups.add(gid)
    return tuple(sorted(groups))


def bwrap_args() -> list[str]:
    """bubblewrap arguments that let CUDA work: the nodes read-write (after ``--dev``) and sysfs read-only.
    The driver folders (``DriverFolders.bind``) are bound read-only with the Python installation (see
    isolation.py), so that their parent folders are reachable by the sandbox's unprivileged user."""
    args: list[str] = []
    made: set[str] = set()
    for dev in devices():  # /dev/nvidia*; a node elsewhere gets parent folders its user may search
        args += mounts.reachable_parents(dev, made) + ["--dev-bind", dev, dev]
    return args + ["--ro-bind", "/sys", "/sys"]


def sandbox_env(folders: DriverFolders) -> dict[str, str]:
    """What a GPU sandbox's environment adds: where to look for the driver library, and no kernel cache
    (it would go to the small scratch folder, which every run starts empty anyway)."""
    env = {"CUDA_CACHE_DISABLE": "1"}
    if folders.search:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(folders.search)
    return env


@dataclass(frozen=True)
class GpuProbe:
    """Whether CUDA works in a sandbox on this machine, and what it is, or why not: what gpu.py's probe finds,
    and what a warm pool keeps once asked (``WarmPool.cuda``)."""

    devices: tuple[str, ...]  #: the machine's NVIDIA device nodes
    usable: bool
    name: str = ""  #: the GPU's name, when usable
    reason: str = ""  #: why CUDA does not work in the sandbox, when not usable
    torch: str = ""
    cuda: str | None = None  #: the CUDA version torch was built for

    def describe(self) -> str:
        if not self.devices:
            return "no NVIDIA GPU on this machine (no /dev/nvidia* nodes): timed training runs on the CPU"
        if self.usable:
            return f"CUDA works in the sandbox: {self.name} (torch {self.torch}, CUDA {self.cuda})"
        return (f"this machine has an NVIDIA GPU ({', '.join(self.devices)}) but CUDA does not work in the "
                f"sandbox: {self.reason}; timed training runs on the CPU, for the reference and every "
                "submission alike")
