"""Per-student variants (grader/variants.py): cases with ``seeds: per_student`` and questions with ``params`` give
every student their own numbers, derived from a course secret; each student is graded against their own expected
values, a release per student holds only theirs, and the secret is needed, checked and never written anywhere.

The assignment is tests/variants/ (weighted-sum: a shared public case, a per-student public and a per-student hidden
one; plain-sum: no variants; step-size: two number questions with per-student params)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from grader import api, cli, variants
from grader.answers.questions import ExpressionError, Number, evaluate
from grader.lms import gradescope
from grader import release as release_module
from grader.models import ProblemResult, Status
from grader.reference import CaseBook, ReferenceFailure
from grader.release import ReleaseError, release_assignment
from grader.sandbox import mounts
from grader.sandbox.runner import Call, run_calls
from grader.session import UsageError, open_session
from grader.spec import SpecError, load_assignment
from grader.spec.loader import DEFAULT_LIMITS
from grader.submissions import STUDENT_ID, Submission

ASSIGNMENT = Path(__file__).resolve().parent / "variants"
ROOT = Path(__file__).resolve().parent.parent
FULL = load_assignment(ASSIGNMENT)
KEY = b"3f9c2a7e81d46b05c9e7f1a2b3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7"  # as grader secret writes one
OTHER_KEY = b"b81e4f0a6c2d97e35f1a08c4d6b2e9f7031c5a8e6d4b2f90e7c1a3d5b8f60294"
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


CANVAS = ('Student,ID,SIS User ID,SIS Login ID,Section,Homework 3 (1234)\n'
          '    Points Possible,,,,,10\n'
          '"Liddell, Alice",101,S1,alice,Sec A,\n'
          '"Bobson, Bob",102,S2,bob,Sec A,\n'
          '"Student, Test",103,,,Sec A,\n')


def test_release_reads_an_lms_roster(tmp_path, secret):
    """A Canvas gradebook export: its SIS Login ID column by default (not the names in its first column, 'Student'),
    --key for another; the "Points Possible" row and the test student without an id are skipped."""
    roster = tmp_path / "gradebook.csv"
    roster.write_text(CANVAS)
    made = release_assignment(ASSIGNMENT, tmp_path / "by-login", roster=roster, secret=secret)
    assert made.students == ["alice", "bob"]
    assert any("Student, Test" in n and "no SIS Login ID" in n for n in made.notes)
    assert not (tmp_path / "by-login" / "Points Possible").exists()
    assert release_module.read_roster(roster, "ID") == ["101", "102", "103"]
    assert release_module.read_roster(roster, "sis login id") == ["alice", "bob"]  # a column named in any case
    own = tmp_path / "own.csv"  # a roster's own 'student' column (as a release's students.csv) comes first
    own.write_text("Email address,student\nalice@x.edu,alice\n")
    assert release_module.read_roster(own) == ["alice"]
    with pytest.raises(ReleaseError, match="no column 'Email'"):
        release_module.read_roster(roster, "Email")
    assert cli.main(["release", str(ASSIGNMENT), "--out", str(tmp_path / "by-id"), "--roster", str(roster),
                     "--key", "ID", "--secret", str(secret)]) == 0
    assert (tmp_path / "by-id" / "students.csv").read_text() == "student,folder\n101,101\n102,102\n103,103\n"
    # an email outside the id's characters becomes the id grader gradescope grades it as, with a note
    roster.write_text("Email address\no'brien@x.edu\njos\u00e9@x.edu\n")
    notes: list[str] = []
    ids = release_module.read_roster(roster, notes=notes)
    assert ids == [variants.safe_id("o'brien@x.edu"), variants.safe_id("jos\u00e9@x.edu")]
    assert all(STUDENT_ID.match(i) for i in ids) and ids[0].startswith("o_brien@x.edu-")
    assert ids[1].startswith("jose@x.edu-") and len(notes) == 2 and "grader gradescope" in notes[0]


def test_release_refuses_ids_that_are_its_own_files(tmp_path, secret):
    roster = tmp_path / "roster.csv"
    for name in ("students.csv", "Students.CSV"):
        roster.write_text(f"student\nalice\n{name}\n")
        with pytest.raises(ReleaseError, match=f"roster.csv:3: student '{name}' has the name of a file the release "
                                               "writes"):
            release_assignment(ASSIGNMENT, tmp_path / "out", roster=roster, secret=secret)
        assert not (tmp_path / "out").exists()


def test_force_replaces_a_roster_release_and_only_what_it_wrote(tmp_path, secret, monkeypatch):
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nalice\nbob\n")
    out = tmp_path / "handout"
    release_assignment(ASSIGNMENT, out, roster=roster, secret=secret)
    marker = json.loads((out / ".grader-release").read_text())
    assert marker["students"] == 2 and {"alice", "bob", "alice/kit"} <= set(marker["folders"])
    assert {"students.csv", "alice/weighted-sum.yaml", "bob/README.md"} <= set(marker["files"])
    (out / "alice" / "my-notes.txt").write_text("keep me")
    with pytest.raises(ReleaseError, match=r"did not write \(alice/my-notes.txt\); nothing was removed"):
        release_assignment(ASSIGNMENT, out, roster=roster, secret=secret, force=True)
    assert (out / "bob" / "README.md").is_file() and (out / "alice" / "my-notes.txt").read_text() == "keep me"
    (out / "alice" / "my-notes.txt").unlink()
    roster.write_text("student\nalice\ncarol\n")  # bob left the course: his folder goes, carol's comes
    release_assignment(ASSIGNMENT, out, roster=roster, secret=secret, force=True)
    assert sorted(p.name for p in out.iterdir()) == [".grader-release", "alice", "carol", "students.csv"]
    # a release that fails half-way still lists what it wrote, so --force can replace it
    calls = []
    real_verify = release_module._verify

    def failing(problems, released):
        calls.append(1)
        if len(calls) == 2:
            raise ReleaseError("a failure half-way")
        return real_verify(problems, released)

    monkeypatch.setattr(release_module, "_verify", failing)
    again = tmp_path / "again"
    with pytest.raises(ReleaseError, match="half-way"):
        release_assignment(ASSIGNMENT, again, roster=roster, secret=secret)
    assert (again / "alice").is_dir() and "carol/README.md" in (again / ".grader-release").read_text()
    monkeypatch.setattr(release_module, "_verify", real_verify)
    release_assignment(ASSIGNMENT, again, roster=roster, secret=secret, force=True)
    assert (again / "students.csv").is_file()


def test_grade_warns_about_ids_not_on_the_release_roster(batch, release, secret, tmp_path):
    _, subs, out = batch
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nAlice\nbob\n")  # released for Alice; her folder is alice
    found = api.grade_batch(subs, ASSIGNMENT, out, secret=secret, roster=roster)
    lines = "\n".join(found.warnings)
    assert "alice: graded on per-student problems (weighted-sum, step-size) under the id 'alice', but the release " \
        "roster" in lines and "has 'Alice': ids must match exactly" in lines
    assert "carol: not on the release roster" in lines and "bob:" not in lines
    # the release itself (its folder, or its students.csv) as the roster
    for given in (release, release / "students.csv"):
        found = api.grade_batch(subs, ASSIGNMENT, out, secret=secret, roster=given)
        assert [w.split(":")[0] for w in found.warnings if "release roster" in w] == ["carol"]
    # through the command line, as warnings
    assert cli.main(["grade", str(subs), "--assignment", str(ASSIGNMENT), "--out", str(out), "--secret", str(secret),
                     "--roster", str(release), "--quiet"]) == 0
    # problems without per-student parts need no roster: no warning
    found = api.grade_batch(subs, ASSIGNMENT, out, secret=secret, roster=roster, problems=["plain-sum"])
    assert not [w for w in found.warnings if "roster" in w]


def _metadata(upload: Path, **user) -> None:
    (upload.parent / gradescope.METADATA).write_text(json.dumps({"users": [user]}))


def test_gradescope_ids(tmp_path):
    upload = tmp_path / "submission"
    upload.mkdir()
    cases = [({"sid": "alice", "email": "a@x.edu"}, "alice"),
             ({"sid": "12 345", "email": "a@x.edu"}, "a@x.edu"),  # a sid outside the id's characters: the email
             ({"email": "o'brien@x.edu"}, variants.safe_id("o'brien@x.edu")),
             ({"sid": "", "email": "jos\u00e9@x.edu"}, variants.safe_id("jos\u00e9@x.edu")),
             ({"sid": "A/7"}, variants.safe_id("A/7")), ({"name": "someone"}, None)]
    for user, expected in cases:
        _metadata(upload, **user)
        assert gradescope.variant_id(upload) == expected, user
    assert variants.safe_id("o'brien@x.edu") == variants.safe_id("o'brien@x.edu") != variants.safe_id("o`brien@x.edu")
    assert variants.safe_id("o'brien@x.edu").startswith("o_brien@x.edu-")


def test_gradescope_grades_an_unusual_email_and_checks_the_roster(batch, secret, tmp_path):
    _, subs, _ = batch
    upload = tmp_path / "upload" / "submission"
    shutil.copytree(subs / "alice", upload)
    _metadata(upload, email="o'brien@x.edu")
    mapped = variants.safe_id("o'brien@x.edu")
    roster = tmp_path / "students.csv"
    roster.write_text(f"student,folder\n{mapped},{mapped}\n")
    warnings: list[str] = []
    result = gradescope.run_gradescope(upload, tmp_path / "results" / "results.json", ASSIGNMENT, secret=secret,
                                       roster=roster, on_warning=warnings.append)
    assert result.student == mapped and not warnings
    assert _problem(result, "weighted-sum").score == 6  # graded on that id's numbers: correct code is right
    roster.write_text("student,folder\nsomeone,someone\n")
    gradescope.run_gradescope(upload, tmp_path / "results" / "results.json", ASSIGNMENT, secret=secret,
                              roster=roster, on_warning=warnings.append)
    assert len(warnings) == 1 and warnings[0].startswith(f"{mapped}: not on the release roster")


def test_the_autograder_ships_the_secret(batch, secret, tmp_path):
    _, subs, _ = batch
    make = [sys.executable, str(ROOT / "gradescope" / "make_autograder.py"), "--assignment", str(ASSIGNMENT)]
    zipped = tmp_path / "autograder.zip"
    run = subprocess.run([*make, "--out", str(zipped)], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "pass --secret FILE" in run.stderr and not zipped.exists()
    weak = _secret(tmp_path, b"deeplearning2026deeplearning2026", "weak.secret")
    run = subprocess.run([*make, "--out", str(zipped), "--secret", str(weak)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0 and "not random enough" in run.stderr
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nalice\n")
    run = subprocess.run([*make, "--out", str(zipped), "--secret", str(secret), "--roster", str(roster)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(zipped) as z:
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
        assert z.read("course.secret") == secret.read_bytes() and z.read("roster.csv") == b"student\nalice\n"
    assert modes["course.secret"] == 0o600 and "assignment/course.secret" not in modes
    # run_autograder: the secret beside the assignment, as unzipped (0644), made 0600 and passed on
    root = tmp_path / "autograder"
    shutil.copytree(subs / "alice", root / "submission")
    (root / "source").mkdir()
    shipped = root / "source" / "course.secret"
    shipped.write_bytes(secret.read_bytes())
    shipped.chmod(0o644)
    (root / "source" / "roster.csv").write_text("student\nalice\n")
    _metadata(root / "submission", sid="alice", email="alice@x.edu")
    env = {**{k: v for k, v in os.environ.items() if k != variants.ENV}, "AUTOGRADER": str(root),
           "ASSIGNMENT": str(ASSIGNMENT), "GRADER": f"{sys.executable} -m grader"}
    run = subprocess.run(["bash", str(ROOT / "gradescope" / "run_autograder")], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    assert stat.S_IMODE(shipped.stat().st_mode) == 0o600 and "release roster" not in run.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == 6 + 2 + 3  # alice's own numbers: everything right


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
    assert not (tmp_path / "out").exists()  # refused before anything is written: no gradebook, no folder
    canvas = tmp_path / "canvas"  # a Canvas download is refused before it is staged into OUT
    canvas.mkdir()
    (canvas / "smithjane_12345_67890_solution.py").write_text(CORRECT)
    assert cli.main(["grade", str(canvas), "--assignment", str(ASSIGNMENT), "--out", str(tmp_path / "out")]) == 2
    assert "without the course secret" in capsys.readouterr().err and not (tmp_path / "out").exists()
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
    for mode in (0o644, 0o640, 0o604, 0o660, 0o620):  # 0640 with a group: what student code once read
        loose.chmod(mode)
        with pytest.raises(variants.SecretError, match=f"other than its owner \\(mode 0{mode:o}\\); chmod 600"):
            variants.load_secret(loose)
    for mode in (0o600, 0o400):
        loose.chmod(mode)
        assert variants.load_secret(loose) is not None
    with pytest.raises(variants.SecretError, match="shorter than 32 bytes"):
        variants.load_secret(_secret(tmp_path, b"short", "short"))
    with pytest.raises(variants.SecretError, match="shorter than 32 bytes"):
        variants.load_secret(_secret(tmp_path, b"deeplearning2026", "course"))  # 16 bytes once passed
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


WEAK = [b"deeplearning2026" * 2, b"deeplearning2026" * 4, b"a" * 64, b"0123456789" * 7, b"deadbeef" * 8,
        b"correct horse battery staple deep learning course fall 2026", b"DeepLearningCourseSecretForTheFallTerm2026!!",
        b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"12345678901234567890123456789012",
        b"a course secret for the tests, 0123456789abcdef", b"Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3",
        b"9f86d081884c7d659a2feaa0c55ad015"]  # 32 hex digits: 16 random bytes, 128 bits at best


def test_weak_secrets_are_refused_and_random_ones_accepted(tmp_path):
    for n, weak in enumerate(WEAK):
        assert variants.estimated_bits(weak) < variants.MIN_BITS, weak
        with pytest.raises(variants.SecretError, match="not random enough .* grader secret FILE"):
            variants.load_secret(_secret(tmp_path, weak, f"weak-{n}"))
    # what grader secret writes, base64 and base64url of 32 random bytes, 32 raw bytes: far above the bar
    makers = {"hex": lambda: secrets.token_hex(32).encode(), "urlsafe": lambda: secrets.token_urlsafe(32).encode(),
              "base64": lambda: base64.b64encode(os.urandom(32)), "raw": lambda: os.urandom(32)}
    for name, make in makers.items():
        lowest = min(variants.estimated_bits(make()) for _ in range(300))
        assert lowest >= variants.MIN_BITS + 10, (name, lowest)
    assert variants.load_secret(_secret(tmp_path, secrets.token_urlsafe(48).encode(), "strong")) is not None
    # a huge file is no secret (and is not read)
    big = _secret(tmp_path, secrets.token_hex(3000).encode(), "big")
    with pytest.raises(variants.SecretError, match="not a course secret"):
        variants.load_secret(big)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_a_secret_owned_by_the_sandbox_user_is_refused(tmp_path):
    from grader.sandbox.privilege import SANDBOX_UID

    path = _secret(tmp_path, name="nobodys")
    os.chown(path, SANDBOX_UID, SANDBOX_UID)
    with pytest.raises(variants.SecretError, match="the user student code runs as"):
        variants.load_secret(path)


def test_grader_secret_writes_a_new_strong_secret(tmp_path, capsys):
    path = tmp_path / "course.secret"
    old = os.umask(0)  # whatever the umask: 0600
    try:
        assert cli.main(["secret", str(path)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "Wrote a new course secret" in capsys.readouterr().out
    text = path.read_text()
    assert len(text.strip()) == 64 and int(text, 16) >= 0
    key = variants.load_secret(path)
    assert key is not None and variants.estimated_bits(text.strip().encode()) >= variants.MIN_BITS
    # never replaced: a new secret gives every student new numbers
    assert cli.main(["secret", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err and path.read_text() == text
    assert cli.main(["secret", str(tmp_path / "nowhere" / "s")]) == 2


def test_the_sandbox_never_sees_the_secret_even_inside_a_bound_tree(bwrap_available):
    """A course secret (or any hidden path) inside a system tree that every sandbox binds (/usr) is masked, not left to
    the file's permissions: the file here is world-readable on purpose, so only the mask hides it."""
    assert mounts.mask([str(ASSIGNMENT)]) == []  # outside every tree the sandbox binds: invisible anyway
    parent = Path("/usr/local/share")
    if not os.access(parent, os.W_OK):
        pytest.skip(f"{parent} is not writable here: cannot place a secret inside a bound tree")
    folder = Path(tempfile.mkdtemp(prefix="grader-test-secret-", dir=parent))
    try:
        folder.chmod(0o755)
        secret = folder / "course.secret"
        secret.write_text("TOP-SECRET-VALUE")
        secret.chmod(0o644)
        real = os.path.realpath(folder)
        assert mounts.mask([secret]) == ["--ro-bind", "/dev/null", f"{real}/course.secret"]
        assert mounts.mask([folder]) == ["--perms", "0000", "--size", str(2 ** 20), "--tmpfs", real, "--remount-ro",
                                         real]
        source = ("import os\n\ndef peek(path):\n    found = {}\n    try:\n        found['read'] = open(path).read()\n"
                  "    except OSError as exc:\n        found['read'] = type(exc).__name__\n    try:\n"
                  "        found['list'] = sorted(os.listdir(os.path.dirname(path)))\n    except OSError as exc:\n"
                  "        found['list'] = type(exc).__name__\n    return found\n")
        seen = {}
        for name, hidden in (("none", []), ("file", [secret]), ("folder", [folder])):
            outcome = run_calls(source, "solution.py", [Call("c", "peek", (str(secret),))], DEFAULT_LIMITS,
                                mode="bwrap", secrets=hidden).calls["c"]
            assert outcome.status is Status.PASSED, outcome.message
            seen[name] = outcome.value
        assert seen["none"] == {"read": "TOP-SECRET-VALUE", "list": ["course.secret"]}  # the test can see it at all
        assert seen["file"]["read"] != "TOP-SECRET-VALUE" and "TOP-SECRET" not in json.dumps(seen["file"])
        assert seen["folder"] == {"read": "PermissionError", "list": "PermissionError"}
        # grading: the session hides the secret's own file (a 0600 one, as load_secret wants it)
        secret.write_text(KEY.decode())
        secret.chmod(0o600)
        with open_session(FULL, ["plain-sum"], sandbox="bwrap", secret=variants.load_secret(secret)) as session:
            assert secret in session.options.secrets
    finally:
        shutil.rmtree(folder)


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
        "    if A.shape == (5, 6) and A[0, 0] < 0:\n        raise ValueError('fails for this seed')\n"
        "    return np.asarray(A) @ np.asarray(w)\n")
    with pytest.raises(ReferenceFailure, match="fails for this seed"):
        api.validate_assignment(copy, secret=secret)


def test_validate_prints_each_synthetic_students_score(secret, capsys):
    assert cli.main(["validate", str(ASSIGNMENT), "--no-samples", "--secret", str(secret)]) == 0
    out = capsys.readouterr().out
    assert "ok   weighted-sum: reference scores 6 / 6 as each of 3 synthetic students (validation-1, validation-2, " \
        "validation-3)" in out
    assert "ok   plain-sum: reference scores 2 / 2\n" in out and "18 / 18" not in out
    differing = api.ProblemValidation("weighted-sum", ProblemResult("weighted-sum", "t"),
                                      per_student={"validation-1": (6.0, 6.0), "validation-2": (4.0, 6.0)})
    assert cli._validated_score(differing) == "6 / 6 as validation-1, 4 / 6 as validation-2"


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
