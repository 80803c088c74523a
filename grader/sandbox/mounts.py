"""What a sandbox's file system is made of, as bubblewrap arguments: read-only everywhere but a few small tmpfs.

- the system (``/usr`` and the top-level links or folders into it, the loader's cache), the Python
  installation and the job's (or warm worker's tools) folder: bound read-only;
- ``/proc`` (the sandbox's own PID namespace), a minimal ``/dev``;
- writable: private tmpfs mounts of ``tmp_mb`` each at ``/tmp``, ``/dev/shm`` and the working folder
  (world-writable and sticky: the sandbox's user does not own them), and the IPC namespace's POSIX message
  queues at ``/dev/mqueue`` (mounted so that a warm worker can list and remove them between jobs);
- then ``/dev`` and the root itself are made read-only (:func:`seal`): nothing else can be written, so
  nothing else can survive from one job to the next in a warm worker.

A folder bound from a place only root can reach (``/root/.pyenv/...``) has its parent folders made in
the sandbox with mode 0755 (bubblewrap would copy the host's 0700), so an unprivileged sandbox user can
reach what is bound there, and nothing else of those host folders.

What student code must never see (the assignment, the submissions, the output folder, the course secret: the
grader's *hidden* paths) is never bound on its own; where one lies inside a system tree that is bound whole (a course
secret under ``/usr/local``, say), :func:`mask` covers it: a file with an empty one (the host's ``/dev/null``,
read-only), a folder with an empty read-only tmpfs of mode 0000. (The Python installation is bound too, and a hidden
path inside it refuses the sandbox instead: isolation.check_not_exposed.)
"""

from __future__ import annotations

import os
from pathlib import Path

#: writable places of every sandbox besides its working folder (all wiped between the jobs of a warm worker)
WRITABLE = ("/tmp", "/dev/shm", "/dev/mqueue")
SYSTEM_TOPS = ("bin", "lib", "lib32", "lib64", "sbin")
LOADER_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives")
#: host trees bound as they are: their folders keep the host's modes
BOUND_TREES = ("/usr", "/etc", *(f"/{top}" for top in SYSTEM_TOPS))
MOUNT_POINTS = ("/", "/tmp", "/dev", "/proc")


def _size(mb: int) -> str:
    return str(mb * 1024 * 1024)


def tmpfs(path: str, mb: int) -> list[str]:
    """A private, world-writable (sticky) tmpfs of ``mb`` MB at ``path``."""
    return ["--perms", "1777", "--size", _size(mb), "--tmpfs", path]


def system(tmp_mb: int) -> list[str]:
    """The system, /proc, /dev and the shared writable places."""
    args = ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev",
            *tmpfs("/tmp", tmp_mb), *tmpfs("/dev/shm", tmp_mb), "--mqueue", "/dev/mqueue"]
    for top in SYSTEM_TOPS:
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--perms", "0755", "--dir", "/etc"]  # bubblewrap would make it 0700: the loader could not read its cache
    for etc in LOADER_FILES:
        args += ["--ro-bind-try", etc, etc]
    return args


def system_binds() -> list[str]:
    """The host paths :func:`system` binds into every sandbox, as real paths (``/bin`` may be a link to ``usr/bin``)."""
    paths = ["/usr", *(f"/{top}" for top in SYSTEM_TOPS if not Path(f"/{top}").is_symlink()), *LOADER_FILES]
    return list(dict.fromkeys(os.path.realpath(p) for p in paths if os.path.lexists(p)))


def mask(hidden: list, bound: list[str] | None = None) -> list[str]:
    """Cover each of ``hidden`` (files or folders student code must never see) that lies inside one of ``bound``
    (default: :func:`system_binds`), so the sandbox sees nothing of it: a file becomes an empty read-only one (the
    host's ``/dev/null`` bound over it), a folder an empty read-only tmpfs of mode 0000. Paths are compared as real
    paths; one that does not exist, or lies outside every bound tree (invisible anyway), needs nothing."""
    bound = [os.path.realpath(b) for b in (system_binds() if bound is None else bound)]
    args: list[str] = []
    for path in dict.fromkeys(os.path.realpath(h) for h in hidden):
        if path in MOUNT_POINTS or not _inside(path, tuple(bound)) or not os.path.lexists(path):
            continue
        if os.path.isdir(path):
            args += ["--perms", "0000", "--size", _size(1), "--tmpfs", path, "--remount-ro", path]
        else:
            args += ["--ro-bind", "/dev/null", path]
    return args


def _inside(path: str, trees: tuple[str, ...]) -> bool:
    return any(path == t or path.startswith(t.rstrip("/") + "/") for t in trees)


def read_only(paths: list[str], made: set[str] | None = None) -> list[str]:
    """Bind each of ``paths`` read-only at the same place, its parent folders made reachable (mode 0755)
    unless they lie in a host tree that is bound as it is. ``made`` collects the folders made, so that a
    later call does not make them again."""
    made = set() if made is None else made
    args: list[str] = []
    for path in paths:
        args += reachable_parents(path, made) + ["--ro-bind", path, path]
    return args


def reachable_parents(path: str, made: set[str]) -> list[str]:
    """Make the parent folders of ``path`` in the sandbox with mode 0755 (bubblewrap would copy a host
    folder's 0700, or make a file's parents 0700), except those that exist there already (``made``, the
    mount points, the host trees bound as they are)."""
    args: list[str] = []
    for parent in (str(p) for p in reversed(Path(path).parents)):
        if parent in MOUNT_POINTS or parent in made or _inside(parent, BOUND_TREES) or _inside(parent, ("/dev",)):
            continue
        args += ["--perms", "0755", "--dir", parent]
        made.add(parent)
    return args


def seal() -> list[str]:
    """Last: ``/dev`` and the sandbox's root read-only (the tmpfs and binds above keep their own modes)."""
    return ["--remount-ro", "/dev", "--remount-ro", "/"]
