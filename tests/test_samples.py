"""Every sample submission in submissions/ is graded in one batch and has an asserted outcome."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS
from grader.api import grade_batch
from grader.models import Status
from grader.spec import load_assignment

P = "linear-ae-gradients"


@dataclass(frozen=True)
class Expect:
    status: Status  #: the status of every check result
    full_marks: bool = False
    diagnosis: str | None = None  #: the slip named on the reference comparison
    message: str | None = None  #: a phrase the feedback must contain


EXPECTED = {
    "correct-numpy": Expect(Status.PASSED, full_marks=True),
    "correct-torch": Expect(Status.PASSED, full_marks=True),
    "correct-notebook": Expect(Status.PASSED, full_marks=True),
    "slip-transposed": Expect(Status.FAILED, diagnosis="transposed"),
    "slip-factor-two": Expect(Status.FAILED, diagnosis="factor_two"),
    "slip-sign": Expect(Status.FAILED, diagnosis="sign"),
    "slip-swapped": Expect(Status.FAILED, diagnosis="swapped"),
    "slip-mean-over-samples": Expect(Status.FAILED, diagnosis="scaled_by_n"),
    "slip-mse": Expect(Status.FAILED, diagnosis="scaled_by_mn"),
    "syntax-error": Expect(Status.ERROR, message="SyntaxError at line 4"),
    "loops-forever": Expect(Status.TIMEOUT),
    "missing-function": Expect(Status.ERROR, message="defines no function 'linear_ae_gradients'"),
    "wrong-return-type": Expect(Status.ERROR, message="expected 2 values (dW1, dW2), got a str"),
    "nan-output": Expect(Status.FAILED, message="NaN"),
    "raises-exception": Expect(Status.ERROR, message="ValueError: matmul"),
    "empty-submission": Expect(Status.ERROR, message="no solution.py or solution.ipynb"),
    "not-utf8": Expect(Status.ERROR, message="not UTF-8"),
    "broken-notebook": Expect(Status.ERROR, message="not valid notebook JSON"),
}
PARTIAL = "edge-k1-squeeze"  # right except where k = 1


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return grade_batch(SUBMISSIONS, ASSIGNMENT, out, jobs=2)


def _result(batch, student):
    return next(r for r in batch.results if r.student == student)


def test_every_sample_has_an_expectation(batch):
    graded = {r.student for r in batch.results}
    assert graded == set(EXPECTED) | {PARTIAL}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_sample_outcome(batch, student):
    expect = EXPECTED[student]
    result = _result(batch, student)
    (problem,) = result.problems
    statuses = {c.status for c in problem.checks}
    if expect.full_marks:
        assert statuses == {Status.PASSED}
        assert problem.score == problem.max_score == 10
        return
    assert problem.score == 0
    if expect.status is Status.FAILED:
        assert statuses <= {Status.FAILED}, statuses
    else:
        assert statuses == {expect.status}
    feedback = [c.feedback for c in problem.checks]
    if expect.diagnosis:
        reference = [c for c in problem.checks if c.check == "matches-reference"]
        assert {c.diagnosis for c in reference} == {expect.diagnosis}
    if expect.message:
        assert all(expect.message in f for f in feedback), feedback[0]


def test_partial_credit_only_where_k_is_one(batch):
    spec = load_assignment(ASSIGNMENT).problem(P)
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
    assert len(rows) == len(batch.results)
    for row in rows:
        result = _result(batch, row["student"])
        assert row["problem"] == P
        assert float(row["score"]) == pytest.approx(result.score)
        assert float(row["max_score"]) == 10


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
        assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(10)


def test_hidden_cases_are_graded_and_marked(batch):
    data = json.loads((batch.out / "students" / "correct-numpy" / "results.json").read_text())
    hidden = [t for t in data["tests"] if t["visibility"] == "after_published"]
    assert hidden and all("hidden" in t["name"] for t in hidden)
