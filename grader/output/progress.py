"""Progress of a batch on the terminal: a live bar on a TTY, plain periodic lines otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from grader.models import Status, SubmissionResult
from grader.output.console import batch_line
from grader.timing import Instant

LIMITS = (Status.MEMORY, Status.CRASHED)
PLAIN_EVERY_SECONDS = 10.0
BAR = 24


class Progress:
    """Counts results as they arrive: done/total, rate, time left, errors, timeouts and limits hit."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False, tty: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.tty = self.stream.isatty() if tty is None else tty
        self.total = 0
        self.done = 0
        self.errors = self.timeouts = self.limits = 0
        self.started = Instant.now()
        self.last_plain = Instant.now()
        self.drawn = False

    def start(self, total: int) -> None:
        self.total, self.started, self.last_plain = total, Instant.now(), Instant.now()
        if total and not self.quiet:
            self._draw() if self.tty else self._say(f"grading {total} submission(s)")

    def update(self, result: SubmissionResult) -> None:
        statuses = {c.status for p in result.problems for c in p.checks}
        self.done += 1
        self.errors += Status.ERROR in statuses
        self.timeouts += Status.TIMEOUT in statuses
        self.limits += any(s in statuses for s in LIMITS)
        if self.quiet:
            return
        if self.tty:
            self._clear()
            print(batch_line(result), file=self.stream)
            self._draw()
        else:
            print(batch_line(result), file=self.stream, flush=True)
            if self.last_plain.elapsed() >= PLAIN_EVERY_SECONDS or self.done == self.total:
                self._say(self.summary())
                self.last_plain = Instant.now()

    def finish(self) -> None:
        if self.tty and self.drawn:
            self._clear()
            self.drawn = False

    def summary(self) -> str:
        elapsed = max(self.started.elapsed(), 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = f"{left:.0f} s left" if left != float("inf") else "time left unknown"
        return (f"{self.done}/{self.total} graded, {rate:.2f}/s, {eta}; {self.errors} with errors, "
                f"{self.timeouts} timed out, {self.limits} hit a limit or crashed")

    def _draw(self) -> None:
        filled = int(BAR * self.done / self.total) if self.total else BAR
        self.stream.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {self.summary()}")
        self.stream.flush()
        self.drawn = True

    def _clear(self) -> None:
        self.stream.write("\r\033[K")

    def _say(self, line: str) -> None:
        print(f"progress: {line}", file=self.stream, flush=True)
