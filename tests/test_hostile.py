"""The red-team suite: every hostile submission in tests/hostile/ is graded in one real batch next to an
honest one. Each attack gains nothing, the attacked checks score zero with a clear status, the honest
submission scores exactly as when graded alone, the batch completes, and nothing is left running.

Reading secrets, writing outside the sandbox, the network and printed fake results are covered in
test_sandbox.py; hostile answers.yaml files in test_answers.py; limits on single calls in test_limits.py.
"""

from __future__ import annotations

import os
import random
import tempfile
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS
from grader.api import grade_batch
from grader.models import Status

HOSTILE = Path(__file__).parent / "hostile"
PROBLEM = "linear-ae-gradients"
MARKER = f"{random.randint(10**6, 10**7)}.{random.randint(100, 999)}"  # an argument of the daemon's sleep


@dataclass(frozen=True)
class Expect:
    statuses: frozenset[Status]  #: the statuses the checks may end with
    feedback: str | None = None  #: a phrase in every check's feedback
    stdout: str | None = None  #: a phrase in what the submission printed
    #: "zero"; "full" (the code is right, the attack was on the side); "some"; or "any" (timing decides)
    score: str = "zero"


def _e(*statuses: Status, **kw) -> Expect:
    return Expect(frozenset(statuses), **kw)


EXPECTED = {
    "forge-events": _e(Status.ERROR, feedback="interfered with the grader's harness"),
    "exit-midway": _e(Status.ERROR, feedback="sys.exit"),
    "os-exit-midway": _e(Status.CRASHED, feedback="exited with status 0"),
    "patched-numpy": _e(Status.FAILED),
    "ndarray-subclass": _e(Status.FAILED),
    "lying-dunders": _e(Status.ERROR, feedback="cannot return a value of type"),
    "patched-builtins": _e(Status.ERROR, Status.FAILED, Status.CRASHED),
    "returns-arguments": _e(Status.FAILED),
    "kills-parent": _e(Status.CRASHED, feedback="SIGKILL"),
    "ignores-sigterm": _e(Status.TIMEOUT),
    "segfault": _e(Status.CRASHED, feedback="SIGSEGV"),
    "deep-recursion": _e(Status.ERROR, Status.CRASHED, Status.TIMEOUT, Status.MEMORY),
    "fork-bomb": _e(Status.ERROR, Status.TIMEOUT),  # capped (an error), or slow enough on a busy machine
    "leaves-daemon": _e(Status.PASSED, score="full"),
    "memory-hog": _e(Status.MEMORY, feedback="ran out of memory"),
    "fills-disk": _e(Status.ERROR, stdout="DISK-FULL"),
    "prints-gigabytes": _e(Status.ERROR),
    "patches-time": _e(Status.TIMEOUT),
    # its spinning threads only slow down its own later calls
    "lingering-threads": _e(Status.PASSED, Status.TIMEOUT, score="any"),
    "detects-grader": _e(Status.PASSED, Status.FAILED, score="some"),
}
HONEST = ("honest-numpy", "honest-torch")


def _fast_assignment(root: Path) -> Path:
    """The shipped assignment with short time limits, so the attacks that spin cost little."""
    copy = root / "assignment"
    shutil.copytree(ASSIGNMENT, copy)
    spec = copy / f"{PROBLEM}.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("call_seconds: 5 ", "call_seconds: 2 ").replace("problem_seconds: 20",
                                                                                "problem_seconds: 8"))
    assert "call_seconds: 2" in spec.read_text()
    main = copy / "assignment.yaml"
    main.write_text(main.read_text().replace("memory_mb: 4096", "memory_mb: 2048"))
    assert "memory_mb: 2048" in main.read_text()
    return copy


def _honest(subs: Path) -> None:
    for name, source in zip(HONEST, ("correct-numpy", "correct-torch")):
        (subs / name).mkdir(parents=True)
        shutil.copy(SUBMISSIONS / source / "solution.py", subs / name / "solution.py")


def _running(needle: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd:
            found.append(f"{pid}: {cmd}")
    return found


@pytest.fixture(scope="module")
def jobs_dir(tmp_path_factory):
    """The sandboxes' job folders go here, so this batch's processes can be told from any other's."""
    folder = tmp_path_factory.mktemp("jobs")
    saved, tempfile.tempdir = tempfile.tempdir, str(folder)
    yield folder
    tempfile.tempdir = saved


@pytest.fixture(scope="module")
def graded(tmp_path_factory, bwrap_available, jobs_dir):
    root = tmp_path_factory.mktemp("hostile")
    assignment = _fast_assignment(root)
    alone = grade_batch(_only_honest(root), assignment, root / "out-alone", problems=[PROBLEM], sandbox="bwrap")
    subs = root / "subs"
    _honest(subs)
    for folder in sorted(HOSTILE.iterdir()):
        (subs / folder.name).mkdir()
        text = (folder / "solution.py").read_text().replace("__MARKER__", MARKER)
        (subs / folder.name / "solution.py").write_text(text)
    batch = grade_batch(subs, assignment, root / "out", jobs=2, problems=[PROBLEM], sandbox="bwrap")
    return alone, batch


def _only_honest(root: Path) -> Path:
    subs = root / "honest-only"
    _honest(subs)
    return subs


def _problem(batch, student):
    return next(r for r in batch.results if r.student == student).problems[0]


def test_every_hostile_submission_has_an_expectation():
    assert {p.name for p in HOSTILE.iterdir()} == set(EXPECTED)


def test_the_batch_completes(graded):
    _, batch = graded
    assert {r.student for r in batch.results} == set(EXPECTED) | set(HONEST)
    assert (batch.out / "scores.csv").read_text().count("\n") == len(EXPECTED) + len(HONEST) + 1


@pytest.mark.parametrize("student", HONEST)
def test_honest_scores_exactly_as_when_graded_alone(graded, student):
    alone, batch = graded
    a, b = _problem(alone, student), _problem(batch, student)
    assert a.score == b.score == a.max_score
    assert [(c.check, c.case, c.status, c.score) for c in a.checks] == \
           [(c.check, c.case, c.status, c.score) for c in b.checks]


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_attack_gains_nothing(graded, student):
    expect = EXPECTED[student]
    problem = _problem(graded[1], student)
    statuses = {c.status for c in problem.checks}
    assert statuses <= expect.statuses, [(c.case, c.status.value, c.feedback[:80]) for c in problem.checks]
    if expect.score == "full":
        assert problem.score == problem.max_score
        return
    lost = [c for c in problem.checks if c.status is not Status.PASSED]
    assert all(c.score == 0 for c in lost)
    if expect.score == "any":
        return
    assert lost
    if expect.score == "zero":
        assert problem.score == 0
    if student == "detects-grader":  # only the cases it could recognise pass: every hidden one fails
        assert {c.case for c in lost} == {c.case for c in problem.checks if c.visibility.value == "hidden"}
    if expect.feedback:
        assert all(expect.feedback in c.feedback for c in lost), lost[0].feedback
    if expect.stdout:
        assert expect.stdout in problem.stdout, problem.stdout[-500:]


def test_disk_and_output_stay_bounded(graded):
    batch = graded[1]
    fills = _problem(batch, "fills-disk").stdout
    for line in fills.splitlines():
        if line.startswith("DISK-FULL"):
            assert int(line.split(" after ")[1].split(" MB")[0]) <= 64, line
    assert len(_problem(batch, "prints-gigabytes").stdout) < 70 * 1024
    assert "output truncated" in _problem(batch, "prints-gigabytes").stdout


def test_fork_bomb_is_capped(tmp_path, bwrap_available):
    """Alone (not racing the batch's other attacks for time), the bomb meets the run's process cap."""
    from grader.models import Limits
    from grader.sandbox.runner import Call, run_calls

    source = (HOSTILE / "fork-bomb" / "solution.py").read_text()
    limits = Limits(call_seconds=20, problem_seconds=30, memory_mb=2048, output_kb=8)
    result = run_calls(source, "solution.py", [Call("c0", "linear_ae_gradients", (1, 2, 3))], limits,
                       mode="bwrap")
    assert result.calls["c0"].status is Status.ERROR
    made = int(result.stdout.split("FORK-CAPPED after ")[1].split(":")[0])
    assert made < 100


def test_nothing_is_left_running(graded, jobs_dir):
    assert _running(MARKER) == []
    assert _running(str(jobs_dir)) == []
    assert list(jobs_dir.iterdir()) == []  # every job folder was removed


def test_duplicate_ids_are_reported(tmp_path):
    from grader.submissions import collect

    for name in ("alice", "Alice", "bob"):
        (tmp_path / name).mkdir()
    found = collect(tmp_path)
    assert {s.student for s in found.submissions} == {"alice", "Alice", "bob"}
    assert any("differ only in case" in w for w in found.warnings)
