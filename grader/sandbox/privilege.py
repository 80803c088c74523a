"""Whoever starts the grader, student code runs with no privilege: how bubblewrap is told so.

Three plans, chosen once per process by :func:`plan`:

- ``unprivileged-user`` (the grader runs as root, the usual case in CI, Docker and Gradescope): the
  sandbox runs as an unprivileged host user (``SANDBOX_UID``, "nobody"), so the kernel's ordinary
  permission checks are a second wall behind the read-only mounts. bubblewrap must still set up the
  mounts as root, because the Python it binds may live where only root can reach it (``/root/.pyenv``);
  so the grader makes a user namespace itself that maps host root and ``SANDBOX_UID`` to themselves and
  allows no nested user namespace (``user.max_user_namespaces`` = 0 inside it), bubblewrap joins it
  (``--userns``) as its root with only the capabilities to change users, and ``setpriv`` then becomes
  ``SANDBOX_UID`` with no capability in any set, no supplementary group and no-new-privs before the
  interpreter starts.
- ``own-user`` (the grader runs as a normal user): bubblewrap makes the user namespace
  (``--unshare-user``, ``--disable-userns``); the sandbox runs as the grader's own, unprivileged uid, with
  no capability.
- ``root-mapped`` (root, where ``setpriv`` or a user namespace of the grader's own is not available):
  ``--unshare-user --uid SANDBOX_UID --cap-drop ALL``: no capability, but the sandbox's uid maps to host
  root, so root-owned files that are mounted in are accessed as their owner. ``grader doctor`` says so.

Whatever the plan, :func:`grader.sandbox.isolation.bwrap_problem` runs a probe in a real sandbox and refuses
bubblewrap when the probe keeps any capability.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Literal

SANDBOX_UID = 65534  #: the host uid (and gid) student code runs as when the grader is root ("nobody")
CLONE_NEWUSER = 0x10000000
#: what bubblewrap keeps for setpriv, as the user namespace's root, and setpriv then drops
SETPRIV_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")

Kind = Literal["unprivileged-user", "own-user", "root-mapped"]


class PrivilegeError(Exception):
    """The sandbox cannot be started without privilege in this plan."""


@dataclass(frozen=True)
class Plan:
    kind: Kind
    uid: int  #: the host uid student code runs as
    why: str = ""  #: for root-mapped: why the better plan is not available

    def describe(self) -> str:
        if self.kind == "unprivileged-user":
            return f"as the unprivileged host user {self.uid}, with no capability and no-new-privs"
        if self.kind == "own-user":
            return f"as this user (uid {self.uid}) in a user namespace, with no capability and no-new-privs"
        return (f"with no capability and no-new-privs, but as a uid that maps to host root ({self.why}): "
                "root-owned files mounted into the sandbox are accessed as their owner")


@dataclass
class Prepared:
    """One sandbox's share of a plan: bubblewrap's arguments, the command's prefix and the descriptors
    bubblewrap must inherit (the caller closes them once it has started)."""

    args: list[str]
    prefix: list[str] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)


def setpriv_prefix(uid: int, groups: tuple[int, ...] = ()) -> list[str]:
    """setpriv becoming ``uid`` (and gid ``uid``), in no supplementary group but ``groups``, with no privilege."""
    exe = shutil.which("setpriv") or "/usr/bin/setpriv"
    joined = f"--groups={','.join(map(str, groups))}" if groups else "--clear-groups"
    return [exe, f"--reuid={uid}", f"--regid={uid}", joined, "--bounding-set=-all", "--inh-caps=-all",
            "--ambient-caps=-all", "--no-new-privs", "--pdeathsig=SIGKILL", "--"]


_libc = ctypes.CDLL(None, use_errno=True)


def _enter_new_user_namespace(nested: bool = False) -> None:
    """In the holder process, before it execs: a new user namespace in which no further one can be made
    (unless ``nested``).

    The process has every capability in the new namespace until it execs, which is what writing its
    ``user.max_user_namespaces`` needs."""
    if _libc.unshare(CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER) failed")
    if nested:
        return
    fd = os.open("/proc/sys/user/max_user_namespaces", os.O_WRONLY)
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)


def user_namespace(uid: int, *, nested: bool = False, groups: tuple[int, ...] = ()) -> int:
    """A descriptor of a new user namespace mapping host root and ``uid`` to themselves (uids and gids; and the
    gids ``groups``), in which no nested user namespace can be made (``nested``: only for the tests that run the
    grader itself as a normal user); only root can make one. The namespace lives as long as the descriptor (or
    a process in it)."""
    try:
        holder = subprocess.Popen(["/bin/cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL,
                                  preexec_fn=lambda: _enter_new_user_namespace(nested))
    except (OSError, subprocess.SubprocessError) as exc:
        raise PrivilegeError(f"cannot make a user namespace for the sandbox ({exc})") from exc
    try:
        extra = "".join(f"{g} {g} 1\n" for g in sorted(set(groups) - {0, uid}))
        for name, lines in (("uid_map", f"0 0 1\n{uid} {uid} 1\n"), ("gid_map", f"0 0 1\n{uid} {uid} 1\n{extra}")):
            with open(f"/proc/{holder.pid}/{name}", "w") as fh:
                fh.write(lines)
        return os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise PrivilegeError(f"cannot map the sandbox's user namespace ({exc})") from exc
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()


def prepare(chosen: Plan, groups: tuple[int, ...] = ()) -> Prepared:
    """bubblewrap's arguments (namespaces, uid, capabilities) and the command prefix for one sandbox; in the
    unprivileged-user plan the sandbox's user also joins ``groups`` (those of the GPU's device nodes where
    only their group may open them)."""
    if chosen.kind == "own-user":
        return Prepared(["--unshare-user", "--disable-userns", "--cap-drop", "ALL"])
    if chosen.kind == "root-mapped":
        return Prepared(["--unshare-user", "--disable-userns", "--uid", str(chosen.uid), "--gid", str(chosen.uid),
                         "--cap-drop", "ALL"])
    fd = user_namespace(chosen.uid, groups=groups)
    args = ["--userns", str(fd), "--assert-userns-disabled", "--uid", "0", "--gid", "0", "--cap-drop", "ALL"]
    for cap in SETPRIV_CAPS:
        args += ["--cap-add", cap]
    return Prepared(args, setpriv_prefix(chosen.uid, groups), [fd])


@functools.lru_cache(maxsize=1)
def plan() -> Plan:
    """How this process starts sandboxes (see the module's docstring)."""
    uid = os.geteuid()
    if uid != 0:
        return Plan("own-user", uid)
    if shutil.which("setpriv") is None:
        return Plan("root-mapped", SANDBOX_UID, "setpriv (util-linux) is not installed")
    try:
        os.close(user_namespace(SANDBOX_UID))
    except PrivilegeError as exc:
        return Plan("root-mapped", SANDBOX_UID, str(exc))
    return Plan("unprivileged-user", SANDBOX_UID)


CAP_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


@dataclass(frozen=True)
class Observed:
    """What a process inside a sandbox reports of its own privilege (``/proc/self/status``, ``uid_map``)."""

    caps: dict[str, int]  #: each capability set, as a bit mask
    no_new_privs: bool
    seccomp: int  #: 0 none, 2 a filter
    uid: int  #: inside the sandbox
    #: what ``uid`` maps to in the user namespace above the sandbox's (the host's, in the unprivileged-user plan;
    #: bubblewrap's own ``--disable-userns`` puts one more namespace in between)
    outer_uid: int | None

    def kept(self) -> list[str]:
        """The capability sets that are not empty."""
        return [f"{name} {mask:016x}" for name, mask in self.caps.items() if mask]

    def describe(self) -> str:
        caps = ", ".join(self.kept()) or "none (" + "/".join(CAP_FIELDS) + " all 0)"
        return (f"uid {self.uid} in the sandbox; capabilities: {caps}; "
                f"no-new-privs {'on' if self.no_new_privs else 'off'}; "
                f"seccomp filter {'on' if self.seccomp == 2 else 'off'}")


def observe(status: str, uid_map: str) -> Observed:
    """Read a sandboxed process's ``/proc/self/status`` and ``/proc/self/uid_map``."""
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    caps = {name: int(fields.get(name, "0").strip() or "0", 16) for name in CAP_FIELDS}
    uid = int(fields.get("Uid", "0").split()[0])
    outer_uid = None
    for row in uid_map.splitlines():
        parts = row.split()
        if len(parts) == 3 and int(parts[0]) <= uid < int(parts[0]) + int(parts[2]):
            outer_uid = int(parts[1]) + uid - int(parts[0])
    return Observed(caps, fields.get("NoNewPrivs", "0").strip() == "1", int(fields.get("Seccomp", "0").strip() or 0),
                    uid, outer_uid)


UNSAFE_ROOT_PROCESS = "GRADER_UNSAFE_ROOT_PROCESS"  #: set to 1 to run a plain child process as root anyway (tests)


@dataclass(frozen=True)
class ProcessPlan:
    """How a plain child process (no bubblewrap: ``--sandbox process``) is started: ``prefix`` drops what
    privilege it can; ``refused`` says why it must not run at all."""

    prefix: list[str]
    text: str
    refused: str | None = None

    def describe(self) -> str:
        return self.text


@functools.lru_cache(maxsize=4)
def _runs_as_sandbox_user(interpreter: str) -> bool:
    """Whether ``SANDBOX_UID`` can run ``interpreter`` and import what the harness needs."""
    try:
        return subprocess.run([*setpriv_prefix(SANDBOX_UID), interpreter, "-I", "-c", "import numpy"],
                              capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def process_plan(interpreter: str) -> ProcessPlan:
    """As root, the child becomes ``SANDBOX_UID``, with no capability, where that user can run ``interpreter``.
    Where it cannot (a Python under /root), the child would stay root, able to read and write every file root
    owns (the reference solutions, the grader itself): that is refused, unless ``GRADER_UNSAFE_ROOT_PROCESS=1``
    asks for it (the grader's own tests of this fallback), and then the child at least holds no capability."""
    if os.geteuid() != 0:
        return ProcessPlan([], f"as this user (uid {os.geteuid()})")
    exe = shutil.which("setpriv")
    if exe is not None and _runs_as_sandbox_user(interpreter):
        return ProcessPlan(setpriv_prefix(SANDBOX_UID), f"as the unprivileged user {SANDBOX_UID}, with no capability")
    why = ("setpriv (util-linux) is not installed" if exe is None else
           f"user {SANDBOX_UID} cannot run {interpreter} (it lies where only root can read)")
    if os.environ.get(UNSAFE_ROOT_PROCESS) == "1" and exe is not None:
        keep_root = [exe, "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", "--no-new-privs",
                     "--pdeathsig=SIGKILL", "--"]
        return ProcessPlan(keep_root, f"as root with no capability ({why}; {UNSAFE_ROOT_PROCESS}=1), which can still "
                                      "read and write every file root owns")
    return ProcessPlan([], "as root", refused=(
        f"as root, a plain child process would run student code as root ({why}), able to read the reference "
        "solutions and rewrite the grader itself; make bubblewrap work here (it runs student code as an "
        "unprivileged user wherever the Python lies), run the grader as a normal user, or install the grader's "
        "Python where every user can read it"))
