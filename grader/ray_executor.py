"""Grading on a Ray cluster: the same sandboxed grading, one Ray task per submission.

Each task grades one submission in a Ray worker process, which opens one grading session per assignment
(grader/session.py: the case book, its own warm sandbox when bubblewrap is there, the calibrations) and
keeps it for the tasks that follow, and returns the plain result; the driver (the
``grader grade`` process) stores every result in its gradebook exactly as with the local pool.
Submissions with problems whose limits ask for the GPU get one of their own when the cluster has GPUs.

The submissions and assignment folders must be readable at the same paths on every node (a shared
file system); ``ray`` is an optional dependency: ``pip install 'grader[ray]'``.
"""

from __future__ import annotations

import atexit
import threading
from concurrent.futures import Future
from pathlib import Path

from contextlib import ExitStack

from grader.models import ProblemSpec, SubmissionResult
from grader.sandbox import isolation
from grader.session import GradingSession, full_assignment, open_session
from grader.spec import load_assignment
from grader.submissions import Submission
from grader.timing import Instant

_lock = threading.Lock()
_sessions: dict[tuple, GradingSession] = {}
_stack = ExitStack()  #: closes the sessions' warm workers when the Ray worker exits


class RayUnavailable(Exception):
    """Ray is not installed or the cluster cannot be reached."""


def needs_gpu(problem: ProblemSpec) -> bool:
    """Problems whose spec says ``limits: gpu: true`` want a GPU where the cluster has one."""
    return problem.limits.gpu


def _session(root: str, sandbox: isolation.Mode, secrets: tuple[str, ...], warm: bool) -> GradingSession:
    """This worker's session for the assignment at ``root`` (opened on its first task, kept for the others)."""
    key = (root, sandbox, secrets, warm)
    with _lock:
        if key not in _sessions:
            if not _sessions:
                atexit.register(_stack.close)
            assignment = full_assignment(load_assignment(root))
            _sessions[key] = _stack.enter_context(open_session(assignment, sandbox=sandbox, secrets=map(Path, secrets),
                                                               warm=warm, jobs=1))
        return _sessions[key]


def grade_task(submission: Submission, root: str, problem_ids: list[str], sandbox: isolation.Mode,
               secrets: tuple[str, ...], warm: bool) -> tuple[SubmissionResult, float]:
    """One submission, graded inside a Ray worker (the body of the remote task)."""
    started = Instant.now()
    session = _session(root, sandbox, secrets, warm)
    problems = [session.assignment.problem(p) for p in problem_ids]
    result = session.grade(submission, problems)
    return result, round(started.elapsed(), 3)


class RayExecutor:
    """Submits grading jobs as Ray tasks; connects to ``address`` or starts a local Ray instance."""

    def __init__(self, root: Path, *, sandbox: isolation.Mode, secrets: tuple[Path, ...], warm: bool,
                 address: str | None, gpu: bool) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RayUnavailable("--executor ray needs Ray: pip install 'grader[ray]'") from exc
        self.ray = ray
        self.started_here = not ray.is_initialized()
        if self.started_here:
            try:
                ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                         configure_logging=True)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise RayUnavailable(f"cannot reach the Ray cluster at {address or 'a new local instance'}: {exc}") \
                    from exc
        gpus = ray.cluster_resources().get("GPU", 0)
        self.task = ray.remote(grade_task).options(num_cpus=1, num_gpus=1 if gpu and gpus else 0, max_retries=1)
        self.args = (str(root), sandbox, tuple(str(s) for s in secrets), warm)

    def submit(self, job) -> Future[tuple[SubmissionResult, float]]:
        root, sandbox, secrets, warm = self.args
        ref = self.task.remote(job.submission, root, [p.id for p in job.problems], sandbox, secrets, warm)
        return ref.future()

    def shutdown(self) -> None:
        if self.started_here:
            self.ray.shutdown()
