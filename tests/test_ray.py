"""The Ray executor: a batch graded as Ray tasks on a local Ray cluster scores exactly as the local pool."""

from __future__ import annotations

import shutil

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS
from grader.api import grade_batch
from grader.gradebook import Gradebook

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'grader[ray]'")

PROBLEMS = ["linear-ae-gradients", "seq2seq-tokens"]


@pytest.mark.slow
def test_ray_and_local_pool_give_identical_scores(tmp_path, bwrap_available):
    subs = tmp_path / "subs"
    for name in ("correct-numpy", "slip-sign", "greedy-feeds-eos", "raises-exception", "syntax-error"):
        shutil.copytree(SUBMISSIONS / name, subs / name)
    local = grade_batch(subs, ASSIGNMENT, tmp_path / "local", jobs=2, problems=PROBLEMS)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        remote = grade_batch(subs, ASSIGNMENT, tmp_path / "ray", jobs=2, problems=PROBLEMS, executor="ray")
        assert ray.is_initialized()  # a cluster the caller started is left running
    finally:
        ray.shutdown()
    assert (tmp_path / "ray" / "scores.csv").read_text() == (tmp_path / "local" / "scores.csv").read_text()
    for a, b in zip(local.results, remote.results):
        assert [(c.name, c.status, c.score, c.feedback) for p in a.problems for c in p.checks] == \
               [(c.name, c.status, c.score, c.feedback) for p in b.problems for c in p.checks]
    with Gradebook.open(tmp_path / "ray" / "gradebook.sqlite") as book:  # the results went into the gradebook
        assert set(book.load({"correct-numpy", "slip-sign"})) == {"correct-numpy", "slip-sign"}


def test_unknown_executor_is_a_clear_error(tmp_path, capsys):
    from grader import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["grade", str(SUBMISSIONS), "--out", str(tmp_path), "--executor", "dask"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'dask'" in capsys.readouterr().err
