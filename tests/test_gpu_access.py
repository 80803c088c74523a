"""What a sandbox is given so that CUDA works in it, and the probe that says whether it does.

This machine has no GPU: the tests stand a harmless device node (/dev/full) in for /dev/nvidia*, and a
folder holding a stand-in libcuda.so.1 for a driver folder outside /usr; they run real sandboxes.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS
from grader import machine
from grader.cli import main
from grader.models import Status
from grader.grading import warm_pool_for, workers_for
from grader.sandbox import gpu, gpu_devices, isolation, privilege
from grader.sandbox.pool import WarmPool, WarmSandboxError
from grader.sandbox.runner import Call, run_calls
from grader.spec import load_assignment
from grader.spec.loader import DEFAULT_LIMITS

needs_bwrap = pytest.mark.skipif(isolation.bwrap_problem() is not None, reason="needs bubblewrap")
STAND_IN = "/dev/full"  #: a device node every machine has, standing in for /dev/nvidia0

LDCONFIG = """\
1234 libs found in cache `/etc/ld.so.cache'
\tlibcudart.so.12 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.12
\tlibcuda.so.1 (libc6,x86-64) => /usr/local/nvidia/lib64/libcuda.so.1
\tlibcuda.so.1 (libc6) => /usr/lib/i386-linux-gnu/libcuda.so.1
\tlibcuda.so (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so
"""

INSPECT = """
import os

def inspect(lib):
    out = {"sysfs": os.path.isdir("/sys/devices"), "node": os.path.exists(%r),
           "ld_library_path": os.environ.get("LD_LIBRARY_PATH")}
    try:
        with open(lib) as fh:
            out["lib"] = fh.read()
    except OSError as exc:
        out["lib"] = type(exc).__name__
    for label, path in (("sys_write", "/sys/kernel/mm/transparent_hugepage/enabled"),
                        ("lib_write", os.path.join(os.path.dirname(lib), "planted.so"))):
        try:
            with open(path, "w") as fh:
                fh.write("never")
            out[label] = "written"
        except OSError as exc:
            out[label] = type(exc).__name__
    return out
""" % STAND_IN


@pytest.fixture(autouse=True)
def fresh_caches():
    for cached in (gpu_devices.driver_folders, gpu._probe, gpu_devices.ensure_uvm):
        cached.cache_clear()
    yield
    for cached in (gpu_devices.driver_folders, gpu._probe, gpu_devices.ensure_uvm):
        cached.cache_clear()


@pytest.fixture
def driver_folder(tmp_path, monkeypatch) -> Path:
    """A driver folder outside the system folders, found through LD_LIBRARY_PATH, and a stand-in GPU (the only
    driver seen, also on a machine with a real one)."""
    real = tmp_path / "nvidia" / "lib64"
    real.mkdir(parents=True)
    (real / "libcuda.so.550.54").write_text("stand-in driver library")
    (real / gpu_devices.DRIVER_LIBRARY).symlink_to("libcuda.so.550.54")
    monkeypatch.setenv("LD_LIBRARY_PATH", f"/nonexistent:{real}")
    monkeypatch.setattr(gpu_devices, "_ldconfig_paths", lambda: [])
    monkeypatch.setattr(gpu_devices, "KNOWN_DRIVER_DIRS", ())  # a GPU machine's own driver folder is not the stand-in's
    monkeypatch.setattr(gpu_devices, "devices", lambda: [STAND_IN])
    return real


def test_ldconfig_lists_only_the_driver_library():
    assert gpu_devices.parse_ldconfig(LDCONFIG) == ["/usr/local/nvidia/lib64/libcuda.so.1",
                                            "/usr/lib/i386-linux-gnu/libcuda.so.1"]
    assert gpu_devices.parse_ldconfig("") == []


def test_driver_folders_come_from_ld_library_path_and_skip_system_folders(driver_folder, monkeypatch):
    folder = str(driver_folder.resolve())
    assert gpu_devices.driver_folders() == gpu_devices.DriverFolders(bind=(folder,), search=(folder,))
    gpu_devices.driver_folders.cache_clear()
    monkeypatch.setenv("LD_LIBRARY_PATH", "")
    cached = ["/usr/bin/env", str(driver_folder / gpu_devices.DRIVER_LIBRARY)]
    monkeypatch.setattr(gpu_devices, "_ldconfig_paths", lambda: cached)
    # /usr/bin is seen by every sandbox; both are in ldconfig's cache, which the sandbox's loader reads
    assert gpu_devices.driver_folders() == gpu_devices.DriverFolders(bind=(folder,), search=())


def test_a_driver_folder_under_usr_found_through_ld_library_path_is_searched_not_bound(driver_folder, monkeypatch,
                                                                                       tmp_path):
    """Like /usr/local/nvidia/lib64 in a container: every sandbox sees it, but only LD_LIBRARY_PATH finds it."""
    folder = str(driver_folder.resolve())
    # tmp_path stands in for /usr
    monkeypatch.setattr(gpu_devices, "SYSTEM_ROOTS", (*gpu_devices.SYSTEM_ROOTS, str(tmp_path)))
    found = gpu_devices.driver_folders()
    assert found == gpu_devices.DriverFolders(bind=(), search=(folder,))
    launch = isolation.launch("bwrap", tmp_path, [], 1024, [], gpu=True)
    argv = " ".join(launch.argv)
    assert f"--setenv LD_LIBRARY_PATH {folder}" in argv and f"--ro-bind {folder} {folder}" not in argv


@pytest.fixture
def nodes_without_uvm(tmp_path, monkeypatch) -> Path:
    """A GPU whose /dev/nvidia-uvm does not exist yet (the driver makes it at the first CUDA use); the
    stand-in node is a file in tmp_path, listed among the devices once it exists."""
    uvm = tmp_path / "nvidia-uvm"
    monkeypatch.setattr(gpu_devices, "UVM_NODE", str(uvm))
    monkeypatch.setattr(gpu_devices, "devices", lambda: [STAND_IN, *([str(uvm)] if uvm.exists() else [])])
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    return uvm


def test_a_missing_uvm_node_is_made_by_the_drivers_helper(nodes_without_uvm, tmp_path):
    helper = tmp_path / "bin" / "nvidia-modprobe"
    helper.parent.mkdir()
    helper.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "asked"}\ntouch {nodes_without_uvm}\n')
    helper.chmod(0o755)
    assert gpu_devices.ensure_uvm() is None
    assert (tmp_path / "asked").read_text().split() == ["-u", "-c=0"]
    launch = isolation.launch("bwrap", tmp_path, [], 1024, [], gpu=True)
    assert f"--dev-bind {nodes_without_uvm} {nodes_without_uvm}" in " ".join(launch.argv)


def test_a_missing_uvm_node_without_the_helper_is_named_in_the_probe(nodes_without_uvm, monkeypatch, process_mode):
    assert "nvidia-modprobe -u -c=0" in gpu_devices.ensure_uvm()
    monkeypatch.setattr(gpu, "PROBE_SOURCE", _fake_probe('return {"reason": "RuntimeError: no CUDA GPUs"}'))
    found = gpu.probe(DEFAULT_LIMITS, "process")
    assert not found.usable and "no CUDA GPUs" in found.reason and "nvidia-uvm is missing" in found.reason


def test_no_gpu_needs_no_uvm_node(monkeypatch):
    monkeypatch.setattr(gpu_devices, "devices", lambda: [])
    assert gpu_devices.ensure_uvm() is None


def test_bubblewrap_gets_the_nodes_sysfs_and_the_driver_folder(driver_folder, tmp_path, process_mode):
    launch = isolation.launch("bwrap", tmp_path, [], 1024, [], gpu=True)
    argv = " ".join(launch.argv)
    folder = str(driver_folder.resolve())
    assert f"--dev-bind {STAND_IN} {STAND_IN}" in argv
    assert "--ro-bind /sys /sys" in argv
    assert f"--ro-bind {folder} {folder}" in argv
    assert f"--setenv LD_LIBRARY_PATH {folder}" in argv and "--setenv CUDA_CACHE_DISABLE 1" in argv
    plain = " ".join(isolation.launch("bwrap", tmp_path, [], 1024, []).argv)
    assert "/sys" not in plain and STAND_IN not in plain and folder not in plain and "CUDA" not in plain
    process = isolation.launch("process", tmp_path, [], 1024, [], gpu=True)
    assert process.env["LD_LIBRARY_PATH"] == folder


def test_a_driver_folder_holding_the_assignment_is_refused(driver_folder, tmp_path):
    with pytest.raises(isolation.SandboxUnavailable, match="contains"):
        isolation.launch("bwrap", tmp_path, [], 1024, [driver_folder / "secret"], gpu=True)


@needs_bwrap
def test_a_gpu_sandbox_sees_read_only_sysfs_and_driver_folder(driver_folder):
    lib = str(driver_folder / gpu_devices.DRIVER_LIBRARY)
    seen = {}
    for wanted in (True, False):
        result = run_calls(INSPECT, "inspect.py", [Call("inspect", "inspect", (lib,))],
                           replace(DEFAULT_LIMITS, gpu=wanted), mode="bwrap")
        outcome = result.calls["inspect"]
        assert outcome.status is Status.PASSED, outcome.message
        seen[wanted] = outcome.value
    with_gpu, without = seen[True], seen[False]
    assert with_gpu["sysfs"] and with_gpu["node"]
    assert with_gpu["lib"] == "stand-in driver library"
    assert with_gpu["ld_library_path"] == str(driver_folder.resolve())
    assert with_gpu["sys_write"] != "written" and with_gpu["lib_write"] != "written"
    assert not without["sysfs"] and without["ld_library_path"] is None
    assert without["lib"] in ("FileNotFoundError", "PermissionError")


@needs_bwrap
def test_a_node_only_its_group_may_open_is_opened_by_the_sandboxs_user(request, monkeypatch):
    """GPU nodes are often ``crw-rw---- root video``: a sandbox that runs as an unprivileged user joins that
    group (and no other), or CUDA could not open them."""
    if os.geteuid() != 0 or privilege.plan().kind != "unprivileged-user":
        pytest.skip("only a root grader runs its sandboxes as another user")
    folder = Path(tempfile.mkdtemp(prefix="grader-test-dev-"))  # like /dev: every user may search it (and its parents)
    folder.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
    node = folder / "nvidia0"  # a file standing in for the node: bound the same way
    node.write_text("the GPU")
    os.chown(node, 0, 4242)
    os.chmod(node, 0o660)
    monkeypatch.setattr(gpu_devices, "devices", lambda: [str(node)])
    assert gpu_devices.device_groups() == (4242,)
    source = ("import os\ndef f(path):\n    return {'groups': os.getgroups(), 'read': open(path).read()}\n")
    seen = {}
    for wanted in (True, False):
        outcome = run_calls(source, "solution.py", [Call("c", "f", (str(node),))], replace(DEFAULT_LIMITS, gpu=wanted),
                            mode="bwrap").calls["c"]
        seen[wanted] = outcome.value if outcome.status is Status.PASSED else outcome.message
    assert seen[True] == {"groups": [4242], "read": "the GPU"}
    assert "FileNotFoundError" in seen[False]  # no GPU asked: neither the node nor its group


@needs_bwrap
def test_the_probe_says_why_cuda_does_not_work(driver_folder):
    found = gpu.probe(DEFAULT_LIMITS, "bwrap")
    assert found.devices == (STAND_IN,) and not found.usable
    import torch

    if torch.version.cuda is None:
        assert "CPU-only build" in found.reason
    text = found.describe()
    assert STAND_IN in text and "timed training runs on the CPU" in text
    problems = load_assignment(ASSIGNMENT).problems
    assert machine.gpu_warning(problems, "bwrap") == text
    assert machine.gpu_warning([p for p in problems if not p.limits.gpu], "bwrap") is None


def _fake_probe(body: str) -> str:
    return f"def probe():\n    {body}\n"


@pytest.mark.parametrize("body, usable, words", [
    ('return {"sum": %r, "device": "Stand-in GPU", "torch": "2.13.0", "cuda": "12.8"}' % float(gpu.PROBE_SIZE ** 3),
     True, "CUDA works in the sandbox: Stand-in GPU (torch 2.13.0, CUDA 12.8)"),
    ('return {"sum": 1.0, "torch": "2.13.0", "cuda": "12.8"}', False, "a wrong product: 1.0"),
    ('return {"reason": "RuntimeError: CUDA error: operating system not supported", "cuda": "12.8"}', False,
     "operating system not supported"),
    ('import os; os._exit(3)', False, "the probe failed (crashed)"),
])
def test_the_probe_judges_what_the_sandbox_reports(driver_folder, monkeypatch, body, usable, words, process_mode):
    monkeypatch.setattr(gpu, "PROBE_SOURCE", _fake_probe(body))
    found = gpu.probe(DEFAULT_LIMITS, "process")
    assert found.usable is usable
    assert words in found.describe()


def test_doctor_says_how_this_machine_grades(capsys):
    code = main(["doctor", "--assignment", str(ASSIGNMENT)])
    out = capsys.readouterr().out
    for name in ("python", "isolation", "workers", "processes", "ray", "gpu"):
        assert f" {name} " in out
    assert code == (1 if "WARN" in out else 0)
    if not gpu_devices.devices():
        assert "no NVIDIA GPU on this machine" in out


@needs_bwrap
def test_doctor_and_grading_warn_when_the_gpu_is_unusable(driver_folder, capsys, tmp_path, process_mode):
    assert main(["doctor", "--assignment", str(ASSIGNMENT)]) == 1
    out = capsys.readouterr().out
    assert "WARN gpu" in out and "does not work in the sandbox" in out and "degraded: gpu" in out
    assert main(["doctor", "--sandbox", "process", "--assignment", str(ASSIGNMENT)]) == 1
    assert "--sandbox process was chosen" in capsys.readouterr().out
    sample = SUBMISSIONS / "regularized-sum-sgd"
    main(["check", str(sample), "--assignment", str(ASSIGNMENT), "--problems", "seq2seq-tokens", "--out", str(tmp_path)])
    assert "GPU" not in capsys.readouterr().err  # no chosen problem wants the GPU
    assert main(["check", str(sample), "--assignment", str(ASSIGNMENT), "--problems", "regularized-ae",
                 "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "warning: this machine has an NVIDIA GPU (/dev/full)" in captured.err
    report = (tmp_path / "students" / "regularized-sum-sgd" / "report.html").read_text()
    assert "cpu (1 thread)" in report  # graded all the same, on the CPU


LIMITS = """
import os, resource

def limits():
    import torch  # imported by the zygote already: CUDA must still be untouched
    return {"as": resource.getrlimit(resource.RLIMIT_AS)[0], "data": resource.getrlimit(resource.RLIMIT_DATA)[0],
            "nvml_check": os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK"), "cuda_initialized": torch.cuda.is_initialized()}
"""


@needs_bwrap
def test_warm_workers_see_the_gpu_only_in_the_gpu_pool(driver_folder):
    lib = str(driver_folder / gpu_devices.DRIVER_LIBRARY)
    memory = DEFAULT_LIMITS.memory_mb * 1024 * 1024
    limits = replace(DEFAULT_LIMITS, gpu=True)
    with WarmPool(1, []) as plain:
        warm = plain.for_gpu()
        assert warm.gpu and warm is plain.for_gpu() and warm.for_gpu() is warm and not plain.gpu
        seen = {}
        for pool in (plain, warm):
            result = run_calls(INSPECT + LIMITS, "inspect.py", [Call("inspect", "inspect", (lib,)),
                                                                Call("limits", "limits", ())], limits, pool=pool)
            assert all(o.status is Status.PASSED for o in result.calls.values()), result.calls
            seen[pool.gpu] = {**result.calls["inspect"].value, **result.calls["limits"].value}
            assert result.isolation == "warm bubblewrap" + (" with the GPU" if pool.gpu else "")
    with_gpu, without = seen[True], seen[False]
    assert with_gpu["sysfs"] and with_gpu["node"] and with_gpu["lib"] == "stand-in driver library"
    assert with_gpu["ld_library_path"] == str(driver_folder.resolve())
    assert with_gpu["sys_write"] != "written" and with_gpu["lib_write"] != "written"
    assert not without["sysfs"] and without["ld_library_path"] is None  # (/dev/full is in every /dev)
    assert without["lib"] in ("FileNotFoundError", "PermissionError")
    # CUDA reserves far more address space than it uses: in the GPU pool the limit is on data, as in a fresh one
    assert (with_gpu["data"], with_gpu["as"]) == (memory, resource.RLIM_INFINITY)
    assert (without["as"], without["data"]) == (memory, resource.RLIM_INFINITY)
    for value in seen.values():
        assert value["nvml_check"] is None and value["cuda_initialized"] is False  # the zygote's only


@needs_bwrap
def test_the_warm_probe_runs_once_per_pool_and_says_why(driver_folder, monkeypatch):
    import torch

    with WarmPool(1, []) as plain:
        warm = plain.for_gpu()
        found = gpu.probe_warm(DEFAULT_LIMITS, warm)
        assert found.devices == (STAND_IN,) and not found.usable
        if torch.version.cuda is None:
            assert "CPU-only build" in found.reason
        monkeypatch.setattr(gpu, "_run_probe", lambda *a, **k: pytest.fail("the pool was probed twice"))
        assert gpu.probe_warm(DEFAULT_LIMITS, warm) is found


def test_a_warm_worker_that_does_not_start_makes_the_probe_unusable(driver_folder, monkeypatch):
    def refuse(*args, **kwargs):
        raise WarmSandboxError("a warm sandbox did not start: bwrap: stand-in refusal")

    monkeypatch.setattr(gpu, "_run_probe", refuse)
    with WarmPool(1, []) as plain:
        found = gpu.probe_warm(DEFAULT_LIMITS, plain.for_gpu())
    assert not found.usable and "a warm worker that sees the GPU did not start" in found.reason
    assert "stand-in refusal" in found.describe()


@pytest.mark.parametrize("devices, warm_ok, fresh_ok, chosen", [
    ([], True, True, "plain"),  # no GPU: the ordinary warm workers, even for a problem that asks for one
    ([STAND_IN], True, True, "gpu"),
    ([STAND_IN], False, True, "fresh"),  # CUDA works in a fresh sandbox only: a fresh sandbox per submission
    ([STAND_IN], False, False, "plain"),  # CUDA works nowhere: training runs on the CPU, so warm workers
])
def test_a_problem_that_trains_on_the_gpu_gets_warm_workers_that_see_it(monkeypatch, devices, warm_ok, fresh_ok,
                                                                        chosen):
    monkeypatch.setattr(gpu_devices, "devices", lambda: devices)
    asked = []

    def probe_warm(limits, pool):
        asked.append(pool)
        return gpu.GpuProbe(tuple(devices), warm_ok, reason="stand-in reason")

    monkeypatch.setattr(gpu, "probe_warm", probe_warm)
    monkeypatch.setattr(gpu, "probe", lambda limits, mode, secrets: gpu.GpuProbe(tuple(devices), fresh_ok))
    problems = load_assignment(ASSIGNMENT).problems
    wants, other = next(p for p in problems if p.limits.gpu), next(p for p in problems if not p.limits.gpu)
    with WarmPool(1, []) as plain:
        expected = {"plain": plain, "gpu": plain.for_gpu() if chosen == "gpu" else None, "fresh": None}[chosen]
        assert warm_pool_for(wants, plain) is expected
        assert workers_for(wants, plain).fresh_because == ("stand-in reason" if chosen == "fresh" else "")
        assert warm_pool_for(other, plain) is plain  # never the GPU for a problem that does not ask for it
        assert warm_pool_for(wants, None) is None
        assert asked == ([plain.for_gpu()] * 2 if devices else [])


@needs_bwrap
def test_a_grade_run_says_when_gpu_problems_run_fresh(driver_folder, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(gpu, "probe", lambda limits, mode, secrets: gpu.GpuProbe((STAND_IN,), True, name="Stand-in"))
    submissions = tmp_path / "submissions"
    shutil.copytree(SUBMISSIONS / "regularized-sum-sgd", submissions / "regularized-sum-sgd")
    out = tmp_path / "out"
    assert main(["grade", str(submissions), "--assignment", str(ASSIGNMENT), "--problems", "regularized-ae",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "note: regularized-ae trains on the GPU: its submissions start a fresh Python each" in printed
    reason = printed.split("CUDA does not work in a warm worker here: ", 1)[1].splitlines()[0]
    import torch

    assert "CPU-only build" in reason if torch.version.cuda is None else reason  # the warm probe's own words
    row = (out / "scores.csv").read_text().splitlines()[1].split(",")
    assert row[:2] == ["regularized-sum-sgd", "regularized-ae"] and row[5:7] == ["0", "0"]  # nothing lost
    assert main(["grade", str(submissions), "--assignment", str(ASSIGNMENT), "--problems", "seq2seq-tokens",
                 "--out", str(tmp_path / "other"), "--quiet"]) == 0
    assert "trains on the GPU" not in capsys.readouterr().out


@needs_bwrap
def test_doctor_says_whether_gpu_problems_get_warm_workers(driver_folder, monkeypatch):
    limits = next(p.limits for p in load_assignment(ASSIGNMENT).problems if p.limits.gpu)
    fact = machine.warm_gpu_fact(limits, [ASSIGNMENT])
    assert fact.name == "gpu workers" and not fact.ok
    assert fact.text.startswith("fresh: problems that train on the GPU start a fresh Python each")
    monkeypatch.setattr(gpu, "probe_warm", lambda limits, pool: gpu.GpuProbe((STAND_IN,), True, name="Stand-in"))
    assert machine.warm_gpu_fact(limits).ok


@pytest.mark.gpu
def test_cuda_works_in_the_sandbox_on_a_gpu_machine():
    if not gpu_devices.devices():
        pytest.skip("no NVIDIA GPU on this machine")
    problems = load_assignment(ASSIGNMENT).problems
    found = machine.gpu_probe(problems, "auto", [ASSIGNMENT])
    assert found is not None and found.usable, found.describe() if found else "no problem wants the GPU"
    assert found.name and found.cuda


def test_ray_asks_for_a_gpu_only_for_problems_whose_spec_wants_one():
    from grader.ray_executor import needs_gpu

    problems = load_assignment(ASSIGNMENT).problems
    assert [p.id for p in problems if needs_gpu(p)] == [p.id for p in problems if p.limits.gpu] == ["regularized-ae"]
