"""The one error of the late policy's inputs: a times, extensions or course file that cannot be used."""

from __future__ import annotations


class PolicyError(Exception):
    """A late-policy input cannot be used; the message names the file, the line and what is wrong there."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0]
        return f"{len(self.problems)} problems:\n  " + "\n  ".join(self.problems)
