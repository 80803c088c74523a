from __future__ import annotations

from pathlib import Path

import pytest

from grader.sandbox import isolation

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = ROOT / "problems" / "autoencoders"
SUBMISSIONS = ROOT / "submissions"


@pytest.fixture(scope="session")
def bwrap_available() -> None:
    problem = isolation.bwrap_problem()
    if problem is not None:
        pytest.skip(f"bubblewrap unavailable: {problem} (scripts/setup.sh installs it as root)")
