"""Per-problem fingerprints: a spec edit regrades that problem only, every other stored grade stays, and every
changed score is listed in regrade-diff.csv."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

import pytest

from grader import api
from grader.gradebook import Gradebook
from grader.problem_hash import problem_fingerprints
from grader.spec import load_assignment

ROOT = Path(__file__).resolve().parents[1]
BACKPROP = ROOT / "problems" / "backprop"
TWO = ["softmax-xent-grad", "batchnorm-backward"]


@pytest.fixture
def course(tmp_path):
    """A copy of the backprop assignment and two students: one right, one with a batch-norm slip."""
    assignment = tmp_path / "backprop"
    shutil.copytree(BACKPROP, assignment, ignore=shutil.ignore_patterns("samples", "samples.yaml", "__pycache__"))
    subs = tmp_path / "subs"
    for student, sample in (("ann", "correct-numpy"), ("bob", "batchnorm-constants-treated")):
        shutil.copytree(BACKPROP / "samples" / sample, subs / student)
    return assignment, subs, tmp_path / "out"


def scores(out: Path) -> dict[tuple[str, str], float]:
    with open(out / "scores.csv", newline="", encoding="utf-8") as fh:
        return {(r["student"], r["problem"]): float(r["score"]) for r in csv.DictReader(fh)}


def grade(course, problems=None, notices=None):
    assignment, subs, out = course
    return api.grade_batch(subs, assignment, out, problems=problems, warm=False,
                           on_notice=(notices.append if notices is not None else None))


def graded_count(out: Path) -> int:
    with sqlite3.connect(out / "gradebook.sqlite") as conn:
        return conn.execute("SELECT graded FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]


def test_a_comment_in_a_third_spec_keeps_every_grade(course):
    assignment, _, out = course
    grade(course, TWO)
    before = scores(out)
    assert set(before) == {(s, p) for s in ("ann", "bob") for p in TWO}
    spec = assignment / "causal-attention.yaml"
    spec.write_text("# a comment an instructor added\n" + spec.read_text(encoding="utf-8"), encoding="utf-8")
    notices: list[str] = []
    grade(course, ["softmax-xent-grad"], notices)
    assert scores(out) == before  # batch-norm grades are kept, nothing was regraded
    assert graded_count(out) == 0
    assert not (out / "regrade-diff.csv").exists()


def test_a_spec_edit_regrades_that_problem_only_and_lists_the_changed_scores(course):
    assignment, _, out = course
    grade(course, TWO)
    before = scores(out)
    spec = assignment / "batchnorm-backward.yaml"
    text = spec.read_text(encoding="utf-8")
    text = text.replace("points: 10\n", "points: 20\n", 1).replace("    points: 7\n", "    points: 17\n", 1)
    spec.write_text(text, encoding="utf-8")
    notices: list[str] = []
    grade(course, ["softmax-xent-grad"], notices)  # batch norm not selected: its stored grades stay
    assert scores(out) == before and graded_count(out) == 0
    grade(course, None, notices)  # all problems: batch norm regraded for both, the two other problems graded anew
    after = scores(out)
    assert any("Regrading batchnorm-backward for 2 submission(s): batchnorm-backward.yaml changed" in n
               for n in notices), notices
    assert after[("ann", "softmax-xent-grad")] == before[("ann", "softmax-xent-grad")]
    assert after[("ann", "batchnorm-backward")] == 20 and before[("ann", "batchnorm-backward")] == 10
    with open(out / "regrade-diff.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    changed = {(r["student"], r["problem"]) for r in rows}
    expected = {k for k in before if after[k] != before[k]}
    assert changed == expected and ("ann", "batchnorm-backward") in expected  # exactly the scores that changed
    ann = next(r for r in rows if r["student"] == "ann")
    assert (ann["old"], ann["new"], ann["reason"]) == ("10", "20", "batchnorm-backward.yaml changed")
    assert any("stored score(s) changed" in n for n in notices)


def test_an_edit_to_a_kit_module_regrades_the_problems_that_use_it(course):
    assignment, _, out = course
    fps = problem_fingerprints(load_assignment(assignment))
    (assignment / "kit" / "conv.py").write_text((assignment / "kit" / "conv.py").read_text() + "\n# edited\n")
    after = problem_fingerprints(load_assignment(assignment))
    assert [p for p in fps if fps[p].digest != after[p].digest] == ["conv2d-forward"]
    assert after["conv2d-forward"].changed(fps["conv2d-forward"].parts) == ["kit:conv.py"]


def test_an_older_gradebook_is_upgraded_in_place_without_a_regrade(course):
    _, _, out = course
    grade(course, TWO)
    before = scores(out)
    with sqlite3.connect(out / "gradebook.sqlite") as conn:  # what the grader before per-problem fingerprints wrote
        conn.execute("ALTER TABLE problems DROP COLUMN fingerprint")
        conn.execute("DROP TABLE fingerprints")
        conn.execute("UPDATE schema_version SET version = 2")
    grade(course, TWO)
    assert scores(out) == before and graded_count(out) == 0
    with Gradebook.open(out / "gradebook.sqlite") as book:
        assert all(d is not None for s in book.stored().values() for d in s.fingerprints.values())


def test_changed_files_with_a_narrower_run_say_which_grades_were_dropped(course):
    _, subs, out = course
    grade(course, TWO)
    (subs / "bob" / "solution.py").write_text(
        (BACKPROP / "samples" / "correct-numpy" / "solution.py").read_text(encoding="utf-8"), encoding="utf-8")
    notices: list[str] = []
    grade(course, ["softmax-xent-grad"], notices)
    with open(out / "regrade-diff.csv", newline="", encoding="utf-8") as fh:
        rows = {(r["student"], r["problem"]): r for r in csv.DictReader(fh)}
    dropped = rows[("bob", "batchnorm-backward")]
    assert dropped["new"] == "" and "did not select it" in dropped["reason"]
    assert ("bob", "batchnorm-backward") not in scores(out)


def test_a_problem_removed_from_the_assignment_leaves_every_output_and_is_listed(course):
    assignment, _, out = course
    grade(course, TWO)
    listing = assignment / "assignment.yaml"
    listing.write_text(listing.read_text(encoding="utf-8").replace("  - batchnorm-backward\n", ""), encoding="utf-8")
    notices: list[str] = []
    batch = grade(course, ["softmax-xent-grad"], notices)
    assert {p for _, p in scores(out)} == {"softmax-xent-grad"}
    assert all(r.max_score == 10 for r in batch.results)  # the removed problem's points are gone from the totals
    with open(out / "regrade-diff.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["student"], r["problem"], r["new"]) for r in rows} == {("ann", "batchnorm-backward", ""),
                                                                      ("bob", "batchnorm-backward", "")}
    assert all(r["reason"].startswith("no longer in the assignment") for r in rows)
    notices.clear()
    grade(course, ["softmax-xent-grad"], notices)  # listed once: the next run has nothing to drop
    assert not any("stored score(s) changed" in n for n in notices)


def test_a_name_a_kit_module_imports_from_the_kits_init_counts(course):
    assignment, _, _ = course
    init, conv = assignment / "kit" / "__init__.py", assignment / "kit" / "conv.py"
    init.write_text(init.read_text().replace("kit = Kit(__file__)\n", "kit = Kit(__file__)\nBIAS_SCALE = 1.0\n"))
    conv.write_text(conv.read_text() + "\nfrom . import BIAS_SCALE  # noqa: E402\n")
    before = problem_fingerprints(load_assignment(assignment))
    assert "kit:__init__.py" in before["conv2d-forward"].parts  # a constant of the kit's __init__.py is used
    assert "kit:__init__.py" not in before["softmax-xent-grad"].parts  # importing only the kit object is not
    init.write_text(init.read_text().replace("BIAS_SCALE = 1.0", "BIAS_SCALE = 0.0"))
    after = problem_fingerprints(load_assignment(assignment))
    assert [p for p in before if before[p].digest != after[p].digest] == ["conv2d-forward"]
