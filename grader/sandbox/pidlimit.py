"""A cap on how many processes one sandboxed run may have at once (fork bombs), where the host allows it.

A pids cgroup per run (cgroup v1 ``/sys/fs/cgroup/pids`` or a cgroup v2 hierarchy with the pids
controller), which works for root too. Where no cgroup can be made, no cap is set: ``RLIMIT_NPROC``
counts every process of the user (an instructor's whole desktop session) and exempts root, so it is no
substitute. The time limit and the PID namespace still end every process of the run; SECURITY.md says so.
"""

from __future__ import annotations

import functools
import os
import signal
import time
import uuid
from pathlib import Path

_CANDIDATES = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


def _usable(root: Path) -> bool:
    probe = root / f"grader-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        (probe / "pids.max").write_text("8")
        return True
    except OSError:
        return False
    finally:
        try:
            probe.rmdir()
        except OSError:
            pass


@functools.lru_cache(maxsize=1)
def cgroup_root() -> Path | None:
    """Where per-run pids cgroups can be made, or None."""
    for root in _CANDIDATES:
        if (root / "cgroup.procs").exists() and _usable(root):
            return root
    return None


class PidCap:
    """One run's cap: ``enter()`` runs in the child before exec; ``close()`` removes the cgroup."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.path: Path | None = None
        root = cgroup_root()
        if root is not None:
            path = root / f"grader-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(limit))
                self.path = path
            except OSError:
                self.path = None

    @property
    def enforced(self) -> bool:
        return self.path is not None

    def enter(self) -> None:
        """In the child, before exec: join the cgroup (when there is one)."""
        if self.path is not None:
            with open(self.path / "cgroup.procs", "w") as fh:
                fh.write(str(os.getpid()))

    def kill_all(self) -> None:
        """SIGKILL every process in the cgroup (a sandbox and all it started), when there is one."""
        if self.path is None:
            return
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                return
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def close(self) -> None:
        if self.path is None:
            return
        for _ in range(50):  # the killed processes may take a moment to leave
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.02)
