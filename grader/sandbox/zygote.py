"""A warm worker inside a long-lived sandbox: numpy and torch imported once, a fresh fork per job.

Usage (inside bubblewrap): python -I -B -u zygote.py TOOLS_DIR SOCKET_FD

The grader sends a job over the socket (a length-prefixed JSON document) with three file descriptors
attached: the job's stdout and stderr files and its event pipe. The zygote forks; the child becomes the
job's process (its own session, resource limits, a fresh working folder) and runs the ordinary harness.
When the child has ended, the zygote kills every other process left in the sandbox, wipes the writable
places (scratch, /tmp, /dev/shm) and System V IPC objects, and reports the child's exit status. So no
state of one submission reaches the next one, and no process outlives its submission.

In a sandbox that sees the GPU (pool.py's ``for_gpu``) the zygote must not initialise CUDA: a CUDA context
does not survive a fork, and a child of a process that initialised it cannot use the GPU at all. Importing
torch does not initialise CUDA; while the zygote imports it, ``torch.cuda.is_available()`` (should anything
ask) answers from NVML, which does not. A job whose limits say ``gpu`` gets its memory limit on data rather
than address space (CUDA reserves far more address space than it uses), as a fresh GPU sandbox does.

The zygote never runs student code itself, and makes itself non-dumpable so that a job cannot ptrace it
or read its memory or file descriptors through /proc.
"""

import array
import ctypes
import importlib.util
import json
import os
import resource
import shutil
import signal
import socket
import struct
import sys
import time

SCRATCH = "/scratch"
WIPE = (SCRATCH, "/tmp", "/dev/shm")
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


def _kill_others(seconds=10.0):
    """Kill every process of the sandbox but its init and this zygote; True once none is left."""
    me = os.getpid()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not others:
            return True
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)
    return False


def _wipe():
    for folder in WIPE:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


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
    sock = socket.socket(fileno=sock_fd)
    harness = _load_harness(tools_dir)
    _preload()
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock.sendall(b"ready\n")
    while True:
        job, fds = _receive(sock)
        if job is None or len(fds) != 3:
            return
        try:
            pid = os.fork()
        except OSError:  # no process left to fork: this sandbox is not fit for another job
            sock.sendall(b"done -9 unclean\n")
            return
        if pid == 0:
            sock.close()
            _child(harness, tools_dir, job, fds)
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        clean = _kill_others()
        _wipe()
        _remove_ipc()
        # an unclean sandbox (a process that would not die) is thrown away by the grader
        sock.sendall(f"done {code}{'' if clean else ' unclean'}\n".encode())


if __name__ == "__main__":
    main()
