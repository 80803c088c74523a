"""The reference's timing for timed training (regularized-ae): the kit's calibration, which the engine runs
once per case and session before the submission's call (grader/calibration.py). It never runs where student
code ran, and a failure to time it is the machine's, graded as such, never a batch abort.

- The reference is calibrated in a fresh sandbox (``untouched_sandbox``), never in a warm worker: a warm worker
  whose training driver was replaced (what a student with a capability hole did, simulated here by planting
  the driver in the worker's tools folder from outside) runs it for students, but the calibration never sees it.
- A calibration that fails is kept once per case and session (``Calibrations``), announced once, and the timed
  check of each run that trained is an error that blames the machine (NotGraded); every other check, problem
  and student is graded and written, ``grade`` exits 0, and the next run regrades exactly those problems.
- A student release has no reference: no calibration, and the time budget is ``without_reference_seconds``.
"""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS, kit_module
from grader import api, calibration, cli, grading, session
from grader.calibration import Calibrations, Where, driver_context, untouched_sandbox
from grader.gradebook import Gradebook
from grader.grading import ALL, RunOptions, grade_problem
from grader.kit import CalibrationFailed
from grader.models import NOT_GRADED, CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.reference import CaseBook, ReferenceFailure
from grader.resume import plan_batch
from grader.sandbox.runner import Call, run_calls
from grader.spec import load_assignment
from grader.submissions import SourceFile, Submission

PROBLEM = "regularized-ae"
GRADIENTS = "linear-ae-gradients"
SPEC = load_assignment(ASSIGNMENT).problem(PROBLEM)
KIT = SPEC.kit
DRIVER = "regularized_training"
UNTIMED = "the reference setup could not be timed on this machine"
#: what the kit's calibration returns: the reference's time-to-target on this machine (plain data)
MEASURED = {"seconds": 0.2, "steps": 200, "device": "cpu (1 thread)", "steps_per_second": 1e3}


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

    with WarmPool(1, [ASSIGNMENT, SUBMISSIONS], modules=KIT.sandbox_modules) as pool:
        drivers = pool.tools / "drivers"  # mounted read-only into its sandboxes; planted from outside here
        shutil.copyfile(drivers / "regularized_training.py", drivers / "_honest_training.py")
        (drivers / "regularized_training.py").write_text(PLANTED)
        yield pool


def test_the_reference_is_timed_in_a_sandbox_no_submission_touched(tmp_path, planted_pool, monkeypatch):
    problem = _public_only(tmp_path)
    case = problem.cases[0]
    params = next(c for c in problem.checks if c.check == "timed_training").params
    book = CaseBook()
    reference = problem.reference.read_text()
    # the plant works: the reference run in that warm worker fails (what happened to every grade run)
    entry = problem.entry(case.entry)
    inputs = book.inputs(problem, case)
    settings = kit_module("training.calibration").driver_settings(params, budget_seconds=30, max_steps=50,
                                                                  seed=case.seed)
    call = Call(case.id, entry.name, tuple(inputs[a] for a in entry.args) + (settings,), driver=entry.driver)
    planted = run_calls(reference, "solution.py", [call], problem.limits, mode="auto",
                        secrets=[ASSIGNMENT, SUBMISSIONS], pool=planted_pool, modules=KIT.sandbox_modules)
    assert planted.calls[case.id].status is not Status.PASSED
    assert "planted driver" in planted.calls[case.id].message
    seen: list[tuple[str, dict]] = []  # (whose code, run_calls's keyword arguments), in order

    def spy(real):
        def run(source, *args, **kwargs):
            seen.append(("reference" if source == reference else "student", kwargs))
            return real(source, *args, **kwargs)

        return run

    monkeypatch.setattr(calibration, "run_calls", spy(calibration.run_calls))  # the calibration's runs
    monkeypatch.setattr(grading, "run_calls", spy(grading.run_calls))  # the submissions'
    student = (SUBMISSIONS / "regularized-sum-sgd" / "solution.py").read_text()
    options = RunOptions(ALL, "auto", (ASSIGNMENT, SUBMISSIONS), planted_pool)
    result = grade_problem(problem, SourceFile(student, "solution.py"), book, options)  # judged with the timing
    assert all(c.status is Status.PASSED for c in result.checks), [c.feedback for c in result.checks]
    training = next(c for c in result.checks if c.check == "training")
    assert training.data["reference"]["steps"] > 0 and "reference setup took" in training.feedback
    # calibrated once, before the submission's call, in a fresh sandbox hiding the session's secrets
    assert [who for who, _ in seen] == ["reference", "student"]
    (_, ref_args), (_, student_args) = seen
    assert ref_args["pool"] is None and ref_args["mode"] == "auto" and ASSIGNMENT in ref_args["secrets"]
    assert student_args["pool"] is planted_pool  # the student ran in the warm worker, the reference never did
    [(data, error)] = options.calibrations.measured().values()
    assert error is None and data == training.data["reference"]
    seen.clear()  # the same session: the calibration is not measured again
    grade_problem(problem, SourceFile(student, "solution.py"), book, options)
    assert [who for who, _ in seen] == ["student"]


def test_the_reference_sees_the_gpu_exactly_when_the_students_do():
    assert SPEC.limits.gpu
    fresh, where = untouched_sandbox(SPEC, Where("bwrap", (ASSIGNMENT,), None))
    assert fresh == SPEC.limits and where == {"mode": "bwrap", "secrets": [ASSIGNMENT], "pool": None}
    gpu_workers = SimpleNamespace(gpu=True)  # warm workers that see the GPU
    limits, where = untouched_sandbox(SPEC, Where("auto", (ASSIGNMENT,), gpu_workers))
    assert limits.gpu and where["pool"] is None
    cpu_workers = SimpleNamespace(gpu=False)  # CUDA works in no sandbox: students train on the CPU
    limits, where = untouched_sandbox(SPEC, Where("auto", (ASSIGNMENT,), cpu_workers))
    assert not limits.gpu and where["pool"] is None
    assert limits.call_seconds == SPEC.limits.call_seconds and limits.memory_mb == SPEC.limits.memory_mb


def test_run_reference_never_uses_the_warm_workers(monkeypatch):
    """The calibration's ``run_reference`` runs the reference through the driver in the untouched sandbox, with
    the kit's sandbox modules and the settings last, whatever warm workers the session has."""
    seen: list[tuple] = []

    def fake(source, filename, calls, limits, **kwargs):
        seen.append((source, calls, limits, kwargs))
        return SimpleNamespace(load=None, calls={calls[0].id: SimpleNamespace(
            status=Status.PASSED, value={"device": "cpu"}, ticks=(0.1, 0.2), seconds=0.3, message="")})

    monkeypatch.setattr(calibration, "run_calls", fake)
    case = SPEC.cases[0]
    warm = SimpleNamespace(gpu=False)
    run = calibration.run_reference(SPEC, case, CaseBook(), Where("auto", (ASSIGNMENT,), warm), {"max_steps": 7})
    assert (run.value, run.ticks, run.seconds) == ({"device": "cpu"}, (0.1, 0.2), 0.3)
    [(source, [call], limits, kwargs)] = seen
    assert source == SPEC.reference.read_text() and call.driver == DRIVER and call.args[-1] == {"max_steps": 7}
    assert kwargs["pool"] is None and kwargs["modules"] == KIT.sandbox_modules and not limits.gpu


# --------------------------------------------------------------------------- once per case and session


def test_a_calibration_is_kept_once_per_case_and_session(monkeypatch):
    """Each case is calibrated once per session (a new RunOptions is a new session), concurrently or not; a
    failure is kept too, with its reason on one printable line, and the companion hands it to the checks."""
    import threading

    calls: list[str] = []

    def failing(ctx):
        calls.append(ctx.case.id)
        raise CalibrationFailed(f"on case {ctx.case.id}: planted\x1b[2J\n" + "x" * 5000)

    monkeypatch.setitem(KIT.calibrations, DRIVER, failing)
    book, where, calibrations = CaseBook(), Where("auto", (ASSIGNMENT,), None), Calibrations()
    case = SPEC.cases[0]
    found = []
    threads = [threading.Thread(target=lambda: found.append(calibrations.get(SPEC, case, book, where)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [case.id] and len(set(found)) == 1
    [(data, error)] = set(found)
    assert data is None and error.startswith(f"on case {case.id}: planted") and "\x1b" not in error
    assert "\n" not in error and len(error) <= calibration.REASON_CHARS
    context = driver_context(SPEC, case, book, where, calibrations)
    assert calls == [case.id]  # the companion gets the kept failure; nothing measured again
    assert context.info["untimed"] == error and context.info["reference"] is None
    assert context.info["budget_seconds"] == SPEC.limits.call_seconds - 20  # the driver trains within the call's cap
    assert context.settings["budget_seconds"] == context.info["budget_seconds"]
    Calibrations().get(SPEC, case, book, where)  # another session measures again
    assert calls == [case.id, case.id]

    def broken(ctx):  # not a CalibrationFailed: the kit's bug, still the session's failure, not a crash
        raise TypeError("no such thing")

    monkeypatch.setitem(KIT.calibrations, DRIVER, broken)
    data, error = Calibrations().get(SPEC, case, book, where)
    line = broken.__code__.co_firstlineno + 1  # where the kit's code raised, for the staff
    assert data is None and error == f"calibrating on case {case.id} failed: {__file__}:{line}: TypeError: no such thing"


@pytest.mark.parametrize("seconds, budget, capped", [(0.2, 10.0, False), (3.0, 15.0, False), (100.0, 70.0, True)])
def test_the_companion_budgets_from_the_calibration(monkeypatch, seconds, budget, capped):
    """The time budget is the larger of floor_seconds and multiple x the reference's time, at most the call's cap
    (call_seconds less the setup's 20 s); the checks get the calibration's data as it was measured."""
    measured = {**MEASURED, "seconds": seconds}
    monkeypatch.setitem(KIT.calibrations, DRIVER, lambda ctx: measured)
    context = driver_context(SPEC, SPEC.cases[0], CaseBook(), Where(), Calibrations())
    assert context.info["reference"] == measured and context.info["untimed"] is None
    assert (context.info["budget_seconds"], context.info["capped"]) == (pytest.approx(budget), capped)
    assert context.settings["budget_seconds"] == pytest.approx(budget)
    assert context.settings["max_steps"] == context.info["step_budget"] == 4 * context.info["dynamics_steps"]


def test_a_student_release_has_no_calibration(tmp_path, monkeypatch):
    """A release has no reference to run: nothing is calibrated, and the budget is without_reference_seconds."""
    from grader.release import release_assignment

    release_assignment(ASSIGNMENT, tmp_path / "handout")
    released = load_assignment(tmp_path / "handout").problem(PROBLEM)
    assert released.reference is None
    called: list[str] = []
    monkeypatch.setitem(released.kit.calibrations, DRIVER, lambda ctx: called.append(ctx.case.id) or MEASURED)
    case = next(c for c in released.cases if c.visibility is Visibility.PUBLIC)
    calibrations = Calibrations()
    assert calibrations.get(released, case, CaseBook(), Where()) == (None, None)
    context = driver_context(released, case, CaseBook(), Where(), calibrations)
    params = next(c for c in released.checks if c.check == "timed_training").params
    assert called == [] and calibrations.measured() == {}
    assert context.info["reference"] is None and context.info["untimed"] is None
    assert context.info["budget_seconds"] == min(params.without_reference_seconds, released.limits.call_seconds - 20)


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
    """The reference's calibration run fails (as in a compromised worker); returns the calls made to it."""
    calls: list[str] = []

    def failing(problem, case, book, where, settings):
        calls.append(case.id)
        raise CalibrationFailed(f"on case {case.id}, regularized_ae_ref.py failed in the sandbox (error): "
                                "RuntimeError: planted\x1b[2J driver")

    monkeypatch.setattr(calibration, "run_reference", failing)
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
    assert timing_fails == ["homework"]  # calibrated once per session, not per student
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
    monkeypatch.setitem(load_assignment(assignment).kit.calibrations, DRIVER, lambda ctx: MEASURED)
    graded: list[tuple[str, tuple[str, ...]]] = []
    real = session.grade_submission

    def counting(submission, assignment, *, problems=None, **kwargs):
        graded.append((submission.student, tuple(p.id for p in problems)))
        return real(submission, assignment, problems=problems, **kwargs)

    monkeypatch.setattr(session, "grade_submission", counting)
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
