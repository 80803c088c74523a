"""What the student's setup minimises, read from the driver's probes: the per-point objective that the loss
(with anything it adds on the weights themselves) and the optimizer's weight decay minimise together (the
effective lambda). The model's structure is :mod:`structure`'s.

Every probe builds the setup afresh, model then loss then optimizer as the training does, so a setup reads
the same on every case. A loss that is c ||prediction - target||^2 on one point (c > 0), plus mu (||W1||^2 +
||W2||^2) read from the model's weights (a penalty in the loss: its gradient with respect to the weights,
the prediction held fixed, is 2 mu W), with an optimizer whose update is preconditioned gradient descent on
the mean of that loss over the points plus (omega / 2) ||W||^2 (the decay coupled to the gradient, as in
SGD's or Adam's ``weight_decay``), minimises, per point,

    c ||x - W2 W1 x||^2 + (mu + omega / 2) (||W1||^2 + ||W2||^2) = c (||x - W2 W1 x||^2 + lam_eff (...)),

with lam_eff = (2 mu + omega) / (2 c): the summand of Eq. 6 up to the positive factor c exactly when
lam_eff = lam, for both weights (``MSELoss(reduction='sum')`` with ``SGD(weight_decay=2*lam)``, or the
penalty lam (||W1||^2 + ||W2||^2) in the loss with plain SGD). Decoupled decay (AdamW) shrinks the weights
outside the adaptive step: no penalty added to the loss has its fixed points, so it does not minimise Eq. 6.
A penalty computed from detached weights (``.data``, ``.detach()``, ``state_dict()``) changes the loss's value
with the weights but sends them no gradient: it is named as such (``detached_penalty``), not as no penalty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .gaps import LINEAR_RTOL, short_class
from .gaps import as_array as _arr
from .gaps import relative_gap as _rel


# --------------------------------------------------------------------------- loss


@dataclass
class LossReport:
    kind: str  #: "squared" (c ||r||^2), "l1", "cross_entropy", "other", "error"
    scale: float | None = None  #: c, for "squared"
    text: str = ""  #: what the loss is, in words
    batch: str | None = None  #: "sum" or "mean" over a batch, when known
    offset: float = 0.0  #: what the loss adds that does not depend on the prediction (a penalty's value, a constant)


def analyse_loss(data: dict, m: int) -> LossReport:
    if "error" in data:
        return LossReport("error", text=f"build_loss() or calling the loss on one point failed: {data['error']}")
    r = _arr(data["residuals"])
    t = _arr(data["targets"])
    values = _arr(data["values"])
    grads = _arr(data["grads"])
    zero = _arr(data["zero"])
    sq = np.sum(r * r, axis=1)
    offset = float(zero[0])  # the loss at a zero residual: a penalty on the weights, a constant, or 0
    c_all = (values - offset) / sq
    c = float(np.median(c_all))
    batch = None
    if "pair" in data and np.all(np.isfinite(values[:2])):
        ratio = float(data["pair"]) / max(float(values[0] + values[1]), 1e-300)
        batch = "sum" if abs(ratio - 1) < 1e-3 else "mean" if abs(ratio - 0.5) < 1e-3 else None
    tol = 1e-5 if data.get("dtype") == "float64" else 1e-4
    small = abs(c) * float(np.min(sq))  # the smallest squared-error term the probes see
    if abs(offset) <= tol * small:
        offset = 0.0
    steady = bool(np.all(np.abs(zero - zero[0]) <= tol * max(abs(float(zero[0])), small, 1e-300)))
    if (c > 0 and steady and np.all(np.abs(c_all - c) <= tol * c)
            and _rel(grads, 2 * c * r) <= 10 * tol and _rel(_arr(data["shifted"]), values[:3]) <= 10 * tol):
        text = f"{c:.6g} ||prediction - target||^2" + (f" + {offset:.6g}" if offset else "")
        return LossReport("squared", c, text, batch, offset)
    l1 = (values - offset) / np.sum(np.abs(r), axis=1)
    if steady and np.all(np.abs(l1 - np.median(l1)) <= tol * abs(np.median(l1))) and np.median(l1) > 0:
        return LossReport("l1", float(np.median(l1)), f"{np.median(l1):.6g} ||prediction - target||_1", batch, offset)
    p = t + r
    log_softmax = p - np.log(np.sum(np.exp(p - p.max(axis=1, keepdims=True)), axis=1, keepdims=True)) \
        - p.max(axis=1, keepdims=True)
    ce = -np.sum(t * log_softmax, axis=1)
    if _rel(values, ce) <= 10 * tol:
        return LossReport("cross_entropy", text="the cross-entropy of softmax(prediction) against the target",
                          batch=batch)
    doubled = (_arr(data["double"]) - offset) / (values[:3] - offset)
    return LossReport("other", text=f"not a multiple of ||prediction - target||^2 (doubling the residual "
                                    f"multiplies it by {np.median(doubled):.3g}, where a squared error gives 4)",
                      batch=batch, offset=offset)


# --------------------------------------------------------------------------- a penalty in the loss


@dataclass
class PenaltyReport:
    kind: str  #: "none", "l2" (mu ||W||^2 per weight), "other", "error"
    mu: list[float] = field(default_factory=lambda: [0.0, 0.0])  #: per weight (W1, W2): the loss adds mu ||W||^2
    text: str = ""
    grader_model: bool = False  #: read on the grader's plain model (the student's W1 and W2 cannot be set)
    #: the loss changes with the weights' values but sends them no gradient (a penalty computed from detached
    #: weights: ``.data``, ``.detach()``, ``state_dict()``); read only where both weights are trainable
    detached: bool = False


def analyse_penalty(data: dict) -> PenaltyReport:
    """What the loss adds on the weights themselves, from its gradient with respect to W1 and W2 with the
    predictions held fixed, at two sets of weights: 2 mu W for a penalty mu ||W||^2."""
    if "error" in data:
        return PenaltyReport("error", text=f"calling your loss to read what it adds on the weights failed: "
                                           f"{data['error']}")
    grader_model = bool(data.get("grader_model"))
    mus: list[list[float]] = [[], []]
    for trial in data["trials"]:
        for i in range(2):
            w, g = _arr(trial["w"][i]), trial["grads"][i]
            if g is None or not np.any(_arr(g)):
                mus[i].append(0.0)
                continue
            g = _arr(g)
            mu = float(np.sum(g * w) / (2 * np.sum(w * w)))
            if _rel(g, 2 * mu * w) > LINEAR_RTOL:
                return PenaltyReport("other", text=f"its gradient with respect to {('W1', 'W2')[i]}, the prediction "
                                                   f"held fixed, is not a multiple of {('W1', 'W2')[i]} (as "
                                                   "mu ||W||^2's is)", grader_model=grader_model)
            mus[i].append(mu)
    for i, found in enumerate(mus):
        if max(found) - min(found) > LINEAR_RTOL * max(abs(v) for v in found):
            return PenaltyReport("other", text=f"its coefficient on ||{('W1', 'W2')[i]}||^2 changes with the weights "
                                               f"({found[0]:.6g}, then {found[1]:.6g}): not a quadratic penalty",
                                 grader_model=grader_model)
    mu = [float(np.mean(found)) + 0.0 for found in mus]
    if all(v == 0 for v in mu):
        return PenaltyReport("none", [0.0, 0.0], "nothing on the weights themselves", grader_model,
                             detached=not grader_model and _moves_without_gradient(data["trials"]))
    equal = abs(mu[0] - mu[1]) <= 1e-4 * max(map(abs, mu))
    text = f"{_pair(mu)} (||W1||^2 + ||W2||^2)" if equal else f"{mu[0]:.6g} ||W1||^2 + {mu[1]:.6g} ||W2||^2"
    return PenaltyReport("l2", mu, text, grader_model)


def _moves_without_gradient(trials: list[dict]) -> bool:
    """The loss at a zero residual differs between the trials' weights although it sent neither weight a
    gradient: it reads the weights' values outside autograd. False where not measured, or where a weight is
    frozen (no gradient for another reason: the structure check's business)."""
    zeros = [trial.get("zero") for trial in trials]
    if len(zeros) < 2 or not all(isinstance(z, (int, float)) and np.isfinite(z) for z in zeros):
        return False
    if not all(all(trial.get("trainable") or [False]) for trial in trials):
        return False
    return abs(zeros[0] - zeros[1]) > 1e-6 * max(abs(zeros[0]), abs(zeros[1]))


# --------------------------------------------------------------------------- optimizer


@dataclass
class OptimizerReport:
    kind: str  #: "gradient" (SGD-like), "coupled" (adaptive, decay in the gradient), "decoupled", "none", "error", "other"
    omega: list[float | None] = field(default_factory=list)  #: the decay coefficient per weight (W1, W2)
    step: list[float | None] = field(default_factory=list)  #: the step size per weight (gradient kind)
    momentum: float | None = None
    name: str = ""
    text: str = ""


def analyse_optimizer(data: dict) -> OptimizerReport:
    if "error" in data:
        return OptimizerReport("error", text=f"build_optimizer(model, lam, lr) or its step() failed: {data['error']}")
    meta = data.get("meta") or {}
    name = short_class(str(meta.get("class", "optimizer")))
    w0 = [_arr(w) for w in data["w0"]]
    G = [_arr(g) for g in data["G"]]
    decay = [_arr(d) for d in data["decay"]]
    grad = [_arr(d) for d in data["gradient"]]
    double = [_arr(d) for d in data["double"]]
    both = [_arr(d) for d in data["both"]]
    alpha = [-float(np.sum(d * g) / np.sum(g * g)) for d, g in zip(grad, G)]
    beta = [-float(np.sum(d * w) / np.sum(w * w)) for d, w in zip(decay, w0)]
    moved = max(float(np.linalg.norm(d)) for d in grad)
    if moved == 0 and all(float(np.linalg.norm(d)) == 0 for d in decay):
        return OptimizerReport("none", name=name, text=f"{name}.step() does not move the weights at all "
                               "(a learning rate of 0, or the optimizer is not given the model's parameters?)")
    linear = all(_rel(d, -a * g) <= LINEAR_RTOL for d, a, g in zip(grad, alpha, G)) and \
        all(_rel(d2, 2 * d) <= LINEAR_RTOL for d2, d in zip(double, grad))
    additive = all(_rel(b, d + g) <= LINEAR_RTOL for b, d, g in zip(both, decay, grad))
    proportional = all(float(np.linalg.norm(d)) == 0 or _rel(d, -bt * w) <= LINEAR_RTOL
                       for d, bt, w in zip(decay, beta, w0))
    no_decay = all(float(np.linalg.norm(d)) <= 1e-12 * max(float(np.linalg.norm(w)), 1.0) for d, w in zip(decay, w0))
    momentum = None
    twice = data.get("twice")
    if twice and linear:
        second = [_arr(d) for d in twice[1]]
        first = [_arr(d) for d in twice[0]]
        # first step: -a G; second: -a (G + mu G - omega a G), the decay acting on the moved weights
        omega_w2 = beta[1] / alpha[1] if alpha[1] > 0 else 0.0
        momentum = float(np.sum(second[1] * G[1]) / np.sum(first[1] * G[1])) - 1.0 + omega_w2 * alpha[1]
    if linear and additive and all(a > 0 for a in alpha):
        omega = [max(b / a, 0.0) + 0.0 if proportional else None for a, b in zip(alpha, beta)]  # no -0.0
        kind = "gradient" if proportional else "other"
        text = (f"{name} steps along the gradient (step {alpha[0]:.6g} for W1, {alpha[1]:.6g} for W2) and its "
                f"decay adds omega W to it (omega = {_fmt(omega[0])} for W1, {_fmt(omega[1])} for W2)")
        if not proportional:
            text = f"{name}'s update with no data gradient is not a multiple of the weights"
        return OptimizerReport(kind, omega, alpha, momentum, name, text)
    if not all(a > 0 for a in alpha):
        return OptimizerReport("other", name=name, text=f"{name}.step() does not move the weights against the "
                               "gradient (maximize=True, or a negative learning rate?)")
    if no_decay:
        return OptimizerReport("coupled", [0.0, 0.0], [], None, name, f"{name} (an adaptive step) with no decay")
    if proportional and additive:
        return OptimizerReport("decoupled", [], [], None, name,
                               f"{name} shrinks the weights directly (decoupled weight decay, "
                               f"lr * wd = {_fmt(beta[0])})")
    stationary = data.get("stationary") or []
    omega = [float(s["omega"]) if s.get("found") and s.get("omega") is not None else None for s in stationary]
    if len(omega) != 2 or any(o is None for o in omega):
        return OptimizerReport("other", name=name, text=f"no data gradient makes {name}'s step stand still: "
                               "its decay is not the gradient of a penalty")
    return OptimizerReport("coupled", omega, [], None, name,
                           f"{name} (an adaptive step) with the decay omega W added to the gradient "
                           f"(omega = {_fmt(omega[0])} for W1, {_fmt(omega[1])} for W2)")


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value + 0.0:.6g}"  # + 0.0: -0.0 reads as 0


# --------------------------------------------------------------------------- the effective objective


@dataclass
class Objective:
    ok: bool
    text: str  #: what the setup minimises, and why that is or is not Eq. 6
    diagnosis: str | None
    loss: LossReport
    optimizer: OptimizerReport
    effective_lambda: list[float | None]  #: per weight (W1, W2)
    lr_ratio: float | None = None  #: the effective step on Eq. 6's summand over the grader's lr (gradient kind)
    penalty: PenaltyReport | None = None
    reading: str = ""  #: what the probes measured, without a verdict (for explanations that must not judge)

    def data(self) -> dict[str, Any]:
        return {"effective_lambda": self.effective_lambda, "loss": self.loss.kind, "loss_scale": self.loss.scale,
                "loss_batch": self.loss.batch, "optimizer": self.optimizer.name, "optimizer_kind": self.optimizer.kind,
                "weight_decay": self.optimizer.omega, "lr_ratio": self.lr_ratio, "momentum": self.optimizer.momentum,
                "loss_penalty": None if self.penalty is None else self.penalty.mu}


def analyse_objective(loss_data: dict, penalty_data: dict, optimizer_data: dict, m: int, lam: float, lr: float,
                      rtol: float = 1e-3) -> Objective:
    loss = analyse_loss(loss_data, m)
    pen = analyse_penalty(penalty_data)
    opt = analyse_optimizer(optimizer_data)

    def made(ok: bool, text: str, diagnosis: str | None, lam_eff=(None, None), ratio=None, reading=None) -> Objective:
        return Objective(ok, text, diagnosis, loss, opt, list(lam_eff), ratio, pen, reading or text)

    if loss.kind == "error":
        return made(False, loss.text, "loss_error")
    if opt.kind == "error":
        return made(False, opt.text, "optimizer_error")
    if loss.kind == "l1":
        return made(False, "your loss is nn.L1Loss-like: per point it is " + loss.text + ", the absolute "
                    "values of the residual, not its squared norm ||x - W2 W1 x||^2 as in Eq. 6, so the "
                    "minimisers differ; use nn.MSELoss(reduction='sum')", "l1_loss",
                    reading=f"per point your loss is {loss.text}")
    if loss.kind == "cross_entropy":
        return made(False, "your loss is cross-entropy: it treats the model's outputs as class scores "
                    "(softmax) and the target as class probabilities, but Eq. 6 reconstructs x with a squared "
                    "error ||x - W2 W1 x||^2; use nn.MSELoss(reduction='sum')", "cross_entropy",
                    reading=f"your loss is {loss.text}")
    if loss.kind != "squared":
        return made(False, f"your loss is {loss.text}; Eq. 6's per-point loss is ||x - W2 W1 x||^2 (up to a "
                    "positive factor)", "not_squared_error", reading=f"your loss is {loss.text}")
    if pen.kind == "error":
        return made(False, pen.text, "loss_error")
    if pen.kind == "other":
        return made(False, f"your loss adds a term on the weights that is not an l2 penalty: {pen.text}; Eq. 6 "
                    "adds exactly lam ||W1||^2 + lam ||W2||^2 to each point's ||x - W2 W1 x||^2 (use the "
                    "optimizer's weight_decay=2*lam, or add lam * (||W1||^2 + ||W2||^2) to the loss)",
                    "penalty_not_l2", reading=f"your loss adds a term on the weights: {pen.text}")
    c = float(loss.scale)
    if opt.kind == "decoupled":
        return made(False, f"{opt.text}: decoupled weight decay is applied outside the adaptive step, so it "
                    "is not the gradient of a penalty lam ||W||^2 added to the loss, and the setup's fixed "
                    "points are not Eq. 6's minimisers; use SGD(weight_decay=2*lam) (the decay coupled to "
                    "the gradient)", "decoupled_decay", reading=opt.text)
    if opt.kind in ("none", "other"):
        return made(False, opt.text, "optimizer_not_gradient")
    omega = [float(o) for o in opt.omega]
    mu = pen.mu
    lam_eff = [(2 * u + o) / (2 * c) + 0.0 for u, o in zip(mu, omega)]  # + 0.0: no "-0" when there is no penalty
    ratio = None
    if opt.kind == "gradient":
        ratio = float(np.mean(opt.step)) * c / lr
    in_loss = any(u != 0 for u in mu)
    decays = any(o != 0 for o in omega)
    loss_text = f"{c:.6g} ||prediction - target||^2"
    if in_loss:
        loss_text += f" + {pen.text} (a penalty read from the model's weights),"
    elif pen.detached:
        loss_text += (f" + {loss.offset:.6g} (at the probe's weights: a term computed from detached weights, with "
                      "no gradient, so it does not change the minimiser)")
    elif loss.offset:
        loss_text += f" + {loss.offset:.6g} (a constant: it does not change the minimiser)"
    decay_text = (f"the weight decay adds (omega/2)||W||^2 with omega = {_pair(omega)}" if decays or not in_loss
                  else "the optimizer adds no weight decay")
    per_point = (f"per point your loss is {loss_text} and {decay_text}: {c:.6g} (||x - W2 W1 x||^2 + lam_eff "
                 f"(||W1||^2 + ||W2||^2)) with effective lambda {_pair(lam_eff)}")
    if pen.grader_model:
        per_point += (" (what the loss adds on the weights was read on a plain model of the grader's, since "
                      "your W1 and W2 cannot be set: see the structure check)")
    source = ("the penalty in your loss and the weight decay together" if in_loss and decays else
              "the penalty in your loss" if in_loss else "the weight decay")

    def result(ok: bool, text: str, diagnosis: str | None) -> Objective:
        return made(ok, text, diagnosis, lam_eff, ratio, per_point)

    match = [abs(le - lam) <= rtol * lam for le in lam_eff]
    if all(match):
        text = f"minimises Eq. 6 exactly as written (lam = {lam:g}): {per_point}"
        if ratio is not None and abs(ratio - 1) > 1e-3:
            text += (f". Note: your effective learning rate on Eq. 6's summand is {ratio:.4g} times the grader's "
                     f"lr = {lr:g} (the loss factor {c:.4g} times your step {float(np.mean(opt.step)):.4g})")
        return result(True, text, None)
    if not in_loss and not decays:
        alone = (f"your setup minimises the reconstruction error alone (effective lambda 0, Eq. 6 has "
                 f"lam = {lam:g})")
        if pen.detached:
            return result(False, f"your loss adds a penalty that changes with the weights but sends them no "
                          f"gradient: it is computed from detached weights (.data, .detach(), state_dict(), numpy "
                          f"or torch.no_grad()), so autograd sees a constant and it penalises nothing; with no "
                          f"weight decay either, {alone}; compute the penalty from the parameters themselves "
                          f"(sum((W ** 2).sum() for W in model.parameters())), or use the optimizer's "
                          f"weight_decay=2*lam (with MSELoss(reduction='sum'))", "detached_penalty")
        if loss.offset:
            return result(False, f"your loss adds a term ({loss.offset:.6g} at the probe's weights) that does not "
                          f"change with the weights as autograd sees them (a constant, or a penalty computed from "
                          f"detached weights: .data, .detach() or state_dict()), so it penalises nothing; with no "
                          f"weight decay either, {alone}; add weight_decay=2*lam to the optimizer (with "
                          f"MSELoss(reduction='sum')), or compute a penalty from model.parameters()",
                          "no_weight_decay")
        return result(False, f"no weight decay, and no penalty in your loss: neither the optimizer nor the loss "
                      f"penalises the weights, so {alone}; add weight_decay=2*lam to the optimizer (with "
                      f"MSELoss(reduction='sum'))", "no_weight_decay")
    if abs(lam_eff[0] - lam_eff[1]) > rtol * max(abs(v) for v in lam_eff):
        return result(False, f"W1 and W2 are penalised differently (effective lambda {lam_eff[0]:.6g} for W1, "
                      f"{lam_eff[1]:.6g} for W2); Eq. 6 puts lam = {lam:g} on both: {per_point}", "unequal_decay")
    ratio_lam = lam_eff[0] / lam
    if not in_loss and abs(ratio_lam - 0.5) <= rtol and abs(c - 1) <= rtol:
        return result(False, f"weight_decay=lam gives a (lam/2)||W||^2 penalty: PyTorch's weight decay wd adds "
                      f"wd * W to the gradient, the gradient of (wd/2)||W||^2, so your effective lambda is "
                      f"{lam_eff[0]:.6g} = lam/2; use weight_decay=2*lam", "half_penalty")
    if abs(c * m - 1) <= rtol and abs(ratio_lam - m) <= rtol * m:
        fix = ("use MSELoss(reduction='sum') with weight_decay=2*lam, or keep the mean and set "
               "weight_decay=2*lam/m (and scale the learning rate by m)" if not in_loss else
               "use a summed squared error (MSELoss(reduction='sum')) with the penalty lam (||W1||^2 + ||W2||^2), "
               "or keep the mean and divide the penalty by m too (and scale the learning rate by m)")
        return result(False, f"nn.MSELoss() averages over the m = {m} entries of a point, so your loss is "
                      f"||x - W2 W1 x||^2 / {m} while {source} still adds lam ||W||^2: the effective "
                      f"lambda is {lam_eff[0]:.6g} = {m} * lam, m times too large; {fix}", "lambda_times_m")
    fix = ""
    if in_loss and not decays:
        fix = (f"; Eq. 6 adds lam (||W1||^2 + ||W2||^2) to each point's ||x - W2 W1 x||^2, so with your loss's "
               f"factor {c:.6g} on the squared error the penalty in the loss must be {c:.6g} * lam * "
               f"(||W1||^2 + ||W2||^2) = {c * lam:.6g} (||W1||^2 + ||W2||^2), not {pen.text}")
    return result(False, f"your effective lambda is {lam_eff[0]:.6g} = {ratio_lam:.4g} * lam, not lam = {lam:g}: "
                  f"{per_point}{fix}", "wrong_lambda")


def _pair(values: list[float]) -> str:
    values = [v + 0.0 for v in values]  # -0.0 reads as 0
    if abs(values[0] - values[1]) <= 1e-4 * max(abs(values[0]), abs(values[1]), 1e-300):
        return f"{values[0]:.6g}"
    return f"{values[0]:.6g} (W1) and {values[1]:.6g} (W2)"
