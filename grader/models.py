"""The data model: what a problem is made of, and what grading a submission produces.

Spec objects are built by :mod:`grader.spec` from validated YAML; result objects flow from the
sandbox through the checks to the writers. Derived values are properties, never stored twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Status(str, Enum):
    """The outcome of one check on one case (or of one call in the sandbox)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  #: the student's code raised, returned the wrong type, or could not be loaded
    TIMEOUT = "timeout"  #: the call ran past its wall-clock limit
    MEMORY = "memory"  #: the call ran out of its memory limit
    CRASHED = "crashed"  #: the process died (signal, os._exit) before returning
    PENDING = "pending"  #: a free-text answer awaiting manual grading


class Visibility(str, Enum):
    PUBLIC = "public"  #: run by `grader check` on the student's machine, shown in full
    HIDDEN = "hidden"  #: run only by `grader grade`


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class Limits:
    """Resource limits for running one submission's code for one problem."""

    call_seconds: float  #: wall-clock limit per call into the student's code
    problem_seconds: float  #: wall-clock budget for all calls of one problem together
    memory_mb: int  #: address-space limit of the sandboxed process
    output_kb: int  #: how much of the student's stdout and stderr is kept
    load_seconds: float = 60.0  #: wall-clock limit for loading the code (imports such as torch take seconds)
    scratch_mb: int = 64  #: size of the sandbox's writable scratch folder and of its /tmp
    processes: int = 64  #: most processes and threads the submission may run at once (where enforceable)
    gpu: bool = False  #: the sandbox sees the machine's NVIDIA GPU, when it has one (not the warm pool's)


@dataclass(frozen=True)
class EntryPoint:
    """A function the student writes (or, with a driver, the functions a grader routine drives)."""

    name: str
    args: tuple[str, ...]
    returns: tuple[str, ...]  #: names of the returned values; one name means a single value
    #: a grader routine (grader/sandbox/drivers/<driver>.py) that drives the student's code in the sandbox;
    #: its calls get the case's inputs named by ``args``; None calls the student's function ``name``
    driver: str | None = None
    shown: str | None = None  #: how the signature reads for students, when ``name(args)`` is not what they write

    @property
    def signature(self) -> str:
        if self.shown:
            return self.shown
        ret = ", ".join(self.returns)
        ret = f"({ret})" if len(self.returns) > 1 else ret
        return f"{self.name}({', '.join(self.args)}) -> {ret}"


@dataclass(frozen=True)
class Case:
    """One call of an entry point on generated inputs."""

    id: str  #: unique within the problem, e.g. ``small-s0``
    entry: str  #: the entry point it calls
    generator: str
    params: dict[str, Any]
    #: the generator's seed; None for a per-student case not yet resolved for a student (grader/variants.py)
    seed: int | None
    visibility: Visibility
    group: str = ""  #: the id written in the spec (a group expands to one case per seed); default: id
    #: ``seeds: per_student``: its seed derives from the course secret, the student and the case (grader/variants.py)
    per_student: bool = False

    def __post_init__(self) -> None:
        if not self.group:
            object.__setattr__(self, "group", self.id)

    @property
    def label(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.params.items())
        seed = "seed per student" if self.seed is None else f"seed {self.seed}"
        return f"{self.id} ({shown}; {seed})" if shown else f"{self.id} ({seed})"


@dataclass(frozen=True)
class CheckSpec:
    """A named check from the registry, with its parameters and points."""

    name: str  #: unique within the problem
    check: str  #: the registered check it runs
    params: Any  #: the check's validated parameter object
    points: float
    cases: tuple[str, ...] | None = None  #: case groups it applies to; None means all
    entry: str | None = None  #: the entry point whose cases it applies to; None means all


@dataclass(frozen=True)
class ProblemSpec:
    id: str
    title: str
    statement: str
    points: float
    entries: tuple[EntryPoint, ...]
    cases: tuple[Case, ...]
    checks: tuple[CheckSpec, ...]
    reference: Path | None  #: None for a problem with written questions only
    limits: Limits
    source: Path  #: the YAML file it was loaded from
    questions: tuple[Any, ...] = ()  #: written questions (grader.answers.questions), answered in answers.yaml
    expected: Path | None = None  #: a student release's file of public expected values (no reference there)
    #: the assignment's kit (grader.kit.Kit): its generators, checks, slips, losses and sandbox modules
    kit: Any = field(default=None, compare=False, repr=False)
    #: a metric to rank the class by (grader.spec.schema.LeaderboardModel; grader/leaderboard.py): decides no grade
    leaderboard: Any = field(default=None, compare=False)

    def entry(self, name: str) -> EntryPoint:
        return next(e for e in self.entries if e.name == name)

    def cases_for(self, check: CheckSpec, visibilities: frozenset[Visibility]) -> list[Case]:
        return [
            c
            for c in self.cases
            if c.visibility in visibilities and (check.cases is None or c.group in check.cases)
            and (check.entry is None or c.entry == check.entry)
        ]


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    root: Path
    problems: tuple[ProblemSpec, ...]
    released: bool = False  #: a student handout (`grader release`): public cases only, no answers
    kit: Any = field(default=None, compare=False, repr=False)  #: grader.kit.Kit (the built-ins only when it has none)
    kit_path: Path | None = None  #: where the kit was loaded from (a .py file or a package folder)
    #: the ``late:`` policy (grader.policy.rules.LatePolicy): due time, penalty, slip days; None without one.
    #: Applied when outputs are written, never to the stored results
    late: Any = None

    def problem(self, problem_id: str) -> ProblemSpec:
        return next(p for p in self.problems if p.id == problem_id)

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.problems)


# --------------------------------------------------------------------------- results

#: the diagnosis of a result the grader could not grade because of the machine, not the student (e.g. the
#: reference's calibration failed here): it is stored like any result, and the next ``grade`` run regrades it
NOT_GRADED = "not_graded"


@dataclass(frozen=True)
class CallOutcome:
    """What came back from one call into the student's code (values only, decoded on the trusted side)."""

    status: Status
    value: Any = None  #: plain Python values and numpy arrays; never a student-defined object
    message: str = ""
    seconds: float = 0.0
    ticks: tuple[float, ...] = ()  #: when each progress tick arrived, in seconds since the call began
    #: (measured by the grader: the sandbox's own clocks are never trusted)


@dataclass
class CheckResult:
    problem: str
    check: str
    case: str | None  #: None for a result that is not about one case (e.g. the module did not load)
    visibility: Visibility
    status: Status
    score: float
    max_score: float
    feedback: str = ""
    diagnosis: str | None = None  #: the name of the diagnosed slip, when one was recognised
    kind: str = "check"  #: "check" (code, per case) or "question" (a written answer)
    #: measurements behind the verdict, as plain data for the kit's report parts (e.g. a timed check's curve,
    #: device, time-to-target and budgets); stored in the gradebook as JSON
    data: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return f"{self.problem} / {self.check}" + (f" / {self.case}" if self.case else "")

    @property
    def graded(self) -> bool:
        """False when the machine, not the student, kept the grader from grading it (see :data:`NOT_GRADED`)."""
        return self.diagnosis != NOT_GRADED


@dataclass
class ProblemResult:
    problem: str
    title: str
    checks: list[CheckResult] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    notes: list[str] = field(default_factory=list)  #: messages about the run as a whole
    answer_issues: list[str] = field(default_factory=list)  #: malformed written answers (found by a self-check)
    seconds: float | None = field(default=None, compare=False)  #: wall-clock time grading it took, when measured

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 6)

    @property
    def passed(self) -> bool:
        """Nothing lost so far: every result passed or awaits manual grading."""
        return all(c.status in (Status.PASSED, Status.PENDING) for c in self.checks)

    @property
    def graded(self) -> bool:
        """Every result was graded (none was left to the next run by a failure of the machine)."""
        return all(c.graded for c in self.checks)


@dataclass
class SubmissionResult:
    student: str
    problems: list[ProblemResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.problems), 6)

    @property
    def max_score(self) -> float:
        return sum(p.max_score for p in self.problems)
