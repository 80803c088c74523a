"""The processes that run a job's calls, and the event stream the grader reads from each.

``FreshLauncher`` starts a new Python per process (bubblewrap or a plain limited child);
``WarmLauncher`` forks it from a warm zygote (see pool.py). Both hand back a :class:`SandboxProcess`:
the grader reads events and framed results from its pipe, then finishes it, killing it if need be.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
from pathlib import Path
from typing import IO, Protocol

from grader.models import Limits
from grader.sandbox import isolation
from grader.sandbox.pidlimit import PidCap
from grader.sandbox.pool import WarmPool, WarmSandbox
from grader.sandbox.wire import MAX_RESULT_BYTES
from grader.timing import Instant

MAX_EVENT_LINE = 256
EXIT_GRACE_SECONDS = 2.0
WARM_CLEANUP_SECONDS = 15.0  # a warm zygote reports the exit status once it has cleaned up


class SandboxProcess:
    """The reading end of one process's event pipe; subclasses know how to end the process."""

    def __init__(self, read_fd: int) -> None:
        self.read_fd = read_fd
        self.buffer = bytearray()
        self.selector = selectors.DefaultSelector()
        self.selector.register(read_fd, selectors.EVENT_READ)
        self.eof = False

    def _fill(self, deadline: Instant) -> bool:
        """Read more bytes into the buffer; False at the deadline or at the end of the stream."""
        if self.eof:
            return False
        remaining = deadline.remaining()
        if remaining <= 0 or not self.selector.select(remaining):
            return False
        chunk = os.read(self.read_fd, 1 << 20)
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def next_event(self, deadline: Instant) -> tuple[str, bytes | None] | None:
        """The next event and its framed payload (if any); None at the deadline; ("", None) at the end."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_EVENT_LINE:
                return "!garbage", None
            if not self._fill(deadline):
                return ("", None) if self.eof else None
        head, rest = self.buffer.split(b"\n", 1)
        if len(head) > MAX_EVENT_LINE:
            return "!garbage", None
        line = bytes(head).decode("ascii", errors="replace").strip()
        words = line.split(" ")
        if words[0] not in ("end", "load-failed"):
            self.buffer = rest
            return line, None
        if not words[-1].isdigit() or int(words[-1]) > MAX_RESULT_BYTES:
            return "!garbage", None
        size = int(words[-1])
        while len(rest) < size:
            if not self._fill(deadline):
                return ("!truncated", None) if self.eof else None
            rest = self.buffer.split(b"\n", 1)[1]
        self.buffer = rest[size:]
        return " ".join(words[:-1]), bytes(rest[:size])

    def finish(self, kill: bool) -> int:
        """End the process (at once when ``kill``) and return its exit status (negative: a signal)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what is left (idempotent)."""
        if self.read_fd >= 0:
            self.selector.close()
            os.close(self.read_fd)
            self.read_fd = -1


class Launcher(Protocol):
    def start(self, start: int, out: IO[bytes], err: IO[bytes]) -> SandboxProcess: ...


class FreshProcess(SandboxProcess):
    def __init__(self, launch: isolation.Launch, out, err, pids: PidCap) -> None:
        read_fd, write_fd = os.pipe()
        argv = [a.replace("{EVENT_FD}", str(write_fd)) for a in launch.argv]
        try:
            self.popen = subprocess.Popen(
                argv, env=launch.env, cwd=launch.cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                pass_fds=(write_fd, *launch.fds), start_new_session=True, preexec_fn=launch.preexec)
        except BaseException:
            os.close(read_fd)
            pids.close()
            raise
        finally:
            os.close(write_fd)
            launch.close()
        super().__init__(read_fd)
        self.pids = pids

    def finish(self, kill: bool) -> int:
        if not kill:
            try:
                return self.popen.wait(timeout=EXIT_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return self.popen.wait()

    def close(self) -> None:
        if self.popen.returncode is None:
            self.finish(kill=True)
        super().close()
        self.pids.kill_all()  # what a plain child process left running (it has no PID namespace to end it)
        self.pids.close()


class FreshLauncher:
    """A new Python per process, reading its job from the job folder."""

    def __init__(self, job: Path, mode: str, limits: Limits, secrets: list[Path]) -> None:
        self.job, self.mode, self.limits, self.secrets = job, mode, limits, secrets

    def start(self, start: int, out, err) -> SandboxProcess:
        pids = PidCap(self.limits.processes)
        launch = isolation.launch(self.mode, self.job, ["{EVENT_FD}", str(start)], self.limits.memory_mb,
                                  self.secrets, self.limits.scratch_mb, pids, gpu=self.limits.gpu)
        return FreshProcess(launch, out, err, pids)


class WarmProcess(SandboxProcess):
    """A job process forked by a warm sandbox's zygote; killing it means discarding the sandbox."""

    def __init__(self, pool: WarmPool, job: dict, out, err) -> None:
        self.pool = pool
        self.sandbox: WarmSandbox | None = pool.acquire()
        read_fd, write_fd = os.pipe()
        try:
            self.sandbox.submit(job, (out.fileno(), err.fileno(), write_fd))
        except OSError:
            os.close(read_fd)
            self.pool.discard(self.sandbox)
            self.sandbox = None
            raise
        finally:
            os.close(write_fd)
        super().__init__(read_fd)

    def finish(self, kill: bool) -> int:
        if self.sandbox is None:
            return -signal.SIGKILL
        report = None if kill else self.sandbox.wait_done(EXIT_GRACE_SECONDS + WARM_CLEANUP_SECONDS)
        if report is None or not report[1]:  # killed, hung, unclean, or the zygote died: not reused
            self.pool.discard(self.sandbox)
        else:
            self.pool.release(self.sandbox)
        self.sandbox = None
        return -signal.SIGKILL if report is None else report[0]

    def close(self) -> None:
        if self.sandbox is not None:
            self.finish(kill=True)
        super().close()


class WarmLauncher:
    def __init__(self, pool: WarmPool, job: dict) -> None:
        self.pool, self.job = pool, job

    def start(self, start: int, out, err) -> SandboxProcess:
        return WarmProcess(self.pool, {**self.job, "start": start}, out, err)
