"""Between the jobs of a warm worker: end what a job left, wipe what it wrote, prove the sandbox clean.

Loaded by zygote.py from the tools folder inside the sandbox; it imports nothing from the grader. The
zygote calls, after every job: :func:`kill_others` (it is the sandbox's PID 1, so it reaps them too),
:func:`wipe` for each writable place with what that place held before the first job (:func:`entries`),
:func:`remove_ipc`, then :func:`unfit`, which says why the sandbox is not fit for the next job, or None.

The wipe never follows a link and never crosses into another mount: a folder bound inside /tmp (a
Python environment that lives under the host's /tmp, say) is never touched, whatever its mode. A folder a
job made unreadable is made readable first, by its owner, the sandbox's user.
"""

import ctypes
import os
import signal
import stat
import time

SCRATCH = "/scratch"
WIPE = (SCRATCH, "/tmp", "/dev/shm", "/dev/mqueue")
#: mounts that may stay writable besides the wiped places: /proc (the sandbox's own), pseudo-terminals
WRITABLE_TYPES = ("proc", "devpts")
CAPS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
IPC_RMID = 0


def reap():
    """Collect every child that has ended (as PID 1, the zygote inherits whatever a job left behind)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _others():
    me = os.getpid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me]


def kill_others(seconds=10.0):
    """Kill and reap every process of the sandbox but this zygote; True once none is left."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        reap()
        others = _others()
        if not others:
            return True
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)
    return False


def close_descriptors(keep=()):
    """Close every descriptor above 2 but ``keep`` (what bubblewrap leaves open, such as its user namespace's)."""
    last = -1
    for fd in sorted(set(keep)) + [None]:
        if fd is None:
            os.closerange(last + 1 if last >= 2 else 3, 1 << 20)
        else:
            os.closerange(max(last + 1, 3), fd)
            last = fd


def _xattrs(path):
    try:
        return tuple(sorted(os.listxattr(path, follow_symlinks=False)))
    except OSError:
        return ()


def entries(folder):
    """What ``folder`` holds, never crossing into another mount: relative path -> (mode, owner, extended
    attributes)."""
    found = {}
    try:
        device = os.lstat(folder).st_dev
    except OSError:
        return found

    def walk(path, rel):
        try:
            with os.scandir(path) as listing:
                items = list(listing)
        except OSError:
            found[rel + "/?"] = (-1, -1, ())  # unreadable: never equal to a clean folder's listing
            return
        for item in items:
            try:
                st = item.stat(follow_symlinks=False)
            except OSError:
                continue
            name = f"{rel}/{item.name}"
            found[name] = (st.st_mode, st.st_uid, _xattrs(item.path))
            if st.st_dev == device and stat.S_ISDIR(st.st_mode):
                walk(item.path, name)

    walk(folder, "")
    return found


def wipe(folder, keep):
    """Remove from ``folder`` everything not in ``keep`` (what it held before the first job) and restore the
    modes of what is kept; never follows a link, never crosses into another mount."""
    try:
        device = os.lstat(folder).st_dev
    except OSError:
        return

    def clear(path, rel):
        if rel and rel not in keep:
            try:
                os.chmod(path, 0o700)  # a job's own folder, made unreadable to stop the wipe
            except OSError:
                pass
        try:
            with os.scandir(path) as listing:
                items = list(listing)
        except OSError:
            return
        for item in items:
            name = f"{rel}/{item.name}"
            try:
                st = item.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_dev != device:
                continue  # a mount point
            if stat.S_ISDIR(st.st_mode):
                clear(item.path, name)
            if name in keep:
                if stat.S_IMODE(st.st_mode) != stat.S_IMODE(keep[name][0]) and not stat.S_ISLNK(st.st_mode):
                    try:
                        os.chmod(item.path, stat.S_IMODE(keep[name][0]))
                    except OSError:
                        pass
                continue
            try:
                os.rmdir(item.path) if stat.S_ISDIR(st.st_mode) else os.unlink(item.path)
            except OSError:
                pass

    clear(folder, "")


def _status():
    with open("/proc/self/status") as fh:
        return dict(line.split(":", 1) for line in fh.read().splitlines() if ":" in line)


def _writable_mounts():
    """Mount points that are writable although nothing but the wiped places should be."""
    found = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, sep, right = line.partition(" - ")
            fields = left.split()
            if not sep or len(fields) < 6:
                continue
            point, options, kind = fields[4].replace("\\040", " "), fields[5].split(","), right.split()[0]
            if "ro" in options or point in WIPE or kind in WRITABLE_TYPES:
                continue
            try:
                if stat.S_ISCHR(os.stat(point).st_mode):  # a device node (/dev/null, a GPU's)
                    continue
            except OSError:
                pass
            found.append(point)
    return found


def space(folder):
    """Free blocks and inodes of the file system at ``folder``: a file a job keeps open past its end (passed in
    flight through a socket) uses space that no wipe frees."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bfree, st.f_ffree


def _sockets_left():
    """The network namespace's sockets, from its counters (its tables of TCP sockets take milliseconds to
    read): one a job keeps in flight outlives the job, and so does a connection in TIME_WAIT. The grader's own
    socket to the zygote lives in the host's namespace."""
    left = 0
    for table in ("sockstat", "sockstat6"):
        try:
            with open(f"/proc/net/{table}") as fh:
                rows = fh.read().splitlines()
        except OSError:
            continue
        for row in rows:
            words = row.split()
            for key in ("used", "inuse", "tw"):
                if key in words[:-1]:
                    left += int(words[words.index(key) + 1])
    try:
        with open("/proc/net/unix") as fh:
            left += len(fh.read().splitlines()[1:])
    except OSError:
        pass
    return left


def _sysv_ipc_left():
    left = 0
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                left += len(fh.read().splitlines()[1:])
        except OSError:
            pass
    return left


def snapshot():
    """What :func:`unfit` compares with: each writable place's entries and free space, before the first job."""
    return {folder: (entries(folder), space(folder)) for folder in WIPE}


def unfit(baseline, seccomp):
    """Why this sandbox is not fit for the next job, or None (see the module's docstring); ``baseline`` is the
    :func:`snapshot` taken before the first job."""
    status = _status()
    kept = [name for name in CAPS if int(status.get(name, "1").strip() or "1", 16) != 0]
    if kept:
        return "capabilities kept: " + ", ".join(f"{name} {status[name].strip()}" for name in kept)
    if status.get("NoNewPrivs", "").strip() != "1":
        return "no-new-privs is off"
    if seccomp and status.get("Seccomp", "").strip() != "2":
        return "the seccomp filter is not loaded"
    if os.getuid() == 0 or os.geteuid() == 0:
        return "running as root in the sandbox"
    writable = _writable_mounts()
    if writable:
        return "writable mounts: " + ", ".join(writable[:5])
    for folder in WIPE:
        (before, free), now = baseline[folder], entries(folder)
        if now != before:
            left = sorted(set(now) - set(before))[:3] or sorted(k for k in now if now[k] != before.get(k))[:3]
            return f"{folder} is not as before the first job ({', '.join(left) or 'entries missing'})"
        if space(folder) != free:
            return f"{folder} has less free space than before the first job (a file kept open past the job)"
    if _others():
        return "processes left"
    if _sysv_ipc_left():
        return "System V IPC objects left"
    if _sockets_left():
        return "sockets left (kept in flight past the job)"
    try:
        terminals = sorted(os.listdir("/dev/pts"))
    except OSError:
        terminals = []
    if terminals not in ([], ["ptmx"]):
        return "pseudo-terminals left"
    return None


def remove_ipc():
    libc = ctypes.CDLL(None, use_errno=True)
    for kind, remove in (("shm", lambda i: libc.shmctl(i, IPC_RMID, None)),
                         ("sem", lambda i: libc.semctl(i, 0, IPC_RMID)),
                         ("msg", lambda i: libc.msgctl(i, IPC_RMID, None))):
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():
                remove(int(fields[1]))
