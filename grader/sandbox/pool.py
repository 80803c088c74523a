"""A pool of warm sandboxes: each a long-lived bubblewrap sandbox whose zygote forks one process per job.

Importing torch costs seconds per fresh Python; a warm sandbox pays it once. Each job still gets a fresh
process, forked from the clean zygote, and the zygote cleans the sandbox after every job (see
``zygote.py``). A sandbox whose job timed out, crashed the zygote or misbehaved is killed and replaced.
One job runs in a sandbox at a time; the pool holds one sandbox per worker.

The sandboxes of a pool see no GPU. Problems that train on the GPU get their own pool, :meth:`WarmPool.for_gpu`,
whose sandboxes also see what CUDA needs (see gpu_devices.py); its zygotes import torch without initialising CUDA,
so each forked job initialises CUDA itself (a CUDA context does not survive a fork), and its jobs' memory
limit is on data rather than address space, as in a fresh GPU sandbox.
"""

from __future__ import annotations

import array
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from grader.sandbox import isolation, privilege
from grader.sandbox.modules import copy_modules
from grader.sandbox.pidlimit import PidCap
from grader.timing import Instant

if TYPE_CHECKING:
    from grader.sandbox.gpu_devices import GpuProbe

JOB = b"job\n"  #: what announces a job on the socket; its descriptors come with it
START_SECONDS = 120.0  # loading numpy and torch in a new sandbox, on a busy machine
TOOLS = ("harness.py", "zygote.py", "cleanup.py")


class WarmSandboxError(Exception):
    """A warm sandbox could not be started or stopped answering."""


def _tools_dir(modules: Mapping[str, Path]) -> Path:
    """A private copy of the in-sandbox modules (the grader's, and the kit's in ``drivers/``), mounted read-only
    into every warm sandbox."""
    folder = Path(tempfile.mkdtemp(prefix="grader-tools-"))
    package = resources.files("grader.sandbox")
    for name in TOOLS:
        shutil.copyfile(package.joinpath(name), folder / name)
    copy_modules(folder / "drivers", modules)
    isolation.readable_by_sandbox(folder)
    return folder


class WarmSandbox:
    """One long-lived sandbox and its zygote."""

    def __init__(self, tools: Path, secrets: list[Path], scratch_mb: int, processes: int, gpu: bool = False) -> None:
        self.pids = PidCap(processes)
        ours, theirs = socket.socketpair()
        try:
            launch = isolation.launch_zygote(tools, theirs.fileno(), secrets, scratch_mb, self.pids, gpu=gpu)
        except BaseException:
            ours.close()
            theirs.close()
            self.pids.close()
            raise
        with launch:
            self.popen = subprocess.Popen(launch.argv, env=launch.env, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          pass_fds=(theirs.fileno(), *launch.fds), start_new_session=True,
                                          preexec_fn=launch.preexec)
        theirs.close()
        self.sock = ours
        self.buffer = b""
        self.zygote: int | None = None
        line = self._line(Instant.now().plus(START_SECONDS))
        if line != "ready":
            error = self.stop()
            why = line.removeprefix("unfit ") if line and line.startswith("unfit ") else error
            raise WarmSandboxError(f"a warm sandbox did not start: {why}")
        kept = self._privilege_kept()
        if kept:
            self.stop()
            raise WarmSandboxError(f"a warm sandbox kept privilege: {kept}")

    def _privilege_kept(self) -> str | None:
        """Why the zygote, as this (trusted) side sees it in the host's /proc, holds privilege, or None.

        The zygote checks itself too; this check does not rely on anything inside the sandbox."""
        self.zygote = self._zygote()
        try:
            status = Path(f"/proc/{self.zygote}/status").read_text()
        except OSError as exc:
            return f"its process could not be inspected ({exc})"
        seen = privilege.observe(status, "")
        if seen.kept() or not seen.no_new_privs:
            return seen.describe()
        if seen.uid == 0 and privilege.plan().kind != "root-mapped":  # read from the host's /proc: the host uid
            return "it runs as host root"
        return None

    def _line(self, deadline: Instant) -> str | None:
        while b"\n" not in self.buffer:
            remaining = deadline.remaining()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(4096)
            except (socket.timeout, OSError):
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("ascii", errors="replace")

    def submit(self, job: dict, fds: tuple[int, int, int]) -> None:
        """Hand a job to the zygote: its stdout, stderr and event descriptors, and a memory file holding the job
        (the student's source among it), which only the forked job reads: the zygote never holds one job's
        data, so nothing of it can be left in the memory the next job is forked from."""
        body = os.memfd_create("grader-job", os.MFD_CLOEXEC)
        try:
            data = memoryview(json.dumps(job).encode())
            while data:
                data = data[os.write(body, data):]
            os.lseek(body, 0, os.SEEK_SET)
            self.sock.settimeout(30)
            self.sock.sendmsg([JOB], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", (*fds, body)))])
        finally:
            os.close(body)

    def wait_done(self, seconds: float) -> tuple[int, bool] | None:
        """The job process's exit status (negative: killed by that signal) and whether the zygote left
        the sandbox clean for the next job, or None if no report came."""
        line = self._line(Instant.now().plus(seconds))
        words = (line or "").split()
        if len(words) < 2 or words[0] != "done":
            return None
        try:
            return int(words[1]), words[2:3] != ["unclean"]
        except ValueError:
            return None

    def _zygote(self) -> int | None:
        """The zygote's host pid (bubblewrap's child, the sandbox's PID 1), or None while there is none."""
        try:
            children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def stop(self) -> str:
        # the zygote, PID 1 of the sandbox: its death ends every process in it (it runs as another user, so
        # bubblewrap's parent-death signal does not reach it); then bubblewrap and whatever the cgroup holds
        zygote = self.zygote if self.zygote is not None else self._zygote()
        for pid in (zygote, self.popen.pid):
            try:
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.pids.kill_all()
        try:
            _, err = self.popen.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            err = b""
        self.sock.close()
        self.pids.close()
        return (err or b"").decode(errors="replace").strip()[-300:]


class WarmPool:
    """Up to ``size`` warm sandboxes, started on demand and replaced when one is killed.

    ``gpu``: the sandboxes see the machine's NVIDIA GPU (use :meth:`for_gpu` rather than asking directly).
    """

    def __init__(self, size: int, secrets: list[Path], scratch_mb: int = 64, processes: int = 64,
                 gpu: bool = False, modules: Mapping[str, Path] | None = None) -> None:
        self.size, self.secrets, self.scratch_mb, self.processes = size, secrets, scratch_mb, processes
        self.gpu = gpu
        self.modules = dict(modules or {})  #: the kit's sandbox modules (drivers, builders), by name
        self.tools = _tools_dir(self.modules)
        self.idle: queue.LifoQueue[WarmSandbox] = queue.LifoQueue()
        self.lock = threading.Lock()
        self.started = 0
        self.closed = False
        self._gpu_pool: WarmPool | None = None
        #: whether CUDA works in this pool's jobs, once asked (see gpu.probe_warm); None: not asked yet
        self.cuda: "GpuProbe | None" = None
        self.probe_lock = threading.Lock()

    def for_gpu(self) -> "WarmPool":
        """The pool of the same size whose sandboxes see the GPU, started on first use, closed with this one."""
        if self.gpu:
            return self
        with self.lock:
            if self._gpu_pool is None:
                self._gpu_pool = WarmPool(self.size, self.secrets, self.scratch_mb, self.processes, gpu=True,
                                          modules=self.modules)
            return self._gpu_pool

    def acquire(self) -> WarmSandbox:
        with self.lock:
            start = self.idle.empty() and self.started < self.size
            if start:
                self.started += 1
        if start:
            try:
                return WarmSandbox(self.tools, self.secrets, self.scratch_mb, self.processes, self.gpu)
            except BaseException:
                with self.lock:
                    self.started -= 1
                raise
        return self.idle.get()

    def release(self, sandbox: WarmSandbox) -> None:
        if self.closed:
            sandbox.stop()
        else:
            self.idle.put(sandbox)

    def discard(self, sandbox: WarmSandbox) -> None:
        sandbox.stop()
        with self.lock:
            self.started -= 1

    def close(self) -> None:
        self.closed = True
        if self._gpu_pool is not None:
            self._gpu_pool.close()
        while True:
            try:
                self.idle.get_nowait().stop()
            except queue.Empty:
                break
        shutil.rmtree(self.tools, ignore_errors=True)

    def __enter__(self) -> "WarmPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
