"""The reference's timing for timed training (regularized-ae): it never runs where student code ran, and a
failure to time it is the machine's, graded as such, never a batch abort.

- The reference is timed in a fresh sandbox, never in a warm worker: a warm worker whose training driver
  was replaced (what a student with a capability hole did, simulated here by planting the driver in the
  worker's tools folder from outside) runs it for students, but the reference's timing never sees it.
- A reference that cannot be timed is measured once per run, announced once, and each affected check is an
  error that blames the machine; every other check, problem and student is graded and written, ``grade``
  exits 0, and the next run regrades exactly those problems.
"""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS
from grader import api, cli
from grader.driven import Sandbox
from grader.gradebook import Gradebook
from grader.grading import ALL, RunOptions, grade_problem
from grader.models import NOT_GRADED, CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.reference import CaseBook, ReferenceFailure
from grader.resume import plan_batch
from grader.spec import load_assignment
from grader.submissions import SourceFile, Submission
from grader.training import calibration
from grader.training.calibration import ReferenceTiming

PROBLEM = "regularized-ae"
GRADIENTS = "linear-ae-gradients"
SPEC = load_assignment(ASSIGNMENT).problem(PROBLEM)
UNTIMED = "the reference setup could not be timed on this machine"


def _public_only(tmp_path: Path):
    """regularized-ae with its public case only (one training per grading)."""
    copy = tmp_path / "assignment"
    shutil.copytree(ASSIGNMENT, copy)
    spec = copy / f"{PROBLEM}.yaml"
    spec.write_text("\n".join(line for line in spec.read_text().splitlines() if "id: hidden-spectrum" not in line)
                    + "\n")
    return load_assignment(copy).problem(PROBLEM)


# --------------------------------------------------------------------------- where the reference runs

PLANTED = textwrap.dedent('''
    """Planted over the warm worker's training driver: honest for students, fails the reference."""
    import importlib.util
    import os

    _path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_honest_training.py")
    _spec = importlib.util.spec_from_file_location("honest_training", _path)
    _honest = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_honest)


    def run(namespace, *args, tick):
        if "regularized_ae" in namespace:  # the reference solution (students define build_* only)
            raise RuntimeError("planted driver: the reference fails in this warm worker")
        return _honest.run(namespace, *args, tick=tick)
''')


@pytest.fixture
def planted_pool(bwrap_available):
    """A warm pool whose training driver was replaced, as by the attack: later jobs in it run the fake one."""
    from grader.sandbox.pool import WarmPool

    with WarmPool(1, [ASSIGNMENT, SUBMISSIONS]) as pool:
        drivers = pool.tools / "drivers"  # mounted read-only into its sandboxes; planted from outside here
        shutil.copyfile(drivers / "regularized_training.py", drivers / "_honest_training.py")
        (drivers / "regularized_training.py").write_text(PLANTED)
        yield pool


def test_the_reference_is_timed_in_a_sandbox_no_submission_touched(tmp_path, planted_pool, monkeypatch):
    from grader.sandbox import runner

    problem = _public_only(tmp_path)
    case = problem.cases[0]
    params = next(c for c in problem.checks if c.check == "timed_training").params
    book = CaseBook()
    # the plant works: the reference run in that warm worker fails (what happened to every grade run)
    with pytest.raises(ReferenceFailure, match="planted driver"):
        calibration.measure(problem, case, book, params, problem.limits, mode="auto",
                            secrets=[ASSIGNMENT, SUBMISSIONS], pool=planted_pool)
    reference = problem.reference.read_text()
    seen: list[dict] = []
    real = runner.run_calls

    def spy(source, *args, **kwargs):
        if source == reference:
            seen.append(kwargs)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(runner, "run_calls", spy)
    student = (SUBMISSIONS / "regularized-sum-sgd" / "solution.py").read_text()
    options = RunOptions(ALL, "auto", (ASSIGNMENT, SUBMISSIONS), planted_pool)
    result = grade_problem(problem, SourceFile(student, "solution.py"), book, options)  # judged with the timing
    assert all(c.status is Status.PASSED for c in result.checks), [c.feedback for c in result.checks]
    training = next(c for c in result.checks if c.check == "training")
    assert training.data["reference"]["steps"] > 0 and "reference setup took" in training.feedback
    assert [k["pool"] for k in seen] == [None]  # timed once, in a fresh sandbox hiding the run's secrets
    assert seen[0]["mode"] == "auto" and ASSIGNMENT in seen[0]["secrets"]


def test_the_reference_sees_the_gpu_exactly_when_the_students_do():
    assert SPEC.limits.gpu
    fresh, where = calibration.untouched_sandbox(SPEC, Sandbox("bwrap", (ASSIGNMENT,), None))
    assert fresh == SPEC.limits and where == {"mode": "bwrap", "secrets": [ASSIGNMENT], "pool": None}
    gpu_workers = SimpleNamespace(gpu=True)  # warm workers that see the GPU
    limits, where = calibration.untouched_sandbox(SPEC, Sandbox("auto", (ASSIGNMENT,), gpu_workers))
    assert limits.gpu and where["pool"] is None
    cpu_workers = SimpleNamespace(gpu=False)  # CUDA works in no sandbox: students train on the CPU
    limits, where = calibration.untouched_sandbox(SPEC, Sandbox("auto", (ASSIGNMENT,), cpu_workers))
    assert not limits.gpu and where["pool"] is None
    assert limits.call_seconds == SPEC.limits.call_seconds and limits.memory_mb == SPEC.limits.memory_mb


# --------------------------------------------------------------------------- a failure is the machine's

def test_resuming_regrades_the_problems_the_machine_left_ungraded(tmp_path):
    from grader.fingerprint import submission_hash

    folder = tmp_path / "ann"
    shutil.copytree(SUBMISSIONS / "correct-numpy", folder)
    left = CheckResult(PROBLEM, "training", "homework", Visibility.PUBLIC, Status.ERROR, 0.0, 1.5, "not graded",
                       NOT_GRADED, data={"not_graded": "why"})
    fine = CheckResult(GRADIENTS, "matches", "basic", Visibility.PUBLIC, Status.PASSED, 7.0, 7.0)
    result = SubmissionResult("ann", [ProblemResult(GRADIENTS, "g", [fine]), ProblemResult(PROBLEM, "r", [left])])
    assert not result.problems[1].graded and result.problems[0].graded
    with Gradebook.open(tmp_path / "gradebook.sqlite") as book:
        book.save(result, folder=folder, content_hash=submission_hash(folder), spec_hash="s", run_id=None,
                  fresh=[GRADIENTS, PROBLEM])
        stored = book.stored()
    assert stored["ann"].problems == {GRADIENTS, PROBLEM} and stored["ann"].ungraded == {PROBLEM}
    assignment = load_assignment(ASSIGNMENT)
    chosen = [assignment.problem(GRADIENTS), assignment.problem(PROBLEM)]
    plan = plan_batch(stored, [Submission("ann", folder)], chosen, "s")
    [job] = plan.jobs
    assert [p.id for p in job.problems] == [PROBLEM] and job.keep and job.reason == "ungraded"
    assert "grading 1 (1 left ungraded by the machine)" in plan.notice
    assert plan_batch(stored, [Submission("ann", folder)], chosen[:1], "s").skipped  # not selected: kept as is


@pytest.fixture
def timing_fails(monkeypatch):
    """The reference's timing run fails (as in a compromised worker); returns the calls made to it."""
    calls: list[str] = []

    def failing(problem, case, *args, **kwargs):
        calls.append(case.id)
        raise ReferenceFailure(f"on case {case.id}, regularized_ae_ref.py failed in the sandbox (error): "
                               "RuntimeError: planted\x1b[2J driver")

    monkeypatch.setattr(calibration, "measure", failing)
    return calls


def test_an_untimed_reference_is_the_machines_failure_and_the_next_run_regrades_it(tmp_path, timing_fails,
                                                                                    monkeypatch, capsys):
    subs, out, assignment = tmp_path / "subs", tmp_path / "out", tmp_path / "assignment"
    _public_only(tmp_path)
    for student, sample in (("ann", "correct-numpy"), ("bob", "regularized-wd-lam")):
        shutil.copytree(SUBMISSIONS / sample, subs / student)
    argv = ["grade", str(subs), "--assignment", str(assignment), "--out", str(out), "--jobs", "2", "--quiet",
            "--fresh", "--problems", f"{GRADIENTS},{PROBLEM}"]  # fresh: the workers do not matter here
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert err.count(f"warning: {PROBLEM}: {UNTIMED}") == 1, err  # once, for both students
    assert "RuntimeError: planted" in err and "\x1b" not in err  # the staff's reason, printable only
    assert timing_fails == ["homework"]  # measured once per run, not per student
    scores = {(r["student"], r["problem"]): r for r in _csv(out / "scores.csv")}
    assert set(scores) == {(s, p) for s in ("ann", "bob") for p in (GRADIENTS, PROBLEM)}
    assert float(scores[("ann", GRADIENTS)]["score"]) == float(scores[("ann", GRADIENTS)]["max_score"])
    for student in ("ann", "bob"):
        tests = json.loads((out / "students" / student / "results.json").read_text())["tests"]
        training = [t for t in tests if t["name"].startswith(f"{PROBLEM} / training")]
        assert len(training) == 1 and all(t["extra_data"]["status"] == "error" for t in training)
        assert all("machine's failure, not your code's" in t["output"] for t in training)
        assert all("planted" not in t["output"] for t in training)  # the reason stays with the staff
        others = [t for t in tests if t["name"].startswith(f"{PROBLEM} / ") and t["name"].endswith("/ homework")
                  and t not in training]  # structure and objective
        assert len(others) == 2 and all(t["extra_data"]["status"] in ("passed", "failed") for t in others)
    bob = {t["name"]: t for t in json.loads((out / "students" / "bob" / "results.json").read_text())["tests"]}
    assert bob[f"{PROBLEM} / objective / homework"]["extra_data"]["status"] == "failed"  # still graded

    # the next run: the machine can time the reference now; only the two untimed problems are graded again
    monkeypatch.setattr(calibration, "measure", lambda *a, **k: ReferenceTiming(0.2, 200, "cpu (1 thread)", 1e3, 1.0))
    graded: list[tuple[str, tuple[str, ...]]] = []
    real = api.grade_submission

    def counting(submission, assignment, *, problems=None, **kwargs):
        graded.append((submission.student, tuple(p.id for p in problems)))
        return real(submission, assignment, problems=problems, **kwargs)

    monkeypatch.setattr(api, "grade_submission", counting)
    notices: list[str] = []
    batch = api.grade_batch(subs, assignment, out, jobs=2, problems=[GRADIENTS, PROBLEM], warm=False,
                            on_notice=notices.append)
    assert sorted(graded) == [("ann", (PROBLEM,)), ("bob", (PROBLEM,))]
    assert any("grading 2 (2 left ungraded by the machine)" in n for n in notices), notices
    assert not any(n.startswith("warning:") for n in notices)
    for result in batch.results:
        training = [c for p in result.problems for c in p.checks if c.check == "training"]
        assert training and all(c.graded for c in training)
        assert all(c.status is (Status.PASSED if result.student == "ann" else Status.FAILED) for c in training)
    graded.clear()
    api.grade_batch(subs, assignment, out, jobs=2, problems=[GRADIENTS, PROBLEM], warm=False,
                    on_notice=notices.append)
    assert graded == []  # all graded now


def test_validate_cannot_decide_without_the_timing(tmp_path, timing_fails):
    """validate needs the reference's timing: without it the grader could not do its job (exit 2, the reason)."""
    _public_only(tmp_path)
    listing = tmp_path / "assignment" / "assignment.yaml"
    text = listing.read_text()
    listing.write_text("\n".join(line for line in text.splitlines()
                                 if not line.startswith("  - ") or line == f"  - {PROBLEM}") + "\n")
    assert [p.id for p in load_assignment(tmp_path / "assignment").problems] == [PROBLEM]
    with pytest.raises(ReferenceFailure, match=f"{PROBLEM}: {UNTIMED} .*planted"):
        api.validate_assignment(tmp_path / "assignment")


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
