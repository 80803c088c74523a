"""`grader gradescope`: one submission in Gradescope's autograder layout, all cases, results.json; the
gradescope/ scripts and the autograder.zip they ship in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ASSIGNMENT, ROOT, SUBMISSIONS
from grader import cli
from grader.release import release_assignment
from grader.spec import load_assignment

PROBLEMS = "linear-ae-gradients,resnet-blog"  # one code problem, one written: fast


def _run(capsys, upload: Path, results: Path, *extra: str):
    code = cli.main(["gradescope", "--submission", str(upload), "--results", str(results),
                     "--assignment", str(ASSIGNMENT), *extra])
    return code, capsys.readouterr()


def _upload(tmp_path: Path, sample: str, inner: str | None = None) -> Path:
    upload = tmp_path / "submission"
    target = upload / inner if inner else upload
    shutil.copytree(SUBMISSIONS / sample, target)
    return upload


def test_grades_all_cases_with_their_visibility(tmp_path, capsys):
    results = tmp_path / "results" / "results.json"
    code, out = _run(capsys, _upload(tmp_path, "slip-sign"), results, "--problems", PROBLEMS)
    assert code == 0, out.err
    data = json.loads(results.read_text())
    problem = load_assignment(ASSIGNMENT).problem("linear-ae-gradients")
    hidden = {c.id for c in problem.cases if c.visibility.value == "hidden"}
    code_tests = [t for t in data["tests"] if t["tags"][0] == "linear-ae-gradients"]
    assert len(code_tests) == len(problem.cases) * len(problem.checks)
    for t in code_tests:
        assert t["visibility"] == ("after_published" if t["extra_data"]["case"] in hidden else "visible")
    assert any(t["extra_data"]["diagnosis"] == "sign" for t in code_tests)
    questions = [t for t in data["tests"] if t["tags"][0] == "resnet-blog"]
    assert {t["visibility"] for t in questions} == {"after_published"}
    assert data["score"] == sum(t["score"] for t in data["tests"]) and data["score"] < 18
    assert "Results:" in out.out


def test_student_mistakes_still_write_results(tmp_path, capsys):
    upload = tmp_path / "submission"
    upload.mkdir()
    (upload / "notes.txt").write_text("I forgot my solution")
    results = tmp_path / "results.json"
    code, out = _run(capsys, upload, results, "--problems", PROBLEMS)
    assert code == 0
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "no solution.py or solution.ipynb" in data["output"]


def test_an_uploaded_folder_is_found(tmp_path, capsys):
    (tmp_path / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "jane@uni.edu"}]}))
    results = tmp_path / "results.json"
    code, _ = _run(capsys, _upload(tmp_path, "correct-numpy", inner="hw3"), results, "--problems", PROBLEMS)
    assert code == 0
    data = json.loads(results.read_text())
    assert data["output"].startswith("graded the files in hw3/ of your upload")
    assert data["score"] == 10 + 4 and data["extra_data"]["student"] == "jane@uni.edu"  # free text pending


def test_grader_problems_write_no_results(tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(ASSIGNMENT, broken)
    (broken / "linear-ae-gradients.yaml").write_text("id: linear-ae-gradients\npoints: [\n")
    results = tmp_path / "results.json"
    code = cli.main(["gradescope", "--submission", str(_upload(tmp_path, "correct-numpy")), "--results",
                     str(results), "--assignment", str(broken)])
    assert code == 2 and not results.exists()
    assert "invalid YAML" in capsys.readouterr().err
    release = tmp_path / "release"
    release_assignment(ASSIGNMENT, release)
    code = cli.main(["gradescope", "--submission", str(tmp_path / "submission"), "--results", str(results),
                     "--assignment", str(release)])
    assert code == 2 and not results.exists() and "student release" in capsys.readouterr().err
    code, out = _run(capsys, tmp_path / "nowhere", results)
    assert code == 2 and "nowhere: no such folder" in out.err and not results.exists()


def test_run_autograder_script(tmp_path):
    root = tmp_path / "autograder"
    shutil.copytree(SUBMISSIONS / "correct-numpy", root / "submission")
    env = {**os.environ, "AUTOGRADER": str(root), "ASSIGNMENT": str(ASSIGNMENT),
           "GRADER": f"{sys.executable} -m grader"}
    # only the fast problems: the script passes its own options, so check it on a trimmed assignment copy
    trimmed = tmp_path / "assignment"
    shutil.copytree(ASSIGNMENT, trimmed)
    text = (trimmed / "assignment.yaml").read_text()
    for slow in ("pca-optimality", "seq2seq-tokens", "regularized-ae"):
        text = text.replace(f"  - {slow}\n", "")
    (trimmed / "assignment.yaml").write_text(text)
    env["ASSIGNMENT"] = str(trimmed)
    run = subprocess.run(["bash", str(ROOT / "gradescope" / "run_autograder")], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == 10 + 4  # code, and the written part's auto-graded questions
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}


def test_autograder_zip_layout(tmp_path):
    out = tmp_path / "autograder.zip"
    run = subprocess.run([sys.executable, str(ROOT / "gradescope" / "make_autograder.py"), "--out", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    assert {"setup.sh", "run_autograder", "pyproject.toml", "README.md", "grader/cli.py",
            "grader/sandbox/harness.py", "assignment/assignment.yaml", "assignment/linear_ae_gradients_ref.py"} <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "grader gradescope" in (ROOT / "gradescope" / "run_autograder").read_text().replace("$GRADER", "grader")
