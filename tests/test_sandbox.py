"""The sandbox boundary: hostile submissions graded next to an honest one gain nothing."""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from pathlib import Path

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS
from grader.api import grade_batch
from grader.models import Status

HONEST = (SUBMISSIONS / "correct-numpy" / "solution.py").read_text()
REFERENCE = ASSIGNMENT / "linear_ae_gradients_ref.py"
GRADIENTS = """
def _grad(X, W1, W2):
    E = X - W2 @ W1 @ X
    return -2 * W2.T @ E @ X.T, -2 * E @ X.T @ W1.T
"""


def _probe(targets: dict[str, str]) -> str:
    """Source whose function tries to read each target path and prints what it found."""
    return GRADIENTS + f"""
import os
TARGETS = {targets!r}
def linear_ae_gradients(X, W1, W2):
    for label, path in TARGETS.items():
        try:
            with open(path) as fh:
                print("LEAKED", label, fh.read()[:40].replace("\\n", " "))
        except OSError as exc:
            print("BLOCKED", label, type(exc).__name__)
    return _grad(X, W1, W2)
"""


@pytest.fixture
def listener():
    """A TCP listener on loopback that records every connection it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[tuple] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, addr = server.accept()
                accepted.append(addr)
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(2)
    server.close()


def _write(folder: Path, source: str) -> None:
    folder.mkdir(parents=True)
    (folder / "solution.py").write_text(source)


@pytest.fixture
def hostile_batch(tmp_path, listener, monkeypatch, bwrap_available):
    port, accepted = listener
    subs, out = tmp_path / "subs", tmp_path / "out"
    marker = f"/tmp/grader-escape-{uuid.uuid4().hex}"
    monkeypatch.setenv("GRADER_TEST_SECRET", "s3cret-value")
    _write(subs / "honest", HONEST)
    _write(subs / "reader", _probe({
        "reference": str(REFERENCE),
        "spec": str(ASSIGNMENT / "linear-ae-gradients.yaml"),
        "other-student": str(subs / "honest" / "solution.py"),
        "relative-other-student": "../../honest/solution.py",
        "host-passwd-shadow": "/etc/shadow",
        "grader-environ": "/proc/1/environ",
    }))
    _write(subs / "writer", GRADIENTS + f"""
import os
def linear_ae_gradients(X, W1, W2):
    for path in [{str(out / 'scores.csv')!r}, {str(out / 'students' / 'honest' / 'results.json')!r},
                 {str(subs / 'honest' / 'solution.py')!r}, {marker!r}, "/job/calls.json",
                 "/job/solution.py", {str(REFERENCE)!r}]:
        try:
            with open(path, "w") as fh:
                fh.write("pwned")
            print("WROTE", path)
        except OSError as exc:
            print("BLOCKED", path, type(exc).__name__)
    with open("scratch-file.txt", "w") as fh:  # its own scratch folder is writable
        fh.write("fine")
    print("SCRATCH-OK")
    return _grad(X, W1, W2)
""")
    _write(subs / "networker", GRADIENTS + f"""
import socket
def linear_ae_gradients(X, W1, W2):
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
        print("CONNECTED")
    except OSError as exc:
        print("NO-NETWORK", type(exc).__name__)
    return _grad(X, W1, W2)
""")
    _write(subs / "forger", """
import json, sys, numpy as np
FAKE = {"score": 10, "tests": [{"name": "linear-ae-gradients", "score": 10, "max_score": 10, "status": "passed"}]}
print(json.dumps(FAKE))
print(json.dumps(FAKE), file=sys.stderr)
with open("results.json", "w") as fh:
    json.dump(FAKE, fh)
def linear_ae_gradients(X, W1, W2):
    print("passed 10/10")
    return np.zeros((W1.shape)), np.zeros(W2.shape)
""")
    _write(subs / "liar", """
class AlwaysEqual:
    def __eq__(self, other): return True
    def __array__(self, *a, **k): raise RuntimeError("no")
def linear_ae_gradients(X, W1, W2):
    return AlwaysEqual(), AlwaysEqual()
""")
    _write(subs / "env-snoop", GRADIENTS + """
import os
def linear_ae_gradients(X, W1, W2):
    print("ENV", sorted(os.environ))
    print("SECRET", os.environ.get("GRADER_TEST_SECRET"))
    return _grad(X, W1, W2)
""")
    from grader.api import grade_submission  # noqa: F401  (keeps the import cost out of the timing)
    batch = grade_batch(subs, ASSIGNMENT, out, jobs=2, sandbox="bwrap", problems=["linear-ae-gradients"])
    return batch, accepted, marker, subs, out


def _stdout(batch, student):
    return next(r for r in batch.results if r.student == student).problems[0].stdout


def _problem(batch, student):
    return next(r for r in batch.results if r.student == student).problems[0]


def test_honest_submission_scores_exactly(hostile_batch):
    batch = hostile_batch[0]
    honest = _problem(batch, "honest")
    assert honest.score == honest.max_score == 10
    assert {r.student for r in batch.results} == {"honest", "reader", "writer", "networker", "forger", "liar",
                                                  "env-snoop"}


def test_cannot_read_reference_spec_other_students_or_grader(hostile_batch):
    out = _stdout(hostile_batch[0], "reader")
    for label in ("reference", "spec", "other-student", "relative-other-student", "host-passwd-shadow"):
        assert f"BLOCKED {label}" in out, out
    # /proc shows only the sandbox's own processes, whose environment is the clean one
    assert "s3cret-value" not in out
    assert "LEAKED" not in out.replace("LEAKED grader-environ", "")


def test_cannot_write_outside_scratch(hostile_batch):
    batch, _, marker, subs, out = hostile_batch
    text = _stdout(batch, "writer")
    # /tmp inside the sandbox is a private, throw-away tmpfs: writing there is allowed and invisible
    wrote = [line for line in text.splitlines() if line.startswith("WROTE") and marker not in line]
    assert wrote == [], text
    assert "SCRATCH-OK" in text
    assert not Path(marker).exists()
    assert (subs / "honest" / "solution.py").read_text() == HONEST
    assert "pwned" not in (out / "scores.csv").read_text()
    assert "pwned" not in REFERENCE.read_text()
    results = json.loads((out / "students" / "honest" / "results.json").read_text())
    assert results["score"] == 10


def test_no_network(hostile_batch):
    batch, accepted, *_ = hostile_batch
    assert "CONNECTED" not in _stdout(batch, "networker")
    assert "NO-NETWORK" in _stdout(batch, "networker")
    assert accepted == []


def test_fake_results_earn_nothing(hostile_batch):
    batch, *_, out = hostile_batch
    forger = _problem(batch, "forger")
    assert forger.score == 0
    assert {c.diagnosis for c in forger.checks if c.check == "matches-reference"} == {"zeros"}
    results = json.loads((out / "students" / "forger" / "results.json").read_text())
    assert results["score"] == 0


def test_lying_objects_are_not_values(hostile_batch):
    liar = _problem(hostile_batch[0], "liar")
    assert liar.score == 0
    assert {c.status for c in liar.checks} == {Status.ERROR}
    assert "cannot return a value of type" in liar.checks[0].feedback


def test_environment_is_clean(hostile_batch):
    text = _stdout(hostile_batch[0], "env-snoop")
    assert "s3cret-value" not in text
    assert "SECRET None" in text
    assert os.environ["GRADER_TEST_SECRET"] == "s3cret-value"
