"""Every assignment's sample submissions (problems/<assignment>/samples/) are graded in one batch each and come
out as its samples.yaml says (grader.samples); the batch's output files; samples.yaml's loader and wording."""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from pathlib import Path

import pytest

from conftest import ASSIGNMENT, SAMPLE_ASSIGNMENTS
from grader import cli
from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.samples import Outcome, ProblemShape, Sample, SampleSet, compare, load_samples, run_samples
from grader.spec import SpecError, load_assignment

#: assignment -> its samples.yaml, read against its samples/ folder and specs (a broken one fails collection)
EXPECTED = {name: load_samples(root) for name, root in SAMPLE_ASSIGNMENTS.items()}
SAMPLES = [(a, s) for a, expected in EXPECTED.items() for s in sorted(expected.samples)]


def test_the_shipped_assignment_keeps_samples():
    assert ASSIGNMENT.name in EXPECTED and not (ASSIGNMENT.parent.parent / "submissions").exists()
    assert len(EXPECTED[ASSIGNMENT.name].samples) >= 50


@pytest.fixture(scope="module")
def mismatches(sample_batches):
    """assignment -> compare(samples.yaml, its samples graded), computed once per assignment."""
    found: dict = {}

    def of(assignment: str):
        if assignment not in found:
            found[assignment] = compare(EXPECTED[assignment], sample_batches[assignment].batch.results)
        return found[assignment]

    return of


@pytest.mark.parametrize("assignment", sorted(EXPECTED))
def test_every_sample_has_an_expectation(sample_batches, mismatches, assignment):
    graded = {r.student for r in sample_batches[assignment].batch.results}
    assert graded == set(EXPECTED[assignment].samples)
    assert [str(m) for m in mismatches(assignment) if m.sample not in graded] == []


@pytest.mark.parametrize("assignment, sample", SAMPLES, ids=[f"{a}/{s}" for a, s in SAMPLES])
def test_sample_outcome(mismatches, assignment, sample):
    """Statuses, scores, diagnoses, feedback phrases and written answers, as samples.yaml says."""
    found = [str(m) for m in mismatches(assignment) if m.sample == sample]
    assert not found, "\n".join(found)


def test_the_k1_sample_loses_exactly_on_the_k_one_cases():
    """edge-k1-squeeze is right except where k = 1: samples.yaml names those case groups; they must be the
    spec's k = 1 cases, all of them (compare() holds the partial credit to them)."""
    spec = load_assignment(ASSIGNMENT).problem("linear-ae-gradients")
    k_one = {c.group for c in spec.cases if c.params["k"] == 1}
    assert k_one, "the spec must keep a k = 1 case"
    outcome = EXPECTED[ASSIGNMENT.name].samples["edge-k1-squeeze"].problems["linear-ae-gradients"]
    assert outcome.lose is None and set(outcome.cases) == k_one and outcome.feedback == "shape"


# --------------------------------------------------------------------------- the batch's output files


@pytest.fixture(scope="module")
def batch(sample_batch):
    return sample_batch.batch  # every sample, graded once per session (conftest.py)


def _result(batch, student):
    return next(r for r in batch.results if r.student == student)


def test_scores_csv_matches_results(batch):
    with open(batch.scores_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:4] == ["student", "problem", "score", "max_score"]
    assert len(rows) == len(batch.results) * len(load_assignment(ASSIGNMENT).problems)
    for row in rows:
        result = next(p for p in _result(batch, row["student"]).problems if p.problem == row["problem"])
        assert float(row["score"]) == pytest.approx(result.score, abs=1e-4)
        assert float(row["max_score"]) == pytest.approx(result.max_score)


def test_results_json_follows_gradescope_schema(batch):
    spec = load_assignment(ASSIGNMENT)
    for result in batch.results:
        data = json.loads((batch.out / "students" / result.student / "results.json").read_text())
        assert data["score"] == pytest.approx(result.score)
        assert data["tests"], result.student
        for test in data["tests"]:
            assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
            assert test["status"] in ("passed", "failed")
            assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])
        assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(spec.max_score)


def test_hidden_cases_are_graded_and_marked(batch):
    data = json.loads((batch.out / "students" / "correct-numpy" / "results.json").read_text())
    hidden = {t["extra_data"]["case"] for t in data["tests"]
              if t["visibility"] == "after_published" and t["extra_data"]["case"]}
    spec = load_assignment(ASSIGNMENT)
    assert hidden == {c.id for p in spec.problems for c in p.cases if c.visibility.value == "hidden"}


# --------------------------------------------------------------------------- samples.yaml: loading


def _kit(tmp_path: Path, text: str, folders=("good", "bad")) -> Path:
    """An assignment folder (the shipped specs, no samples) with ``text`` as samples.yaml and empty sample folders."""
    root = tmp_path / "assignment"
    shutil.copytree(ASSIGNMENT, root, ignore=shutil.ignore_patterns("samples", "samples.yaml", "__pycache__"))
    for name in folders:
        (root / "samples" / name).mkdir(parents=True)
    (root / "samples.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _issues(root: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_samples(root)
    return [str(i) for i in err.value.issues]


def test_loader_reads_outcomes_names_and_defaults(tmp_path):
    root = _kit(tmp_path, """\
        outcomes:
          not-attempted: {status: error, feedback: "defines no function"}
        samples:
          good:
          bad:
            problems:
              linear-ae-gradients: {lose: [finite-differences], diagnosis: null, feedback: x}
              regularized-ae: full-marks
            others: not-attempted
            answers: {status: error, feedback: "no answers.yaml"}
        """)
    found = load_samples(root)
    assert found.file == root / "samples.yaml" and found.folder == root / "samples"
    assert found.samples["good"] == Sample("good", {}, "right", found.samples["good"].line)
    bad = found.samples["bad"]
    assert bad.problems["linear-ae-gradients"] == Outcome(Status.FAILED, ("finite-differences",), None, None, True,
                                                         "x", 7)
    assert set(bad.problems) == {"linear-ae-gradients", "pca-optimality", "seq2seq-tokens"}  # not resnet-blog
    assert bad.problems["pca-optimality"].whole and bad.problems["pca-optimality"].status is Status.ERROR
    assert bad.answers == Outcome(Status.ERROR, feedback="no answers.yaml", line=10)


def test_loader_names_file_line_and_field_of_every_issue(tmp_path):
    root = _kit(tmp_path, """\
        samples:
          good:
            problems:
              no-such-problem: {status: error}
              linear-ae-gradients: {lose: [no-such-check]}
              pca-optimality: {cases: [no-such-case], status: passed}
              seq2seq-tokens: not-named
              resnet-blog: {status: error}
            answers: maybe
          ghost: {}
          bad: {problem: {}}
        """, folders=("good", "bad", "stray"))
    file = root / "samples.yaml"
    issues = _issues(root)
    expected = [
        (f"{file}:4: samples.good.problems.no-such-problem: unknown problem", ),
        (f"{file}:5: samples.good.problems.linear-ae-gradients.lose: unknown checks no-such-check", ),
        (f"{file}:6: samples.good.problems.pca-optimality.status: expected one of failed, error", ),
        (f"{file}:6: samples.good.problems.pca-optimality.cases: unknown case groups no-such-case", ),
        (f"{file}:7: samples.good.problems.seq2seq-tokens: no outcome named 'not-named'", ),
        (f"{file}:8: samples.good.problems.resnet-blog: this problem has no code checks", ),
        (f"{file}:9: samples.good.answers: expected right, unchecked, an outcome", ),
        (f"{file}:10: samples.ghost: no folder {root / 'samples' / 'ghost'}", ),
        (f"{file}:11: samples.bad.problem: unknown field (a typo?)", ),
        (f"{file}:1: samples: the sample folder {root / 'samples' / 'stray'} has no entry here", ),
    ]
    for (start,) in expected:
        assert any(i.startswith(start) for i in issues), (start, issues)
    assert len(issues) == len(expected), issues


def test_loader_wants_both_the_file_and_the_folder(tmp_path):
    root = _kit(tmp_path, "samples: {}\n", folders=())
    assert _issues(root) == [f"{root / 'samples.yaml'}: no folder {root / 'samples'} of the sample submissions "
                             "it describes"]
    (root / "samples").mkdir()
    (root / "samples.yaml").unlink()
    assert "missing" in _issues(root)[0]
    (root / "samples").rmdir()
    assert load_samples(root) is None
    (root / "samples.yaml").write_text("samples: [\n")
    (root / "samples").mkdir()
    assert "invalid YAML" in _issues(root)[0]


# --------------------------------------------------------------------------- compare(): what differs, in words


SHAPE = ProblemShape("p", ("exact", "loose"), 10.0, {"a": "a", "b-s1": "b", "b-s2": "b"}, {"why": "free_text",
                                                                                          "pick": "single_choice"})


def _graded(student: str, lost: dict[tuple[str, str], tuple[Status, str | None, str]] = (),
            answers: Status | None = None) -> SubmissionResult:
    """A result for SHAPE: every (check, case) passes with its points, except those in ``lost``."""
    lost = dict(lost)
    problem = ProblemResult("p", "P")
    for check, points in (("exact", 6.0), ("loose", 4.0)):
        for case in ("a", "b-s1", "b-s2"):
            status, diagnosis, feedback = lost.get((check, case), (Status.PASSED, None, "ok"))
            problem.checks.append(CheckResult("p", check, case, Visibility.PUBLIC, status,
                                              points / 3 if status is Status.PASSED else 0.0, points / 3, feedback,
                                              diagnosis))
    pending = "awaiting manual grading. Your answer: because"
    problem.checks.append(CheckResult("p", "why", None, Visibility.PUBLIC, answers or Status.PENDING, 0.0, 1.0,
                                      "no answers.yaml" if answers else pending, kind="question"))
    problem.checks.append(CheckResult("p", "pick", None, Visibility.PUBLIC, answers or Status.PASSED,
                                      0.0 if answers else 1.0, 1.0, "no answers.yaml" if answers else "right",
                                      kind="question"))
    return SubmissionResult(student, [problem])


def _set(**samples: Sample) -> SampleSet:
    return SampleSet(Path("kit"), Path("kit/samples.yaml"), Path("kit/samples"),
                     {name: Sample(name, **fields) for name, fields in samples.items()}, {"p": SHAPE})


def _said(expected: SampleSet, *results: SubmissionResult) -> list[str]:
    return [str(m) for m in compare(expected, results)]


def test_compare_accepts_what_samples_yaml_says():
    slip = {("exact", "a"): (Status.FAILED, "sign", "wrong sign"), ("exact", "b-s2"): (Status.FAILED, "sign", "sign")}
    edge = {(c, k): (Status.FAILED, None, "bad shape") for c in ("exact", "loose") for k in ("b-s1", "b-s2")}
    whole = {(c, k): (Status.ERROR, None, "defines no function") for c in ("exact", "loose")
             for k in ("a", "b-s1", "b-s2")}
    expected = _set(right={}, slip=dict(problems={"p": Outcome(lose=("exact",), diagnosis="sign", diagnosed=True)}),
                    edge=dict(problems={"p": Outcome(cases=("b",), feedback="shape")}),
                    whole=dict(problems={"p": Outcome(Status.ERROR, feedback="no function")},
                               answers=Outcome(Status.ERROR, feedback="no answers.yaml")))
    assert _said(expected, _graded("right"), _graded("slip", slip), _graded("edge", edge),
                 _graded("whole", whole, answers=Status.ERROR)) == []


def test_compare_says_what_differs():
    expected = _set(right={}, slip=dict(problems={"p": Outcome(lose=("exact",), diagnosis="sign", diagnosed=True)}),
                    edge=dict(problems={"p": Outcome(cases=("b",), feedback="shape")}),
                    whole=dict(problems={"p": Outcome(Status.TIMEOUT)}), missing={})
    said = _said(expected,
                 _graded("right", {("loose", "a"): (Status.FAILED, None, "off by 1e-3")}),
                 _graded("slip", {("exact", "a"): (Status.FAILED, "swapped", "swapped"),
                                  ("loose", "a"): (Status.ERROR, None, "raised")}),
                 _graded("edge", {("exact", "b-s1"): (Status.FAILED, None, "bad shape"),
                                  ("exact", "a"): (Status.FAILED, None, "bad shape")}),
                 _graded("whole", {("exact", "a"): (Status.TIMEOUT, None, "ran past 5 s")}, answers=Status.ERROR),
                 _graded("stranger"))
    assert said == [
        "stranger: graded, but kit/samples.yaml has no entry for it",
        "edge: p: expected to lose all points on case group(s) b; kept points on exact/b-s2 (passed: ok); "
        "loose/b-s1 (passed: ok); loose/b-s2 (passed: ok)",
        "edge: p: lost points outside case group(s) b: exact/a (failed: bad shape)",
        "missing: not graded (is its folder a submission?)",
        "right: p: expected full marks, lost points on 1 of 6 result(s): loose/a (failed: off by 1e-3)",
        "slip: p: expected to lose points on exactly exact; lost them on exact, loose: exact/a (failed, swapped: "
        "swapped); loose/a (error: raised)",
        "slip: p: expected the lost results failed; got loose/a (error: raised)",
        "slip: p: expected diagnosis 'sign' on exact; got 'swapped' on exact/a (failed, swapped: swapped)",
        "whole: p: expected every result timeout with 0 points; not so for 5 of 6: exact/b-s1 (passed: ok); "
        "exact/b-s2 (passed: ok); loose/a (passed: ok); and 2 more",
        "whole: answers: expected every written answer right (free text awaiting manual grading); not so for "
        "p/why (error: no answers.yaml); p/pick (error: no answers.yaml)",
    ]


# --------------------------------------------------------------------------- grader validate runs them


def test_validate_grades_the_samples_and_reports_each_difference(tmp_path, capsys, monkeypatch):
    root = _kit(tmp_path, """\
        samples:
          correct-torch:
            problems: {regularized-ae: {status: error, feedback: "defines no function"}}
          edge-k1-squeeze: {}   # wrong on purpose: it loses points on linear-ae-gradients, has no answers.yaml...
        """, folders=())
    for name in ("correct-torch", "edge-k1-squeeze"):  # neither trains a model: quick to grade
        shutil.copytree(ASSIGNMENT / "samples" / name, root / "samples" / name)
    assert cli.main(["validate", str(root), "--jobs", "2"]) == 1
    out = capsys.readouterr().out
    assert "every reference solution earns full marks." in out
    assert "\nok   correct-torch\nFAIL edge-k1-squeeze\n       linear-ae-gradients: expected full marks, lost " \
           "points on 4 of 14 result(s): matches-reference/code-dim-1 (failed" in out
    assert "       answers: expected every written answer right" in out
    assert "2 sample(s): 1 as expected, 1 not (5 difference(s) above)." in out

    report = run_samples(root, jobs=2)
    assert report.matched == ["correct-torch"] and {m.sample for m in report.mismatches} == {"edge-k1-squeeze"}

    monkeypatch.setattr(cli.api, "validate_assignment", lambda *a, **k: [])  # the references: checked above
    assert cli.main(["validate", str(root), "--no-samples"]) == 0
    assert "sample" not in capsys.readouterr().out

    shutil.rmtree(root / "samples")
    (root / "samples.yaml").unlink()
    assert cli.main(["validate", str(root)]) == 0
    assert f"note: {root} has no samples/ and samples.yaml: no samples to grade" in capsys.readouterr().out
