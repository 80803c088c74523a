"""No privilege in the sandbox, whoever starts the grader (CI runs this as root).

Student code runs with no capability in any set, as a non-root uid (an unprivileged host user when the
grader is root), with no-new-privs and the seccomp filter; it cannot mount, remount, unshare, ptrace, use
the kernel's keyrings or write anywhere but its tmpfs, in a fresh sandbox or a warm worker; a sandbox that
would keep privilege is refused, by the probe, by the zygote and by the pool.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from grader import cli
from grader.models import Limits, Status
from grader.sandbox import isolation, mounts, privilege, seccomp
from grader.sandbox.pool import WarmPool, WarmSandboxError
from grader.sandbox.runner import Call, run_calls

LIMITS = Limits(call_seconds=20, problem_seconds=60, memory_mb=4096, output_kb=16)
MACHINE = seccomp.machine()

ATTACKS = """
import ctypes, errno, os

libc = ctypes.CDLL(None, use_errno=True)
MS_REMOUNT, MS_BIND, MS_RDONLY = 32, 4096, 1
NAMESPACES = {"user": 0x10000000, "mount": 0x00020000, "ipc": 0x08000000, "net": 0x40000000,
              "pid": 0x20000000, "uts": 0x04000000}

def _result(ret):
    return "ok" if ret == 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))

def _write(path):
    try:
        with open(path, "w") as fh:
            fh.write("planted")
        return "written"
    except OSError as exc:
        return type(exc).__name__

def attack(python, add_key):
    out = {"status": open("/proc/self/status").read(), "uid_map": open("/proc/self/uid_map").read()}
    out["mount"] = _result(libc.mount(b"none", b"/job", b"tmpfs", 0, None))
    out["remount"] = _result(libc.mount(None, python.encode(), None, MS_REMOUNT | MS_BIND, None))
    out["remount_root"] = _result(libc.mount(None, b"/", None, MS_REMOUNT, None))
    for name, flag in NAMESPACES.items():
        out["unshare_" + name] = _result(libc.unshare(flag))
    out["ptrace"] = _result(libc.ptrace(16, 1, None, None))  # PTRACE_ATTACH to the sandbox's PID 1
    if add_key:  # add_key("user", "leak", "secret", 6, KEY_SPEC_USER_KEYRING)
        out["add_key"] = "ok" if libc.syscall(add_key, b"user", b"leak", b"secret", 6, -4) >= 0 else \\
            errno.errorcode.get(ctypes.get_errno())
    out["python"] = _write(os.path.join(python, "planted.pth"))
    out["root"] = _write("/planted")
    out["descriptors"] = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            out["descriptors"][fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, closed by now
            pass
    out["etc"] = _write("/etc/planted")
    out["dev"] = _write("/dev/planted")
    return out
"""


def _attack(**where) -> dict:
    python = isolation.python_paths()[0]
    add_key = seccomp.NUMBERS[MACHINE]["add_key"] if MACHINE else 0
    result = run_calls(ATTACKS, "solution.py", [Call("a", "attack", (python, add_key))], LIMITS, **where)
    outcome = result.calls["a"]
    assert outcome.status is Status.PASSED, outcome.message + result.stderr
    return outcome.value


def _assert_powerless(seen: dict) -> None:
    observed = privilege.observe(seen["status"], seen["uid_map"])
    assert observed.kept() == [], observed.describe()
    assert observed.caps == dict.fromkeys(privilege.CAP_FIELDS, 0)
    assert observed.no_new_privs and observed.uid != 0
    if privilege.plan().kind == "unprivileged-user":  # its user namespace is a child of the host's
        assert observed.outer_uid == privilege.SANDBOX_UID, observed.describe()
    if MACHINE:
        assert observed.seccomp == 2 and seen["add_key"] == "EPERM"
    for attempt in ("mount", "remount", "remount_root", "ptrace", *(k for k in seen if k.startswith("unshare_"))):
        assert seen[attempt] in ("EPERM", "ENOSPC", "EINVAL"), (attempt, seen[attempt])
    for place in ("python", "root", "etc", "dev"):
        assert seen[place] != "written", place
    # nothing bubblewrap or the grader holds is left open to student code (its user namespace's descriptor, say)
    kinds = {target.split(":")[0] for target in seen["descriptors"].values()}
    assert not kinds & {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "anon_inode"}, seen["descriptors"]
    assert not (Path(isolation.python_paths()[0]) / "planted.pth").exists()


def test_a_fresh_sandbox_holds_no_privilege(bwrap_available):
    _assert_powerless(_attack(mode="bwrap"))


def test_a_warm_worker_holds_no_privilege(bwrap_available):
    with WarmPool(1, []) as pool:
        first = _attack(pool=pool)
        _assert_powerless(first)
        _assert_powerless(_attack(pool=pool))  # the same zygote, after a job that tried everything
        assert pool.started == 1


def test_the_probe_reports_what_the_sandbox_holds(bwrap_available):
    probe = isolation.probe()
    assert probe.problem is None and probe.observed is not None
    assert probe.observed.kept() == [] and probe.observed.no_new_privs
    text = probe.describe()
    assert "capabilities: none" in text and f"uid {probe.observed.uid} in the sandbox" in text
    if os.geteuid() == 0 and shutil.which("setpriv"):
        assert probe.plan.kind == "unprivileged-user" and probe.observed.outer_uid == privilege.SANDBOX_UID


@pytest.fixture
def keeps_capabilities(monkeypatch, bwrap_available):
    """As root, a bubblewrap set-up that keeps root's capabilities (what the grader did before)."""
    if os.geteuid() != 0:
        pytest.skip("only a root grader can start a sandbox that keeps capabilities")
    monkeypatch.setattr(privilege, "prepare", lambda plan, groups=(): privilege.Prepared(["--unshare-user", "--uid", "0"]))
    isolation.probe.cache_clear()
    yield
    isolation.probe.cache_clear()


def test_a_sandbox_that_keeps_capabilities_is_refused(keeps_capabilities):
    probe = isolation.probe()
    assert probe.observed is not None and "CapEff" in " ".join(probe.observed.kept())
    assert "keep privilege" in probe.problem
    with pytest.raises(isolation.SandboxUnavailable, match="CapEff"):
        isolation.resolve_mode("bwrap")
    with pytest.raises(WarmSandboxError, match="capabilities kept"):  # the zygote's own check
        with WarmPool(1, []) as pool:
            pool.acquire()


def test_doctor_exits_1_and_names_the_capabilities_kept(keeps_capabilities, capsys):
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "CapEff" in out and "keep privilege" in out


def test_doctor_reports_the_probes_privilege(bwrap_available, capsys):
    cli.main(["doctor"])
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if "privilege" in row)
    assert "capabilities: none" in line and "no-new-privs on" in line


def test_a_zygote_whose_root_is_writable_is_never_used(monkeypatch, bwrap_available):
    monkeypatch.setattr(mounts, "seal", lambda: [])
    with pytest.raises(WarmSandboxError, match="writable mounts: /"):
        with WarmPool(1, []) as pool:
            pool.acquire()


def test_the_wipe_never_crosses_into_a_bound_folder(tmp_path, bwrap_available):
    """A folder bound (writable, which the grader never does) inside /tmp, like a Python environment that
    lives under the host's /tmp: wiping /tmp after a job leaves it alone, and clears the rest."""
    host = tmp_path / "env"
    host.mkdir()
    (host / "site.py").write_text("kept")
    os.chmod(host, 0o777)  # the sandbox's user could empty it, if the wipe went there
    os.chmod(host / "site.py", 0o666)
    tools = Path(__file__).resolve().parent.parent / "grader" / "sandbox"
    argv, setup, fds = isolation._bwrap(isolation.python_paths(), isolation.gpu_access.DriverFolders(), False, 16, [])
    script = ("import os, sys; sys.path.insert(0, '/job'); import cleanup\n"
              "os.mkdir('/tmp/job-made'); open('/tmp/job-made/f', 'w').write('x'); open('/tmp/g', 'w').write('x')\n"
              "cleanup.wipe('/tmp', {'/env': cleanup.entries('/tmp')['/env']})\n"
              "print(sorted(os.listdir('/tmp')), os.listdir('/tmp/env'))")
    argv += ["--ro-bind", str(tools), "/job", "--bind", str(host), "/tmp/env", *mounts.seal(), "--",
             *setup.prefix, isolation.interpreter(), "-I", "-c", script]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, pass_fds=fds)
    finally:
        for fd in fds:
            os.close(fd)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['env']", "['site.py']"]
    assert (host / "site.py").read_text() == "kept"


@pytest.mark.skipif(MACHINE is None, reason="no system call table for this machine")
def test_the_seccomp_table_matches_libseccomp():
    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError:
        pytest.skip("libseccomp is not installed")
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    for arch, numbers in seccomp.NUMBERS.items():
        assert set(numbers) == set(seccomp.BLOCKED)
        for name, number in numbers.items():
            assert lib.seccomp_syscall_resolve_name_arch(seccomp.AUDIT_ARCH[arch], name.encode()) == number, (arch, name)


def test_the_filter_jumps_land_on_its_returns():
    for arch in seccomp.NUMBERS:
        program = seccomp.program(arch)
        ops = [program[i:i + 8] for i in range(0, len(program), 8)]
        returns = {i for i, op in enumerate(ops) if op[:2] == (0x06).to_bytes(2, "little")}
        for i, op in enumerate(ops):
            if op[0] in (0x15, 0x35):  # a conditional jump: both targets are inside the program
                assert i + 1 + op[2] < len(ops) and i + 1 + op[3] < len(ops)
        assert len(returns) == 3 and max(returns) == len(ops) - 1


ROOT = Path(__file__).resolve().parent.parent


def _as_a_normal_user(command: list[str]) -> subprocess.CompletedProcess:
    """Run ``command`` (in the repository) as the unprivileged user 65534, where a root test run can: in a
    sandbox of its own that lets that user make user namespaces, with the host's /proc (bubblewrap mounts a
    new one only where a full one is visible) and the repository and Python read-only."""
    fd = privilege.user_namespace(privilege.SANDBOX_UID, nested=True)
    proc = mounts.system(512)
    at = proc.index("--proc")
    argv = [shutil.which("bwrap"), "--userns", str(fd), "--uid", "0", "--gid", "0", "--cap-drop", "ALL",
            *(arg for cap in privilege.SETPRIV_CAPS for arg in ("--cap-add", cap)),
            "--unshare-ipc", "--unshare-net", "--unshare-uts", "--die-with-parent", "--clearenv",
            *proc[:at], *proc[at + 2:], "--bind", "/proc", "/proc",
            *mounts.read_only([*isolation.python_paths(), str(ROOT)]), "--remount-ro", "/",
            "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin", "--setenv", "HOME", "/tmp",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--chdir", str(ROOT), "--",
            *privilege.setpriv_prefix(privilege.SANDBOX_UID), isolation.interpreter(), *command]
    try:
        return subprocess.run(argv, pass_fds=(fd,), capture_output=True, text=True, timeout=600)
    finally:
        os.close(fd)


@pytest.mark.slow
def test_the_same_holds_when_a_normal_user_runs_the_grader(bwrap_available):
    """CI runs as root: this file's tests, the warm-worker tests and the plain-process fallback run again with the
    grader itself started by an unprivileged user, whose sandboxes bubblewrap makes in a user namespace of its
    own (the own-user plan), and whose plain child processes run as that user."""
    if os.geteuid() != 0:
        pytest.skip("this run is already a normal user's")
    if privilege.plan().kind != "unprivileged-user":
        pytest.skip(f"no user namespace of the grader's own here: {privilege.plan().why}")
    doctor = _as_a_normal_user(["-m", "grader", "doctor"])
    line = next(row for row in doctor.stdout.splitlines() if "privilege" in row)
    assert line.startswith("ok") and "as this user (uid 65534) in a user namespace" in line, doctor.stdout
    assert "capabilities: none" in line and "seccomp filter on" in line
    done = _as_a_normal_user(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-k",
                              "not normal_user and not grades_correctly and not warns_about",
                              "tests/test_privilege.py", "tests/test_warm.py", "tests/test_fallback.py"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = int(done.stdout.rsplit(" passed", 1)[0].rsplit(None, 1)[-1])
    assert passed >= 10 and "failed" not in done.stdout, done.stdout[-2000:]  # bubblewrap worked: nothing skipped it


STATUS = "def status():\n    return open('/proc/self/status').read(), open('/proc/self/uid_map').read()\n"


def test_a_plain_child_process_holds_no_capability(process_mode):
    """Even where a root grader runs it as root (opted in: GRADER_UNSAFE_ROOT_PROCESS), it holds no capability.
    (No write is attempted here: as root, it would succeed; that is why the fallback is refused by default.)"""
    outcome = run_calls(STATUS, "solution.py", [Call("s", "status", ())], LIMITS, mode="process").calls["s"]
    observed = privilege.observe(*outcome.value)
    assert observed.kept() == [] and observed.no_new_privs, observed.describe()


def test_a_plain_child_process_never_runs_student_code_as_root(monkeypatch, capsys):
    """Without bubblewrap, a root grader runs student code as user 65534 where that user can run this Python;
    where it cannot, the fallback is refused (exit 2) rather than run as root."""
    monkeypatch.delenv(privilege.UNSAFE_ROOT_PROCESS, raising=False)
    chosen = privilege.process_plan(isolation.interpreter())
    if os.geteuid() != 0:
        assert chosen.refused is None and chosen.prefix == []
        return
    if chosen.refused is None:  # the sandbox's user can run this Python
        assert f"--reuid={privilege.SANDBOX_UID}" in chosen.prefix and "--bounding-set=-all" in chosen.prefix
        return
    assert "would run student code as root" in chosen.refused
    with pytest.raises(isolation.SandboxUnavailable, match="as root"):
        isolation.resolve_mode("process")
    sample = Path(__file__).resolve().parent.parent / "problems" / "autoencoders" / "samples" / "correct-numpy"
    assignment = Path(__file__).resolve().parent.parent / "problems" / "autoencoders"
    assert cli.main(["check", str(sample), "--assignment", str(assignment), "--sandbox", "process",
                     "--problems", "linear-ae-gradients"]) == 2
    assert "would run student code as root" in capsys.readouterr().err
