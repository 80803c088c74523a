from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.sandbox import isolation

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = ROOT / "problems" / "autoencoders"
SUBMISSIONS = ROOT / "submissions"
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


@pytest.fixture(scope="session")
def sample_batch(tmp_path_factory) -> SampleBatch:
    """Every sample in submissions/ graded once per session (SAMPLE_JOBS workers), shared by the modules that
    read it."""
    from grader.api import grade_batch

    live: dict = {}
    batch = grade_batch(SUBMISSIONS, ASSIGNMENT, tmp_path_factory.mktemp("samples-out"), jobs=SAMPLE_JOBS,
                        on_result=lambda r: live.__setitem__(r.student, r))
    return SampleBatch(batch, live)
