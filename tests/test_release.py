"""`grader release`: the student handout leaks nothing hidden, and `grader check` gives the same public
results from it as from the full assignment."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ASSIGNMENT, SUBMISSIONS
from grader import api, cli
from grader.expected_values import decode, encode
from grader.grading import ALL, PUBLIC, selected_cases
from grader.models import Visibility
from grader.reference import CaseBook
from grader.release import ReleaseError, release_assignment
from grader.spec import SpecError, load_assignment

FULL = load_assignment(ASSIGNMENT)
QUESTION_ONLY = ["regularized-ae", "resnet-blog"]
#: checks whose feedback states times measured on each run (timed training): compared without it
TIMED = {(p.id, c.name) for p in FULL.problems for c in p.checks if c.check == "timed_training"}


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "handout"
    release_assignment(ASSIGNMENT, out)
    return out


def _files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _walk(value):
    """Every mapping and list inside parsed YAML/JSON data."""
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


# --------------------------------------------------------------------------- nothing hidden leaks


def test_release_holds_no_reference_code(release):
    files = _files(release)
    # the only code published is the kit's (students' grader check runs its generators, checks and slips),
    # exactly its .py files; no reference solution, compiled file or notebook
    code = sorted(p.relative_to(release) for p in files if p.suffix in (".py", ".pyc", ".ipynb"))
    kit = sorted(p.relative_to(ASSIGNMENT) for p in FULL.kit_path.rglob("*.py") if "__pycache__" not in p.parts)
    assert code == kit and all(p.parts[0] == "kit" for p in code)
    assert not [p for p in code if p.name.endswith("_ref.py")]
    for path in code:  # the kit as the author wrote it (a kit may share code with its reference: see README)
        assert (release / path).read_bytes() == (ASSIGNMENT / path).read_bytes()
    statements = "\n".join(p.statement for p in FULL.problems)  # public text may quote the API
    for problem in FULL.problems:
        if problem.reference is None:
            continue
        lines = [line.strip() for line in problem.reference.read_text().splitlines()]
        code = [line for line in lines if len(line) >= 12 and line not in statements
                and not line.startswith(("#", "def ", '"""', "import", "from ", "return"))]
        assert code, problem.reference
        for path, data in files.items():
            if path.suffix == ".py":
                continue  # the kit's own files, compared above
            text = data.decode("utf-8")
            leaked = [line for line in code if line in text]
            assert not leaked, f"{path} holds reference code: {leaked[:3]}"


def test_release_holds_no_hidden_case(release):
    files = {p: d.decode("utf-8") for p, d in _files(release).items()}
    released = load_assignment(release)
    for problem in FULL.problems:
        hidden = [c for c in problem.cases if c.visibility is Visibility.HIDDEN]
        public = [c for c in problem.cases if c.visibility is Visibility.PUBLIC]
        for case in hidden:
            for name in {case.id, case.group}:
                assert not [p for p, text in files.items() if name in text], f"hidden case id {name} leaked"
        # every released case is a public one; no hidden (generator, parameters, seed) is there
        shown = {(c.entry, c.generator, json.dumps(c.params, sort_keys=True), c.seed)
                 for c in released.problem(problem.id).cases}
        assert shown == {(c.entry, c.generator, json.dumps(c.params, sort_keys=True), c.seed) for c in public}
        for case in hidden:
            assert (case.entry, case.generator, json.dumps(case.params, sort_keys=True), case.seed) not in shown
    # hidden seeds appear in no spec, hidden parameter sets in no mapping
    public_seeds = {c.seed for p in FULL.problems for c in p.cases if c.visibility is Visibility.PUBLIC}
    hidden_params = [c.params for p in FULL.problems for c in p.cases if c.visibility is Visibility.HIDDEN]
    public_params = [c.params for p in FULL.problems for c in p.cases if c.visibility is Visibility.PUBLIC]
    for path in release.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        for case in doc.get("cases", []):
            assert set(case["seeds"]) <= public_seeds
        for node in _walk(doc):
            assert not (isinstance(node, dict) and node in hidden_params and node not in public_params), path


def test_release_holds_no_hidden_expected_value(release):
    book = CaseBook()
    for problem in FULL.problems:
        if not problem.checks:
            continue
        table = json.loads((release / f"{problem.id}.expected.json").read_text())
        assert set(table["cases"]) == {c.id for c in selected_cases(problem, PUBLIC)}
        texts = [d.decode("utf-8") for d in _files(release).values()]
        for case in selected_cases(problem, ALL):
            if case.visibility is Visibility.PUBLIC:
                continue
            for value in book.expected(problem, case).values():
                if isinstance(value, np.ndarray):
                    # (numbers near an integer say nothing of a case: the unit vectors of a projector onto
                    # coordinate axes, say, are the same in public and hidden cases)
                    probes = [repr(float(x)) for x in value.ravel() if abs(x) > 1e-3 and abs(x - round(x)) > 1e-9][:20]
                elif isinstance(value, list) and len(value) >= 3:
                    probes = [json.dumps(value)]
                else:
                    probes = []  # a bool or a tiny list: covered by the case ids above
                for probe in probes:
                    assert not [t for t in texts if probe in t], f"{problem.id}/{case.id}: {probe} leaked"


def test_release_holds_no_question_answer(release):
    texts = {p: d.decode("utf-8") for p, d in _files(release).items()}
    # the statements are the instructor's public text (resnet-blog's says "94, "94%" and 0.94 are the
    # same answer"); everything else must not hold a hidden number answer
    unstated = {p: yaml.safe_dump({k: v for k, v in yaml.safe_load(t).items() if k != "statement"})
                if p.suffix == ".yaml" else t for p, t in texts.items() if p.suffix in (".yaml", ".md")}
    for problem in FULL.problems:
        doc = yaml.safe_load((release / f"{problem.id}.yaml").read_text())
        for q_doc, q in zip(doc.get("questions", []), problem.questions):
            assert q_doc["id"] == q.id and q_doc["prompt"] == q.prompt and q_doc["points"] == q.points
            assert not {"answer", "alternatives", "explanations"} & set(q_doc), q.id
            if "options" in q_doc:
                assert q_doc["options"] == q.options
                assert "aliases" not in q_doc or set(q_doc["aliases"]) == set(q.options)  # none singled out
            secrets = [a.feedback for a in getattr(q, "alternatives", [])]
            secrets += list(getattr(q, "explanations", {}).values())
            for secret in filter(None, secrets):
                assert not [p for p, t in texts.items() if secret in t], f"{q.id}: {secret!r} leaked"
            if q.kind == "number":
                for value in [q.answer] + [a.answer for a in q.alternatives]:
                    pattern = re.compile(rf"(?<![\d.]){value:g}(?![\d.])")
                    assert not [p for p, t in unstated.items() if pattern.search(t)], (q.id, value)
    linear_layers = load_assignment(release).problem("regularized-ae").questions[0]
    assert linear_layers.id == "linear_layers" and linear_layers.answer is None and linear_layers.aliases == {}


# --------------------------------------------------------------------------- the release works


@pytest.mark.parametrize("student", ["correct-numpy", "slip-sign"])
def test_check_from_release_matches_the_full_assignment(release, student):
    def public(assignment):
        result = api.check_submission(SUBMISSIONS / student, assignment)
        return ([(c.problem, c.check, c.case, c.visibility, c.status, round(c.score, 9), round(c.max_score, 9),
                  c.feedback if (c.problem, c.check) not in TIMED else "(timed)", c.diagnosis)
                 for p in result.problems for c in p.checks],
                [(p.problem, p.notes, p.answer_issues) for p in result.problems], result.notes)

    full, released = public(ASSIGNMENT), public(release)
    assert released == full
    assert len(full[0]) > 20 and all(c[3] is Visibility.PUBLIC for c in full[0])


@pytest.mark.parametrize("student", ["answers-slips", "answers-wrong-types"])
def test_written_answers_are_format_checked_from_the_release(release, student):
    def issues(assignment):
        result = api.check_submission(SUBMISSIONS / student, assignment, problems=QUESTION_ONLY)
        return [(p.problem, p.answer_issues, [(c.check, c.status) for c in p.checks]) for p in result.problems]

    assert issues(release) == issues(ASSIGNMENT)
    if student == "answers-wrong-types":
        assert any(problem_issues for _, problem_issues, _ in issues(release))


def test_cli_check_from_release(release, capsys, tmp_path):
    code = cli.main(["check", str(SUBMISSIONS / "slip-sign"), "--assignment", str(release),
                     "--problems", "linear-ae-gradients", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1 and "Public checks: 0 / 10" in out and "wrong sign" in out


def test_release_cannot_be_graded_or_validated(release, tmp_path, capsys):
    assert cli.main(["grade", str(SUBMISSIONS), "--assignment", str(release), "--out", str(tmp_path)]) == 2
    assert "is a student release" in capsys.readouterr().err
    assert cli.main(["validate", str(release)]) == 2
    assert "use the full assignment" in capsys.readouterr().err


def test_edited_release_spec_is_caught(release, tmp_path):
    copy = tmp_path / "edited"
    shutil.copytree(release, copy)
    spec = copy / "linear-ae-gradients.yaml"
    spec.write_text(spec.read_text().replace("seeds: [0]", "seeds: [7]", 1))
    with pytest.raises(api.ReferenceFailure, match="rerun grader release"):
        api.check_submission(SUBMISSIONS / "correct-numpy", copy, problems=["linear-ae-gradients"])


def test_answers_and_expected_need_the_released_flag(release, tmp_path):
    copy = tmp_path / "unflagged"
    shutil.copytree(release, copy)
    (copy / "assignment.yaml").write_text((copy / "assignment.yaml").read_text().replace("released: true", ""))
    with pytest.raises(SpecError) as err:
        load_assignment(copy)
    messages = "\n".join(map(str, err.value.issues))
    assert "expected: unknown field" in messages and "answer: required field is missing" in messages


# --------------------------------------------------------------------------- details and bad input


def test_hidden_only_check_and_hints_are_trimmed(tmp_path):
    src = tmp_path / "assignment"
    src.mkdir()
    (src / "assignment.yaml").write_text("id: mini\ntitle: Mini\nkit: kit\nproblems: [pca-optimality]\n")
    shutil.copy(ASSIGNMENT / "pca_optimality_ref.py", src)
    shutil.copytree(ASSIGNMENT / "kit", src / "kit", ignore=shutil.ignore_patterns("__pycache__"))
    spec = yaml.safe_load((ASSIGNMENT / "pca-optimality.yaml").read_text())
    spec["checks"][1]["points"] = 3
    spec["checks"].append({"name": "hidden-only", "check": "equals", "points": 1,
                           "cases": ["hidden-saddle", "hidden-random"], "params": {"type": "bool"}})
    (src / "pca-optimality.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "release"
    release_assignment(src, out)
    doc = yaml.safe_load((out / "pca-optimality.yaml").read_text())
    assert doc["checks"][2]["cases"] == [] and doc["checks"][2]["points"] == 1
    assert set(doc["checks"][1]["params"]["hints"]) == {"only-encoder-condition", "saddle", "zero", "perturbed",
                                                             "slightly-perturbed", "null-space-shift", "large-data",
                                                             "tiny-data"}
    assert "mutants" not in doc  # mutation testing's marks quote the reference: never published
    released = load_assignment(out).problem("pca-optimality")
    assert released.checks[2].cases == () and released.points == 10
    full = api.check_submission(SUBMISSIONS / "stationary-always-true", src)
    mine = api.check_submission(SUBMISSIONS / "stationary-always-true", out)
    assert [(c.check, c.case, c.score, c.feedback) for c in mine.problems[0].checks] == \
           [(c.check, c.case, c.score, c.feedback) for c in full.problems[0].checks]


def test_out_folder_rules(release, tmp_path, capsys):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ReleaseError, match="not empty"):
        release_assignment(ASSIGNMENT, busy)
    assert (busy / "notes.txt").exists()
    with pytest.raises(ReleaseError, match="outside the assignment folder"):
        release_assignment(ASSIGNMENT, ASSIGNMENT / "handout")
    with pytest.raises(ReleaseError, match="already a student release"):
        release_assignment(release, tmp_path / "again")
    again = tmp_path / "again"
    assert cli.main(["release", str(ASSIGNMENT), "--out", str(again)]) == 0
    assert cli.main(["release", str(ASSIGNMENT), "--out", str(again)]) == 2
    assert "--force" in capsys.readouterr().err
    assert cli.main(["release", str(ASSIGNMENT), "--out", str(again), "--force"]) == 0
    assert "grader check" in (again / "README.md").read_text()


def test_force_replaces_only_a_release_and_only_what_it_wrote(tmp_path, capsys):
    # a course folder holding a roster's students.csv beside the grades and the submissions: --force once took it
    # for a release per student and deleted it all
    course = tmp_path / "course"
    (course / "submissions" / "alice").mkdir(parents=True)
    (course / "submissions" / "alice" / "solution.py").write_text("x = 1\n")
    (course / "grades-final.xlsx").write_bytes(b"PK grades")
    (course / "students.csv").write_text("student,folder\nalice,alice\n")
    before = _files(course)
    assert cli.main(["release", str(ASSIGNMENT), "--out", str(course), "--force"]) == 2
    assert "not a release written by grader release (no .grader-release)" in capsys.readouterr().err
    assert _files(course) == before
    # nor a folder whose assignment.yaml says released: true, without the marker (and with grades beside it)
    old = tmp_path / "old"
    old.mkdir()
    (old / "assignment.yaml").write_text("id: autoencoders\nreleased: true\n")
    (old / "grades.csv").write_text("alice,10\n")
    with pytest.raises(ReleaseError, match="no .grader-release"):
        release_assignment(ASSIGNMENT, old, force=True)
    assert (old / "grades.csv").read_text() == "alice,10\n"
    # a release lists what it wrote in its marker
    out = tmp_path / "handout"
    release_assignment(ASSIGNMENT, out)
    marker = json.loads((out / ".grader-release").read_text())
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {".grader-release"}
    assert marker["written_by"] == "grader release" and set(marker["files"]) == written
    assert set(marker["folders"]) == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_dir()}
    # anything added since refuses --force whole: nothing is removed
    (out / "kit" / "grades.csv").write_text("mine")
    (out / "submissions").mkdir()
    before = _files(out)
    with pytest.raises(ReleaseError, match=r"did not write \(kit/grades.csv, submissions\); nothing was removed"):
        release_assignment(ASSIGNMENT, out, force=True)
    assert _files(out) == before and (out / "submissions").is_dir()
    (out / "kit" / "grades.csv").unlink()
    (out / "submissions").rmdir()
    # bytecode that a grader check of the release left beside its kit goes with it
    (out / "kit" / "__pycache__").mkdir()
    (out / "kit" / "__pycache__" / "gradients.cpython-311.pyc").write_bytes(b"\0")
    (out / "README.md").write_text("edited by hand")  # a file the release wrote, edited since: replaced
    release_assignment(ASSIGNMENT, out, force=True)
    assert not (out / "kit" / "__pycache__").exists() and "grader check" in (out / "README.md").read_text()
    # a marker naming paths outside the release removes nothing there: only what is in the folder is looked at
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    marker = json.loads((out / ".grader-release").read_text())
    marker["files"] += ["../victim.txt", str(victim)]
    (out / ".grader-release").write_text(json.dumps(marker))
    release_assignment(ASSIGNMENT, out, force=True)
    assert victim.read_text() == "keep"


def test_expected_values_round_trip():
    values = {"a": np.arange(6, dtype=np.float64).reshape(2, 3) / 7, "b": np.bool_(True), "c": (1, [True, "x"]),
              "d": np.array([[1, 2]], dtype=np.int32), "e": {"k": np.float32(0.1)}, "f": None}
    back = decode(json.loads(json.dumps(encode(values))))
    assert back.keys() == values.keys()
    assert np.array_equal(back["a"], values["a"]) and back["a"].dtype == np.float64
    assert type(back["b"]) is np.bool_ and back["c"] == (1, [True, "x"]) and back["d"].dtype == np.int32
    assert back["e"]["k"] == np.float32(0.1) and back["f"] is None
