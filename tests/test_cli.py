"""The command line: exit codes, summaries and clear messages for bad input."""

from __future__ import annotations

import csv
import subprocess
import sys

from conftest import ASSIGNMENT, ROOT, SUBMISSIONS
from grader import cli


def _check(capsys, folder, *extra):
    code = cli.main(["check", str(folder), "--assignment", str(ASSIGNMENT), *extra])
    return code, capsys.readouterr()


def test_check_passes_a_correct_submission(capsys):
    code, out = _check(capsys, SUBMISSIONS / "correct-numpy")
    assert code == 0
    assert "Public checks: 40 / 40" in out.out
    assert "hidden-wide" not in out.out and "hidden-pca" not in out.out  # public cases only
    assert "All public checks pass." in out.out


def test_check_accepts_a_solution_file_path(capsys):
    code, out = _check(capsys, SUBMISSIONS / "correct-notebook" / "solution.ipynb")
    assert code == 0, out.out


def test_check_fails_a_wrong_submission_with_feedback(capsys):
    code, out = _check(capsys, SUBMISSIONS / "slip-sign")
    assert code == 1
    assert "Public checks: 30 / 40" in out.out
    assert "linear-ae-gradients - Gradients of a linear autoencoder: 0 / 10" in out.out
    assert "wrong sign" in out.out


def test_check_unknown_problem_is_a_clear_error(capsys):
    code, out = _check(capsys, SUBMISSIONS / "correct-numpy", "--problems", "no-such-problem")
    assert code == 2
    assert "unknown problem(s) no-such-problem" in out.err
    assert "Traceback" not in out.err


def test_check_missing_folder_is_a_clear_error(capsys, tmp_path):
    code, out = _check(capsys, tmp_path / "nope")
    assert code == 2
    assert "no such folder" in out.err


def test_grade_writes_scores_and_results(capsys, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("correct-torch", "slip-swapped"):
        (subs / name).mkdir()
        (subs / name / "solution.py").write_bytes((SUBMISSIONS / name / "solution.py").read_bytes())
    (subs / "stray.txt").write_text("not a student")
    (subs / "bad name!").mkdir()
    out = tmp_path / "out"
    code = cli.main(["grade", str(subs), "--assignment", str(ASSIGNMENT), "--out", str(out), "--jobs", "2",
                     "--problems", "linear-ae-gradients"])
    printed = capsys.readouterr()
    assert code == 0
    assert "stray.txt: ignored" in printed.err and "not a valid student id" in printed.err
    rows = {r["student"]: r for r in csv.DictReader(open(out / "scores.csv"))}
    assert set(rows) == {"correct-torch", "slip-swapped"}
    assert float(rows["correct-torch"]["score"]) == 10 and float(rows["slip-swapped"]["score"]) == 0
    assert (out / "students" / "slip-swapped" / "results.json").is_file()


def test_grade_missing_submissions_folder(capsys, tmp_path):
    code = cli.main(["grade", str(tmp_path / "missing"), "--assignment", str(ASSIGNMENT), "--out", str(tmp_path)])
    assert code == 2
    assert "no such folder" in capsys.readouterr().err


def test_validate_shipped_assignment(capsys):
    assert cli.main(["validate", str(ASSIGNMENT), "--no-samples"]) == 0  # test_samples.py grades the samples
    assert "every reference solution earns full marks" in capsys.readouterr().out


def test_validate_reports_a_reference_that_fails(capsys, tmp_path):
    import shutil

    copy = tmp_path / "assignment"
    shutil.copytree(ASSIGNMENT, copy)
    ref = copy / "linear_ae_gradients_ref.py"
    ref.write_text(ref.read_text().replace("-2.0 * W2.T", "-1.0 * W2.T"))
    # the expected values come from the reference itself, but the finite-difference check is independent
    assert cli.main(["validate", str(copy), "--no-samples"]) == 1
    out = capsys.readouterr().out
    assert "FAIL linear-ae-gradients" in out


def test_console_script_is_installed():
    done = subprocess.run([sys.executable, "-m", "grader", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "validate" in done.stdout
