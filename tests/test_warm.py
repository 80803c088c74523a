"""Warm workers: one sandbox forks a fresh process per submission, and nothing one submission does
reaches the next one (or one running at the same time), and no process outlives its submission."""

from __future__ import annotations

import os
import random
import shutil
import threading
from pathlib import Path

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS
from grader.api import grade_batch
from grader.models import Limits, Status
from grader.sandbox import seccomp
from grader.sandbox.pool import WarmPool
from grader.sandbox.runner import Call, run_calls

LIMITS = Limits(call_seconds=10, problem_seconds=30, memory_mb=4096, output_kb=16)
MARKER = f"{random.randint(10**6, 10**7)}.{random.randint(100, 999)}"

ADD_KEY = seccomp.NUMBERS[seccomp.machine()]["add_key"] if seccomp.machine() else 0
POLLUTER = f"""
import ctypes, os, sys, threading, time
import numpy as np

np.secret = 42
np.add = lambda *a, **k: "patched"
sys.modules["json"] = None
os.environ["LEAK"] = "yes"
WRITES = {{}}
for path in ("/tmp/leak", "/dev/shm/leak", "leak.txt", "/leak", "/etc/leak", "/dev/leak", "/job/leak"):
    try:
        with open(path, "w") as fh:
            fh.write("secret")
        WRITES[path] = "written"
    except OSError as exc:
        WRITES[path] = type(exc).__name__
os.makedirs("/tmp/locked/inner")  # a folder the next job could not list, were it left
open("/tmp/locked/inner/leak", "w").write("secret")
os.chmod("/tmp/locked/inner", 0)
os.chmod("/tmp/locked", 0)
os.mkfifo("/tmp/fifo")
os.symlink("/usr", "/tmp/usr-link")  # the wipe must not follow it

def _spin():
    while True:
        time.sleep(0.01)

def f():
    threading.Thread(target=_spin).start()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "{MARKER}"])
        os._exit(0)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget(0x5eed, 4096, 0o1666)  # IPC_CREAT | 0666
    queue = libc.mq_open(b"/leak", os.O_CREAT | os.O_RDWR, 0o666, None)
    keyring = libc.syscall({ADD_KEY}, b"user", b"leak", b"secret", 6, -4) if {ADD_KEY} else -1
    return {{"written": WRITES, "queue": queue, "keyring": keyring}}
"""

OBSERVER = """
import ctypes, os, sys
import numpy as np

def f():
    libc = ctypes.CDLL(None)
    seen = {
        "numpy_global": hasattr(np, "secret"),
        "numpy_add": bool(np.add(1, 2) != 3),
        "json_module": sys.modules.get("json", "missing") is None,
        "environ": "LEAK" in os.environ,
        "files": [p for p in ("/tmp/leak", "/dev/shm/leak", "leak.txt", "/leak", "/etc/leak", "/dev/leak",
                              "/job/leak") if os.path.exists(p)],
        "tmp": os.listdir("/tmp") + os.listdir("/dev/shm") + os.listdir("/dev/mqueue"),
        "shm": libc.shmget(0x5eed, 0, 0) != -1,
        "queue": libc.mq_open(b"/leak", os.O_RDONLY) != -1,
        "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "me_and_parents": sorted({1, os.getppid(), os.getpid()}),
    }
    # a job is forked from the zygote: what is mapped in this process at the start of its first mapping
    # (the interpreter's own code) is mapped in the zygote too, so reading there can only fail for want of access
    with open("/proc/self/maps") as fh:
        address = int(fh.readline().split("-")[0], 16)
    seen["own_memory"] = len(ctypes.string_at(address, 16))
    try:
        with open(f"/proc/{os.getppid()}/mem", "rb") as fh:
            fh.seek(address)
            fh.read(16)
        seen["zygote_memory"] = "readable"
    except OSError as exc:
        seen["zygote_memory"] = type(exc).__name__
    return seen
"""


def _running(needle: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if needle in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(pid)
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def pool(bwrap_available):
    with WarmPool(1, []) as warm:
        yield warm


def test_nothing_reaches_the_next_submission(pool):
    polluted = run_calls(POLLUTER, "solution.py", [Call("c0", "f", ())], LIMITS, pool=pool)
    assert polluted.isolation == "warm bubblewrap"
    left = polluted.calls["c0"].value
    assert {p: w for p, w in left["written"].items() if w == "written"} == \
        {"/tmp/leak": "written", "/dev/shm/leak": "written", "leak.txt": "written"}  # the rest is read-only
    assert left["queue"] >= 0  # a POSIX message queue was made
    assert left["keyring"] == -1  # the kernel's keyrings are closed to student code (seccomp)
    sandbox = pool.idle.queue[0]
    seen = run_calls(OBSERVER, "solution.py", [Call("c0", "f", ())], LIMITS, pool=pool).calls["c0"].value
    assert pool.idle.queue == [sandbox] and pool.started == 1  # wiped and reused, not replaced
    assert seen["numpy_global"] is False and seen["numpy_add"] is False and seen["json_module"] is False
    assert seen["environ"] is False
    assert seen["files"] == [] and seen["tmp"] == []
    assert seen["shm"] is False and seen["queue"] is False
    assert seen["processes"] == seen["me_and_parents"]  # the init, the zygote and this process only
    assert seen["own_memory"] == 16  # the address is mapped: the read below fails for want of access only
    assert seen["zygote_memory"] == "PermissionError"


def test_no_process_outlives_its_submission(pool):
    run_calls(POLLUTER, "solution.py", [Call("c0", "f", ())], LIMITS, pool=pool)
    assert _running(MARKER) == []


def test_concurrent_submissions_are_isolated(bwrap_available):
    writer = "import time\ndef f():\n    open('/tmp/shared', 'w').write('x')\n    time.sleep(1)\n    return 1\n"
    reader = ("import os, time\ndef f():\n    time.sleep(0.5)\n"
              "    return os.path.exists('/tmp/shared') or os.path.exists('../shared')\n")
    results = {}
    with WarmPool(2, []) as warm:
        threads = [threading.Thread(target=lambda name=name, src=src: results.__setitem__(
            name, run_calls(src, "solution.py", [Call("c0", "f", ())], LIMITS, pool=warm)))
            for name, src in (("writer", writer), ("reader", reader))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results["writer"].calls["c0"].value == 1
    assert results["reader"].calls["c0"].value is False


def test_a_timed_out_sandbox_is_replaced(pool):
    loop = "def f():\n    while True:\n        pass\n"
    limits = Limits(call_seconds=1, problem_seconds=5, memory_mb=4096, output_kb=4)
    timed_out = run_calls(loop, "solution.py", [Call("c0", "f", ())], limits, pool=pool)
    assert timed_out.calls["c0"].status is Status.TIMEOUT
    fine = run_calls("def f():\n    return 7\n", "solution.py", [Call("c0", "f", ())], LIMITS, pool=pool)
    assert fine.calls["c0"].value == 7


def test_warm_and_fresh_grade_identically(tmp_path, bwrap_available):
    subs = tmp_path / "subs"
    for name in ("correct-torch", "slip-transposed", "pca-swapped", "greedy-drops-hidden-state", "raises-exception"):
        shutil.copytree(SUBMISSIONS / name, subs / name)
    problems = ["linear-ae-gradients", "pca-optimality", "seq2seq-tokens"]
    warm = grade_batch(subs, ASSIGNMENT, tmp_path / "warm", jobs=2, problems=problems, warm=True)
    fresh = grade_batch(subs, ASSIGNMENT, tmp_path / "fresh", jobs=2, problems=problems, warm=False)
    assert (tmp_path / "warm" / "scores.csv").read_text() == (tmp_path / "fresh" / "scores.csv").read_text()
    for a, b in zip(warm.results, fresh.results):
        assert [(c.name, c.status, c.score, c.diagnosis) for p in a.problems for c in p.checks] == \
               [(c.name, c.status, c.score, c.diagnosis) for p in b.problems for c in p.checks]


SECRET_HEAD, SECRET_TAIL = f"QZX{random.randint(10**8, 10**9)}", f"{random.randint(10**8, 10**9)}XZQ"
LEFT_BEHIND = f"""
# this student's private work: {SECRET_HEAD}{SECRET_TAIL}
import os, socket, array
fds = []
for folder in ("/tmp", "/dev/shm", "/scratch/work"):  # fill each tmpfs, keep the files open past the job
    fd = os.open(folder + "/fill", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        while True:
            os.write(fd, b"\\0" * (1 << 20))
    except OSError:
        pass
    fds.append(fd)
listener = socket.socket(socket.AF_UNIX)
listener.bind("\\0left-behind")  # an abstract socket the next job could connect to
listener.listen()
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)  # everything in flight in a socket nobody reads
a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds + [listener.fileno(), a.fileno(),
                                                                          b.fileno()]))])
def f():
    return "left"
"""

FINDER = f"""
import ctypes, os, socket, tempfile
HEAD = {SECRET_HEAD!r}
TAIL = {SECRET_TAIL[::-1]!r}  # reversed: this source never holds the secret whole

def f():
    found = 0
    with open("/proc/self/maps") as fh:
        for line in fh:
            fields = line.split()
            if fields[1].startswith("rw") and (len(fields) < 6 or not fields[5].startswith("/")):
                start, end = (int(x, 16) for x in fields[0].split("-"))
                memory = ctypes.string_at(start, end - start)
                at = memory.find(HEAD.encode())
                while at >= 0:
                    found += memory[at + len(HEAD):at + len(HEAD) + len(TAIL)] == TAIL[::-1].encode()
                    at = memory.find(HEAD.encode(), at + 1)
    with tempfile.NamedTemporaryFile() as fh:  # an honest student's temporary file
        fh.write(b"x" * (1 << 20))
    try:
        socket.socket(socket.AF_UNIX).connect("\\0left-behind")
        connected = True
    except OSError:
        connected = False
    return {{"found": found, "connected": connected}}
"""


def test_the_previous_submission_leaves_nothing_in_memory_or_in_flight(bwrap_available):
    """A job is forked from the zygote, which never holds a job's data (the source travels in a memory file only
    the job reads), and a job that keeps files, sockets or space in flight past its end leaves a worker that
    cannot prove itself clean, so it is replaced."""
    with WarmPool(1, []) as warm:
        own = run_calls(f"# {SECRET_HEAD}{SECRET_TAIL}\n" + FINDER, "solution.py", [Call("c0", "f", ())], LIMITS,
                        pool=warm).calls["c0"]
        assert own.value["found"] >= 1  # the search finds a source where it is: in its own job's memory
        sandbox = warm.idle.queue[0]
        after = run_calls(FINDER, "solution.py", [Call("c0", "f", ())], LIMITS, pool=warm).calls["c0"]
        assert after.value == {"found": 0, "connected": False} and warm.idle.queue == [sandbox]  # the same worker
        left = run_calls(LEFT_BEHIND, "solution.py", [Call("c0", "f", ())], LIMITS, pool=warm)
        assert left.calls["c0"].value == "left"
        assert warm.idle.queue == [] and warm.started == 0  # that worker could not prove itself clean: thrown away
        seen = run_calls(FINDER, "solution.py", [Call("c0", "f", ())], LIMITS, pool=warm).calls["c0"]
        assert seen.status is Status.PASSED, seen.message
        assert seen.value == {"found": 0, "connected": False}
