"""How a sandboxed process is started: bubblewrap when it can run, else a plain limited child process.

With bubblewrap the child sees a read-only system (``/usr``), the Python installation, and its own job
folder, read-only; nothing else of the host's file system: not the assignment (reference solutions,
hidden cases), not other submissions, not the output folder (see mounts.py). It has no network, its own
PID and IPC namespaces, an empty environment, writes only to small private tmpfs mounts (its scratch
folder, /tmp, /dev/shm), and runs with no privilege whoever started the grader (see privilege.py): no
capability, an unprivileged uid, no-new-privs and a seccomp filter (seccomp.py). :func:`bwrap_problem`
proves this with a probe in a real sandbox before anything is graded, and refuses bubblewrap otherwise.
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

from grader.sandbox import gpu_devices as gpu_access
from grader.sandbox import mounts, privilege, seccomp
from grader.sandbox.pidlimit import PidCap

Mode = Literal["auto", "bwrap", "process"]

SANDBOX_ROOT = "/job"  # where the job folder appears inside bubblewrap
FILE_SIZE_LIMIT = 64 * 1024 * 1024  # largest file the child may write (stdout capture included)
OPEN_FILES = 1024  # descriptors a sandboxed process may hold (each can pin kernel memory past its run)
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


def readable_by_sandbox(folder: Path, writable: tuple[Path, ...] = ()) -> None:
    """Make the grader's own ``folder`` (a job folder, the warm workers' tools) readable by the sandbox's
    unprivileged user, whatever this process's umask: folders 0755, files 0644; ``writable`` folders 0777
    (a plain child process's working folder, which no tmpfs replaces)."""
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    for path in writable:
        os.chmod(path, 0o777)


@dataclass(frozen=True)
class Probe:
    """What a process in a sandbox started as the grader starts them reports of its own privilege."""

    plan: privilege.Plan
    observed: privilege.Observed | None  #: None when the sandbox did not start
    problem: str | None  #: why bubblewrap cannot be used, or None

    def describe(self) -> str:
        if self.observed is None:
            return str(self.problem)
        host = f" (host uid {self.observed.outer_uid})" if self.plan.kind == "unprivileged-user" else ""
        return (f"student code runs {self.plan.describe()}; a probe in the sandbox reports {self.observed.describe()}"
                .replace(" in the sandbox;", f" in the sandbox{host};", 1))


def _run_probe() -> Probe:
    chosen = privilege.plan()
    exe = shutil.which("bwrap")
    if exe is None:
        return Probe(chosen, None, "bwrap is not installed")
    try:
        argv, setup, fds = _bwrap(python_paths(), gpu_access.DriverFolders(), False, 64, [])
    except SandboxUnavailable as exc:
        return Probe(chosen, None, f"bwrap cannot drop privilege here: {exc}")
    argv += [*mounts.seal(), "--", *setup.prefix, "/bin/cat", "/proc/self/status", "/proc/self/uid_map"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=20, pass_fds=fds)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Probe(chosen, None, f"bwrap could not be started ({exc})")
    finally:
        for fd in fds:
            _close(fd)
    if done.returncode != 0:
        text = done.stderr.decode(errors="replace").strip()[:200]
        return Probe(chosen, None, f"bwrap cannot create a sandbox here: {text}")
    observed = privilege.observe(*_split_probe(done.stdout.decode(errors="replace")))
    problem = None
    # where the grader made the sandbox's user namespace itself, its parent is the host's: the map says the host uid
    if observed.kept() or not observed.no_new_privs or observed.uid == 0 or \
            (observed.outer_uid == 0 and chosen.kind == "unprivileged-user"):
        problem = ("bubblewrap would keep privilege in the sandbox (" + observed.describe() + "); the grader never "
                   "grades with such a sandbox")
    return Probe(chosen, observed, problem)


def _split_probe(text: str) -> tuple[str, str]:
    """The probe's output: ``/proc/self/status`` (lines ``Name:\\tvalue``), then ``uid_map`` (numbers only)."""
    lines = text.splitlines()
    cut = next((i for i, line in enumerate(lines) if line and ":" not in line), len(lines))
    return "\n".join(lines[:cut]), "\n".join(lines[cut:])


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


@functools.lru_cache(maxsize=1)
def probe() -> Probe:
    """The privilege probe, run once per process (see :class:`Probe`)."""
    return _run_probe()


def bwrap_problem() -> str | None:
    """None when bubblewrap can start a sandbox here with no privilege in it, else why not."""
    return probe().problem


def resolve_mode(mode: Mode) -> Literal["bwrap", "process"]:
    """The isolation a run gets; SandboxUnavailable where the one asked for, or any, cannot be given safely."""
    if mode != "process":
        problem = bwrap_problem()
        if problem is None:
            return "bwrap"
        if mode == "bwrap":
            raise SandboxUnavailable(f"bubblewrap was requested but {problem}")
    refused = privilege.process_plan(interpreter()).refused
    if refused is not None:
        raise SandboxUnavailable(refused if mode == "process" else f"bubblewrap cannot be used ({bwrap_problem()}), "
                                 f"and {refused}")
    return "process"


def reduced_isolation_warning() -> str:
    problem = bwrap_problem()
    text = REDUCED_WARNING.format(why=f" ({problem})") if problem else CHOSEN_WARNING
    return f"{text}; it runs {privilege.process_plan(interpreter()).describe()}"


def _seccomp_fd() -> int | None:
    """A pipe's reading end holding the seccomp filter (bwrap reads it to the end), or None without one."""
    program = seccomp.program()
    if program is None:
        return None
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, program)  # a few hundred bytes: far below a pipe's buffer
    finally:
        os.close(write_fd)
    return read_fd


def _sandbox_args(setup: privilege.Prepared, filter_fd: int | None, tmp_mb: int, paths: list[str],
                  gpu: bool, folders: gpu_access.DriverFolders = gpu_access.DriverFolders(),
                  secrets: list[Path] = ()) -> list[str]:
    """Everything but the job's own folder and the command: namespaces, privilege, the file system (``secrets``,
    the paths student code must never see, masked where a system tree bound whole holds them)."""
    args = [*setup.args, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--clearenv"]
    if filter_fd is not None:
        args += ["--seccomp", str(filter_fd)]
    args += mounts.system(tmp_mb) + mounts.mask(list(secrets))
    if gpu:
        args += gpu_access.bwrap_args()
    return args + mounts.read_only([*paths, *(folders.bind if gpu else ())])


@dataclass
class Launch:
    """A ready-to-run command for one sandboxed process; ``fds`` must be inherited by it (``pass_fds``) and
    closed here once it has started (:meth:`close`)."""

    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    preexec: Callable[[], None]
    fds: tuple[int, ...] = ()

    def close(self) -> None:
        for fd in self.fds:
            _close(fd)
        self.fds = ()

    def __enter__(self) -> "Launch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _limits(memory_mb: int, pids: PidCap | None, gpu: bool = False) -> Callable[[], None]:
    def apply() -> None:
        if pids is not None:
            pids.enter()
        limit = memory_mb * 1024 * 1024
        # CUDA reserves far more address space than it uses: with a GPU, the limit is on data instead
        resource.setrlimit(resource.RLIMIT_DATA if gpu else resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))

    return apply


def _gpu_access(wanted: bool) -> tuple[bool, gpu_access.DriverFolders]:
    """Whether a sandbox that ``wanted`` the GPU gets it (the machine has one), and the driver folders it needs."""
    if wanted:
        gpu_access.ensure_uvm()  # before the nodes are listed: a sandbox cannot create this one
    on = wanted and bool(gpu_access.devices())
    return on, gpu_access.driver_folders() if on else gpu_access.DriverFolders()


def _bwrap(paths: list[str], folders: gpu_access.DriverFolders, gpu: bool, tmp_mb: int,
           secrets: list[Path]) -> tuple[list[str], privilege.Prepared, list[int]]:
    """bubblewrap and its arguments up to the job's own folder, and what the command is prefixed with."""
    check_not_exposed([*paths, *folders.bind], secrets)
    try:
        setup = privilege.prepare(privilege.plan(), gpu_access.device_groups() if gpu else ())
    except privilege.PrivilegeError as exc:
        raise SandboxUnavailable(str(exc)) from exc
    filter_fd = _seccomp_fd()
    fds = [*setup.fds, *([filter_fd] if filter_fd is not None else [])]
    argv = [shutil.which("bwrap") or "bwrap", *_sandbox_args(setup, filter_fd, tmp_mb, paths, gpu, folders, secrets)]
    return argv, setup, fds


def launch(mode: Literal["bwrap", "process"], job_dir: Path, harness_args: list[str], memory_mb: int,
           secrets: list[Path], scratch_mb: int = 64, pids: PidCap | None = None, gpu: bool = False) -> Launch:
    """Build the command that runs ``harness.py`` on ``job_dir`` with the given isolation.

    With ``gpu`` (a problem's ``limits.gpu``) and an NVIDIA GPU on the machine, the sandbox also sees what
    CUDA needs (see gpu_devices.py: the device nodes, sysfs read-only, the driver's library folder), and the memory
    limit applies to data rather than address space.
    """
    gpu, folders = _gpu_access(gpu)
    extra_env = gpu_access.sandbox_env(folders) if gpu else {}
    if mode == "process":
        chosen = privilege.process_plan(interpreter())
        if chosen.refused is not None:
            raise SandboxUnavailable(chosen.refused)
        prefix = chosen.prefix
        argv = [*prefix, sys.executable, "-I", "-B", "-u", str(job_dir / "harness.py"), str(job_dir), *harness_args]
        return Launch(argv, {**clean_env(str(job_dir / "scratch")), **extra_env}, str(job_dir / "scratch"),
                      _limits(memory_mb, pids, gpu))
    argv, setup, fds = _bwrap(python_paths(), folders, gpu, scratch_mb, secrets)
    root = SANDBOX_ROOT
    # The job folder is read-only; the only writable places are small private tmpfs mounts, so a
    # submission can neither write to the host nor fill its disk.
    argv += ["--ro-bind", str(job_dir), root, *mounts.tmpfs(f"{root}/scratch", scratch_mb), *mounts.seal(),
             "--chdir", f"{root}/scratch"]
    for key, value in {**clean_env(f"{root}/scratch"), **extra_env}.items():
        argv += ["--setenv", key, value]
    argv += ["--", *setup.prefix, interpreter(), "-I", "-B", "-u", f"{root}/harness.py", root, *harness_args]
    return Launch(argv, {}, None, _limits(memory_mb, pids, gpu), tuple(fds))


def launch_zygote(tools: Path, sock_fd: int, secrets: list[Path], scratch_mb: int, pids: PidCap,
                  gpu: bool = False) -> Launch:
    """A long-lived sandbox running ``zygote.py`` (see pool.py): the same isolation as :func:`launch`,
    with the grader's tools read-only at /job and a private tmpfs at /scratch for the jobs' work. The
    zygote is the sandbox's PID 1 (no bubblewrap process inside it), so no job can signal it, and it
    reaps what a job leaves behind.

    With ``gpu`` and an NVIDIA GPU on the machine, the sandbox also sees what CUDA needs, as in :func:`launch`
    (each job sets its own memory limit, on data when the job says ``gpu``: see zygote.py).
    """
    gpu, folders = _gpu_access(gpu)
    argv, setup, fds = _bwrap(python_paths(), folders, gpu, scratch_mb, secrets)
    argv += ["--as-pid-1", "--ro-bind", str(tools), SANDBOX_ROOT, *mounts.tmpfs("/scratch", scratch_mb),
             *mounts.seal(), "--chdir", "/scratch"]
    for key, value in {**clean_env("/scratch"), **(gpu_access.sandbox_env(folders) if gpu else {})}.items():
        argv += ["--setenv", key, value]
    argv += ["--", *setup.prefix, interpreter(), "-I", "-B", "-u", f"{SANDBOX_ROOT}/zygote.py", SANDBOX_ROOT,
             str(sock_fd), "seccomp" if seccomp.program() is not None else "no-seccomp"]

    def preexec() -> None:
        pids.enter()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return Launch(argv, {}, None, preexec, tuple(fds))
