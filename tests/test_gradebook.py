"""The SQLite gradebook: round trips, resuming, regrading on change, clear errors, and surviving SIGKILL."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ASSIGNMENT, ROOT, SUBMISSIONS
from grader import api, cli, gradebook, session
from grader.gradebook import Gradebook, GradebookError
from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility

GRADIENTS = "linear-ae-gradients"
QUESTIONS = "regularized-ae"  # written questions only: grading it runs no sandbox


def copy_samples(root: Path, names) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copytree(SUBMISSIONS / name, root / name)
    return root


@pytest.fixture
def graded(monkeypatch):
    """Records (student-agnostic) every problem graded in this process: the problem ids, in order."""
    calls: list[str] = []
    real = session.grade_problem  # a session grades each submission's problems (grader/session.py)

    def counting(problem, *args, **kwargs):
        calls.append(problem.id)
        return real(problem, *args, **kwargs)

    monkeypatch.setattr(session, "grade_problem", counting)
    return calls


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def duplicates(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT s.student, p.problem, r.check_name, r.case_id, COUNT(*) FROM results r "
                            "JOIN problems p ON p.id = r.problem_id JOIN submissions s ON s.id = p.submission_id "
                            "GROUP BY s.student, p.problem, r.check_name, r.kind, IFNULL(r.case_id, '') "
                            "HAVING COUNT(*) > 1").fetchall()


# --------------------------------------------------------------------------- the store


def sample_result() -> SubmissionResult:
    checks = [
        CheckResult("p1", "matches", "basic-s0", Visibility.PUBLIC, Status.PASSED, 7 / 3, 7 / 3, "ok"),
        CheckResult("p1", "matches", "wide-s1", Visibility.HIDDEN, Status.FAILED, 0.0, 7 / 3,
                    "off by a factor 2 — «ünïcode»\nsecond line", "factor_two"),
        CheckResult("p1", "matches", None, Visibility.HIDDEN, Status.TIMEOUT, 0.0, 1.0, ""),
        CheckResult("p1", "essay", None, Visibility.HIDDEN, Status.PENDING, 0.0, 3.0,
                    "awaiting manual grading. Your answer: yes", None, "question"),
    ]
    return SubmissionResult("alice.b@x", [
        ProblemResult("p1", "Problem one", checks, "printed\n", "warned\n", ["a note"], ["fix this"], seconds=1.25),
        ProblemResult("p0", "Empty problem", [], seconds=None),
    ], ["no answers.yaml in the submission"])


def test_store_and_load_round_trip(tmp_path):
    result = sample_result()
    with Gradebook.open(tmp_path / "gb.sqlite") as book:
        run = book.start_run(assignment=ASSIGNMENT, spec_hash="s", submissions_dir=tmp_path, problems=["p1"],
                             options={"jobs": 1})
        book.save(result, folder=tmp_path / "alice.b@x", content_hash="c", spec_hash="s", run_id=run,
                  fresh=["p1", "p0"], seconds=2.5)
        book.save(result, folder=tmp_path / "alice.b@x", content_hash="c", spec_hash="s", run_id=run,
                  fresh=["p1"])  # saving again replaces, never duplicates
        book.finish_run(run, graded=1, skipped=0)
    with Gradebook.open(tmp_path / "gb.sqlite") as book:
        loaded = book.load()
        assert loaded == {"alice.b@x": result}
        assert [p.seconds for p in loaded["alice.b@x"].problems] == [1.25, None]
        assert book.stored()["alice.b@x"] == gradebook.Stored("c", "s", frozenset({"p0", "p1"}))
        assert book.counts() == {"runs": 1, "submissions": 1, "problems": 2, "results": 4}
        assert book.last_run()["finished_at"] is not None
    assert duplicates(tmp_path / "gb.sqlite") == []


def _with_data() -> SubmissionResult:
    import numpy as np

    result = sample_result()
    result.problems[0].checks[0].data = {
        "device": "cpu", "time_to_target": np.float64(0.25), "steps_to_target": np.int64(200), "reached": np.bool_(True),
        "effective_lambda": (0.1, float("nan")), "curve": {"seconds": np.array([0.0, 0.1]), "distance": [1.0, None]},
        "reference": {"seconds": 0.2, "device": "cpu"}, "budget_seconds": float("inf"), 3: "key"}
    return result


def test_check_data_is_stored_as_json(tmp_path):
    result = _with_data()
    with Gradebook.open(tmp_path / "gb.sqlite") as book:
        book.save(result, folder=tmp_path, content_hash="c", spec_hash="s", run_id=None, fresh=["p1", "p0"])
    with Gradebook.open(tmp_path / "gb.sqlite") as book:
        checks = book.load()["alice.b@x"].problems[0].checks
    assert checks[0].data == {
        "device": "cpu", "time_to_target": 0.25, "steps_to_target": 200, "reached": True,
        "effective_lambda": [0.1, None], "curve": {"seconds": [0.0, 0.1], "distance": [1.0, None]},
        "reference": {"seconds": 0.2, "device": "cpu"}, "budget_seconds": None, "3": "key"}
    assert [c.data for c in checks[1:]] == [None, None, None]


def test_a_version_1_gradebook_is_upgraded_in_place(tmp_path):
    path = tmp_path / "gb.sqlite"
    with Gradebook.open(path) as book:
        book.save(sample_result(), folder=tmp_path, content_hash="c", spec_hash="s", run_id=None, fresh=["p1", "p0"])
    with sqlite3.connect(path) as conn:  # what a grader before stored data wrote
        conn.execute("ALTER TABLE results DROP COLUMN data")
        conn.execute("ALTER TABLE problems DROP COLUMN fingerprint")
        conn.execute("DROP TABLE fingerprints")
        conn.execute("DROP TABLE settings")
        conn.execute("UPDATE schema_version SET version = 1")
    with Gradebook.open(path) as book:
        assert book.load() == {"alice.b@x": sample_result()}  # kept, without data
        book.save(_with_data(), folder=tmp_path, content_hash="c", spec_hash="s", run_id=None, fresh=["p1"])
        assert book.load()["alice.b@x"].problems[0].checks[0].data["device"] == "cpu"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(gradebook.SCHEMA_VERSION,)]


def test_a_version_3_gradebook_is_upgraded_in_place(tmp_path):
    """Version 3 kept no settings: the upgrade adds the table, keeps every grade, and the leaderboard salt is drawn
    when first asked for and kept from then on."""
    path = tmp_path / "gb.sqlite"
    with Gradebook.open(path) as book:
        book.save(sample_result(), folder=tmp_path, content_hash="c", spec_hash="s", run_id=None, fresh=["p1", "p0"])
    with sqlite3.connect(path) as conn:  # what a grader before the settings wrote
        conn.execute("DROP TABLE settings")
        conn.execute("UPDATE schema_version SET version = 3")
    with Gradebook.open(path) as book:
        assert book.load() == {"alice.b@x": sample_result()}
        salt = book.leaderboard_salt()
        assert len(salt) == 32
    with Gradebook.open(path) as book:
        assert book.leaderboard_salt() == salt
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(gradebook.SCHEMA_VERSION,)]
        assert conn.execute("SELECT name FROM settings").fetchall() == [("leaderboard_salt",)]


def test_a_gradebook_from_a_newer_grader_is_refused(tmp_path):
    path = tmp_path / "gb.sqlite"
    Gradebook.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (gradebook.SCHEMA_VERSION + 1,))
    with pytest.raises(GradebookError, match="written by a newer grader"):
        Gradebook.open(path)


def test_a_batch_result_round_trips(tmp_path):
    subs = copy_samples(tmp_path / "subs", ["correct-numpy", "slip-sign"])
    batch = api.grade_batch(subs, ASSIGNMENT, tmp_path / "out", problems=[GRADIENTS, QUESTIONS])
    with Gradebook.open(tmp_path / "out" / gradebook.FILENAME) as book:
        assert sorted(book.load().values(), key=lambda r: r.student) == batch.results
    assert all(p.seconds is not None for r in batch.results for p in r.problems)


# --------------------------------------------------------------------------- resuming and regrading


def test_resume_skips_unchanged_submissions(tmp_path, graded):
    subs = copy_samples(tmp_path / "subs", ["correct-numpy", "slip-sign"])
    out = tmp_path / "out"
    notices: list[str] = []
    first = api.grade_batch(subs, ASSIGNMENT, out, problems=[GRADIENTS], on_notice=notices.append)
    assert graded == [GRADIENTS, GRADIENTS] and notices == []
    scores = (out / "scores.csv").read_text()
    (out / "scores.csv").unlink()
    graded.clear()
    second = api.grade_batch(subs, ASSIGNMENT, out, problems=[GRADIENTS], on_notice=notices.append)
    assert graded == []
    assert notices == ["Resuming: 2 of 2 submission(s) already graded and unchanged; grading 0."]
    assert second.results == first.results
    assert (out / "scores.csv").read_text() == scores  # regenerated from the gradebook
    assert (out / "students" / "slip-sign" / "results.json").is_file()


def test_a_changed_solution_is_regraded(tmp_path, graded):
    subs = copy_samples(tmp_path / "subs", ["correct-numpy", "slip-sign"])
    out = tmp_path / "out"
    api.grade_batch(subs, ASSIGNMENT, out, problems=[GRADIENTS])
    fixed = (SUBMISSIONS / "correct-numpy" / "solution.py").read_bytes()
    (subs / "slip-sign" / "solution.py").write_bytes(fixed)
    graded.clear()
    notices: list[str] = []
    batch = api.grade_batch(subs, ASSIGNMENT, out, problems=[GRADIENTS], on_notice=notices.append)
    assert graded == [GRADIENTS]
    assert notices == ["Resuming: 1 of 2 submission(s) already graded and unchanged; grading 1 (1 with changed files).",
                       f"1 stored score(s) changed; listed in {out / 'regrade-diff.csv'}"]
    assert [(r["student"], r["old"], r["new"], r["reason"]) for r in read_csv(out / "regrade-diff.csv")] == [
        ("slip-sign", "0", "10", "files changed")]
    assert {r.student: r.score for r in batch.results} == {"correct-numpy": 10, "slip-sign": 10}
    assert {r["student"]: r["score"] for r in read_csv(out / "scores.csv")} == {"correct-numpy": "10",
                                                                                "slip-sign": "10"}


def test_a_changed_spec_regrades_everyone_on_that_problem(tmp_path, graded):
    subs = copy_samples(tmp_path / "subs", ["correct-numpy", "slip-sign"])
    assignment = tmp_path / "assignment"
    shutil.copytree(ASSIGNMENT, assignment, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    api.grade_batch(subs, assignment, out, problems=[GRADIENTS])
    spec = assignment / f"{GRADIENTS}.yaml"
    spec.write_text(spec.read_text() + "\n# a comment decides no grade\n")
    graded.clear()
    api.grade_batch(subs, assignment, out, problems=[GRADIENTS])
    assert graded == []
    spec.write_text(spec.read_text().replace("rtol: 1.0e-5", "rtol: 2.0e-5"))
    notices: list[str] = []
    api.grade_batch(subs, assignment, out, problems=[GRADIENTS], on_notice=notices.append)
    assert graded == [GRADIENTS, GRADIENTS]
    assert notices == ["Resuming: 0 of 2 submission(s) already graded and unchanged; grading 2 (2 on a changed problem).\n"
                       f"Regrading {GRADIENTS} for 2 submission(s): {GRADIENTS}.yaml changed; every other stored "
                       "grade is kept."]
    reference = assignment / "linear_ae_gradients_ref.py"
    reference.write_text(reference.read_text() + "\n# so does a change of a reference solution\n")
    graded.clear()
    api.grade_batch(subs, assignment, out, problems=[GRADIENTS])
    assert graded == [GRADIENTS, GRADIENTS]
    assert duplicates(out / gradebook.FILENAME) == []


def test_newly_selected_problems_are_graded_and_the_rest_kept(tmp_path, graded):
    subs = copy_samples(tmp_path / "subs", ["correct-numpy", "answers-slips"])
    out = tmp_path / "out"
    api.grade_batch(subs, ASSIGNMENT, out, problems=[GRADIENTS])
    graded.clear()
    notices: list[str] = []
    batch = api.grade_batch(subs, ASSIGNMENT, out, problems=[GRADIENTS, QUESTIONS], on_notice=notices.append)
    assert graded == [QUESTIONS, QUESTIONS]  # only what is missing
    assert "grading 2 (2 on newly selected problems)" in notices[0]
    assert [[p.problem for p in r.problems] for r in batch.results] == [[GRADIENTS, QUESTIONS]] * 2
    rows = {(r["student"], r["problem"]) for r in read_csv(out / "scores.csv")}
    assert rows == {(s, p) for s in ("correct-numpy", "answers-slips") for p in (GRADIENTS, QUESTIONS)}
    graded.clear()
    api.grade_batch(subs, ASSIGNMENT, out, problems=[QUESTIONS])
    assert graded == []  # a subset of what is stored: nothing to do


def test_force_regrades_everything(tmp_path, graded, capsys):
    subs = copy_samples(tmp_path / "subs", ["correct-numpy", "slip-sign"])
    out = tmp_path / "out"
    argv = ["grade", str(subs), "--assignment", str(ASSIGNMENT), "--out", str(out), "--problems", GRADIENTS]
    assert cli.main(argv) == 0
    capsys.readouterr()
    graded.clear()
    assert cli.main(argv) == 0
    assert graded == [] and "Resuming: 2 of 2 submission(s)" in capsys.readouterr().out
    assert cli.main(argv + ["--force"]) == 0
    assert graded == [GRADIENTS, GRADIENTS]
    assert "Regrading all 2 submission(s) (--force)." in capsys.readouterr().out
    with Gradebook.open(out / gradebook.FILENAME) as book:
        assert book.counts()["submissions"] == 2 and book.counts()["runs"] == 3
    assert duplicates(out / gradebook.FILENAME) == []


def test_manual_grades_apply_without_regrading(tmp_path, graded):
    subs = tmp_path / "subs"
    (subs / "ann").mkdir(parents=True)
    shutil.copyfile(SUBMISSIONS / "correct-numpy" / "answers.yaml", subs / "ann" / "answers.yaml")
    out = tmp_path / "out"
    first = api.grade_batch(subs, ASSIGNMENT, out, problems=[QUESTIONS])
    pending = [c for c in first.results[0].problems[0].checks if c.status is Status.PENDING]
    assert [c.check for c in pending] == ["argument"]
    with open(out / api.MANUAL_GRADES, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["student", "problem", "question", "points", "comment"],
                                  ["ann", QUESTIONS, "argument", "2", "nearly"]])
    graded.clear()
    second = api.grade_batch(subs, ASSIGNMENT, out, problems=[QUESTIONS])
    assert graded == []
    argument = next(c for c in second.results[0].problems[0].checks if c.check == "argument")
    assert (argument.status, argument.score) == (Status.FAILED, 2)
    assert read_csv(out / api.FREE_TEXT) == []
    with Gradebook.open(out / gradebook.FILENAME) as book:  # stored raw: still pending there
        stored = book.load()["ann"].problems[0].checks
        assert next(c for c in stored if c.check == "argument").status is Status.PENDING


def test_outputs_cover_only_students_still_in_the_batch(tmp_path):
    subs = tmp_path / "subs"
    for name in ("ann", "bob"):
        (subs / name).mkdir(parents=True)
        shutil.copyfile(SUBMISSIONS / "correct-numpy" / "answers.yaml", subs / name / "answers.yaml")
    out = tmp_path / "out"
    api.grade_batch(subs, ASSIGNMENT, out, problems=[QUESTIONS])
    shutil.rmtree(subs / "bob")
    batch = api.grade_batch(subs, ASSIGNMENT, out, problems=[QUESTIONS])
    assert [r.student for r in batch.results] == ["ann"]
    assert {r["student"] for r in read_csv(out / "scores.csv")} == {"ann"}
    with Gradebook.open(out / gradebook.FILENAME) as book:
        assert set(book.load()) == {"ann", "bob"}  # kept in the gradebook all the same


# --------------------------------------------------------------------------- clear errors


def grade_cli(subs: Path, out: Path) -> list[str]:
    return ["grade", str(subs), "--assignment", str(ASSIGNMENT), "--out", str(out), "--problems", QUESTIONS]


def test_a_corrupt_gradebook_is_a_clear_error(tmp_path, capsys):
    subs = copy_samples(tmp_path / "subs", ["correct-numpy"])
    out = tmp_path / "out"
    out.mkdir()
    (out / gradebook.FILENAME).write_bytes(b"this is no database, just some text that got here" * 50)
    code = cli.main(grade_cli(subs, out))
    err = capsys.readouterr().err
    assert code == 2
    assert f"grader: {out / gradebook.FILENAME} is not a valid gradebook (file is not a database); move it away " \
           "to start afresh" in err
    assert "Traceback" not in err


def test_an_sqlite_file_that_is_no_gradebook_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    with sqlite3.connect(out / gradebook.FILENAME) as conn:
        conn.execute("CREATE TABLE other (x)")
    code = cli.main(grade_cli(copy_samples(tmp_path / "subs", ["correct-numpy"]), out))
    err = capsys.readouterr().err
    assert code == 2 and "is not a valid gradebook" in err and "schema version" in err


def test_a_locked_gradebook_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(gradebook, "BUSY_TIMEOUT_S", 0.2)
    out = tmp_path / "out"
    out.mkdir()
    Gradebook.open(out / gradebook.FILENAME).close()
    other = sqlite3.connect(out / gradebook.FILENAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        code = cli.main(grade_cli(copy_samples(tmp_path / "subs", ["correct-numpy"]), out))
    finally:
        other.execute("ROLLBACK")
        other.close()
    err = capsys.readouterr().err
    assert code == 2
    assert "is locked by another process" in err and "Traceback" not in err


def test_gradebook_errors_are_domain_errors(tmp_path):
    path = tmp_path / "missing-folder" / gradebook.FILENAME
    with pytest.raises(GradebookError, match="cannot open the gradebook"):
        Gradebook.open(path)


# --------------------------------------------------------------------------- the crash test

CRASH_BATCH = ["correct-numpy", "loops-forever", "pca-swapped", "slip-sign"]  # loops-forever takes ~20 s


def grade_command(subs: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "grader", "grade", str(subs), "--assignment", str(ASSIGNMENT), "--out", str(out),
            "--problems", GRADIENTS, "--sandbox", "bwrap", *extra]


def grade_process(subs: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(grade_command(subs, out, *extra), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def graded_count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_scores(tmp_path, bwrap_available):
    subs = copy_samples(tmp_path / "subs", CRASH_BATCH)
    out, clean_out = tmp_path / "out", tmp_path / "clean"
    clean = grade_process(subs, clean_out, "--jobs", "2")  # the reference run, alongside
    crashing = grade_process(subs, out, "--jobs", "1")
    db = out / gradebook.FILENAME
    deadline = time.monotonic() + 60
    try:
        while graded_count(db) < 1 and crashing.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert crashing.poll() is None, "the run finished before it could be killed"
        assert 1 <= graded_count(db) < len(CRASH_BATCH)
        os.killpg(crashing.pid, signal.SIGKILL)
    finally:
        crashing.kill()
        crashing.communicate()
    assert crashing.returncode == -signal.SIGKILL
    assert not (out / "scores.csv").exists()
    kept = graded_count(db)

    resumed = subprocess.run(grade_command(subs, out, "--jobs", "2"), cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert (f"Resuming: {kept} of {len(CRASH_BATCH)} submission(s) already graded and unchanged; "
            f"grading {len(CRASH_BATCH) - kept}") in resumed.stdout
    clean_stdout, clean_stderr = clean.communicate(timeout=120)
    assert clean.returncode == 0, clean_stderr

    assert (out / "scores.csv").read_text() == (clean_out / "scores.csv").read_text()
    assert len(read_csv(out / "scores.csv")) == len(CRASH_BATCH)
    assert duplicates(db) == []
    with Gradebook.open(db) as book:
        assert book.counts()["submissions"] == len(CRASH_BATCH)
        assert book.counts()["runs"] == 2
        assert book.last_run()["finished_at"] is not None

