from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.sandbox import isolation

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = ROOT / "problems" / "autoencoders"
SUBMISSIONS = ASSIGNMENT / "samples"  #: the assignment's sample submissions (expected outcomes: samples.yaml)
#: every assignment folder under problems/ that keeps sample submissions (samples/ and samples.yaml)
SAMPLE_ASSIGNMENTS = {p.parent.name: p.parent for p in sorted((ROOT / "problems").glob("*/samples.yaml"))}
#: workers for the shared sample batch: 2 on the 2-core CI machine; scripts/gpu_check.sh asks for more
SAMPLE_JOBS = int(os.environ.get("GRADER_TEST_JOBS", "2"))


@pytest.fixture(scope="session")
def bwrap_available() -> None:
    problem = isolation.bwrap_problem()
    if problem is not None:
        pytest.skip(f"bubblewrap unavailable: {problem} (scripts/setup.sh installs it as root)")


@pytest.fixture
def process_mode(monkeypatch) -> None:
    """Tests of the plain-child-process fallback itself: where the grader is root and user 65534 cannot run this
    Python, that fallback is refused (it would run student code as root); these tests of our own code opt in."""
    from grader.sandbox import privilege

    monkeypatch.setenv(privilege.UNSAFE_ROOT_PROCESS, "1")


@dataclass
class SampleBatch:
    batch: object  #: grader.api.BatchResult (results as stored in the gradebook)
    live: dict = field(default_factory=dict)  #: student -> SubmissionResult as graded (with CheckResult.data)


class SampleBatches:
    """Each assignment's samples/ graded once per session, when first asked for (SAMPLE_JOBS workers)."""

    def __init__(self, tmp_path_factory) -> None:
        self._tmp = tmp_path_factory
        self._graded: dict[str, SampleBatch] = {}

    def __getitem__(self, assignment: str) -> SampleBatch:
        if assignment not in self._graded:
            from grader.api import grade_batch

            root = SAMPLE_ASSIGNMENTS[assignment]
            live: dict = {}
            batch = grade_batch(root / "samples", root, self._tmp.mktemp(f"samples-out-{assignment}"),
                                jobs=SAMPLE_JOBS, on_result=lambda r: live.__setitem__(r.student, r))
            self._graded[assignment] = SampleBatch(batch, live)
        return self._graded[assignment]


@pytest.fixture(scope="session")
def sample_batches(tmp_path_factory) -> SampleBatches:
    """assignment name -> its samples graded (once per session), for every assignment in SAMPLE_ASSIGNMENTS."""
    return SampleBatches(tmp_path_factory)


@pytest.fixture(scope="session")
def sample_batch(sample_batches) -> SampleBatch:
    """Every sample in problems/autoencoders/samples/ graded once per session (SAMPLE_JOBS workers), shared by
    the modules that read it."""
    return sample_batches[ASSIGNMENT.name]


def kit_module(name: str = "", assignment: Path = ASSIGNMENT):
    """A module of an assignment's kit (e.g. ``kit_module("training.closed_form")``), as the grader loaded it."""
    from grader.kit import kit_module as module
    from grader.spec import load_assignment

    return module(load_assignment(assignment).kit, name)
