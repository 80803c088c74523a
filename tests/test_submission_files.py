"""A submission's files are data: links are never followed, pipes, sockets and devices never opened, sizes
capped, and whatever goes wrong reading one student's files is that student's error, never the batch's.

Run as root, as CI runs them: root can read every file a link may point to, so only the grader's refusal
stands between a link and the file. Each attack is graded in a small real batch next to an honest
submission, which must score exactly full marks.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import zipfile
from pathlib import Path
from typing import Callable, TypeVar

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS
from grader import cli
from grader.api import grade_batch
from grader.fingerprint import submission_hash
from grader.lms.canvas_import import stage
from grader.lms.gradescope import run_gradescope
from grader.models import Status
from grader.sandbox.wire import WireError, decode, parse_payload
from grader.submission_files import FileRefused, read_regular, walk

PROBLEM = "linear-ae-gradients"
FULL = 10.0  #: its points
REFERENCE = ASSIGNMENT / "linear_ae_gradients_ref.py"
CORRECT = (SUBMISSIONS / "correct-numpy" / "solution.py").read_text()
SECRET = "root:$6$gr4d3r-s3cr3t-m4rk3r$never-to-be-shown:19000:0:99999:7:::"  # a shadow-like first line
T = TypeVar("T")


def _finishes(work: Callable[[], T], seconds: float = 90) -> T:
    """``work()``, failing the test when it has not returned within ``seconds`` (it blocked or spun)."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"did not finish within {seconds:g} s: blocked or spinning on a submission's file")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _student(subs: Path, name: str, solution: str | None = CORRECT) -> Path:
    folder = subs / name
    folder.mkdir(parents=True)
    if solution is not None:
        (folder / "solution.py").write_text(solution)
    return folder


def _grade(subs: Path, out: Path, **kw):
    """The batch graded, as a dict student -> result; the honest student must score full marks. A fresh
    sandbox per submission: these attacks are on the grader's side, and no warm pool to start keeps each test
    to about a second."""
    batch = _finishes(lambda: grade_batch(subs, ASSIGNMENT, out, problems=[PROBLEM], warm=False, **kw))
    results = {r.student: r for r in batch.results}
    assert results["honest"].score == FULL, results["honest"]
    return results, batch


def _statuses(result) -> set[Status]:
    return {c.status for p in result.problems for c in p.checks}


def _feedback(result) -> str:
    return "\n".join([c.feedback for p in result.problems for c in p.checks] + result.notes)


def _everything_written(out: Path) -> str:
    """Every file the grader wrote under ``out``, as text (the gradebook and reports included)."""
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(out.rglob("*")) if p.is_file())


# --- links to the reference solution or to a secret file ---------------------------------------------------

@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_a_solution_linked_to_the_reference_earns_nothing(tmp_path, how):
    subs = tmp_path / "subs"
    _student(subs, "honest")
    cheat = _student(subs, "cheat", solution=None)
    target = os.path.relpath(REFERENCE, cheat) if how == "relative" else str(REFERENCE)
    (cheat / "solution.py").symlink_to(target)
    assert (cheat / "solution.py").read_text() == REFERENCE.read_text()  # the link works: only the grader refuses
    results, _ = _grade(subs, tmp_path / "out")
    cheat = results["cheat"]
    assert cheat.score == 0.0 and _statuses(cheat) == {Status.ERROR}
    assert "solution.py is a symbolic link: refused, never followed" in _feedback(cheat)
    written = _everything_written(tmp_path / "out")
    assert "instructors only" not in written and "-2.0 * W2.T @ R @ X.T" not in written


def test_a_solution_linked_to_a_secret_file_shows_nothing_of_it(tmp_path, capsys):
    secrets = tmp_path / "root-only"
    secrets.mkdir()
    shadow = secrets / "shadow"
    shadow.write_text(SECRET + "\ndaemon:*:19000:0:99999:7:::\n")
    shadow.chmod(0o600)
    subs = tmp_path / "subs"
    _student(subs, "honest")
    (_student(subs, "leak", solution=None) / "solution.py").symlink_to(shadow)
    (_student(subs, "leakanswers") / "answers.yaml").symlink_to(shadow)
    watched = [SECRET]
    if os.geteuid() == 0 and os.path.isfile("/etc/shadow"):  # the real one, as the attacker showed
        (_student(subs, "etcshadow", solution=None) / "solution.py").symlink_to("/etc/shadow")
        first = Path("/etc/shadow").read_text().splitlines()[:1]
        watched += [line for line in first if len(line) > 8]
    out = tmp_path / "out"
    code = _finishes(lambda: cli.main(["grade", str(subs), "--assignment", str(ASSIGNMENT), "--out", str(out),
                                       "--problems", f"{PROBLEM},resnet-blog", "--fresh"]))
    printed = capsys.readouterr()
    assert code == 0, printed.err
    written = _everything_written(out)
    for where, text in [("OUT", written), ("stdout", printed.out), ("stderr", printed.err)]:
        assert "gr4d3r-s3cr3t-m4rk3r" not in text, f"the linked file appears in {where}"
        for secret in watched:
            assert secret not in text, f"the linked file's first line appears in {where}"
    leak = json.loads((out / "students" / "leak" / "results.json").read_text())
    assert leak["score"] == 0 and "solution.py is a symbolic link" in leak["output"]
    assert (out / "students" / "leak" / "report.html").is_file()


# --- pipes, devices and sockets: nothing blocks, spins or is opened ------------------------------------------

def _fifo(folder: Path) -> None:
    (folder / "data").mkdir()
    os.mkfifo(folder / "data" / "pipe")  # anywhere in the tree: hashing walks all of it


def _dev_zero(folder: Path) -> None:
    (folder / "weights.npy").symlink_to("/dev/zero")


def _socket(folder: Path) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(folder / "kernel.sock"))


def _fifo_solution(folder: Path) -> None:
    (folder / "solution.py").unlink()
    os.mkfifo(folder / "solution.py")


SPECIAL = {  # the attack, the entry it leaves, and whether the student's own code is still graded
    "fifo": (_fifo, "data/pipe is a named pipe (FIFO), not a regular file: refused, never opened", True),
    "devzero": (_dev_zero, "weights.npy is a symbolic link: refused, never followed", True),
    "socket": (_socket, "kernel.sock is a socket, not a regular file: refused, never opened", True),
    "fifosolution": (_fifo_solution, "solution.py is a named pipe (FIFO), not a regular file", False),
}


@pytest.mark.parametrize("attack", sorted(SPECIAL))
def test_special_files_never_block_the_batch(tmp_path, attack):
    make, note, graded = SPECIAL[attack]
    subs = tmp_path / "subs"
    _student(subs, "honest")
    make(_student(subs, attack))
    results, _ = _grade(subs, tmp_path / "out")
    mine = results[attack]
    assert note in _feedback(mine)
    assert mine.score == (FULL if graded else 0.0)
    again, _ = _grade(subs, tmp_path / "out")  # hashed again to resume: still no blocking
    assert again[attack].score == mine.score


def test_hashing_never_follows_or_opens(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "solution.py").write_text(CORRECT)
    _fifo(folder)
    _dev_zero(folder)
    _socket(folder)
    target = tmp_path / "elsewhere.txt"
    target.write_text("one")
    (folder / "link").symlink_to(target)
    (folder / "linked-folder").symlink_to(tmp_path)
    before = _finishes(lambda: submission_hash(folder), seconds=10)
    target.write_text("two")  # what a link points to is not the submission's
    assert submission_hash(folder) == before
    (folder / "link").unlink()
    (folder / "link").symlink_to(tmp_path / "other.txt")  # the link itself is
    assert submission_hash(folder) != before
    refused = {e.name for e in walk(folder).refused}
    assert refused == {"data/pipe", "weights.npy", "kernel.sock", "link", "linked-folder"}


def test_reading_refuses_anything_but_a_regular_file(tmp_path):
    (tmp_path / "ok.py").write_text("x = 1\n")
    assert read_regular(tmp_path, "ok.py", 100) == b"x = 1\n"
    with pytest.raises(FileRefused, match="big.py is larger than 1 KB"):
        (tmp_path / "big.py").write_bytes(b"#" * 1025)
        read_regular(tmp_path, "big.py", 1024)
    (tmp_path / "link.py").symlink_to(tmp_path / "ok.py")
    with pytest.raises(FileRefused, match="link.py is a symbolic link"):
        read_regular(tmp_path, "link.py", 100)
    os.mkfifo(tmp_path / "pipe.py")
    with pytest.raises(FileRefused, match=r"pipe.py is a named pipe \(FIFO\)"):
        _finishes(lambda: read_regular(tmp_path, "pipe.py", 100), seconds=10)
    (tmp_path / "folder.py").mkdir()
    with pytest.raises(FileRefused, match="folder.py is a folder"):
        read_regular(tmp_path, "folder.py", 100)


def test_a_linked_student_folder_is_refused(tmp_path):
    subs = tmp_path / "subs"
    _student(subs, "honest")
    (subs / "alias").symlink_to(subs / "honest")
    (subs / "outside").symlink_to(SUBMISSIONS / "correct-numpy")
    results, batch = _grade(subs, tmp_path / "out")
    assert sorted(results) == ["honest"]
    warnings = "\n".join(batch.warnings)
    assert "alias: ignored (a symbolic link, never followed" in warnings
    assert "outside: ignored (a symbolic link, never followed" in warnings


# --- notebooks and values that break the reader --------------------------------------------------------------

def test_a_deeply_nested_notebook_is_that_students_error_and_the_batch_resumes(tmp_path):
    subs = tmp_path / "subs"
    _student(subs, "honest")
    (_student(subs, "nested", solution=None) / "solution.ipynb").write_text("[" * 200_000 + "]" * 200_000)
    (_student(subs, "hugeint", solution=None) / "solution.ipynb").write_text('{"cells": [], "n": ' + "7" * 5000 + "}")
    for _ in range(2):  # the first run, then the resumed one
        results, _ = _grade(subs, tmp_path / "out")
        assert results["nested"].score == 0.0 and _statuses(results["nested"]) == {Status.ERROR}
        assert "solution.ipynb: not a Jupyter notebook: its JSON is nested too deeply" in _feedback(results["nested"])
        assert "solution.ipynb: not a Jupyter notebook: its JSON holds an integer of more than" in \
            _feedback(results["hugeint"])


TOO_LARGE = {
    "plain": ("    return 10**400\n", "an integer too large for a float (401 digits"),
    "inlist": ("    return [W1 * 0, 10**400]\n", "an integer too large for a float (401 digits"),
    "overdigits": ("    import sys\n    sys.set_int_max_str_digits(0)\n    return 10**5000\n",
                   "an integer too large for a float (more than 4300 digits)"),
}


def test_integers_too_large_for_a_float_are_the_students_error(tmp_path):
    subs = tmp_path / "subs"
    _student(subs, "honest")
    for name, (body, _) in TOO_LARGE.items():
        _student(subs, name, "def linear_ae_gradients(X, W1, W2):\n" + body)
    results, _ = _grade(subs, tmp_path / "out")
    for name, (_, message) in TOO_LARGE.items():
        checks = [c for p in results[name].problems for c in p.checks]
        assert {c.status for c in checks} == {Status.ERROR}, name
        assert all(message in c.feedback and "internal grader error" not in c.feedback for c in checks), \
            (name, checks[0].feedback)


def test_the_wire_refuses_integers_no_float_holds():
    assert decode({"json": 10**300}) == 10**300
    with pytest.raises(WireError, match="integer too large for a float"):
        decode({"list": [{"json": 1.0}, {"json": -10**400}]})
    with pytest.raises(WireError, match="more than 4300 digits"):
        parse_payload(b'{"ok": true, "value": {"json": ' + b"9" * 5000 + b"}}")


# --- LMS downloads and Gradescope ---------------------------------------------------------------------------

def test_a_canvas_folder_never_follows_or_opens_special_files(tmp_path):
    download = tmp_path / "download"
    download.mkdir()
    (download / "doejohn_202_5002_solution.py").write_text(CORRECT)
    (download / "smithjane_101_5001_solution.py").symlink_to(REFERENCE)
    os.mkfifo(download / "leeann_303_5003_solution.py")
    result = _finishes(lambda: stage(download, tmp_path / "out"), seconds=30)
    warnings = "\n".join(result.warnings)
    assert "smithjane_101_5001_solution.py: ignored (a symbolic link, never followed" in warnings
    assert "leeann_303_5003_solution.py: ignored (a named pipe (FIFO), never opened" in warnings
    assert sorted(result.students) == ["202"]


def test_a_canvas_zip_with_links_and_special_members_gives_nothing(tmp_path, capsys):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("honest_202_5002_solution.py", CORRECT)
        link = zipfile.ZipInfo("cheat_101_5001_solution.py")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, str(REFERENCE))
        pipe = zipfile.ZipInfo("cheat_101_5003_answers.yaml")
        pipe.create_system = 3
        pipe.external_attr = (stat.S_IFIFO | 0o644) << 16
        z.writestr(pipe, "resnet-blog: {final_seconds: 26}\n")
    out = tmp_path / "out"
    code = _finishes(lambda: cli.main(["grade", str(archive), "--assignment", str(ASSIGNMENT), "--out", str(out),
                                       "--problems", PROBLEM, "--fresh"]))
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "cheat_101_5001_solution.py: ignored (a symbolic link)" in printed.err
    assert "cheat_101_5003_answers.yaml: ignored (a named pipe (FIFO), not a regular file)" in printed.err
    staged = out / "canvas-submissions"
    assert sorted(p.name for p in staged.iterdir() if not p.name.startswith(".")) == ["202"]
    assert json.loads((out / "students" / "202" / "results.json").read_text())["score"] == FULL


def test_gradescope_never_follows_links_in_the_upload(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    _student(elsewhere, "code", solution=REFERENCE.read_text())
    upload = tmp_path / "submission"
    upload.mkdir()
    (upload / "code").symlink_to(elsewhere / "code")  # an uploaded folder that is a link: not searched
    results = tmp_path / "results" / "results.json"
    graded = _finishes(lambda: run_gradescope(upload, results, ASSIGNMENT, problems=[PROBLEM]))
    assert graded.score == 0.0 and "no solution.py or solution.ipynb" in _feedback(graded)
    (upload / "code").unlink()
    (upload / "solution.py").symlink_to(REFERENCE)
    graded = _finishes(lambda: run_gradescope(upload, results, ASSIGNMENT, problems=[PROBLEM]))
    assert graded.score == 0.0 and "solution.py is a symbolic link" in _feedback(graded)
    assert "instructors only" not in results.read_text()


def test_a_linked_answers_file_is_refused(tmp_path):
    right = SUBMISSIONS / "correct-numpy" / "answers.yaml"  # full marks on resnet-blog's questions, read directly
    subs = tmp_path / "subs"
    (_student(subs, "honest") / "answers.yaml").write_text(right.read_text())
    (_student(subs, "linked") / "answers.yaml").symlink_to(right)
    batch = _finishes(lambda: grade_batch(subs, ASSIGNMENT, tmp_path / "out", problems=["resnet-blog"]))
    results = {r.student: r for r in batch.results}
    assert results["honest"].score > 0
    assert results["linked"].score == 0.0
    assert "answers.yaml is a symbolic link: refused, never followed" in _feedback(results["linked"])
