"""The regularized linear autoencoder (Eq. 6): closed form, probes, timed training, budgets and explanations.

Fast tests judge synthetic measurements (numpy only, no torch in this process); the problem's code is the
assignment's kit (problems/autoencoders/kit/), loaded as the grader loads it. The samples in
problems/autoencoders/samples/regularized-* are graded once per session with every other sample
(conftest.sample_batch); their outcomes are asserted in test_samples.py and their explanations here. The slow tests grade through
the sandbox again: the reference repeatedly (it never misses its budget), a wrong setup repeatedly (it
never passes), attacks on the timing, a student release, and the GPU path where there is a GPU.
"""

from __future__ import annotations

import shutil
import textwrap

import numpy as np
import pytest

from conftest import ASSIGNMENT, SUBMISSIONS, kit_module
from grader.api import check_submission, grade_submission
from grader.calibration import Calibrations
from grader.checks import CHECKS, AnswerError, CaseData
from grader.grading import ALL, RunOptions
from grader.models import Status
from grader.reference import CaseBook, build_inputs, load_module
from grader.gradebook import plain_data as plain_json
from grader.sandbox import gpu, gpu_devices, isolation
from grader.spec import SpecError, load_assignment
from grader.submissions import SourceFile

probes = kit_module("sandbox._regularized_probes")  # the kit's in-sandbox modules, as the grader loaded them
driver = kit_module("sandbox.regularized_training")
_closed = kit_module("training.closed_form")
closed_form, distance, eq6_loss = _closed.closed_form, _closed.distance, _closed.eq6_loss
from_expected, gradient_descent_steps = _closed.from_expected, _closed.gradient_descent_steps
analyse_objective = kit_module("training.objective").analyse_objective
analyse_structure = kit_module("training.structure").analyse_structure
report = kit_module("training.report")  # the kit's timed-training report parts

PROBLEM = "regularized-ae"
SPEC = load_assignment(ASSIGNMENT).problem(PROBLEM)
KIT = SPEC.kit  #: the assignment's kit: generators, the training checks, the driver's calibration and companion
REFERENCE = load_module(SPEC.reference)
TRAINING = next(c for c in SPEC.checks if c.check == "timed_training")


def _case(case_id: str = "homework"):
    case = next(c for c in SPEC.cases if c.id == case_id)
    inputs = build_inputs(SPEC, case)
    expected = {"closed_form": REFERENCE.regularized_ae(inputs["X"], inputs["lam"], inputs["lr"],
                                                        inputs["W1_init"], inputs["W2_init"])}
    return case, inputs, expected


# --------------------------------------------------------------------------- data and closed form


def test_generated_data_have_the_stated_spectrum_and_a_mean():
    case, inputs, _ = _case()
    params = KIT.generators[case.generator].params.model_validate(case.params)
    X = inputs["X"]
    values = np.sort(np.linalg.eigvalsh(X.T @ X / X.shape[0]))[::-1]
    assert np.allclose(values, params.eigenvalues(), rtol=1e-10)
    assert np.linalg.norm(X.mean(axis=0)) > 0.5  # not centred: a bias would change the minimiser
    assert inputs["W1_init"].shape == (4, 16) and inputs["W2_init"].shape == (16, 4)


def test_generator_refuses_unidentifiable_spectra():
    params = KIT.generators["regularized_ae_data"].params
    for bad in ({"m": 6, "k": 2, "lam": 5.0}, {"m": 6, "k": 2, "top": [1.0, 1.0]}, {"m": 6, "k": 2, "tail": 9.0},
                {"m": 4, "k": 4}):
        with pytest.raises(ValueError):
            params.model_validate(bad)


@pytest.mark.parametrize("case_id", [c.id for c in SPEC.cases])
def test_reference_closed_form_is_the_minimiser_of_eq6(case_id):
    _, inputs, expected = _case(case_id)
    X, lam = inputs["X"], inputs["lam"]
    ref = expected["closed_form"]
    cf = closed_form(X, lam, inputs["W1_init"].shape[0])
    assert np.allclose(cf.singular_values, ref["singular_values"])
    W1, W2 = ref["W1"], ref["W2"]
    C = X.T @ X / X.shape[0]
    R = (np.eye(C.shape[0]) - W2 @ W1) @ C
    assert np.allclose(-2 * W2.T @ R + 2 * lam * W1, 0, atol=1e-10)  # stationary
    assert np.allclose(-2 * R @ W1.T + 2 * lam * W2, 0, atol=1e-10)
    rng = np.random.default_rng(0)
    best = eq6_loss(X, lam, W1, W2)
    for _ in range(20):
        E1, E2 = 1e-3 * rng.standard_normal(W1.shape), 1e-3 * rng.standard_normal(W2.shape)
        assert eq6_loss(X, lam, W1 + E1, W2 + E2) > best
    O, _ = np.linalg.qr(rng.standard_normal((W1.shape[0],) * 2))  # any rotation is just as optimal
    assert distance((W2 @ O).T, W2 @ O, cf).value < 1e-10
    assert abs(eq6_loss(X, lam, (W2 @ O).T, W2 @ O) - best) < 1e-10


def test_distance_separates_a_wrong_lambda_and_the_driver_agrees():
    _, inputs, expected = _case()
    cf = from_expected(expected["closed_form"])
    other = closed_form(inputs["X"], inputs["lam"] / 2, cf.k)
    d = distance(other.W1(), other.W2(), cf)
    assert d.singular > 0.01 and d.angle < 1e-8 and d.balance < 1e-12
    rng = np.random.default_rng(1)
    for W1, W2 in [(other.W1(), other.W2()), (rng.standard_normal((4, 16)), rng.standard_normal((16, 4))),
                   (cf.W1() + 1e-4, cf.W2())]:
        ours = distance(W1, W2, cf).value
        theirs = driver._distance(np, W1, W2, cf.Uk, cf.singular_values)
        assert theirs == pytest.approx(ours, rel=1e-9, abs=1e-12)


def test_the_step_budget_comes_from_eq6s_own_gradient():
    for case in SPEC.cases:
        inputs = build_inputs(SPEC, case)
        cf = closed_form(inputs["X"], inputs["lam"], inputs["W1_init"].shape[0])
        steps = gradient_descent_steps(inputs["X"], cf, inputs["lr"], inputs["W1_init"], inputs["W2_init"],
                                       tol=TRAINING.params.tol, snapshot_every=10, max_steps=5000)
        assert steps is not None and 50 <= steps <= 1000  # seconds on a CPU, not minutes


# --------------------------------------------------------------------------- the model, from probes


def _structure_probes(m=16, k=4, gradient=lambda W1, W2, X, G: (W2.T @ G.T @ X, G.T @ X @ W1.T), frozen=()):
    """What probe_structure measures on nn.Sequential(Linear(m, k), Linear(k, m)), both bias-free, whose
    backward pass gives W1 and W2 ``gradient(W1, W2, X, G)`` for the output gradient G."""
    rng = np.random.default_rng(5)
    W1, W2 = rng.standard_normal((k, m)), rng.standard_normal((m, k))
    f = lambda rows: np.asarray(rows) @ (W2 @ W1).T  # noqa: E731
    pts = rng.standard_normal((4, m))
    x, y = pts[:2], pts[2:]
    G = rng.standard_normal(pts.shape)
    g1, g2 = gradient(W1, W2, pts, G)
    weight = lambda name, shape: {"name": name, "shape": shape, "kind": "parameter",  # noqa: E731
                                  "trainable": name not in frozen, "leaf": name, "originals": [name]}
    return {"modules": [["", "torch.nn.modules.container.Sequential"], ["0", "torch.nn.modules.linear.Linear"],
                        ["1", "torch.nn.modules.linear.Linear"]],
            "parameters": [["0.weight", [k, m], "0.weight" not in frozen], ["1.weight", [m, k], "1.weight" not in frozen]],
            "linears": [{"in": m, "out": k, "bias": False, "name": "0"}, {"in": k, "out": m, "bias": False, "name": "1"}],
            "weights": {"how": "shape", "W1": weight("0.weight", [k, m]), "W2": weight("1.weight", [m, k]),
                        "biases": [None, None], "bias_vectors": [], "extra": [], "km": ["0.weight"], "mk": ["1.weight"],
                        "candidates": [["0.weight", [k, m], "0.weight" not in frozen, "parameter"],
                                       ["1.weight", [m, k], "1.weight" not in frozen, "parameter"]]},
            "parameter_count": 2, "buffers": [], "W1": W1, "W2": W2,
            "forward": {"basis": f(np.eye(m)), "zero": f(np.zeros((1, m)))[0], "points": pts, "batch": f(pts),
                        "single": f(pts), "again": f(pts),
                        "combo": {"x": x, "y": y, "fx": f(x), "fy": f(y), "f_combo": f(2 * x - 3 * y),
                                  "f_scaled": f(10 * x), "f_neg": f(-x)}},
            "gradient": {"points": pts, "G": G, "W1": g1, "W2": g2}}


@pytest.mark.parametrize("gradient, frozen, diagnosis, phrase", [
    (None, (), None, ""),
    (lambda W1, W2, X, G: (None, G.T @ X @ W1.T), (), "no_gradient", "W1 gets no gradient through the model"),
    (lambda W1, W2, X, G: (np.zeros_like(W1), G.T @ X @ W1.T), (), "no_gradient", "(a .detach(), torch.no_grad()"),
    (lambda W1, W2, X, G: (None, G.T @ X @ W1.T), ("0.weight",), "frozen_weight", "W1 (0.weight) is frozen (requires_grad=False)"),
    (lambda W1, W2, X, G: (W2.T @ G.T @ X, 3 * G.T @ X @ W1.T), (), "wrong_gradient", "W2 is 3 times that of"),
    (lambda W1, W2, X, G: (W2.T @ G.T @ X, G.T @ X @ W1.T + 0.1), (), "wrong_gradient", "W2 is not that of x -> W2 W1 x"),
])
def test_backpropagation_through_the_model_is_probed(gradient, frozen, diagnosis, phrase):
    """A forward map that is exactly x -> W2 W1 x still fails when training cannot follow its gradient."""
    data = _structure_probes(**({"gradient": gradient} if gradient else {}), frozen=frozen)
    report = analyse_structure(data, 16, 4)
    assert (report.ok, report.diagnosis) == (diagnosis is None, diagnosis), report.explain()
    assert phrase in report.explain()
    if diagnosis:
        assert "the forward map is right" in report.explain() or "frozen" in report.explain()


def test_computed_weights_are_named():
    data = _structure_probes()
    for role in ("W1", "W2"):
        name = data["weights"][role]["name"]
        data["weights"][role].update(kind="computed", leaf=None, originals=[f"{name[0]}.parametrizations.weight.original0",
                                                                           f"{name[0]}.parametrizations.weight.original1"])
    del data["gradient"]  # not probed: the weights are no leaves
    report = analyse_structure(data, 16, 4)
    assert report.diagnosis == "parametrized", report.explain()
    assert "W1 (0.weight, from 0.parametrizations.weight.original0, 0.parametrizations.weight.original1) and W2 " \
           "(1.weight, from 1.parametrizations.weight.original0, 1.parametrizations.weight.original1) are computed " \
           "from other parameters" in report.explain()
    assert "besides" not in report.explain()  # the originals are not extra parameters


WEIGHT_NORM = textwrap.dedent('''
    import torch
    from torch import nn
    from torch.nn.utils.parametrizations import weight_norm


    def build_model(m, k):
        return nn.Sequential(weight_norm(nn.Linear(m, k, bias=False)), weight_norm(nn.Linear(k, m, bias=False)))


    def build_loss():
        return nn.MSELoss(reduction="sum")


    def build_optimizer(model, lam, lr):
        return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=2 * lam)
''')


def test_a_parametrized_model_is_named_not_accused(pool):
    """weight_norm computes W1 and W2 from other parameters: the structure check says so, the loss and the
    optimizer are still read right, and training is declined plainly (no gradient or tampering message)."""
    result = _grade(WEIGHT_NORM, pool, CaseBook())
    by_check = {}
    for c in result.checks:
        by_check.setdefault(c.check, []).append(c)
    for c in by_check["structure"]:
        assert c.diagnosis == "parametrized" and "no gradient" not in c.feedback, c.feedback
    assert all(c.status is Status.PASSED for c in by_check["objective"])
    for c in by_check["training"]:
        assert c.status is Status.FAILED and "computed from other parameters" in c.feedback, c.feedback
        assert "outside optimizer.step()" not in c.feedback


def test_a_failed_backward_pass_is_reported():
    data = _structure_probes()
    data["gradient"] = {"error": "RuntimeError: element 0 of tensors does not require grad"}
    report = analyse_structure(data, 16, 4)
    assert report.diagnosis == "backward_error" and "does not require grad" in report.explain()


# --------------------------------------------------------------------------- W1 and W2, found in real models


SETUP = textwrap.dedent('''
    import torch
    from torch import nn
    from torch.nn.utils import parametrize


    class Scaled(nn.Module):  # a parametrization: weight = factor * original
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def forward(self, weight):
            return self.factor * weight


    class Bare(nn.Module):  # matrices as bare parameters, registered in the order given: x -> B A x (A^T B^T)
        def __init__(self, shapes, enc, dec, transposed=False):
            super().__init__()
            for name, shape in shapes:
                setattr(self, name, nn.Parameter(0.3 * torch.randn(*shape)))
            self.roles, self.transposed = (enc, dec), transposed

        def forward(self, x):
            A, B = (getattr(self, name) for name in self.roles)
            return x @ A @ B if self.transposed else x @ A.T @ B.T


    class DecoderFirst(nn.Module):
        def __init__(self, m, k):
            super().__init__()
            self.decoder = nn.Linear(k, m, bias=False)
            self.encoder = nn.Linear(m, k, bias=False)

        def forward(self, x):
            return self.decoder(self.encoder(x))


    def build_model(m, k):
        MODEL


    def build_loss():
        return nn.MSELoss(reduction="sum")


    def build_optimizer(model, lam, lr):
        return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=2 * lam)
''')


def _env(source: str | None, m: int = 16, k: int = 4, lam: float = 0.1, namespace: dict | None = None):
    """The driver's environment on ``source`` (exec'd into ``namespace``), in this process."""
    torch = pytest.importorskip("torch")
    namespace = {} if namespace is None else namespace
    if source is not None:
        exec(compile(source, "solution.py", "exec"), namespace)
    funcs = {name: namespace[name] for name in driver.FUNCTIONS}
    return driver._Env(torch, np, funcs, m, k, lam, 0.1, torch.device("cpu"), "solution.py", 0, probes)


def _model(body: str) -> str:
    return SETUP.replace("MODEL", body)


PLAIN = "return nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))"


def _parametrized(factor: float) -> str:
    """build_model's body: the plain model with W1 = factor * original (a parametrization)."""
    return (f"model = {PLAIN[7:]}\n    parametrize.register_parametrization(model[0], 'weight', Scaled({factor}))\n"
            "    return model")


@pytest.mark.parametrize("body, how, names, settable, diagnosis, phrase", [
    (PLAIN, "shape", ("0.weight", "1.weight"), True, None, ""),
    ("return DecoderFirst(m, k)", "shape", ("encoder.weight", "decoder.weight"), True, None, ""),
    ("return Bare([('W1', (k, m)), ('W2', (m, k))], 'W1', 'W2')", "shape", ("W1", "W2"), True, None, ""),
    ("return Bare([('dec', (m, k)), ('enc', (k, m))], 'enc', 'dec')", "shape", ("enc", "dec"), True, None, ""),
    (_parametrized(1.0), "shape", ("0.weight", "1.weight"), True, None, ""),
    (_parametrized(2.0), "shape", ("0.weight", "1.weight"), False, "parametrized",
     "a parametrization changes W1's values (0.weight is computed from 0.parametrizations.weight.original"),
    ("return nn.Sequential(nn.Linear(m, k), nn.Linear(k, m))", "shape", ("0.weight", "1.weight"), True, "bias",
     "the encoder and the decoder have biases (0.bias, 1.bias)"),
    ("return nn.Sequential(*[nn.Linear(a, b, bias=False) for a, b in ((m, k), (k, m), (m, k), (k, m))])", "order",
     ("0.weight", "1.weight"), True, "extra_parameters", "besides W1 (0.weight) and W2 (1.weight): 2.weight (4, 16), "
                                                         "3.weight (16, 4) (its shapes cannot tell"),
    ("return Bare([('A', (k, m)), ('C', (k, m)), ('B', (m, k))], 'A', 'B')", None, None, False, "layer_count",
     "the model has 2 4 x 16 matrices (A, C), so the grader cannot tell W1 and W2 apart"),
    ("return Bare([('W1', (m, k)), ('W2', (k, m))], 'W1', 'W2', transposed=True)", "shape", ("W2", "W1"), True,
     "transposed_weights", "your matrices act transposed"),
    ("return nn.Sequential(nn.Linear(m, m, bias=False), nn.Linear(m, m, bias=False))", None, None, False,
     "wrong_shapes", "no 4 x 16 matrix (W1) and no 16 x 4 matrix (W2)"),
], ids=["sequential", "decoder-first", "parameters", "parameters-decoder-first", "identity-parametrization",
        "scaled-parametrization", "biases", "two-encoders", "two-k-x-m-parameters", "transposed", "square"])
def test_w1_and_w2_are_found_by_shape_whatever_the_modules(body, how, names, settable, diagnosis, phrase):
    """find_weights (in the sandbox) decides which tensors are W1 and W2 for every probe and the training;
    the structure check judges the model it found, naming only what is really wrong."""
    env = _env(_model(body))
    found = env.weights(env.model())
    assert (found.how, found.settable) == (how, settable)
    if names:
        assert (found.info["W1"]["name"], found.info["W2"]["name"]) == names
        assert [tuple(w.shape) for w in found.values()] == [(4, 16), (16, 4)]
    report = analyse_structure(plain_json(probes.probe_structure(env)), 16, 4)
    assert (report.ok, report.diagnosis) == (diagnosis is None, diagnosis), report.explain()
    assert phrase in report.explain()
    assert "besides" not in report.explain() or diagnosis == "extra_parameters"


def test_an_identity_parametrization_is_the_weight_itself():
    """Its parameter ``0.parametrizations.weight.original`` is W1: the grader sets, trains and reads it."""
    torch = pytest.importorskip("torch")
    env = _env(_model(_parametrized(1.0)))
    model = env.model()
    found = env.weights(model)
    assert found.info["W1"]["kind"] == "identity" and found.info["W1"]["leaf"] == "0.parametrizations.weight.original"
    assert found.leaves()[0] is model[0].parametrizations.weight.original and found.info["extra"] == []
    with torch.no_grad():
        found.leaves()[0].copy_(torch.ones(4, 16))
    assert torch.equal(found.values()[0], torch.ones(4, 16))  # what acts in the forward pass is what was set


L2_IN_LOSS = (SUBMISSIONS / "regularized-l2-in-loss" / "solution.py").read_text()
L2_HALF = (SUBMISSIONS / "regularized-l2-in-loss-half" / "solution.py").read_text()


@pytest.mark.parametrize("source, factor, diagnosis", [
    (L2_IN_LOSS, 1.0, None),
    (L2_HALF, 0.5, "wrong_lambda"),
    (L2_IN_LOSS.replace("lr=lr)", "lr=lr, weight_decay=2 * lam)"), 2.0, "wrong_lambda"),  # penalised twice
], ids=["l2-in-loss", "l2-in-loss-half", "l2-in-loss-and-decay"])
def test_the_objective_is_read_from_the_setup_as_trained_on_every_case(source, factor, diagnosis):
    """A penalty in the loss, read from a global that build_model and build_optimizer set: every probe builds
    the setup afresh in the training's order, so each case reads its own lam, whatever the case before left."""
    namespace: dict = {}
    for m, k, lam in [(16, 4, 0.1), (12, 3, 0.05), (16, 4, 0.1)]:  # one module, as the sandbox runs the cases
        env = _env(source if not namespace else None, m, k, lam, namespace)
        objective = analyse_objective(*(plain_json(probe(env)) for probe in
                                        (probes.probe_loss, probes.probe_penalty, probes.probe_optimizer)),
                                      m, lam, 0.1)
        assert (objective.ok, objective.diagnosis) == (diagnosis is None, diagnosis), objective.text
        assert objective.effective_lambda == pytest.approx([factor * lam] * 2, rel=1e-6)
        assert objective.penalty.mu == pytest.approx([(0.5 if factor == 0.5 else 1) * lam] * 2, rel=1e-9)
        env.optimizer(env.model())  # what a training leaves behind: the next case must not read it


# --------------------------------------------------------------------------- the objective, from probes


def _loss_probes(kind: str, m: int) -> dict:
    rng = np.random.default_rng(4321)
    t = rng.standard_normal((6, m))
    r = rng.standard_normal((6, m)) * np.array([0.1, 0.5, 1.0, 2.0, 5.0, 1.0])[:, None]
    shift = rng.standard_normal(m)

    def loss(p, q):
        d = p - q
        if kind == "sum":
            return float(np.sum(d * d))
        if kind == "mean":
            return float(np.mean(d * d))
        if kind == "l1":
            return float(np.sum(np.abs(d)))
        z = p - p.max()
        return float(-np.sum(q * (z - np.log(np.sum(np.exp(z))))))

    grads = {"sum": 2 * r, "mean": 2 * r / m, "l1": np.sign(r)}.get(kind, np.zeros_like(r))
    return {"targets": t, "residuals": r, "shift": shift, "dtype": "float64",
            "values": [loss(a + b, a) for a, b in zip(t, r)], "grads": grads,
            "zero": [loss(a, a) for a in t[:2]], "double": [loss(a + 2 * b, a) for a, b in zip(t[:3], r[:3])],
            "shifted": [loss(a + b + shift, a + shift) for a, b in zip(t[:3], r[:3])]}


def _penalty_probes(mu=(0.0, 0.0), gradient=None, detached=0.0, constant=0.0, trainable=(True, True)) -> dict:
    """What probe_penalty measures for a loss adding mu[0] ||W1||^2 + mu[1] ||W2||^2 (``gradient(w, i)``: another
    term's gradient on weight i), at two sets of weights; ``detached`` (||W1||^2 + ||W2||^2) and ``constant`` add
    to the loss's value (its value at a zero residual, ``zero``) but send the weights no gradient."""
    rng = np.random.default_rng(2468)
    trials = []
    for _ in range(2):
        w = [0.5 * rng.standard_normal(s) for s in ((4, 16), (16, 4))]
        grads = [gradient(w[i], i) if gradient else (2 * mu[i] * w[i] if mu[i] else None) for i in range(2)]
        zero = sum((mu[i] + detached) * float(np.sum(w[i] ** 2)) for i in range(2)) + constant
        trials.append({"w": w, "grads": grads, "value": 0.0, "prediction": "model", "zero": zero,
                       "trainable": list(trainable)})
    return {"points": rng.standard_normal((4, 16)), "trials": trials, "grader_model": False}


def _optimizer_probes(step) -> dict:
    """What the driver measures, for an optimizer whose first step from (w, g) is ``step(w, g)``."""
    rng = np.random.default_rng(99)
    shapes = [(4, 16), (16, 4)]
    w0 = [rng.standard_normal(s) for s in shapes]
    G = [rng.standard_normal(s) for s in shapes]
    zero = [np.zeros(s) for s in shapes]
    moves = lambda w, g: [step(a, b) for a, b in zip(w, g)]  # noqa: E731
    out = {"w0": w0, "G": G, "decay": moves(w0, zero), "gradient": moves(zero, G),
           "double": moves(zero, [2 * g for g in G]), "both": moves(w0, G), "meta": {"class": "torch.optim.X"}}
    out["stationary"] = [probes._bisect(lambda omega, i=i: float(np.sum(step(w0[i], -omega * w0[i]) * w0[i])))
                         for i in range(2)]
    return out


def _sgd(lr, wd):
    return lambda w, g: -lr * (g + wd * w)


def _adam(lr, wd, decoupled):
    def step(w, g):
        total = g if decoupled else g + wd * w
        move = -lr * total / (np.abs(total) + 1e-8)
        return move - lr * wd * w if decoupled else move
    return step


@pytest.mark.parametrize("loss, mu, optimizer, ok, diagnosis, phrase", [
    ("sum", 0.0, _sgd(0.1, 0.2), True, None, "exactly as written"),
    ("mean", 0.0, _sgd(1.6, 0.2 / 16), True, None, "exactly as written"),
    ("sum", 0.0, _adam(0.1, 0.2, decoupled=False), True, None, "exactly as written"),  # coupled: same minimisers
    ("sum", 0.1, _sgd(0.1, 0.0), True, None, "+ 0.1 (||W1||^2 + ||W2||^2) (a penalty read from the model's weights), "
                                             "and the optimizer adds no weight decay"),  # Eq. 6's penalty in the loss
    ("mean", 0.1 / 16, _sgd(1.6, 0.0), True, None, "exactly as written"),
    ("sum", 0.1, _adam(0.1, 0.0, decoupled=True), True, None, "exactly as written"),  # AdamW without decay: Adam
    ("sum", 0.0, _sgd(0.1, 0.1), False, "half_penalty", "lam/2"),
    ("sum", 0.05, _sgd(0.1, 0.0), False, "wrong_lambda", "effective lambda is 0.05 = 0.5 * lam"),
    ("sum", 0.1, _sgd(0.1, 0.2), False, "wrong_lambda", "effective lambda is 0.2 = 2 * lam"),  # both: twice
    ("mean", 0.0, _sgd(0.1, 0.2), False, "lambda_times_m", "16 * lam"),
    ("mean", 0.1, _sgd(0.1, 0.0), False, "lambda_times_m", "the penalty in your loss still adds"),
    ("sum", 0.0, _sgd(0.1, 0.0), False, "no_weight_decay", "no weight decay, and no penalty in your loss"),
    ("sum", 0.0, _adam(0.1, 0.2, decoupled=True), False, "decoupled_decay", "decoupled"),
    ("sum", 0.1, _adam(0.1, 0.2, decoupled=True), False, "decoupled_decay", "decoupled"),
    ("l1", 0.0, _sgd(0.1, 0.2), False, "l1_loss", "L1Loss"),
    ("ce", 0.0, _sgd(0.1, 0.2), False, "cross_entropy", "cross-entropy"),
    ("sum", 0.0, _sgd(0.1, 0.7), False, "wrong_lambda", "3.5 * lam"),
])
def test_effective_objective_from_probes(loss, mu, optimizer, ok, diagnosis, phrase):
    loss_probes = _loss_probes(loss, 16)
    if mu:  # the penalty's value at the loss probe's weights: the same constant on every call
        loss_probes = {**loss_probes, **{key: list(np.asarray(loss_probes[key]) + 0.8)
                                         for key in ("values", "zero", "double", "shifted")}}
    objective = analyse_objective(loss_probes, _penalty_probes((mu, mu)), _optimizer_probes(optimizer), 16, 0.1, 0.1)
    assert (objective.ok, objective.diagnosis) == (ok, diagnosis), objective.text
    assert phrase in objective.text, objective.text
    assert "-0 " not in objective.text and "-0," not in objective.text and "-0)" not in objective.text  # no "-0"
    if diagnosis == "no_weight_decay":
        assert "(effective lambda 0, Eq. 6 has lam = 0.1)" in objective.text
    if ok:
        assert objective.effective_lambda == pytest.approx([0.1, 0.1], rel=1e-6)
    if diagnosis == "wrong_lambda" and mu:
        assert "the penalty in the loss must be 1 * lam * (||W1||^2 + ||W2||^2)" in objective.text or \
            "weight decay adds (omega/2)||W||^2 with omega = 0.2" in objective.text


def test_unequal_decay_is_named():
    probes = _optimizer_probes(_sgd(0.1, 0.2))
    probes["decay"][0] = np.zeros_like(probes["decay"][0])  # W1 not decayed
    probes["both"][0] = probes["gradient"][0]
    objective = analyse_objective(_loss_probes("sum", 16), _penalty_probes(), probes, 16, 0.1, 0.1)
    assert objective.diagnosis == "unequal_decay" and "0 for W1" in objective.text
    assert "omega = 0 (W1) and 0.2 (W2)" in objective.text and "-0" not in objective.text, objective.text
    assert not np.any(np.signbit(objective.data()["weight_decay"]))  # no -0.0 in the stored data either


def _with_offset(loss_probes: dict, offset: float) -> dict:
    """The loss probes of a loss that adds ``offset`` (a penalty's value at the probe's weights, or a constant)."""
    return {**loss_probes, **{key: list(np.asarray(loss_probes[key]) + offset)
                              for key in ("values", "zero", "double", "shifted")}}


@pytest.mark.parametrize("penalty, diagnosis, phrases", [
    # the penalty computed from detached weights: its value changes with the weights, its gradient is zero
    ({"detached": 0.1}, "detached_penalty", ["your loss adds a penalty that changes with the weights but sends them "
                                             "no gradient: it is computed from detached weights", "penalises nothing",
                                             "(effective lambda 0, Eq. 6 has lam = 0.1)", "model.parameters()"]),
    # a constant: the same at every weight (or a detached penalty the probes could not tell from one)
    ({"constant": 0.8}, "no_weight_decay", ["your loss adds a term (0.8 at the probe's weights) that does not "
                                            "change with the weights as autograd sees them", "penalises nothing",
                                            "(effective lambda 0, Eq. 6 has lam = 0.1)"]),
    # a frozen weight gets no gradient for another reason: not called detached
    ({"detached": 0.1, "trainable": (False, True)}, "no_weight_decay", ["(a constant, or a penalty computed from "
                                                                        "detached weights"]),
], ids=["detached", "constant", "frozen"])
def test_a_penalty_with_no_gradient_is_not_called_no_penalty(penalty, diagnosis, phrases):
    """A loss that adds a term autograd sees as a constant (a penalty from .data, .detach() or state_dict())
    penalises nothing, but it is there: the feedback says so instead of "no penalty in your loss"."""
    objective = analyse_objective(_with_offset(_loss_probes("sum", 16), 0.8), _penalty_probes(**penalty),
                                  _optimizer_probes(_sgd(0.1, 0.0)), 16, 0.1, 0.1)
    assert (objective.ok, objective.diagnosis) == (False, diagnosis), objective.text
    for phrase in phrases:
        assert phrase in objective.text, objective.text
    assert "no penalty in your loss" not in objective.text
    assert objective.effective_lambda == [0.0, 0.0]
    # with the decay right, the inert term changes nothing: Eq. 6 as written, the term named for what it is
    decayed = analyse_objective(_with_offset(_loss_probes("sum", 16), 0.8), _penalty_probes(**penalty),
                                _optimizer_probes(_sgd(0.1, 0.2)), 16, 0.1, 0.1)
    assert decayed.ok, decayed.text
    assert ("computed from detached weights, with no gradient" in decayed.text) == (diagnosis == "detached_penalty")


DETACHED = (SUBMISSIONS / "regularized-detached-penalty" / "solution.py").read_text()
ENCODER_ONLY = L2_IN_LOSS.replace("for W in _MODEL.parameters())", "for W in _MODEL[0].parameters())")  # W1 only


@pytest.mark.parametrize("source, diagnosis, lam_eff", [
    (DETACHED, "detached_penalty", [0.0, 0.0]),
    (DETACHED.replace("_MODEL.state_dict().values()", "(p.data for p in _MODEL.parameters())"),
     "detached_penalty", [0.0, 0.0]),
    (DETACHED.replace("_MODEL.state_dict().values()", "(p.detach() for p in _MODEL.parameters())"),
     "detached_penalty", [0.0, 0.0]),
    (DETACHED.replace("_LAM * penalty", "0.5"), "no_weight_decay", [0.0, 0.0]),  # a constant
    (ENCODER_ONLY, "unequal_decay", [0.1, 0.0]),
], ids=["state-dict", "data", "detach", "constant", "encoder-only"])
def test_what_a_penalty_reaches_is_read_from_the_setup(source, diagnosis, lam_eff):
    """The probes, in this process, on penalties that do not reach both weights."""
    assert "state_dict()" in DETACHED and "_MODEL[0].parameters()" in ENCODER_ONLY
    env = _env(source)
    objective = analyse_objective(*(plain_json(probe(env)) for probe in
                                    (probes.probe_loss, probes.probe_penalty, probes.probe_optimizer)), 16, 0.1, 0.1)
    assert objective.diagnosis == diagnosis, objective.text
    assert objective.effective_lambda == pytest.approx(lam_eff, abs=1e-9)
    assert "no penalty in your loss" not in objective.text


@pytest.mark.parametrize("gradient, phrase", [
    (lambda w, i: 0.1 * np.sign(w), "with respect to W1, the prediction held fixed, is not a multiple of W1"),  # l1
    (lambda w, i: 0.4 * np.sum(w * w) * w, "coefficient on ||W1||^2 changes with the weights"),  # ||W||^4
])
def test_a_penalty_in_the_loss_that_is_not_l2_is_named(gradient, phrase):
    objective = analyse_objective(_loss_probes("sum", 16), _penalty_probes(gradient=gradient),
                                  _optimizer_probes(_sgd(0.1, 0.0)), 16, 0.1, 0.1)
    assert objective.diagnosis == "penalty_not_l2" and phrase in objective.text, objective.text


# --------------------------------------------------------------------------- timed training, judged


#: the kit's calibration of the reference on this machine, as the companion hands it to the checks (plain data)
CALIBRATION = {"seconds": 0.25, "steps": 200, "device": "cpu (1 thread)", "steps_per_second": 800.0}


def _gd_run(inputs, lam_eff, *, every=10, max_steps=800, tol=1e-3, frozen=False, nan_at=None):
    """What the driver returns for Eq. 6 with ``lam_eff`` (one for both weights, or a pair: W1's, W2's)
    trained by full-batch gradient descent."""
    lam1, lam2 = (lam_eff, lam_eff) if np.isscalar(lam_eff) else lam_eff
    X, lr = inputs["X"], inputs["lr"]
    cf = closed_form(X, inputs["lam"], inputs["W1_init"].shape[0])
    C = X.T @ X / X.shape[0]
    W1, W2 = inputs["W1_init"].copy(), inputs["W2_init"].copy()
    steps, W1s, W2s, stopped, quiet = [], [], [], "max_steps", 0
    for step in range(max_steps + 1):
        if step % every == 0:
            if W1s:
                moved = np.linalg.norm(W1 - W1s[-1]) + np.linalg.norm(W2 - W2s[-1])
                quiet = quiet + 1 if moved <= 1e-6 * (np.linalg.norm(W1) + np.linalg.norm(W2)) else 0
            steps.append(step)
            W1s.append(W1.copy())
            W2s.append(W2.copy())
            if nan_at is not None and step >= nan_at:
                W1s[-1][:] = np.nan
                stopped = "diverged"
                break
            if distance(W1, W2, cf).value <= tol / 2:
                stopped = "target"
                break
            if quiet >= 3:
                stopped = "stalled"
                break
        if frozen:
            continue
        R = (np.eye(C.shape[0]) - W2 @ W1) @ C
        W1, W2 = W1 - lr * (-2 * W2.T @ R + 2 * lam1 * W1), W2 - lr * (-2 * R @ W1.T + 2 * lam2 * W2)
    return {"steps": steps, "W1": np.stack(W1s), "W2": np.stack(W2s), "loss": [0.0] * len(steps),
            "stopped": stopped, "device": "cpu"}


def _judge(training, seconds_per_step=0.001, *, ticks=None, reference=CALIBRATION, budget_seconds=10.0,
           untimed=None, step_budget=800, device="cpu (1 thread)", loss=None, optimizer=None, structure=None):
    case, inputs, expected = _case()
    if ticks is None:
        ticks = (0.5,) + tuple(0.5 + seconds_per_step * (s + 1) for s in training["steps"])
    value = {"structure": structure or {}, "loss": loss or {}, "penalty": _penalty_probes(), "optimizer": optimizer or {},
             "training": training, "device": device}
    context = {"reference": reference, "untimed": untimed, "budget_seconds": budget_seconds, "capped": False,
               "step_budget": step_budget, "dynamics_steps": 200}
    data = CaseData(case, SPEC.entry(case.entry), inputs, expected, value, ticks, context, KIT)
    return KIT.checks["timed_training"].func(data, TRAINING.params)


def test_the_training_checks_are_the_kits():
    assert {"linear_structure", "effective_objective", "timed_training"} <= set(KIT.checks.names())
    assert not {"linear_structure", "effective_objective", "timed_training"} & set(CHECKS.names())
    assert KIT.find_check("timed_training") is KIT.checks["timed_training"]
    assert "regularized_training" in KIT.drivers and "regularized_training" in KIT.companions
    assert "regularized_training" in KIT.calibrations


def test_time_to_target_is_the_graders_clock():
    _, inputs, _ = _case()
    training = _gd_run(inputs, inputs["lam"])
    fast = _judge(training, seconds_per_step=0.001)
    assert fast.passed, fast.feedback
    assert fast.data["time_to_target"] == pytest.approx(0.001 * (fast.data["steps_to_target"] + 1))
    assert "reference setup took 0.25 s" in fast.feedback and "budget 10 s" in fast.feedback
    assert "on cpu (1 thread)" in fast.feedback
    curve = fast.data["curve"]
    assert len(curve["seconds"]) == len(curve["distance"]) == len(curve["loss"]) == len(training["steps"])
    assert curve["distance"][-1] <= 1e-3 < curve["distance"][0]
    slow = _judge(training, seconds_per_step=0.1)  # the same weights, slower by the grader's clock
    assert not slow.passed and slow.diagnosis == "over_budget" and "over the time budget of 10 s" in slow.feedback


def test_the_budget_and_the_reference_come_from_the_context():
    """The check judges with the companion's budget and the calibration's data; without a calibration (a student
    release) it says so; a calibration that failed leaves a run that trained ungraded, the reason for the staff."""
    from grader.checks import NotGraded

    _, inputs, _ = _case()
    training = _gd_run(inputs, inputs["lam"])
    verdict = _judge(training, reference={**CALIBRATION, "seconds": 1.5, "steps": 321}, budget_seconds=7.5)
    assert verdict.passed and "reference setup took 1.50 s and 321 steps" in verdict.feedback
    assert "budget 7.5 s" in verdict.feedback
    assert verdict.data["reference"] == {**CALIBRATION, "seconds": 1.5, "steps": 321}
    assert verdict.data["budget_seconds"] == 7.5
    release = _judge(training, reference=None, budget_seconds=60.0)
    assert release.passed and "no reference timing here (a student release): budget 60 s" in release.feedback
    assert release.data["reference"] is None
    with pytest.raises(NotGraded) as err:
        _judge(training, reference=None, untimed="on case homework, regularized_ae_ref.py failed: planted")
    assert "machine's failure, not your code's" in str(err.value) and "planted" not in str(err.value)
    assert "planted" in err.value.detail
    not_trained = {"skipped": True, "error": "build_model is missing", "steps": []}  # nothing trained: graded
    verdict = _judge(not_trained, reference=None, untimed="planted")
    assert not verdict.passed and verdict.diagnosis == "not_trained"


def test_the_device_name_from_the_sandbox_is_kept_short():
    _, inputs, _ = _case()
    verdict = _judge(_gd_run(inputs, inputs["lam"]), device="cuda (" + "H" * 10_000 + ")")
    assert verdict.passed and len(verdict.data["device"]) == 80 and len(verdict.feedback) < 1000


def test_progress_events_must_match_the_snapshots():
    _, inputs, _ = _case()
    training = _gd_run(inputs, inputs["lam"])
    ticks = (0.0,) * 3 + tuple(0.001 * s for s in training["steps"])  # forged early ticks
    with pytest.raises(AnswerError) as err:
        _judge(training, ticks=ticks)
    assert err.value.status is Status.ERROR and "interfered" in str(err.value)


def test_a_clean_run_to_another_minimiser_is_explained():
    _, inputs, _ = _case()
    verdict = _judge(_gd_run(inputs, inputs["lam"] / 2, max_steps=2000), step_budget=2000)
    assert not verdict.passed and verdict.diagnosis == "wrong_minimiser"
    assert "lam' = 0.05 = 0.5 * lam" in verdict.feedback and "stopped moving" in verdict.feedback
    assert verdict.data["fitted_lambda"] == pytest.approx(0.05, rel=1e-3)


def test_divergence_no_progress_and_exhausted_budgets_are_reported():
    _, inputs, _ = _case()
    diverged = _judge(_gd_run(inputs, inputs["lam"], nan_at=30))
    assert diverged.diagnosis == "diverged" and "by step 30" in diverged.feedback
    frozen = _judge(_gd_run(inputs, inputs["lam"], frozen=True))
    assert frozen.diagnosis == "no_progress" and "did not move" in frozen.feedback
    cut = _gd_run(inputs, inputs["lam"], max_steps=100)
    cut["stopped"] = "budget"
    timed_out = _judge(cut)
    assert timed_out.diagnosis == "budget_exhausted" and "time budget ran out" in timed_out.feedback
    late = _judge(_gd_run(inputs, inputs["lam"]), step_budget=100)
    assert late.diagnosis == "too_many_steps" and "over the step budget of 100" in late.feedback


def test_an_adaptive_optimizer_that_misses_the_target_is_named():
    """RMSprop with weight_decay = 2 lam has Eq. 6's minimisers (the objective check passes), but at a
    constant learning rate it circles them: the training check says so instead of blaming the objective."""
    _, inputs, _ = _case()
    adaptive = _optimizer_probes(_adam(0.1, 0.2, decoupled=False))
    adaptive["meta"] = {"class": "torch.optim.rmsprop.RMSprop"}
    cut = _gd_run(inputs, inputs["lam"], max_steps=100)
    verdict = _judge(cut, loss=_loss_probes("sum", 16), optimizer=adaptive, step_budget=100)
    assert verdict.diagnosis == "budget_exhausted"
    assert "RMSprop takes adaptive steps: it has Eq. 6's minimisers" in verdict.feedback
    sgd = _judge(cut, loss=_loss_probes("sum", 16), optimizer=_optimizer_probes(_sgd(0.1, 0.2)), step_budget=100)
    assert sgd.diagnosis == "budget_exhausted" and "adaptive" not in sgd.feedback


def test_unpenalised_is_said_only_where_the_objective_reading_says_so():
    """W2's singular values above 1 come both from no penalty at all and from a penalty on W1 alone: the
    training check explains them with the objective's reading, and without one only describes them."""
    _, inputs, _ = _case()
    lam = inputs["lam"]
    encoder_only = _optimizer_probes(_sgd(0.1, 0.2))
    encoder_only["decay"][1] = np.zeros_like(encoder_only["decay"][1])  # weight decay on W1's group only
    encoder_only["both"][1] = encoder_only["gradient"][1]
    run = _gd_run(inputs, (lam, 0.0))
    verdict = _judge(run, loss=_loss_probes("sum", 16), optimizer=encoder_only, structure=_structure_probes())
    assert verdict.diagnosis == "budget_exhausted" and min(distance(run["W1"][-1], run["W2"][-1],
                                                                   from_expected(_case()[2]["closed_form"])).sigma) > 1
    assert "W1 and W2 are penalised differently (effective lambda 0.1 for W1, 0 for W2: see the objective check), " \
           "where Eq. 6 puts lam = 0.1 on both" in verdict.feedback, verdict.feedback
    assert "not penalised" not in verdict.feedback and "lambda = 0" not in verdict.feedback
    assert verdict.data["fitted_lambda"] is None
    unread = _judge(run)  # no reading of the objective: the singular values are described, not explained
    assert "none below 1, where Eq. 6's penalty shrinks them to sqrt(1 - lam/s_i)" in unread.feedback, unread.feedback
    assert "not penalised" not in unread.feedback
    none = _judge(_gd_run(inputs, 0.0), loss=_loss_probes("sum", 16), optimizer=_optimizer_probes(_sgd(0.1, 0.0)),
                  structure=_structure_probes())  # the objective reads no penalty at all: now it is said
    assert "none shrunk below 1" in none.feedback and "the weights are not penalised (as with lambda = 0)" in \
        none.feedback, none.feedback
    assert "detached" not in none.feedback


def _objective_verdict(training, optimizer, mu=0.0, structure=None):
    case, inputs, expected = _case()
    value = {"structure": structure or _structure_probes(), "loss": _loss_probes("sum", 16),
             "penalty": _penalty_probes((mu, mu)), "optimizer": _optimizer_probes(optimizer), "training": training,
             "device": "cpu"}
    data = CaseData(case, SPEC.entry(case.entry), inputs, expected, value, (), {}, KIT)
    check = next(c for c in SPEC.checks if c.check == "effective_objective")
    return KIT.checks["effective_objective"].func(data, check.params)


def test_where_training_contradicts_the_objective_reading_both_are_stated():
    """The objective check never states what the training refutes: where the grader's training of the same
    setup reached Eq. 6's closed form, or settled on another lambda's minimiser, it says the two disagree."""
    _, inputs, _ = _case()
    lam = inputs["lam"]
    right, half = _gd_run(inputs, lam), _gd_run(inputs, lam / 2, max_steps=2000)
    verdict = _objective_verdict(right, _sgd(0.1, 0.0))  # read: no penalty at all; trained: Eq. 6's minimiser
    assert not verdict.passed and verdict.diagnosis == "disagrees_with_training", verdict.feedback
    assert "disagree" in verdict.feedback and "effective lambda 0" in verdict.feedback
    assert "reached Eq. 6's closed form for lam = 0.1" in verdict.feedback
    assert "minimises the reconstruction error alone" not in verdict.feedback  # what the training refutes
    verdict = _objective_verdict(half, _sgd(0.1, 0.2))  # read: Eq. 6; trained: lam/2's minimiser
    assert verdict.diagnosis == "disagrees_with_training" and "exactly as written" not in verdict.feedback
    assert "settled where Eq. 6 with lambda 0.05 = 0.5 * lam" in verdict.feedback
    assert "effective lambda 0.1" in verdict.feedback
    training = _judge(half, loss=_loss_probes("sum", 16), optimizer=_optimizer_probes(_sgd(0.1, 0.2)),
                      step_budget=2000, structure=_structure_probes())
    assert "read your setup differently from what this training shows" in training.feedback
    # where they agree, each check says its own
    agree = _objective_verdict(half, _sgd(0.1, 0.1))
    assert agree.diagnosis == "half_penalty" and "disagree" not in agree.feedback
    assert _objective_verdict(right, _sgd(0.1, 0.2)).passed
    assert _objective_verdict(right, _sgd(0.1, 0.0), mu=lam).passed  # the penalty in the loss
    near = _objective_verdict(right, _sgd(0.1, 0.202))  # lambda 1% off: its closed form is within tolerance
    assert near.diagnosis == "wrong_lambda" and "disagree" not in near.feedback
    bias = _structure_probes()
    bias["weights"]["biases"] = ["0.bias", None]  # the structure explains the training: no comparison
    assert _objective_verdict(right, _sgd(0.1, 0.0), structure=bias).diagnosis == "no_weight_decay"


# --------------------------------------------------------------------------- the samples (graded once)


EXPLAINED = {  # sample -> check -> phrases its feedback must contain (every case)
    "regularized-wd-lam": {"objective": ["weight_decay=lam", "lam/2"],
                           "training": ["not to the minimiser of Eq. 6", "0.5 * lam"]},
    "regularized-mean-2lam": {"objective": ["averages over the m", "m times too large"],
                              "training": ["Yours match sqrt(1 - lam'/s_i)", "* lam: the setup minimises Eq. 6 "
                                                                              "with another lambda"]},
    "regularized-adamw": {"objective": ["AdamW", "decoupled"], "training": ["before the weights reached"]},
    "regularized-no-decay": {"objective": ["no weight decay"], "training": ["not penalised"]},
    "regularized-encoder-decay-only": {
        "objective": ["W1 and W2 are penalised differently", "(W1) and 0 (W2)"],
        "training": ["W1 and W2 are penalised differently (effective lambda", "see the objective check"]},
    "regularized-detached-penalty": {
        "objective": ["computed from detached weights", "penalises nothing", "effective lambda 0"],
        "training": ["the weights are not penalised (as with lambda = 0): your loss's penalty is computed from "
                     "detached weights, so it has no gradient"]},
    "regularized-bias": {"structure": ["bias=False"], "training": ["not in the top-", "the structure check"]},
    "regularized-relu": {"structure": ["not linear", "ReLU"], "training": ["closed form", "the structure check"]},
    "regularized-l1": {"objective": ["L1Loss", "absolute values"]},
    "regularized-cross-entropy": {"objective": ["cross-entropy", "softmax"]},
    "regularized-wrong-params": {"objective": ["does not move the weights"], "training": ["no progress"]},
    "regularized-lr-too-large": {"training": ["diverged", "50 times the grader's lr"]},
    "regularized-mean-unscaled-lr": {"objective": ["exactly as written", "times the grader's lr"],
                                     "training": ["step budget ran out", "effective learning rate"]},
    "regularized-mean-scaled": {"objective": ["exactly as written"], "training": ["reached the closed form"]},
    "regularized-handwritten": {"structure": ["two bias-free linear maps"], "training": ["reached the closed form"]},
    "regularized-detached": {"structure": ["W1 gets no gradient", ".detach()"],
                             "training": ["not to the minimiser of Eq. 6", "the structure check"]},
    "regularized-adam": {"objective": ["exactly as written"], "training": ["reached the closed form"]},
    "regularized-l2-in-loss": {"objective": ["exactly as written", "(a penalty read from the model's weights)",
                                             "the optimizer adds no weight decay"],
                               "training": ["reached the closed form"]},
    "regularized-l2-in-loss-half": {"objective": ["= 0.5 * lam, not lam", "the penalty in the loss must be 1 * lam"],
                                    "training": ["not to the minimiser of Eq. 6", "0.5 * lam",
                                                 "the objective check explains"]},
    "regularized-parameters": {"structure": ["(W1 and W2, told apart by their shapes)"],
                               "training": ["reached the closed form"]},
    "regularized-decoder-first": {"structure": ["(encoder.weight and decoder.weight, told apart by their shapes)"],
                                  "training": ["reached the closed form"]},
    "regularized-noop-parametrization": {"structure": ["two bias-free linear maps", "(0.weight and 1.weight"],
                                         "training": ["reached the closed form"]},
    "regularized-scaled-parametrization": {
        "structure": ["a parametrization changes W1's values (0.weight is computed from "
                      "0.parametrizations.weight.original and differs from it)"],
        "training": ["not trained", "a parametrization changes W1's values"]},
}


def _checks(sample_batch, student):
    result = sample_batch.live[student]
    return [c for p in result.problems if p.problem == PROBLEM for c in p.checks if c.kind == "check"]


@pytest.mark.parametrize("student", sorted(EXPLAINED))
def test_each_setup_gets_its_explanation(sample_batch, student):
    checks = _checks(sample_batch, student)
    assert {c.case for c in checks} == {c.id for c in SPEC.cases}
    for check, phrases in EXPLAINED[student].items():
        for c in (c for c in checks if c.check == check):
            for phrase in phrases:
                assert phrase in c.feedback, (c.case, c.feedback)


NOT_SAID = {  # sample -> check -> phrases its feedback must not contain (every case): what is not true of it
    "regularized-encoder-decay-only": {"training": ["not penalised", "lambda = 0", "none shrunk below 1"]},
    "regularized-detached-penalty": {"objective": ["no penalty in your loss"]},
}


@pytest.mark.parametrize("student", sorted(NOT_SAID))
def test_no_setup_is_told_what_is_not_true_of_it(sample_batch, student):
    checks = _checks(sample_batch, student)
    for check, phrases in NOT_SAID[student].items():
        for c in (c for c in checks if c.check == check):
            for phrase in phrases:
                assert phrase not in c.feedback, (c.case, c.feedback)


@pytest.mark.parametrize("student", ["correct-numpy", "correct-notebook", "regularized-sum-sgd", "regularized-l2-in-loss"])
def test_results_state_the_device_reference_time_budget_and_curve(sample_batch, student):
    checks = _checks(sample_batch, student)
    for c in checks:
        assert c.status is Status.PASSED, c.feedback
    for c in (c for c in checks if c.check == "training"):
        data = c.data
        assert data["device"].startswith(("cpu", "cuda")) and "on " + data["device"] in c.feedback
        assert data["reference"]["seconds"] > 0 and "the reference setup took" in c.feedback
        assert 0 < data["time_to_target"] <= data["budget_seconds"]
        assert data["budget_seconds"] >= TRAINING.params.floor_seconds
        assert data["steps_to_target"] <= data["step_budget"] == 4 * data["dynamics_steps"]
        lam = build_inputs(SPEC, next(x for x in SPEC.cases if x.id == c.case))["lam"]
        assert data["effective_lambda"] == pytest.approx([lam, lam], rel=1e-4)
        assert data["curve"]["distance"][-1] <= TRAINING.params.tol
        assert data["steps_per_second"] > 0
    objective = next(c for c in checks if c.check == "objective")
    assert objective.data["loss"] == "squared" and objective.data["optimizer"] == "SGD"
    # the gradebook keeps the data as JSON: the stored results (which the reports are written from) have it
    stored = next(r for r in sample_batch.batch.results if r.student == student)
    stored_checks = [c for p in stored.problems if p.problem == PROBLEM for c in p.checks if c.kind == "check"]
    assert [c.data for c in stored_checks] == [plain_json(c.data) for c in checks]
    [view] = report.timed_views(stored_checks)  # the student report draws the curves, one line per case
    assert [chart.title for chart in view.charts] == ["Distance to the closed form", "Eq. 6's loss above its minimum"]
    for chart in view.charts:
        assert {line.name for line in chart.lines} == {c.id for c in SPEC.cases}
    assert [g.name for g in view.charts[0].guides] == [f"tolerance {TRAINING.params.tol:g}"]
    for case in view.cases:
        assert case.device.startswith(("cpu", "cuda")) and case.within_budget and case.status == "passed"
        assert 0 < case.reference_seconds <= case.budget_seconds and case.reference_steps > 0
    html = (sample_batch.batch.out / "students" / student / "report.html").read_text(encoding="utf-8")
    assert "Timed training" in html and html.count("<polyline") >= 2 * len(SPEC.cases)
    assert "Distance to the closed form" in html and "tolerance 0.001" in html


def test_the_class_summary_shows_time_to_target(sample_batch):
    html = (sample_batch.batch.out / "index.html").read_text(encoding="utf-8")
    assert 'id="timed"' in html and "Timed training: time to target" in html
    summaries = report.timed_summaries(sample_batch.batch.results)
    assert [(t.problem, t.check) for t in summaries] == [(PROBLEM, "training")] * len(SPEC.cases)
    assert {t.case for t in summaries} == {c.id for c in SPEC.cases}
    for t in summaries:
        passed = [r for r in sample_batch.batch.results for p in r.problems if p.problem == PROBLEM
                  for c in p.checks if c.check == "training" and c.case == t.case and c.status is Status.PASSED]
        assert t.within_budget == len(passed) > 0 and t.runs > t.within_budget
        assert t.chart.total == t.reached >= t.within_budget and t.median_seconds <= t.budget_seconds
        assert t.reference_seconds > 0 and dict(t.missed).get("diverged", 0) >= 1  # regularized-lr-too-large
        assert sum(n for _, n in t.missed) == t.runs - t.within_budget
        assert f"{t.case}" in html


def test_validate_gives_the_reference_full_marks_and_the_spec_reads_well():
    entry = SPEC.entry("regularized_ae")
    assert entry.driver == "regularized_training" and entry.signature.startswith("build_model(m, k)")
    assert SPEC.points == sum(c.points for c in SPEC.checks) + sum(q.points for q in SPEC.questions)
    assert SPEC.limits.gpu


def test_unknown_driver_is_a_spec_error(tmp_path):
    copy = tmp_path / "a"
    shutil.copytree(ASSIGNMENT, copy)
    spec = copy / f"{PROBLEM}.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("driver: regularized_training", "driver: no_such_driver"))
    with pytest.raises(SpecError, match="no driver 'no_such_driver'"):
        load_assignment(copy)
    spec.write_text(text.replace("driver: regularized_training", "driver: _regularized_probes"))  # a helper
    with pytest.raises(SpecError, match="driver"):
        load_assignment(copy)


# --------------------------------------------------------------------------- through the sandbox again


@pytest.fixture(scope="module")
def pool():
    if isolation.bwrap_problem() is not None:
        yield None  # fresh processes instead (slower: torch is imported per process)
        return
    from grader.sandbox.pool import WarmPool

    with WarmPool(1, [ASSIGNMENT, SUBMISSIONS], modules=KIT.sandbox_modules) as warm:
        yield warm


def _grade(source: str, pool, book: CaseBook, assignment=None, problem=None, calibrations: Calibrations | None = None):
    """``problem`` graded in a session of its own, or in the one whose ``calibrations`` are given."""
    problem = problem or SPEC
    options = RunOptions(ALL, "auto", (ASSIGNMENT, SUBMISSIONS), pool, calibrations or Calibrations())
    from grader.grading import grade_problem

    return grade_problem(problem, SourceFile(source, "solution.py"), book, options)


@pytest.mark.slow
def test_the_reference_never_misses_its_budget_and_a_wrong_setup_never_passes(pool):
    book, calibrations = CaseBook(), Calibrations()  # one session: the reference is calibrated once per case
    reference = SPEC.reference.read_text()
    for _ in range(4):
        result = _grade(reference, pool, book, calibrations=calibrations)
        assert result.score == result.max_score, [c.feedback for c in result.checks if c.status is not Status.PASSED]
        for c in (c for c in result.checks if c.check == "training"):
            assert c.data["time_to_target"] <= c.data["budget_seconds"]
            assert c.data["steps_to_target"] <= c.data["step_budget"]
    wrong = (SUBMISSIONS / "regularized-wd-lam" / "solution.py").read_text()
    seen = set()
    for _ in range(2):
        result = _grade(wrong, pool, book, calibrations=calibrations)
        seen.add(tuple((c.check, c.case, c.status, c.diagnosis) for c in result.checks))
    assert len(seen) == 1
    measured = calibrations.measured()  # each case calibrated once in the session, never failed
    assert set(measured) == {(PROBLEM, c.id) for c in SPEC.cases}
    assert all(error is None and data["seconds"] > 0 for data, error in measured.values())
    assert {(check, status) for check, _, status, _ in seen.pop()} == {
        ("structure", Status.PASSED), ("objective", Status.FAILED), ("training", Status.FAILED)}


def _small_budget_problem(tmp_path):
    """The problem with its public case only and a 1 s floor, so that slow steps miss the time budget."""
    copy = tmp_path / "assignment"
    shutil.copytree(ASSIGNMENT, copy)
    spec = copy / f"{PROBLEM}.yaml"
    text = spec.read_text()
    text = "\n".join(line for line in text.splitlines() if "id: hidden-spectrum" not in line) + "\n"
    text = text.replace("floor_seconds: 10 ", "floor_seconds: 1 ").replace("multiple: 5 ", "multiple: 2 ")
    spec.write_text(text)
    return load_assignment(copy).problem(PROBLEM)


SLOW_AND_LYING = textwrap.dedent('''
    import time
    import torch
    from torch import nn

    time.perf_counter = lambda: 0.0  # the driver's own clock now never advances
    time.monotonic = lambda: 0.0
    time.time = lambda: 0.0


    class Slow(nn.Sequential):
        def forward(self, x):
            end = 0
            for _ in range(300000):  # busy work: about 10 ms or more per step
                end += 1
            return super().forward(x)


    def build_model(m, k):
        return Slow(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))


    def build_loss():
        return nn.MSELoss(reduction="sum")


    def build_optimizer(model, lam, lr):
        return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=2 * lam)
''')

FORGED_TICKS = textwrap.dedent('''
    import os
    import torch
    from torch import nn


    def _pipes():
        for fd in range(3, 64):
            try:
                if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                    yield fd
            except OSError:
                pass


    class Forging(torch.optim.SGD):
        def step(self, closure=None):
            for fd in _pipes():  # pretend the snapshots were taken earlier than they were
                try:
                    os.write(fd, b"tick\\n")
                except OSError:
                    pass
            return super().step(closure)


    def build_model(m, k):
        return nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))


    def build_loss():
        return nn.MSELoss(reduction="sum")


    def build_optimizer(model, lam, lr):
        return Forging(model.parameters(), lr=lr, weight_decay=2 * lam)
''')


SOLVES_IN_FORWARD = textwrap.dedent('''
    import sys
    import torch
    from torch import nn

    DISABLE_GUARD = False


    class Solver(nn.Module):
        """x -> W2 W1 x, but on the grader's training batch it writes Eq. 6's closed form into its weights."""

        def __init__(self, m, k):
            super().__init__()
            self.enc, self.dec, self.lam = nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False), 0.1

        def forward(self, x):
            if x.shape[0] > 64:
                if DISABLE_GUARD:  # find the driver's frame and switch its weight check off
                    frame = sys._getframe(1)
                    while frame is not None:
                        if "_changed" in frame.f_globals:
                            frame.f_globals["_changed"] = lambda *args: torch.zeros((), dtype=torch.bool)
                        frame = frame.f_back
                with torch.no_grad():
                    s, U = torch.linalg.eigh(x.T.double() @ x.double() / x.shape[0])
                    k = self.enc.out_features
                    W2 = U.flip(1)[:, :k] * torch.sqrt(torch.clamp(1 - self.lam / s.flip(0)[:k], min=0))
                    self.dec.weight.copy_(W2.to(x.dtype))
                    self.enc.weight.copy_(W2.T.to(x.dtype))
            return self.dec(self.enc(x))


    def build_model(m, k):
        return Solver(m, k)


    def build_loss():
        return nn.MSELoss(reduction="sum")


    def build_optimizer(model, lam, lr):
        model.lam = lam
        return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=2 * lam)
''')


@pytest.mark.slow
@pytest.mark.parametrize("disable_guard, phrase", [(False, "changed outside optimizer.step()"),
                                                   (True, "not the grader's initial weights")])
def test_a_model_that_writes_the_answer_into_its_weights_gains_nothing(pool, disable_guard, phrase):
    """The sandbox's own check stops a setup whose forward pass changes W1 and W2; one that also switches
    that check off is caught on the grader's side (the first snapshot is not the grader's initial weights)."""
    source = SOLVES_IN_FORWARD.replace("DISABLE_GUARD = False", f"DISABLE_GUARD = {disable_guard}")
    result = _grade(source, pool, CaseBook())
    for c in (c for c in result.checks if c.check == "training"):
        assert c.score == 0 and c.status in (Status.FAILED, Status.ERROR), c.feedback
        assert phrase in c.feedback, c.feedback
    assert all(c.status is Status.PASSED for c in result.checks if c.check == "objective")


def test_a_first_snapshot_away_from_the_initial_weights_is_interference():
    _, inputs, _ = _case()
    run = _gd_run(inputs, inputs["lam"])
    assert _judge(run).passed
    run["W2"] = run["W2"].copy()
    run["W2"][0] = run["W2"][-1]  # the weights already at the end before the first step
    with pytest.raises(AnswerError, match="not the grader's initial weights.*interfered"):
        _judge(run)


@pytest.mark.slow
def test_patching_time_in_the_sandbox_gains_nothing(tmp_path, pool):
    problem = _small_budget_problem(tmp_path)
    result = _grade(SLOW_AND_LYING, pool, CaseBook(), problem=problem)
    training = next(c for c in result.checks if c.check == "training")
    assert training.status is Status.FAILED, training.feedback
    assert training.diagnosis in ("over_budget", "budget_exhausted"), training.feedback
    assert training.data["curve"]["seconds"][-1] > training.data["budget_seconds"]
    objective = next(c for c in result.checks if c.check == "objective")
    assert objective.status is Status.PASSED  # the setup is right; only its time is not


@pytest.mark.slow
def test_forged_progress_events_are_interference(tmp_path, pool):
    problem = _small_budget_problem(tmp_path)
    result = _grade(FORGED_TICKS, pool, CaseBook(), problem=problem)
    training = next(c for c in result.checks if c.check == "training")
    assert training.status is Status.ERROR and "interfered" in training.feedback and training.score == 0


@pytest.mark.slow
def test_a_student_release_checks_the_setup_without_a_reference(tmp_path):
    from grader.release import release_assignment

    out = tmp_path / "handout"
    release_assignment(ASSIGNMENT, out)
    assert "build_model(m, k) -> torch.nn.Module" in (out / "README.md").read_text()
    result = check_submission(SUBMISSIONS / "regularized-sum-sgd", out, problems=[PROBLEM])
    checks = [c for c in result.problems[0].checks if c.kind == "check"]
    assert checks and all(c.status is Status.PASSED for c in checks), [c.feedback for c in checks]
    training = next(c for c in checks if c.check == "training")
    assert "no reference timing here" in training.feedback


@pytest.mark.gpu
def test_training_runs_on_the_gpu_when_there_is_one(pool, tmp_path):
    """On a GPU machine: graded on CUDA in warm workers that see the GPU (when bubblewrap gives warm workers),
    and in a fresh sandbox per submission; a setup that builds its model on the GPU itself (the usual
    ``device = "cuda" if torch.cuda.is_available() else "cpu"``) is graded the same."""
    if not gpu_devices.devices():
        pytest.skip("no NVIDIA GPU on this machine")
    if pool is not None:
        found = gpu.probe_warm(SPEC.limits, pool.for_gpu())
        assert found.usable, found.describe()
    on_gpu = tmp_path / "submissions" / "builds-on-gpu"
    shutil.copytree(SUBMISSIONS / "regularized-sum-sgd", on_gpu)
    code = (on_gpu / "solution.py").read_text()
    (on_gpu / "solution.py").write_text(code.replace(
        "return nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))",
        "device = 'cuda' if torch.cuda.is_available() else 'cpu'\n"
        "    return nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False)).to(device)"))
    assert "to(device)" in (on_gpu / "solution.py").read_text()
    for chosen, student in ([(pool, SUBMISSIONS / "regularized-sum-sgd")] if pool is not None else []) + \
            [(None, SUBMISSIONS / "regularized-sum-sgd"), (pool, on_gpu)]:
        result = grade_submission(student, load_assignment(ASSIGNMENT), problems=[SPEC],
                                  options=RunOptions(ALL, "auto", (ASSIGNMENT, student.parent), chosen))
        checks = [c for c in result.problems[0].checks if c.kind == "check"]
        assert all(c.status is Status.PASSED for c in checks), [c.feedback for c in checks]
        for c in (c for c in checks if c.check == "training"):
            assert c.data["device"].startswith("cuda"), c.data["device"]
            assert c.data["reference"]["device"].startswith("cuda")
