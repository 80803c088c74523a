"""The engine knows no problem: nothing under grader/ names one, and every assignment's content is its kit's.

Each assignment under problems/ loads, and everything its specs name (generators, checks, slips, losses,
drivers) is either built into the engine or registered by the assignment's own kit.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.kit import EMPTY, Kit
from grader.spec import load_assignment

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "grader"
#: words of the homework's problems that the engine must not contain (code, comments, templates alike)
PROBLEM_WORDS = re.compile(r"autoencoder|eq\.\s?6|\bW1\b|\bW2\b|decoder|seq2seq|\bpca\b|closed.form|resnet|"
                           r"teacher.forcing|greedy|softmax|batch.?norm|attention|conv2d", re.IGNORECASE)
ASSIGNMENTS = sorted(p.parent for p in (ROOT / "problems").glob("*/assignment.yaml"))


def _engine_files() -> list[Path]:
    return [p for p in ENGINE.rglob("*") if p.is_file() and p.suffix in (".py", ".html", ".tmpl", ".css", ".js")
            and "__pycache__" not in p.parts]


def test_the_engine_names_no_problem():
    found = [f"{p.relative_to(ROOT)}:{i}: {line.strip()[:100]}" for p in _engine_files()
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if PROBLEM_WORDS.search(line)]
    assert not found, "problem-specific words in the engine:\n" + "\n".join(found)


def test_the_scan_finds_a_planted_word(tmp_path):
    """The scan above can fail: the same pattern finds a problem's word where one is."""
    assert PROBLEM_WORDS.search("def grad(W1, W2):") and PROBLEM_WORDS.search("# Eq. 6's minimiser")
    assert not PROBLEM_WORDS.search("the projector onto the top-k principal subspace")


def test_there_are_two_assignments():
    assert len(ASSIGNMENTS) >= 2, ASSIGNMENTS


@pytest.mark.parametrize("root", ASSIGNMENTS, ids=[p.name for p in ASSIGNMENTS])
def test_each_assignment_brings_its_own_kit(root):
    assignment = load_assignment(root)
    assert isinstance(assignment.kit, Kit) and assignment.kit is not EMPTY
    assert assignment.kit_path is not None and assignment.kit_path.is_relative_to(assignment.root)
    kit = assignment.kit
    for problem in assignment.problems:
        assert problem.kit is kit
        for case in problem.cases:  # every generator is the kit's: the engine has none
            assert case.generator in kit.generators, (problem.id, case.generator)
        for entry in problem.entries:
            if entry.driver:
                assert entry.driver in kit.drivers
                assert kit.sandbox_modules[entry.driver].is_relative_to(assignment.root)
