"""How a sandboxed process is started: bubblewrap when it can run, else a plain limited child process.

With bubblewrap the child sees a read-only system (``/usr``), the Python installation, and its own job
folder, read-only; nothing else of the host's file system: not the assignment (reference solutions,
hidden cases), not other submissions, not the output folder. It has no network, its own PID namespace,
an empty environment, and writes only to small private tmpfs mounts (its scratch folder, /tmp).
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

from grader.sandbox import gpu as gpu_access
from grader.sandbox.pidlimit import PidCap

Mode = Literal["auto", "bwrap", "process"]

SANDBOX_ROOT = "/job"  # where the job folder appears inside bubblewrap
FILE_SIZE_LIMIT = 64 * 1024 * 1024  # largest file the child may write (stdout capture included)
REDUCED = ("student code runs in a plain child process with resource limits only: reduced isolation (it can "
           "read files this user can read and reach the network)")
REDUCED_WARNING = "warning: bubblewrap (bwrap) is not available{why}; " + REDUCED + \
    ". Install it with: apt-get install bubblewrap"
CHOSEN_WARNING = "warning: --sandbox process was chosen although bubblewrap works here; " + REDUCED


class SandboxUnavailable(Exception):
    """The requested isolation cannot be provided on this machine."""


SANDBOX_USER = "student"  # the sandbox has no /etc/passwd: the name libraries ask for comes from here


def clean_env(home: str) -> dict[str, str]:
    """The whole environment of student code: nothing of the grader's, and what libraries need to start.

    ``USER``/``LOGNAME`` answer ``getpass.getuser()``, which otherwise fails in bubblewrap (no account
    database there); torch before 2.13 then cannot import ``torch._dynamo``, which constructing any optimizer
    does. torch's compiler caches go under ``home``, a private folder wiped with the job, never a shared /tmp.
    """
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": SANDBOX_USER,
        "LOGNAME": SANDBOX_USER,
        "TORCHINDUCTOR_CACHE_DIR": f"{home}/.cache/torchinductor",
        "TRITON_CACHE_DIR": f"{home}/.cache/triton",
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }


def python_paths() -> list[str]:
    """The folders the interpreter and its installed packages live in, each once (outermost kept)."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    candidates.update(site.getsitepackages())
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        candidates.add(sysconfig.get_paths()[key])
    real = sorted({os.path.realpath(p) for p in candidates if p and os.path.isdir(p)})
    kept: list[str] = []
    for p in real:
        if not any(p == k or p.startswith(k + os.sep) for k in kept):
            kept.append(p)
    return kept


def interpreter() -> str:
    """The Python a sandbox runs: this one, by the path it was started with, not the file a symlink points to.

    A virtual environment's ``bin/python`` is a symlink to its base interpreter, and Python finds the venv
    (its ``pyvenv.cfg``, hence its packages) only when started through that path; started by the target
    it would import from the base installation alone. Its folder is resolved (the sandbox binds real
    paths, see :func:`python_paths`, which holds both the venv and the file the symlink points to).
    """
    path = os.path.abspath(sys.executable)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def check_not_exposed(paths: list[str], secrets: list[Path]) -> None:
    """Refuse to run if binding the Python installation would also expose a protected folder."""
    for p in paths:
        for secret in secrets:
            s = os.path.realpath(secret)
            if s == p or s.startswith(p + os.sep):
                raise SandboxUnavailable(
                    f"the Python installation at {p} contains {s}; install the grader in an "
                    "environment outside the assignment and submissions folders")


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None when bubblewrap can start a sandbox here, else why not."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bwrap is not installed"
    try:
        probe = subprocess.run([exe, *_base_args(), "--", "/bin/true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not be started ({exc})"
    if probe.returncode != 0:
        return "bwrap cannot create a sandbox here: " + probe.stderr.decode(errors="replace").strip()[:200]
    return None


def resolve_mode(mode: Mode) -> Literal["bwrap", "process"]:
    if mode == "process":
        return "process"
    problem = bwrap_problem()
    if problem is None:
        return "bwrap"
    if mode == "bwrap":
        raise SandboxUnavailable(f"bubblewrap was requested but {problem}")
    return "process"


def reduced_isolation_warning() -> str:
    problem = bwrap_problem()
    return REDUCED_WARNING.format(why=f" ({problem})") if problem else CHOSEN_WARNING


def _base_args(tmp_mb: int = 64) -> list[str]:
    size = str(tmp_mb * 1024 * 1024)
    args = ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev",
            "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", "/dev/shm"]
    for top in ("bin", "lib", "lib32", "lib64", "sbin"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives"):
        args += ["--ro-bind-try", etc, etc]
    return args


@dataclass(frozen=True)
class Launch:
    """A ready-to-run command for one sandboxed harness process."""

    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    preexec: Callable[[], None]


def _limits(memory_mb: int, pids: PidCap | None, gpu: bool = False) -> Callable[[], None]:
    def apply() -> None:
        if pids is not None:
            pids.enter()
        limit = memory_mb * 1024 * 1024
        # CUDA reserves far more address space than it uses: with a GPU, the limit is on data instead
        resource.setrlimit(resource.RLIMIT_DATA if gpu else resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _gpu_access(wanted: bool) -> tuple[bool, gpu_access.DriverFolders]:
    """Whether a sandbox that ``wanted`` the GPU gets it (the machine has one), and the driver folders it needs."""
    if wanted:
        gpu_access.ensure_uvm()  # before the nodes are listed: a sandbox cannot create this one
    on = wanted and bool(gpu_access.devices())
    return on, gpu_access.driver_folders() if on else gpu_access.DriverFolders()


def launch(mode: Literal["bwrap", "process"], job_dir: Path, harness_args: list[str], memory_mb: int,
           secrets: list[Path], scratch_mb: int = 64, pids: PidCap | None = None, gpu: bool = False) -> Launch:
    """Build the command that runs ``harness.py`` on ``job_dir`` with the given isolation.

    With ``gpu`` (a problem's ``limits.gpu``) and an NVIDIA GPU on the machine, the sandbox also sees what
    CUDA needs (see gpu.py: the device nodes, sysfs read-only, the driver's library folder), and the memory
    limit applies to data rather than address space.
    """
    gpu, folders = _gpu_access(gpu)
    extra_env = gpu_access.sandbox_env(folders) if gpu else {}
    if mode == "process":
        argv = [sys.executable, "-I", "-B", "-u", str(job_dir / "harness.py"), str(job_dir), *harness_args]
        return Launch(argv, {**clean_env(str(job_dir / "scratch")), **extra_env}, str(job_dir / "scratch"),
                      _limits(memory_mb, pids, gpu))
    paths = python_paths()
    check_not_exposed([*paths, *folders.bind], secrets)
    args = [shutil.which("bwrap") or "bwrap", *_base_args(scratch_mb),
            *(gpu_access.bwrap_args(folders) if gpu else [])]
    for p in paths:
        args += ["--ro-bind", p, p]
    root = SANDBOX_ROOT
    # The job folder is read-only; the only writable places are small private tmpfs mounts, so a
    # submission can neither write to the host nor fill its disk.
    args += ["--ro-bind", str(job_dir), root,
             "--size", str(scratch_mb * 1024 * 1024), "--tmpfs", f"{root}/scratch",
             "--chdir", f"{root}/scratch"]
    for key, value in {**clean_env(f"{root}/scratch"), **extra_env}.items():
        args += ["--setenv", key, value]
    args += ["--", interpreter(), "-I", "-B", "-u", f"{root}/harness.py", root, *harness_args]
    return Launch(args, {}, None, _limits(memory_mb, pids, gpu))


def launch_zygote(tools: Path, sock_fd: int, secrets: list[Path], scratch_mb: int, pids: PidCap,
                  gpu: bool = False) -> Launch:
    """A long-lived sandbox running ``zygote.py`` (see pool.py): the same isolation as :func:`launch`,
    with the grader's tools read-only at /job and a private tmpfs at /scratch for the jobs' work.

    With ``gpu`` and an NVIDIA GPU on the machine, the sandbox also sees what CUDA needs, as in :func:`launch`
    (each job sets its own memory limit, on data when the job says ``gpu``: see zygote.py).
    """
    gpu, folders = _gpu_access(gpu)
    paths = python_paths()
    check_not_exposed([*paths, *folders.bind], secrets)
    args = [shutil.which("bwrap") or "bwrap", *_base_args(scratch_mb),
            *(gpu_access.bwrap_args(folders) if gpu else [])]
    for p in paths:
        args += ["--ro-bind", p, p]
    args += ["--ro-bind", str(tools), SANDBOX_ROOT,
             "--size", str(scratch_mb * 1024 * 1024), "--tmpfs", "/scratch", "--chdir", "/scratch"]
    for key, value in {**clean_env("/scratch"), **(gpu_access.sandbox_env(folders) if gpu else {})}.items():
        args += ["--setenv", key, value]
    args += ["--", interpreter(), "-I", "-B", "-u", f"{SANDBOX_ROOT}/zygote.py", SANDBOX_ROOT,
             str(sock_fd)]

    def preexec() -> None:
        pids.enter()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return Launch(args, {}, None, preexec)
