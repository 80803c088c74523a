"""Every sample submission in submissions/ is graded in one batch and has an asserted outcome."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass

import pytest

from conftest import ASSIGNMENT
from grader.models import Status
from grader.spec import load_assignment

P1, P2, P3, P4 = "linear-ae-gradients", "pca-optimality", "seq2seq-tokens", "regularized-ae"
PROBLEMS = (P1, P2, P3, P4)  # the problems with code
ALL_PROBLEMS = (P1, P2, P3, P4, "resnet-blog")


@dataclass(frozen=True)
class Whole:
    """Every check result of the problem has this status; a phrase every feedback contains."""

    status: Status
    message: str | None = None


@dataclass(frozen=True)
class Slip:
    """The named checks lose points, and nothing else; the first one names the slip on every lost case."""

    checks: tuple[str, ...]
    diagnosis: str | None
    status: Status = Status.FAILED
    message: str | None = None


NOT_ATTEMPTED = Whole(Status.ERROR, "defines no function")


def only_gradients(expect):
    """A sample that only defines linear_ae_gradients: the other problems report the missing functions."""
    return {P1: expect, P2: NOT_ATTEMPTED, P3: NOT_ATTEMPTED, P4: NOT_ATTEMPTED}


def only_regularized(expect=None):
    """A sample that only defines build_model, build_loss and build_optimizer (regularized-ae)."""
    return {P1: NOT_ATTEMPTED, P2: NOT_ATTEMPTED, P3: NOT_ATTEMPTED, P4: expect}


WITHOUT_TORCH_SETUP = {P4: NOT_ATTEMPTED}  # a hand-written homework from before regularized-ae had code


def everywhere(expect):
    return {p: expect for p in PROBLEMS}


GRADIENT_SLIP = ("matches-reference", "finite-differences")
EXPECTED = {
    "correct-numpy": {},
    "correct-torch": WITHOUT_TORCH_SETUP,
    "correct-notebook": {},
    "pca-svd-sign-flip": {},
    "pca-rotated-basis": {},
    "slip-transposed": {P1: Slip(GRADIENT_SLIP, "transposed")},
    "slip-factor-two": {P1: Slip(GRADIENT_SLIP, "factor_two")},
    "slip-sign": {P1: Slip(GRADIENT_SLIP, "sign")},
    "slip-swapped": {P1: Slip(GRADIENT_SLIP, "swapped")},
    "slip-mean-over-samples": {P1: Slip(GRADIENT_SLIP, "scaled_by_n")},
    "slip-mse": {P1: Slip(GRADIENT_SLIP, "scaled_by_mn")},
    "pca-smallest-eigenvectors": {P2: Slip(("principal-subspace",), "smallest_eigenvectors")},
    "pca-gram-matrix": {P2: Slip(("principal-subspace",), "gram_eigenvectors")},
    "pca-swapped": {P2: Slip(("principal-subspace",), "factors_swapped")},
    "pca-wrong-dimension": {P2: Slip(("principal-subspace",), "wrong_dimension")},
    "stationary-always-true": {P2: Slip(("stationarity",), "always_true")},
    "stationary-always-false": {P2: Slip(("stationarity",), "always_false")},
    "stationary-one-condition": {P2: Slip(("stationarity",), "one_condition")},
    "stationary-numpy-bool": {P2: Slip(("stationarity",), None, message="numpy.bool_")},
    "tf-missing-sos": {P3: Slip(("training-inputs",), "tf_missing_sos")},
    "tf-targets": {P3: Slip(("training-inputs",), "tf_targets")},
    "greedy-feeds-eos": {P3: Slip(("generation-inputs",), "fed_eos")},
    "greedy-never-stops": {P3: Slip(("generation-inputs",), "did_not_stop")},
    "greedy-drops-hidden-state": {P3: Slip(("generation-inputs",), "ignored_hidden_state")},
    "greedy-no-feedback": {P3: Slip(("generation-inputs",), "not_fed_back")},
    "greedy-missing-sos": {P3: Slip(("generation-inputs",), "missing_sos")},
    "syntax-error": everywhere(Whole(Status.ERROR, "SyntaxError at line 4")),
    "loops-forever": only_gradients(Whole(Status.TIMEOUT)),
    "missing-function": everywhere(Whole(Status.ERROR, "defines no function")),
    "wrong-return-type": only_gradients(Whole(Status.ERROR, "expected 2 values (dW1, dW2), got a str")),
    "nan-output": only_gradients(Whole(Status.FAILED, "NaN")),
    "raises-exception": only_gradients(Whole(Status.ERROR, "ValueError: matmul")),
    "empty-submission": everywhere(Whole(Status.ERROR, "no solution.py or solution.ipynb")),
    "not-utf8": everywhere(Whole(Status.ERROR, "not UTF-8")),
    "broken-notebook": everywhere(Whole(Status.ERROR, "not valid notebook JSON")),
    "answers-slips": WITHOUT_TORCH_SETUP,  # their written answers are asserted in test_answers.py
    "answers-hostile": WITHOUT_TORCH_SETUP,
    "answers-wrong-types": WITHOUT_TORCH_SETUP,
    # regularized-ae: accepted set-ups earn full marks; each rejected one names its mistake first on the
    # check that explains it (tests/test_regularized_ae.py asserts the explanations)
    "regularized-sum-sgd": only_regularized(),
    "regularized-mean-scaled": only_regularized(),
    "regularized-handwritten": only_regularized(),
    "regularized-adam": only_regularized(),  # Adam's weight_decay is coupled: Eq. 6's minimisers
    "regularized-wd-lam": only_regularized(Slip(("objective", "training"), "half_penalty")),
    "regularized-mean-2lam": only_regularized(Slip(("objective", "training"), "lambda_times_m")),
    "regularized-adamw": only_regularized(Slip(("objective", "training"), "decoupled_decay")),
    "regularized-no-decay": only_regularized(Slip(("objective", "training"), "no_weight_decay")),
    "regularized-bias": only_regularized(Slip(("structure", "training"), "bias")),
    "regularized-relu": only_regularized(Slip(("structure", "training"), "nonlinear")),
    "regularized-detached": only_regularized(Slip(("structure", "training"), "no_gradient")),
    "regularized-l1": only_regularized(Slip(("objective", "training"), "l1_loss")),
    "regularized-cross-entropy": only_regularized(Slip(("objective", "training"), "cross_entropy")),
    "regularized-wrong-params": only_regularized(Slip(("objective", "training"), "optimizer_not_gradient")),
    "regularized-lr-too-large": only_regularized(Slip(("training",), "diverged")),
    "regularized-mean-unscaled-lr": only_regularized(Slip(("training",), "budget_exhausted")),
}
WITHOUT_ANSWERS = {"syntax-error", "loops-forever", "missing-function", "wrong-return-type", "nan-output",
                   "raises-exception", "empty-submission", "not-utf8", "broken-notebook", "edge-k1-squeeze"}
ANSWERS_TESTED_ELSEWHERE = {"answers-slips", "answers-hostile", "answers-wrong-types"}
PARTIAL = "edge-k1-squeeze"  # right except where k = 1


@pytest.fixture(scope="module")
def batch(sample_batch):
    return sample_batch.batch  # every sample, graded once per session (conftest.py)


def _result(batch, student):
    return next(r for r in batch.results if r.student == student)


def test_every_sample_has_an_expectation(batch):
    graded = {r.student for r in batch.results}
    assert graded == set(EXPECTED) | {PARTIAL}


CASES = [(student, problem) for student in sorted(EXPECTED) for problem in PROBLEMS]


@pytest.mark.parametrize("student, problem", CASES, ids=[f"{s}:{p}" for s, p in CASES])
def test_sample_outcome(batch, student, problem):
    expect = EXPECTED[student].get(problem)
    result = next(p for p in _result(batch, student).problems if p.problem == problem)
    code = [c for c in result.checks if c.kind == "check"]
    statuses = {c.status for c in code}
    score = sum(c.score for c in code)
    if expect is None:  # this problem is done right
        assert statuses == {Status.PASSED}, [c.feedback for c in code if c.status is not Status.PASSED]
        assert score == pytest.approx(sum(c.max_score for c in code)) == pytest.approx(10)
        return
    if isinstance(expect, Whole):
        assert statuses == {expect.status}
        assert score == 0
        if expect.message:
            assert all(expect.message in c.feedback for c in code), code[0].feedback
        return
    lost = [c for c in code if c.status is not Status.PASSED]
    assert lost, "the mistake must cost points"
    assert score < 10
    assert {c.check for c in lost} == set(expect.checks)
    assert {c.status for c in lost} == {expect.status}
    assert {c.diagnosis for c in lost if c.check == expect.checks[0]} == {expect.diagnosis}
    if expect.message:
        assert all(expect.message in c.feedback for c in lost)


@pytest.mark.parametrize("student", sorted(set(EXPECTED) - ANSWERS_TESTED_ELSEWHERE))
def test_sample_written_answers(batch, student):
    questions = [c for p in _result(batch, student).problems for c in p.checks if c.kind == "question"]
    spec = load_assignment(ASSIGNMENT)
    assert len(questions) == sum(len(p.questions) for p in spec.problems)
    free_text = {(p.id, q.id) for p in spec.problems for q in p.questions if q.kind == "free_text"}
    for c in questions:
        if student in WITHOUT_ANSWERS:
            assert c.status is Status.ERROR and "no answers.yaml" in c.feedback
        elif (c.problem, c.check) in free_text:
            assert c.status is Status.PENDING and c.score == 0 and "Your answer:" in c.feedback
        else:
            assert c.status is Status.PASSED, (c.name, c.feedback)
            assert c.score == c.max_score


def test_partial_credit_only_where_k_is_one(batch):
    spec = load_assignment(ASSIGNMENT).problem(P1)
    problem = _result(batch, PARTIAL).problems[0]
    k_one = {c.id for c in spec.cases if c.params["k"] == 1}
    assert k_one, "the spec must keep a k = 1 case"
    failed = {c.case for c in problem.checks if c.status is not Status.PASSED}
    assert failed == k_one
    expected = sum(ch.points * (1 - len(k_one) / len(spec.cases)) for ch in spec.checks)
    assert problem.score == pytest.approx(expected)
    assert all("shape" in c.feedback for c in problem.checks if c.case in k_one)


def test_scores_csv_matches_results(batch):
    with open(batch.scores_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:4] == ["student", "problem", "score", "max_score"]
    assert len(rows) == len(batch.results) * len(ALL_PROBLEMS)
    for row in rows:
        result = next(p for p in _result(batch, row["student"]).problems if p.problem == row["problem"])
        assert float(row["score"]) == pytest.approx(result.score, abs=1e-4)
        assert float(row["max_score"]) == pytest.approx(result.max_score)


def test_results_json_follows_gradescope_schema(batch):
    for result in batch.results:
        data = json.loads((batch.out / "students" / result.student / "results.json").read_text())
        assert data["score"] == pytest.approx(result.score)
        assert data["tests"], result.student
        for test in data["tests"]:
            assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
            assert test["status"] in ("passed", "failed")
            assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])
        spec = load_assignment(ASSIGNMENT)
        assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(spec.max_score)


def test_hidden_cases_are_graded_and_marked(batch):
    data = json.loads((batch.out / "students" / "correct-numpy" / "results.json").read_text())
    hidden = {t["extra_data"]["case"] for t in data["tests"]
              if t["visibility"] == "after_published" and t["extra_data"]["case"]}
    spec = load_assignment(ASSIGNMENT)
    assert hidden == {c.id for p in spec.problems for c in p.cases if c.visibility.value == "hidden"}
