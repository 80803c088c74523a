"""Wall-clock time for the trusted side.

The clock is bound when this module is imported, so nothing that patches ``time`` later (in a test, or
in code that shares the process) changes what the grader measures. Student code never shares the
grader's process; this is for the grader's own deadlines.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

_clock = time.monotonic


@dataclass(frozen=True, order=True)
class Instant:
    seconds: float

    @classmethod
    def now(cls) -> "Instant":
        return cls(_clock())

    def elapsed(self) -> float:
        return _clock() - self.seconds

    def plus(self, seconds: float) -> "Instant":
        return Instant(self.seconds + seconds)

    def remaining(self) -> float:
        """Seconds until this instant (negative once it has passed)."""
        return self.seconds - _clock()
