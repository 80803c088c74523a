"""A warm worker inside a long-lived sandbox: numpy and torch imported once, a fresh fork per job.

Usage (inside bubblewrap): python -I -B -u zygote.py TOOLS_DIR SOCKET_FD seccomp|no-seccomp

The grader sends a job over the socket (a length-prefixed JSON document) with three file descriptors
attached: the job's stdout and stderr files and its event pipe. The zygote forks; the child becomes the
job's process (its own session, resource limits, a fresh working folder) and runs the ordinary harness.
When the child has ended, the zygote kills and reaps every other process left in the sandbox (it is the
sandbox's PID 1), wipes the writable places (scratch, /tmp, /dev/shm, the POSIX message queues in
/dev/mqueue) and System V IPC objects, and reports the child's exit status. So no state of one submission
reaches the next one, and no process outlives its submission.

Before the first job and after every job, the zygote proves that the sandbox is fit for the next one
(:func:`_unfit`): it holds no capability and runs with no-new-privs (and the seccomp filter, when the
grader loaded one) as a non-root uid; every mount but the writable places, /proc, /dev/pts and the
device nodes is read-only; the writable places hold exactly what they held before the first job; no
other process and no System V IPC object is left. A sandbox that cannot prove it is reported unfit (at
start) or unclean (after a job), and the grader throws it away. The wipe never follows a link and never
crosses into another mount: a folder bound inside /tmp (a Python environment that lives under the host's
/tmp, say) is never touched, whatever its mode.

In a sandbox that sees the GPU (pool.py's ``for_gpu``) the zygote must not initialise CUDA: a CUDA context
does not survive a fork, and a child of a process that initialised it cannot use the GPU at all. Importing
torch does not initialise CUDA; while the zygote imports it, ``torch.cuda.is_available()`` (should anything
ask) answers from NVML, which does not. A job whose limits say ``gpu`` gets its memory limit on data rather
than address space (CUDA reserves far more address space than it uses), as a fresh GPU sandbox does.

The zygote never runs student code itself, and makes itself non-dumpable so that a job cannot ptrace it
or read its memory or file descriptors through /proc; as PID 1 it ignores every signal a job can send.
"""

import array
import ctypes
import importlib.util
import json
import os
import resource
import select
import signal
import socket
import stat
import struct
import sys
import time

SCRATCH = "/scratch"
WIPE = (SCRATCH, "/tmp", "/dev/shm", "/dev/mqueue")
#: mounts that may stay writable besides the wiped places: /proc (the sandbox's own), pseudo-terminals
WRITABLE_TYPES = ("proc", "devpts")
CAPS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
PR_SET_DUMPABLE = 4
IPC_RMID = 0
NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"


def _load_harness(tools_dir):
    spec = importlib.util.spec_from_file_location("grader_harness", os.path.join(tools_dir, "harness.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _preload():
    import numpy  # noqa: F401

    os.environ[NVML_CHECK] = "1"  # torch reads it at each call: only while the zygote imports
    try:
        import torch  # noqa: F401
        import torch._dynamo  # noqa: F401  (an optimizer's first step() imports it: seconds, once per job otherwise)
    except ImportError:
        pass
    finally:
        del os.environ[NVML_CHECK]


def _recv_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _receive(sock):
    """The next job and its three descriptors, or (None, []) when the grader has gone."""
    fds = array.array("i")
    head, ancdata, _, _ = sock.recvmsg(8, socket.CMSG_LEN(3 * fds.itemsize))
    if not head:
        return None, []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if len(head) < 8:
        head += _recv_exact(sock, 8 - len(head)) or b""
    (size,) = struct.unpack("!Q", head)
    body = _recv_exact(sock, size)
    return (json.loads(body) if body is not None else None), list(fds)


def _child(harness, tools_dir, job, fds):
    os.setsid()
    out, err, events = fds
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    limits = job["limits"]
    memory = limits["memory_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA if limits.get("gpu") else resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.makedirs(os.path.join(SCRATCH, "work"), exist_ok=True)
    os.chdir(os.path.join(SCRATCH, "work"))
    os.environ["HOME"] = os.path.join(SCRATCH, "work")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        harness.execute(job, tools_dir, events, job["start"])
    finally:
        harness.finish()


def _wait(pid, sock):
    """The job's wait status. Should the grader go away meanwhile (killed, even with SIGKILL), the zygote kills
    the job and exits, which ends the sandbox: no job outlives the grader."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # a kernel before 5.3
        return os.waitpid(pid, 0)[1]
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(sock.fileno(), select.POLLIN)
    try:
        while True:
            for fd, events in poller.poll():
                if fd == pidfd:
                    return os.waitpid(pid, 0)[1]
                if events & (select.POLLHUP | select.POLLERR) or not sock.recv(1, socket.MSG_PEEK):
                    _kill_others()
                    os._exit(0)
                poller.unregister(sock.fileno())  # the grader sends nothing while a job runs: ignore it
    finally:
        os.close(pidfd)


def _reap():
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


def _kill_others(seconds=10.0):
    """Kill and reap every process of the sandbox but this zygote; True once none is left."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _reap()
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


def _entries(folder):
    """What ``folder`` holds, never crossing into another mount: relative path -> (mode, owner)."""
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
            found[rel + "/?"] = (-1, -1)  # unreadable: never equal to a clean folder's listing
            return
        for item in items:
            try:
                st = item.stat(follow_symlinks=False)
            except OSError:
                continue
            name = f"{rel}/{item.name}"
            found[name] = (st.st_mode, st.st_uid)
            if st.st_dev == device and stat.S_ISDIR(st.st_mode):
                walk(item.path, name)

    walk(folder, "")
    return found


def _wipe(folder, keep):
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


def _sysv_ipc_left():
    left = 0
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                left += len(fh.read().splitlines()[1:])
        except OSError:
            pass
    return left


def _unfit(baseline, seccomp):
    """Why this sandbox is not fit for the next job, or None (see the module's docstring)."""
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
        before, now = baseline[folder], _entries(folder)
        if now != before:
            left = sorted(set(now) - set(before))[:3] or sorted(k for k in now if now[k] != before.get(k))[:3]
            return f"{folder} is not as before the first job ({', '.join(left) or 'entries missing'})"
    if _others():
        return "processes left"
    if _sysv_ipc_left():
        return "System V IPC objects left"
    return None


def _remove_ipc():
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


def main():
    tools_dir, sock_fd = sys.argv[1], int(sys.argv[2])
    seccomp = sys.argv[3:4] == ["seccomp"]
    sock = socket.socket(fileno=sock_fd)
    harness = _load_harness(tools_dir)
    _preload()
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    baseline = {folder: _entries(folder) for folder in WIPE}
    unfit = _unfit(baseline, seccomp)
    if unfit is not None:
        sock.sendall(f"unfit {unfit}\n".encode(errors="replace"))
        return
    sock.sendall(b"ready\n")
    while True:
        job, fds = _receive(sock)
        if job is None or len(fds) != 3:
            return
        try:
            pid = os.fork()
        except OSError:  # no process left to fork: this sandbox is not fit for another job
            sock.sendall(b"done -9 unclean no process could be forked\n")
            return
        if pid == 0:
            sock.close()
            _child(harness, tools_dir, job, fds)
        for fd in fds:
            os.close(fd)
        status = _wait(pid, sock)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        unfit = None if _kill_others() else "processes would not die"
        for folder in WIPE:
            _wipe(folder, baseline[folder])
        _remove_ipc()
        unfit = unfit or _unfit(baseline, seccomp)
        # an unclean sandbox is thrown away by the grader
        sock.sendall(f"done {code}{'' if unfit is None else ' unclean ' + unfit}\n".encode(errors="replace"))


if __name__ == "__main__":
    main()
