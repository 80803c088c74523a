"""Per-student variants (grader/variants.py): cases with ``seeds: per_student`` and questions with ``params`` give
every student their own numbers, derived from a course secret; each student is graded against their own expected
values, a release per student holds only theirs, and the secret is needed, checked and never written anywhere.

The assignment is tests/variants/ (weighted-sum: a shared public case, a per-student public and a per-student hidden
one; plain-sum: no variants; step-size: two number questions with per-student params)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from grader import api, cli, variants
from grader.answers.questions import ExpressionError, Number, evaluate
from grader.lms import gradescope
from grader.reference import CaseBook, ReferenceFailure
from grader.release import ReleaseError, release_assignment
from grader.session import UsageError, open_session
from grader.spec import SpecError, load_assignment
from grader.submissions import Submission

ASSIGNMENT = Path(__file__).resolve().parent / "variants"
FULL = load_assignment(ASSIGNMENT)
KEY = b"a course secret for the tests, 0123456789abcdef"
OTHER_KEY = b"another course secret, fedcba9876543210 ........"
CORRECT = "def weighted_sum(A, w):\n    return A @ w\n\n\ndef column_sums(A, w):\n    return A.sum(axis=0)\n"


def _secret(folder: Path, key: bytes = KEY, name: str = "course.secret") -> Path:
    path = folder / name
    path.write_bytes(key + b"\n")
    path.chmod(0o600)
    return path


def _mine(problem: str, student: str, key: Path):
    return variants.for_student(FULL.problem(problem), FULL.id, student, variants.load_secret(key))


def _expected(problem: str, case: str, student: str, key: Path):
    mine = _mine(problem, student, key)
    return CaseBook().expected(mine, next(c for c in mine.cases if c.id == case))


def _answers(student: str, key: Path, *, steps: bool = True) -> str:
    """answers.yaml with ``student``'s own right answers."""
    questions = {q.id: q for q in _mine("step-size", student, key).questions}
    lines = ["step-size:", f"  new-weight: {questions['new-weight'].answer!r}"]
    return "\n".join(lines + ([f"  steps: {questions['steps'].answer!r}"] if steps else [])) + "\n"


def _files_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def secret(keys) -> Path:
    return _secret(keys)


@pytest.fixture(scope="module")
def batch(tmp_path_factory, secret):
    """alice and bob with correct code (bob answering with alice's numbers), carol with alice's hidden numbers
    hard-coded, graded as one batch."""
    root = tmp_path_factory.mktemp("variants")
    subs = root / "subs"
    alice_hidden = _expected("weighted-sum", "hidden-mine", "alice", secret)["y"]
    for student in ("alice", "bob", "carol"):
        (subs / student).mkdir(parents=True)
    (subs / "alice" / "solution.py").write_text(CORRECT)
    (subs / "alice" / "answers.yaml").write_text(_answers("alice", secret))
    (subs / "bob" / "solution.py").write_text(CORRECT)
    (subs / "bob" / "answers.yaml").write_text(_answers("alice", secret, steps=False) + "  steps: 1\n")
    (subs / "carol" / "solution.py").write_text(
        "import numpy as np\n\nALICE = np.array(" + json.dumps(alice_hidden.tolist()) + ")\n\n\n"
        "def weighted_sum(A, w):\n    return ALICE if A.shape == (5, 6) else A @ w\n\n\n"
        "def column_sums(A, w):\n    return A.sum(axis=0)\n")
    out = root / "out"
    result = api.grade_batch(subs, ASSIGNMENT, out, jobs=2, secret=secret)
    return {r.student: r for r in result.results}, subs, out


def _problem(result, problem):
    return next(p for p in result.problems if p.problem == problem)


# --------------------------------------------------------------------------- each student their own numbers


def test_two_students_get_different_hidden_inputs(secret):
    key = variants.load_secret(secret)
    book = CaseBook()
    seen = {}
    for student in ("alice", "bob"):
        mine = _mine("weighted-sum", student, secret)
        case = next(c for c in mine.cases if c.id == "hidden-mine")
        assert case.seed == key.derive(FULL.id, "weighted-sum", "hidden-mine", student) < 2 ** 63
        seen[student] = (case.seed, book.inputs(mine, case)["A"], book.expected(mine, case)["y"])
        shared = next(c for c in mine.cases if c.id == "shared")
        assert shared.seed == 0 and not shared.per_student  # the shared case is everyone's
    assert seen["alice"][0] != seen["bob"][0]
    assert not np.allclose(seen["alice"][1], seen["bob"][1]) and not np.allclose(seen["alice"][2], seen["bob"][2])
    # the same student gets the same numbers every time; another secret gives other numbers
    assert _mine("weighted-sum", "alice", secret).cases == _mine("weighted-sum", "alice", secret).cases
    other = variants.Secret(OTHER_KEY, secret)
    assert variants.for_student(FULL.problem("weighted-sum"), FULL.id, "alice", other).cases[2].seed != seen["alice"][0]


def test_each_student_passes_with_their_own_correct_code(batch):
    results, _, _ = batch
    for student in ("alice", "bob"):
        ws = _problem(results[student], "weighted-sum")
        assert ws.score == ws.max_score == 6 and {c.case for c in ws.checks} == {"shared", "mine", "hidden-mine"}
    assert _problem(results["alice"], "step-size").score == 3


def test_hard_coded_numbers_of_another_student_lose_the_points(batch, secret):
    results, subs, _ = batch
    ws = _problem(results["carol"], "weighted-sum")
    lost = [c for c in ws.checks if c.score < c.max_score]
    assert [c.case for c in lost] == ["hidden-mine"] and ws.score == pytest.approx(4)
    # the very same code is right for alice, whose numbers it holds
    with open_session(FULL, secret=variants.load_secret(secret)) as session:
        as_alice = session.grade(Submission("alice", subs / "carol"), [FULL.problem("weighted-sum")])
    assert as_alice.score == 6
    # bob answered with alice's numbers: wrong for him
    questions = {c.check: c for c in _problem(results["bob"], "step-size").checks}
    assert questions["new-weight"].score == 0 and "not right" in questions["new-weight"].feedback


# --------------------------------------------------------------------------- the release per student


@pytest.fixture(scope="module")
def release(tmp_path_factory, secret) -> Path:
    root = tmp_path_factory.mktemp("release")
    roster = root / "roster.csv"
    roster.write_text("Name,student\nAlice A,alice\nBob B,bob\n")
    out = root / "handout"
    made = release_assignment(ASSIGNMENT, out, roster=roster, secret=secret)
    assert made.students == ["alice", "bob"] and (out / "students.csv").read_text() == \
        "student,folder\nalice,alice\nbob,bob\n"
    return out


def _numbers(values) -> list[str]:
    """How a release's JSON writes these floats."""
    return [json.dumps(float(v)) for v in np.ravel(values)]


def test_the_release_for_one_student_holds_nobody_elses_values(release, secret):
    alice = _files_text(release / "alice")
    bob_mine = _mine("weighted-sum", "bob", secret)
    bob_case = next(c for c in bob_mine.cases if c.id == "mine")
    assert str(bob_case.seed) not in alice
    assert str(bob_case.seed) in _files_text(release / "bob")
    for number in _numbers(_expected("weighted-sum", "mine", "bob", secret)["y"]) + \
            _numbers(CaseBook().inputs(bob_mine, bob_case)["A"]):
        assert number not in alice
    for number in _numbers(_expected("weighted-sum", "mine", "alice", secret)["y"]):
        assert number in alice
    # nobody's hidden values: neither alice's nor bob's
    for student in ("alice", "bob"):
        for number in _numbers(_expected("weighted-sum", "hidden-mine", student, secret)["y"]):
            assert number not in alice
    # the questions: alice's prompt and answer, not bob's; the hidden question's answer nowhere
    mine, bobs = ({q.id: q for q in _mine("step-size", s, secret).questions} for s in ("alice", "bob"))
    spec = yaml.safe_load((release / "alice" / "step-size.yaml").read_text())
    released = {q["id"]: q for q in spec["questions"]}
    assert released["new-weight"]["prompt"] == mine["new-weight"].prompt != bobs["new-weight"].prompt
    assert released["new-weight"]["answer"] == mine["new-weight"].answer
    assert "params" not in released["new-weight"] and "answer" not in released["steps"]
    assert "{lr}" not in alice and "per_student" not in alice


def test_check_from_a_students_release_uses_their_own_numbers(release, secret, tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "solution.py").write_text(CORRECT)
    (folder / "answers.yaml").write_text(_answers("alice", secret))
    mine = load_assignment(release / "alice")
    assert not any(c.per_student for p in mine.problems for c in p.cases)  # no secret needed there
    result = api.check_submission(folder, release / "alice")
    assert all(p.passed for p in result.problems) and result.score == result.max_score == 10
    # bob's release: the per-student question's numbers are not alice's
    other = api.check_submission(folder, release / "bob", problems=["step-size"])
    assert other.score == 0
    # a release holds no per-student seeds: each student's has their own
    copy = tmp_path / "copy"
    shutil.copytree(release / "alice", copy)
    spec = copy / "weighted-sum.yaml"
    seed = next(c.seed for c in mine.problem("weighted-sum").cases if c.id == "mine")
    spec.write_text(spec.read_text().replace(f"seeds: [{seed}]", "seeds: per_student"))
    with pytest.raises(SpecError, match="a student release holds no per-student seeds"):
        load_assignment(copy)


def test_release_refusals(tmp_path, secret, monkeypatch):
    with pytest.raises(ReleaseError, match="pass --roster"):
        release_assignment(ASSIGNMENT, tmp_path / "a")
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nalice\n")
    monkeypatch.delenv(variants.ENV, raising=False)
    with pytest.raises(ReleaseError, match="without the course secret"):
        release_assignment(ASSIGNMENT, tmp_path / "b", roster=roster)
    roster.write_text("student\nalice\nAlice\n")
    with pytest.raises(ReleaseError, match="roster.csv:3: student 'Alice' is already on line 2"):
        release_assignment(ASSIGNMENT, tmp_path / "c", roster=roster, secret=secret)
    roster.write_text("student\n../x\n")
    with pytest.raises(ReleaseError, match="not a valid student id"):
        release_assignment(ASSIGNMENT, tmp_path / "d", roster=roster, secret=secret)


# --------------------------------------------------------------------------- the secret


def test_no_secret_is_a_clear_refusal(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(variants.ENV, raising=False)
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    with pytest.raises(UsageError, match="cannot grade weighted-sum, step-size without the course secret"):
        api.grade_batch(tmp_path / "subs", ASSIGNMENT, tmp_path / "out")
    assert cli.main(["validate", str(ASSIGNMENT), "--no-samples"]) == 2
    assert "pass --secret FILE or set GRADER_SECRET_FILE" in capsys.readouterr().err
    assert cli.main(["check", str(tmp_path / "subs" / "alice"), "--assignment", str(ASSIGNMENT),
                     "--out", str(tmp_path / "r")]) == 2
    assert "without the course secret" in capsys.readouterr().err
    # a problem whose per-student cases are all hidden needs none for a self-check; nor one without any
    with open_session(FULL, ["plain-sum"]) as session:
        session.prepare()
    with pytest.raises(variants.SecretError):
        variants.for_student(FULL.problem("weighted-sum"), FULL.id, "alice", None)


def test_the_secret_file_is_checked(tmp_path, monkeypatch):
    inside = tmp_path / "copy"
    shutil.copytree(ASSIGNMENT, inside)
    with pytest.raises(variants.SecretError, match="lies inside"):
        variants.load_secret(_secret(inside), inside=(inside,))
    loose = _secret(tmp_path, name="loose")
    loose.chmod(0o644)
    with pytest.raises(variants.SecretError, match="readable by every user"):
        variants.load_secret(loose)
    with pytest.raises(variants.SecretError, match="shorter than 16 bytes"):
        variants.load_secret(_secret(tmp_path, b"short", "short"))
    with pytest.raises(variants.SecretError, match="no such secret file"):
        variants.load_secret(tmp_path / "missing")
    monkeypatch.setenv(variants.ENV, str(_secret(tmp_path, name="env")))
    key = variants.load_secret(None)
    assert key is not None and KEY.decode() not in repr(key)
    with pytest.raises(TypeError):
        import pickle
        pickle.dumps(key)


def test_the_secret_appears_in_no_output(batch, release, secret, tmp_path):
    _, subs, out = batch
    upload = tmp_path / "upload" / "submission"
    shutil.copytree(subs / "alice", upload)
    (upload.parent / gradescope.METADATA).write_text(json.dumps({"users": [{"email": "a@x.edu", "sid": "alice"}]}))
    result = gradescope.run_gradescope(upload, tmp_path / "results" / "results.json", ASSIGNMENT, secret=secret)
    assert result.student == "alice" and result.score == result.max_score  # graded on alice's own numbers
    identity = variants.load_secret(secret).identity
    text = secret.read_bytes().strip()
    for folder in (out, release, tmp_path / "results"):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert text not in data and text.hex().encode() not in data, path
    assert identity.encode() in (out / "gradebook.sqlite").read_bytes()  # its identity is what the gradebook keeps
    # without a student id in Gradescope's metadata, no student's numbers can be chosen
    (upload.parent / gradescope.METADATA).write_text(json.dumps({"users": [{"name": "someone"}]}))
    with pytest.raises(UsageError, match="no student id"):
        gradescope.run_gradescope(upload, tmp_path / "results" / "results.json", ASSIGNMENT, secret=secret)


def test_changing_the_secret_regrades_the_per_student_problems_only(tmp_path, keys):
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "solution.py").write_text(CORRECT)
    first, second = _secret(keys, KEY, "first"), _secret(keys, OTHER_KEY, "second")
    (subs / "alice" / "answers.yaml").write_text(_answers("alice", first))
    api.grade_batch(subs, ASSIGNMENT, tmp_path / "out", secret=first)
    notices: list[str] = []
    again = api.grade_batch(subs, ASSIGNMENT, tmp_path / "out", secret=first, on_notice=notices.append)
    assert notices == ["Resuming: 1 of 1 submission(s) already graded and unchanged; grading 0."]
    notices.clear()
    again = api.grade_batch(subs, ASSIGNMENT, tmp_path / "out", secret=second, on_notice=notices.append)
    lines = "\n".join(notices)
    assert "Regrading weighted-sum for 1 submission(s): the course secret changed" in lines
    assert "Regrading step-size for 1 submission(s): the course secret changed" in lines
    assert "plain-sum" not in lines
    alice = again.results[0]
    assert _problem(alice, "weighted-sum").score == 6  # correct code is right for any numbers
    assert _problem(alice, "step-size").score < 3  # the answers were for the first secret's numbers


# --------------------------------------------------------------------------- validate, specs, questions


def test_validate_grades_the_references_as_synthetic_students(secret, tmp_path):
    checks = {c.problem: c for c in api.validate_assignment(ASSIGNMENT, secret=secret)}
    assert all(c.ok for c in checks.values())
    cases = {c.case for c in checks["weighted-sum"].result.checks}
    assert {f"hidden-mine [{s}]" for s in variants.VALIDATION_STUDENTS} <= cases
    assert {c.case for c in checks["plain-sum"].result.checks} == {"basic", "hidden-basic"}
    # a reference that fails for some students' seeds is caught
    copy = tmp_path / "copy"
    shutil.copytree(ASSIGNMENT, copy)
    (copy / "weighted_sum_ref.py").write_text(
        "import numpy as np\n\n\ndef weighted_sum(A, w):\n"
        "    if A.shape == (5, 6) and A[0, 0] > 0:\n        raise ValueError('fails for this seed')\n"
        "    return np.asarray(A) @ np.asarray(w)\n")
    with pytest.raises(ReferenceFailure, match="fails for this seed"):
        api.validate_assignment(copy, secret=secret)


def test_spec_errors_are_located(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(ASSIGNMENT, copy)
    spec = copy / "weighted-sum.yaml"
    spec.write_text(spec.read_text().replace("seeds: per_student, visibility: hidden",
                                             "seeds: per_students, visibility: hidden"))
    with pytest.raises(SpecError) as err:
        load_assignment(copy)
    assert "weighted-sum.yaml:12: cases[2].seeds: expected a non-empty list of seeds (integers) or 'per_student'" \
        in str(err.value)
    shutil.copy(ASSIGNMENT / "weighted-sum.yaml", spec)
    questions = copy / "step-size.yaml"
    questions.write_text(questions.read_text().replace('answer: "1 / lr"', 'answer: "1 / rate"'))
    with pytest.raises(SpecError, match=r"step-size.yaml:\d+: questions\[1\]: '1 / rate': unknown name 'rate'"):
        load_assignment(copy)
    questions.write_text((ASSIGNMENT / "step-size.yaml").read_text().replace("steps of {lr}", "steps"))
    with pytest.raises(SpecError, match=r"the prompt must show each param: add \{lr\}"):
        load_assignment(copy)


def test_answer_expressions_run_nothing():
    assert evaluate("2 * lr ** 2 + sqrt(n) - pi * 0", {"lr": 0.5, "n": 4}) == pytest.approx(2.5)
    for bad in ("__import__('os')", "lr.real", "[lr]", "lr if lr else 1", "open", "f(lr)", "lr < 1"):
        with pytest.raises(ExpressionError):
            evaluate(bad, {"lr": 0.5})
    with pytest.raises(ExpressionError, match="cannot be evaluated"):
        evaluate("1 / (lr - lr)", {"lr": 0.5})
    q = Number(id="q", points=1, kind="number", prompt="lr is {lr}", answer="10 * lr",
               params={"lr": {"uniform": [0.1, 0.2]}})
    rng = np.random.default_rng(0)
    mine = q.with_params(q.draw(rng))
    assert not mine.params and "{lr}" not in mine.prompt and mine.score(mine.answer).fraction == 1
    lr = float(mine.prompt.split()[-1])
    assert mine.answer == pytest.approx(10 * lr) and lr == float(f"{lr:.3g}")  # the value shown is the value used
    # unresolved (a self-check without the secret): only the form is judged
    assert q.score("1.5").status is not None and q.score("1.5").fraction == 0
