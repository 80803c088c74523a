"""Run the student's functions in a sandboxed process and bring back plain values, one per call.

The grader (trusted) side writes the inputs, starts the harness, times every call through an event
pipe, kills the process when a call runs past its limit, starts a fresh process for the calls that
are left after a timeout or a crash, and decodes the results. It never imports or calls student code.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from grader.models import CallOutcome, Limits, Status
from grader.sandbox import isolation
from grader.sandbox.modules import copy_modules
from grader.sandbox.pool import WarmPool
from grader.sandbox.processes import FreshLauncher, Launcher, SandboxProcess, WarmLauncher
from grader.sandbox.wire import WireError, decode, encode_arg, parse_payload
from grader.timing import Instant

MAX_TICKS = 100_000


@dataclass(frozen=True)
class Call:
    id: str
    function: str
    args: tuple[Any, ...]
    #: a kit's sandbox module (grader/sandbox/modules.py) that runs inside the sandbox and
    #: drives the student's code, e.g. a training loop; None calls the student's ``function`` directly
    driver: str | None = None


@dataclass
class SandboxResult:
    """Everything one sandboxed run produced, decoded; ``load`` is None when the code loaded."""

    calls: dict[str, CallOutcome]
    load: CallOutcome | None
    stdout: str
    stderr: str
    isolation: str
    notes: list[str] = field(default_factory=list)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _failure_outcome(data: Any, seconds: float, limits: Limits) -> CallOutcome:
    """Turn the harness's report of an exception into an outcome (the report is untrusted text)."""
    if not isinstance(data, dict):
        return CallOutcome(Status.ERROR, message="the harness wrote a malformed report", seconds=seconds)
    kind = str(data.get("kind", "exception"))
    text = str(data.get("traceback") or f"{data.get('type')}: {data.get('message')}")[:4000]
    if kind == "memory":
        return CallOutcome(Status.MEMORY, message=f"ran out of memory (limit {limits.memory_mb} MB)\n{text}",
                           seconds=seconds)
    if kind == "exit":
        return CallOutcome(Status.ERROR, message=f"called sys.exit() ({str(data.get('message'))[:200]}); "
                           "return a value instead", seconds=seconds)
    if kind == "recursion":
        return CallOutcome(Status.ERROR, message=f"recursion too deep\n{text}", seconds=seconds)
    if kind == "syntax":
        line = data.get("line")
        snippet = str(data.get("text") or "")[:200]
        where = f"line {line}" if isinstance(line, int) else "an unknown line"
        return CallOutcome(Status.ERROR, message=f"SyntaxError at {where}: {str(data.get('message'))[:300]}"
                           + (f"\n    {snippet}" if snippet else ""), seconds=seconds)
    return CallOutcome(Status.ERROR, message=text, seconds=seconds)


def _private(path: Path):
    """A capture file only the grader can read (the process writes it through the descriptor it inherits)."""
    return open(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")


def _read_limited(path: Path, limit_kb: int) -> str:
    limit = limit_kb * 1024
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    text = data[:limit].decode("utf-8", errors="replace")
    if len(data) > limit:
        text += f"\n... [output truncated after {limit_kb} KB]"
    return text


def run_calls(source: str, filename: str, calls: list[Call], limits: Limits, *,
              mode: isolation.Mode = "auto", secrets: list[Path] | None = None,
              pool: WarmPool | None = None, modules: Mapping[str, Path] | None = None) -> SandboxResult:
    """Load ``source`` in a sandbox and make ``calls`` in order; each call gets an outcome.

    With a warm ``pool`` each process is forked from a warm zygote in a long-lived sandbox (whose kit modules
    the pool was made with); otherwise a fresh Python is started per process, isolated as ``mode`` says, with
    the kit's sandbox ``modules`` (drivers and builders, by name) beside it.
    """
    missing = sorted(set(modules or {}) - set(pool.modules)) if pool is not None else []
    if missing:  # the grader's mistake, never to be blamed on the student's code
        raise ValueError(f"the warm workers were started without the kit's sandbox modules {missing}")
    base = Path(tempfile.mkdtemp(prefix="grader-"))
    os.chmod(base, 0o711)  # a plain child process running as another user must reach its job folder
    try:
        if pool is not None:
            job = {"source": source, "filename": filename, "calls": [_wire(c, None) for c in calls],
                   "limits": {"memory_mb": limits.memory_mb, "file_bytes": isolation.FILE_SIZE_LIMIT,
                              "open_files": isolation.OPEN_FILES,
                              "gpu": bool(limits.gpu and pool.gpu)}}
            launcher: Launcher = WarmLauncher(pool, job)
            kind = "warm bubblewrap" + (" with the GPU" if pool.gpu else "")
        else:
            chosen = isolation.resolve_mode(mode)
            launcher = FreshLauncher(_job_folder(base / "job", source, filename, calls, modules or {}), chosen, limits,
                                     secrets or [])
            kind = "bubblewrap" if chosen == "bwrap" else "process"
        return _Supervisor(base, calls, limits, launcher, kind).run()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _wire(call: Call, inputs: Path | None) -> dict[str, Any]:
    """A call as the harness reads it; inputs go to files in ``inputs``, or inline when it is None."""
    return {"id": call.id, "function": call.function, "driver": call.driver,
            "args": [encode_arg(a, inputs, f"{call.id}_{i}") for i, a in enumerate(call.args)]}


def _job_folder(job: Path, source: str, filename: str, calls: list[Call], modules: Mapping[str, Path]) -> Path:
    """The read-only folder a fresh sandboxed process sees at /job."""
    for sub in ("in", "scratch"):
        (job / sub).mkdir(parents=True)
    shutil.copyfile(resources.files("grader.sandbox").joinpath("harness.py"), job / "harness.py")
    copy_modules(job / "drivers", modules)
    (job / "solution.py").write_text(source, encoding="utf-8")
    (job / "calls.json").write_text(json.dumps({"source": "solution.py", "filename": filename,
                                                "calls": [_wire(c, job / "in") for c in calls]}),
                                    encoding="utf-8")
    isolation.readable_by_sandbox(job, writable=(job / "scratch",))
    return job


class _Supervisor:
    def __init__(self, base: Path, calls: list[Call], limits: Limits, launcher: "Launcher", kind: str) -> None:
        self.calls, self.limits, self.launcher, self.kind = calls, limits, launcher, kind
        self.stdout_path, self.stderr_path = base / "stdout.txt", base / "stderr.txt"
        self.outcomes: dict[str, CallOutcome] = {}
        self.load: CallOutcome | None = None
        self.notes: list[str] = []
        self.budget = Instant.now().plus(limits.problem_seconds)

    def run(self) -> SandboxResult:
        with _private(self.stdout_path) as out, _private(self.stderr_path) as err:
            start = 0
            while start < len(self.calls) and self.load is None:
                if self.budget.remaining() <= 0:
                    break
                start = self._one_process(start, out, err)
        for call in self.calls:
            if call.id not in self.outcomes:
                if self.load is not None:
                    self.outcomes[call.id] = self.load
                else:
                    self.outcomes[call.id] = CallOutcome(
                        Status.TIMEOUT, message=f"not run: the time budget for this problem "
                        f"({self.limits.problem_seconds:g} s) was used up by earlier calls")
        return SandboxResult(
            calls=self.outcomes, load=self.load,
            stdout=_read_limited(self.stdout_path, self.limits.output_kb),
            stderr=_read_limited(self.stderr_path, self.limits.output_kb),
            isolation=self.kind, notes=self.notes)

    def _deadline(self, loading: bool = False) -> Instant:
        if loading:  # loading has its own limit and does not use up the problem's budget
            return Instant.now().plus(self.limits.load_seconds)
        return min(Instant.now().plus(self.limits.call_seconds), self.budget)

    def _one_process(self, start: int, out, err) -> int:
        """Run calls from index ``start`` in one process; return the index to resume from."""
        starting = Instant.now()
        proc = self.launcher.start(start, out, err)
        self.budget = self.budget.plus(starting.elapsed())  # waiting for a sandbox is not the student's time
        try:
            return self._supervise(proc, start)
        finally:
            proc.close()

    def _supervise(self, proc: "SandboxProcess", start: int) -> int:
        current: Call | None = None  # the call in flight
        ticks: list[float] = []
        began = Instant.now()
        expected = iter(self.calls[start:])
        loaded = False
        deadline = self._deadline(loading=True)
        while True:
            got = proc.next_event(deadline)
            if got is None:  # deadline passed
                proc.finish(kill=True)
                seconds = began.elapsed()
                if not loaded:
                    self.load = CallOutcome(Status.TIMEOUT, message=(
                        f"loading your code took longer than {self.limits.load_seconds:g} s "
                        "(is there a loop or long computation at the top level?)"), seconds=seconds)
                    return len(self.calls)
                if current is None:
                    return len(self.calls)
                budget_hit = self.budget.remaining() <= 0
                self.outcomes[current.id] = CallOutcome(Status.TIMEOUT, seconds=seconds, message=(
                    f"did not return within {self.limits.call_seconds:g} s" if not budget_hit else
                    f"stopped: the time budget for this problem ({self.limits.problem_seconds:g} s) ran out"))
                return self.calls.index(current) + 1
            event, payload = got
            if event == "":  # the process ended
                code = proc.finish(kill=False)
                return self._ended(code, loaded, current, began, start)
            if not loaded and event == "loaded":
                loaded = True
                self.budget = self.budget.plus(began.elapsed())  # loading does not use up the calls' budget
                began = Instant.now()
            elif not loaded and event == "load-failed" and payload is not None:
                proc.finish(kill=True)
                self.load = self._read_failure(payload, began.elapsed())
                return len(self.calls)
            elif loaded and current is None and event.startswith("start "):
                nxt = next(expected, None)
                if nxt is None or event != f"start {nxt.id}":
                    return self._violation(proc, nxt)
                current, began, ticks = nxt, Instant.now(), []
            elif loaded and current is not None and event == f"end {current.id}" and payload is not None:
                outcome = self._read_result(payload, began.elapsed())
                self.outcomes[current.id] = replace(outcome, ticks=tuple(ticks))
                current = None
                began = Instant.now()
            elif loaded and current is not None and event == "tick" and len(ticks) < MAX_TICKS:
                ticks.append(began.elapsed())  # the grader's clock, whatever the sandbox's says
                continue  # a tick does not extend the call's deadline
            elif event == "!truncated":  # the process died while sending a result
                code = proc.finish(kill=False)
                return self._ended(code, loaded, current, began, start)
            else:
                return self._violation(proc, current)
            deadline = self._deadline()

    def _violation(self, proc: "SandboxProcess", current: Call | None) -> int:
        proc.finish(kill=True)
        message = "your code interfered with the grader's harness (unexpected output on its event channel)"
        for call in self.calls:
            if call.id not in self.outcomes:
                self.outcomes[call.id] = CallOutcome(Status.ERROR, message=message)
        return len(self.calls)

    def _ended(self, code: int, loaded: bool, current: Call | None, began: Instant, start: int) -> int:
        seconds = began.elapsed()
        if 128 < code < 128 + 65:  # bubblewrap reports a child killed by signal N as 128 + N
            code = -(code - 128)
        if code < 0:
            why = f"the process was killed by {_signal_name(code)}"
            if code == -signal.SIGKILL:
                why += " (the machine ran out of memory, or the code killed itself)"
            status = Status.CRASHED
        else:
            why = f"the process exited with status {code} (os._exit() or a fatal error?)"
            status = Status.CRASHED
        if not loaded:
            self.load = CallOutcome(status, message=f"while loading your code, {why}", seconds=seconds)
            return len(self.calls)
        if current is not None:
            self.outcomes[current.id] = CallOutcome(status, message=f"during this call, {why}", seconds=seconds)
            return self.calls.index(current) + 1
        nxt = next((i for i, c in enumerate(self.calls) if c.id not in self.outcomes), len(self.calls))
        if nxt < len(self.calls) and nxt > start:
            self.notes.append(f"the process ended between calls ({why}); restarted for the remaining calls")
        elif nxt < len(self.calls):  # no progress at all: restarting would only repeat it
            self.load = CallOutcome(status, message=f"after loading your code, {why}", seconds=seconds)
        return nxt

    def _read_failure(self, payload: bytes, seconds: float) -> CallOutcome:
        try:
            return _failure_outcome(parse_payload(payload), seconds, self.limits)
        except WireError as exc:
            return CallOutcome(Status.ERROR, message=f"loading your code failed ({exc})", seconds=seconds)

    def _read_result(self, payload: bytes, seconds: float) -> CallOutcome:
        try:
            data = parse_payload(payload)
            if not isinstance(data, dict) or "ok" not in data:
                raise WireError("malformed result")
            if data["ok"] is not True:
                return _failure_outcome(data, seconds, self.limits)
            return CallOutcome(Status.PASSED, value=decode(data.get("value")), seconds=seconds)
        except WireError as exc:
            return CallOutcome(Status.ERROR, message=f"the value could not be read back: {exc}", seconds=seconds)
        except MemoryError:
            return CallOutcome(Status.MEMORY, message="the returned value is too large", seconds=seconds)
