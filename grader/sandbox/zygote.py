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
(``cleanup.unfit``): it holds no capability and runs with no-new-privs (and the seccomp filter, when the
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
import sys

SCRATCH = "/scratch"
JOB = b"job\n"  #: what announces a job on the socket (see pool.py)
PR_SET_DUMPABLE = 4
NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"


def _load(tools_dir, name):
    """One of the grader's in-sandbox modules (harness.py, cleanup.py), from the read-only tools folder."""
    spec = importlib.util.spec_from_file_location(f"grader_{name}", os.path.join(tools_dir, f"{name}.py"))
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


def _receive(sock):
    """The next job's four descriptors (stdout, stderr, events, the job itself), or [] when the grader has gone.
    The job is read by the forked child only (see pool.py's ``submit``)."""
    fds = array.array("i")
    head, ancdata, _, _ = sock.recvmsg(len(JOB), socket.CMSG_LEN(4 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if head != JOB or len(fds) != 4:
        for fd in fds:
            os.close(fd)
        return []
    return list(fds)


def _read_job(fd):
    with os.fdopen(fd, "rb") as fh:
        return json.loads(fh.read())


def _child(harness, tools_dir, fds):
    os.setsid()
    out, err, events, body = fds
    job = _read_job(body)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    limits = job["limits"]
    memory = limits["memory_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA if limits.get("gpu") else resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
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
                    os._exit(0)  # the sandbox's PID 1: every other process in it dies with it
                poller.unregister(sock.fileno())  # the grader sends nothing while a job runs: ignore it
    finally:
        os.close(pidfd)


def main():
    tools_dir, sock_fd = sys.argv[1], int(sys.argv[2])
    seccomp = sys.argv[3:4] == ["seccomp"]
    sock = socket.socket(fileno=sock_fd)
    harness, cleanup = _load(tools_dir, "harness"), _load(tools_dir, "cleanup")
    cleanup.close_descriptors(keep=(sock_fd,))  # e.g. bubblewrap's user namespace descriptor
    _preload()
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for folder in cleanup.WIPE:  # what importing left (torch's caches): nothing of the baseline is the jobs' user's
        cleanup.wipe(folder, {})
    baseline = cleanup.snapshot()
    unfit = cleanup.unfit(baseline, seccomp)
    if unfit is not None:
        sock.sendall(f"unfit {unfit}\n".encode(errors="replace"))
        return
    sock.sendall(b"ready\n")
    while True:
        fds = _receive(sock)
        if not fds:
            return
        try:
            pid = os.fork()
        except OSError:  # no process left to fork: this sandbox is not fit for another job
            sock.sendall(b"done -9 unclean no process could be forked\n")
            return
        if pid == 0:
            sock.close()
            _child(harness, tools_dir, fds)
        for fd in fds:
            os.close(fd)
        status = _wait(pid, sock)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        unfit = None if cleanup.kill_others() else "processes would not die"
        for folder in cleanup.WIPE:
            cleanup.wipe(folder, baseline[folder][0])
        cleanup.remove_ipc()
        unfit = unfit or cleanup.unfit(baseline, seccomp)
        # an unclean sandbox is thrown away by the grader
        sock.sendall(f"done {code}{'' if unfit is None else ' unclean ' + unfit}\n".encode(errors="replace"))


if __name__ == "__main__":
    main()
