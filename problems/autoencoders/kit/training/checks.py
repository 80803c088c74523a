"""Checks of the regularized linear autoencoder set-up (Eq. 6), judged from the training driver's measurements.

The case's value is what ``sandbox/regularized_training.py`` measured in the sandbox
(plain data); its expected value is the closed form from the reference solution; the timed check also
gets the grader's progress ticks and the reference's timing on this machine (``training/``).

- ``linear_structure``: W1 (k x m) and W2 (m x k), told apart by their shapes (or, where shapes cannot,
  as the nn.Linear modules in registration order), nothing else trainable and no bias, a forward map that
  is x -> W2 W1 x (probed, not read off the code), and backpropagation giving both weights that map's
  gradients;
- ``effective_objective``: the loss (with any penalty it reads from the weights) plus the optimizer's weight
  decay minimise Eq. 6's per-point summand up to a positive factor: the effective lambda equals lam, for
  both weights. Where the grader's training of the same setup says otherwise (it reached the closed form,
  or settled on another lambda's), the feedback says that the two disagree and what each measured;
- ``timed_training``: the grader's training of the student's setup reaches the closed form within the
  budget (time by the grader's clock, and steps); otherwise says why (diverged, no progress, converged to
  another point and which, budget exhausted). Where the reference cannot be timed on this machine, a run
  that needed its budget is not graded: an error that blames the machine (:class:`~grader.checks.NotGraded`),
  which the next ``grade`` run regrades.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.kit import AnswerError, CaseData, NotGraded, Status, Verdict

from .. import kit
from .closed_form import distance, eq6_loss, from_expected, target_singular_values
from .curve import ProtocolError, explain_mismatch, no_progress, read_run
from .objective import Objective, analyse_objective
from .structure import analyse_structure

MALFORMED = "the training driver's measurements are malformed (did the code interfere with the grader's driver?)"
DEVICE_CHARS = 80  #: the most of the sandbox's device name kept (it comes from the student's process)
UNTIMED = ("not graded: the grader could not time the reference solution on this machine, so there is no "
           "time budget to judge your training against; this is the machine's failure, not your code's, and "
           "this check will be graded again")


@dataclass(frozen=True)
class _Timing:
    seconds: float
    steps: int
    device: str


def _device(value: dict[str, Any], fallback: str = "") -> str:
    return str(value.get("device", fallback))[:DEVICE_CHARS]


def _value(data: CaseData) -> dict[str, Any]:
    parts = ("structure", "loss", "penalty", "optimizer", "training")
    if not isinstance(data.value, dict) or not all(k in data.value for k in parts):
        raise AnswerError(MALFORMED, Status.ERROR)
    return data.value


def _closed_form(data: CaseData):
    return from_expected(data.expected[data.entry.returns[0]])


def _shape(data: CaseData) -> tuple[int, int, float, float]:
    X = np.asarray(data.inputs["X"])
    return X.shape[1], int(np.asarray(data.inputs["W1_init"]).shape[0]), float(data.inputs["lam"]), float(data.inputs["lr"])


class StructureParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


@kit.check("linear_structure", StructureParams)
def linear_structure(data: CaseData, p: StructureParams) -> Verdict:
    """W1 (k x m) and W2 (m x k) and nothing else, no bias, a forward map equal to x -> W2 W1 x, and its gradients."""
    value = _value(data)
    m, k, _, _ = _shape(data)
    try:
        report = analyse_structure(value["structure"], m, k)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise AnswerError(f"{MALFORMED} ({type(exc).__name__})", Status.ERROR) from exc
    if report.ok:
        names = _weight_names(value["structure"])
        return Verdict(True, f"two bias-free linear maps, W1 ({k} x {m}) and W2 ({m} x {k}){names}; the forward "
                             "map is x -> W2 W1 x (probed on basis vectors and linear combinations), and "
                             "backpropagation gives both weights its gradients")
    return Verdict(False, report.explain(), diagnosis=report.diagnosis)


def _weight_names(structure: dict) -> str:
    ident = structure.get("weights") or {}
    if ident.get("how") not in ("shape", "order"):
        return ""
    return f" ({ident['W1']['name']} and {ident['W2']['name']}, told apart by their " + \
        ("shapes)" if ident["how"] == "shape" else "registration order)")


class ObjectiveParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    rtol: float = Field(1e-3, gt=0, lt=0.5, description="relative tolerance on the effective lambda")
    training_tol: float = Field(1e-3, gt=0, lt=0.5, description="distance to the closed form at which the grader's "
                                                                "training counts as having reached it (as the "
                                                                "training check's tol)")
    lambda_rtol: float = Field(0.05, gt=0, lt=1, description="relative difference between the effective lambda "
                                                             "and the one a converged run fits, beyond which the "
                                                             "two readings disagree")


@kit.check("effective_objective", ObjectiveParams)
def effective_objective(data: CaseData, p: ObjectiveParams) -> Verdict:
    """The loss plus the optimizer's weight decay minimise Eq. 6's per-point summand (effective lambda = lam)."""
    value = _value(data)
    m, k, lam, lr = _shape(data)
    try:
        objective = analyse_objective(value["loss"], value["penalty"], value["optimizer"], m, lam, lr, p.rtol)
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError) as exc:
        raise AnswerError(f"{MALFORMED} ({type(exc).__name__})", Status.ERROR) from exc
    result = objective.data()
    conflict = _disagreement(data, value, objective, m, k, lam, p)
    if conflict is not None:
        result["disagrees_with_training"] = True
        return Verdict(False, conflict, diagnosis="disagrees_with_training", data=result)
    return Verdict(objective.ok, objective.text, diagnosis=objective.diagnosis, data=result)


def _disagreement(data: CaseData, value: dict, objective: Objective, m: int, k: int, lam: float,
                  p: ObjectiveParams) -> str | None:
    """Where the grader's training of the same setup contradicts the objective's reading (it reached Eq. 6's
    closed form, or settled on another lambda's minimiser), the two measurements side by side; None where they
    agree or the training says nothing about the objective (not trained, not settled, or the model differs
    from Eq. 6's, which the structure check explains)."""
    training = value.get("training")
    if not isinstance(training, dict) or not training.get("steps"):
        return None
    W1s, W2s = training.get("W1"), training.get("W2")
    if not isinstance(W1s, np.ndarray) or not isinstance(W2s, np.ndarray) or W1s.ndim != 3 or len(W1s) == 0:
        return None
    try:
        if not analyse_structure(value["structure"], m, k).ok:
            return None
        cf = _closed_form(data)
        if W1s.shape[1:] != (cf.k, cf.U.shape[0]) or W2s.shape[1:] != (cf.U.shape[0], cf.k):
            return None
        best = min(distance(a, b, cf).value for a, b in zip(W1s, W2s))
        reached = bool(np.isfinite(best) and best <= p.training_tol)
        fitted = None
        if not reached and training.get("stopped") == "stalled":
            fitted = explain_mismatch(W1s[-1], W2s[-1], cf, p.training_tol).fitted_lambda
    except (KeyError, TypeError, ValueError, IndexError, np.linalg.LinAlgError):
        return None
    read = f"the probes of your loss and optimizer read: {objective.reading}"
    lam_eff = objective.effective_lambda
    same = None not in lam_eff and \
        abs(lam_eff[0] - lam_eff[1]) <= p.rtol * max(abs(lam_eff[0]), abs(lam_eff[1]), 1e-300)
    if reached and not objective.ok:
        if same and lam_eff[0] > 0 and np.max(np.abs(target_singular_values(cf.s[:cf.k], lam_eff[0])
                                                     - cf.singular_values)) <= p.training_tol:
            return None  # that lambda's closed form lies within the training's tolerance of Eq. 6's: no conflict
        seen = (f"the grader's training of the same setup reached Eq. 6's closed form for lam = {lam:g} (distance "
                f"{best:.3g} <= {p.training_tol:g})")
    elif fitted is not None and (objective.ok or same):
        expected = lam if objective.ok else float(lam_eff[0])
        if abs(fitted - expected) <= p.lambda_rtol * max(fitted, abs(expected)):
            return None
        seen = (f"the grader's training of the same setup settled where Eq. 6 with lambda {fitted:.4g} = "
                f"{fitted / lam:.3g} * lam has its minimum")
    else:
        return None
    return (f"the objective probes and the grader's training disagree: {read}; but {seen}. The two measurements "
            "cannot both describe your setup (does it behave differently on the training data, or from one call "
            "to the next?); this result needs a person to look at it")


class TimedTrainingParams(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    tol: float = Field(1e-3, gt=0, lt=0.5, description="largest rotation-invariant distance to the closed form")
    multiple: float = Field(5.0, ge=1, description="time budget: this many times the reference's time-to-target")
    floor_seconds: float = Field(10.0, gt=0, description="the time budget is never below this")
    step_multiple: float = Field(4.0, ge=1, description="step budget: this many times the reference's steps")
    max_steps: int = Field(5000, ge=10, description="most steps the grader ever trains for")
    snapshot_every: int = Field(10, ge=1, description="steps between snapshots (and ticks)")
    stall_rtol: float = Field(1e-6, gt=0, description="relative change per snapshot below which weights have stopped")
    stall_patience: int = Field(3, ge=1, description="snapshots without change before the run counts as stopped")
    without_reference_seconds: float = Field(60.0, gt=0, description="time budget where no reference can be "
                                                                     "timed (a student release)")
    device: Literal["auto", "cpu"] = Field("auto", description="auto: a CUDA GPU when the sandbox has one")

    @model_validator(mode="after")
    def _steps(self) -> "TimedTrainingParams":
        if self.max_steps < self.snapshot_every:
            raise ValueError("max_steps must be at least snapshot_every")
        return self


def _hint(data: CaseData, value: dict, m: int, k: int, lam: float, lr: float,
          tol: float) -> tuple[str, list | None, Objective | None]:
    """The objective's reading of the setup, for the training check's explanations (best effort), the
    effective lambda, and the reading itself where the training does not contradict it (None otherwise)."""
    try:
        objective = analyse_objective(value["loss"], value["penalty"], value["optimizer"], m, lam, lr)
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
        return "", None, None
    if _disagreement(data, value, objective, m, k, lam, ObjectiveParams(training_tol=tol)) is not None:
        return ("the objective check's probes read your setup differently from what this training shows: see "
                "the objective check"), objective.effective_lambda, None
    parts = []
    try:
        if not analyse_structure(value["structure"], m, k).ok:
            parts.append("the structure check explains how your model differs from Eq. 6's")
    except (KeyError, TypeError, ValueError, IndexError):
        pass
    if objective.lr_ratio is not None and abs(objective.lr_ratio - 1) > 0.05:
        parts.append(f"your effective learning rate on Eq. 6's summand is {objective.lr_ratio:.3g} times the "
                     f"grader's lr = {lr:g}")
    if objective.optimizer.momentum and abs(objective.optimizer.momentum) > 1e-3:
        parts.append(f"your optimizer uses momentum {objective.optimizer.momentum:.3g}")
    if objective.ok and objective.optimizer.kind == "coupled":
        parts.append(f"{objective.optimizer.name} takes adaptive steps: it has Eq. 6's minimisers, but at a "
                     f"constant lr = {lr:g} it need not settle on them; Eq. 6 is trained SGD-style "
                     "(torch.optim.SGD)")
    if not objective.ok and objective.diagnosis:
        parts.append("the objective check explains what your setup minimises instead")
    return "; ".join(parts), objective.effective_lambda, objective


@kit.check("timed_training", TimedTrainingParams)
def timed_training(data: CaseData, p: TimedTrainingParams) -> Verdict:
    """The grader trains the setup: it reaches the closed form of Eq. 6 within the time and step budgets."""
    value = _value(data)
    m, k, lam, lr = _shape(data)
    info = dict(data.context or {})
    cf = _closed_form(data)
    training = value["training"]
    if not isinstance(training, dict):
        raise AnswerError(MALFORMED, Status.ERROR)
    if training.get("skipped") or ("error" in training and not training.get("steps")):
        return Verdict(False, f"not trained: {training.get('error')}", diagnosis="not_trained",
                       data=_data(info, value, None))
    try:
        run = read_run(training, data.ticks, np.asarray(data.inputs["X"]), cf, p.tol,
                       (np.asarray(data.inputs["W1_init"]), np.asarray(data.inputs["W2_init"])))
    except ProtocolError as exc:
        raise AnswerError(f"{exc}: your code interfered with the grader's training driver", Status.ERROR) from exc
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise AnswerError(f"{MALFORMED} ({type(exc).__name__})", Status.ERROR) from exc
    step_budget = int(info.get("step_budget", p.max_steps))
    if info.get("untimed") and run.steps:  # the reason stays with the staff: it may quote the reference
        raise NotGraded(UNTIMED, f"the reference setup could not be timed on this machine ({info['untimed']})")
    found = info.get("reference") if run.steps else None  # the calibration's data (grader/session.py)
    ref = None if found is None else _Timing(float(found["seconds"]), int(found["steps"]), str(found["device"]))
    budget = float(info.get("budget_seconds", p.without_reference_seconds))
    capped = bool(info.get("capped", False))
    info.update({"budget_seconds": budget, "reference": None if found is None else
                 {k: found[k] for k in ("seconds", "steps", "device", "steps_per_second")}})
    device = _device(value, run.device)
    where = f"on {device}"
    every = f"{info.get('step_multiple', p.step_multiple):g} x the {info['dynamics_steps']} steps Eq. 6's own " \
            "gradient needs" if "dynamics_steps" in info else "the cap"
    if ref is not None:
        context = (f"the reference setup took {ref.seconds:.2f} s and {ref.steps} steps on this machine "
                   f"({ref.device}); budget {budget:.3g} s (the larger of {p.floor_seconds:g} s and "
                   f"{p.multiple:g} x the reference) and {step_budget} steps ({every})")
    else:
        context = (f"no reference timing here (a student release): budget {budget:.3g} s and {step_budget} "
                   f"steps ({every})")
    if capped:
        context += "; the time budget is capped by the problem's call limit"
    hint, effective_lambda, reading = _hint(data, value, m, k, lam, lr, p.tol)
    hinted = f" ({hint})" if hint else ""
    result = _data(info, value, run)
    result.update({"effective_lambda": effective_lambda, "tol": p.tol,
                   "optimum_loss": eq6_loss(np.asarray(data.inputs["X"], dtype=np.float64), lam, cf.W1(), cf.W2())})
    if run.reached is not None:
        t, steps = run.time_to_target, run.steps_to_target
        if t <= budget and steps <= step_budget:
            return Verdict(True, f"reached the closed form of Eq. 6 (rotation-invariant distance <= {p.tol:g}) after "
                                 f"{t:.2f} s and {steps} steps {where}; {context}", data=result)
        if steps > step_budget:
            return Verdict(False, f"reached the closed form only after {steps} steps, over the step budget of "
                                  f"{step_budget}{hinted}; {context}", diagnosis="too_many_steps", data=result)
        return Verdict(False, f"reached the closed form only after {t:.2f} s, over the time budget of {budget:.3g} s "
                              f"(each step is slow: {_rate(run)}); {context}", diagnosis="over_budget", data=result)
    if run.error:
        return Verdict(False, f"training failed after {run.steps[-1] if run.steps else 0} steps: {run.error}",
                       diagnosis="training_error", data=result)
    if not run.steps:
        return Verdict(False, "training produced no snapshot", diagnosis="not_trained", data=result)
    last = len(run.steps) - 1
    if run.diverged:
        first_bad = next((i for i, d in enumerate(run.distances) if not d.finite), last)
        return Verdict(False, f"diverged: the weights became NaN or infinite by step {run.steps[first_bad]} "
                              f"({run.seconds[first_bad]:.2f} s){hinted}; with the reference setup the grader's "
                              f"learning rate lr = {lr:g} converges", diagnosis="diverged", data=result)
    if no_progress(run):
        return Verdict(False, f"no progress: the weights did not move in {run.steps[-1]} steps (does "
                              "build_optimizer optimise model.parameters(), with a nonzero learning rate, and does "
                              "the loss depend on the prediction?)", diagnosis="no_progress", data=result)
    mismatch = explain_mismatch(run.W1[last], run.W2[last], cf, p.tol, reading)
    result["fitted_lambda"] = mismatch.fitted_lambda
    d = run.distances[last].value
    if run.stopped == "stalled":
        return Verdict(False, f"training converged (the weights stopped moving after {run.steps[last]} steps, "
                              f"{run.seconds[last]:.2f} s) but not to the minimiser of Eq. 6: {mismatch.text}{hinted}",
                       diagnosis=mismatch.diagnosis, data=result)
    ran_out = "step" if run.stopped == "max_steps" else "time"
    return Verdict(False, f"the {ran_out} budget ran out after {run.steps[last]} steps and {run.seconds[last]:.2f} s "
                          f"before the weights reached the closed form (distance {d:.3g}, tolerance {p.tol:g}): "
                          f"{mismatch.text}{hinted}; {context}", diagnosis="budget_exhausted", data=result)


def _rate(run) -> str:
    rate = run.steps_per_second
    return f"{rate:.0f} steps/s" if rate else "no rate measured"


def _data(info: dict, value: dict, run) -> dict[str, Any]:
    """The check's data for reports (the keys report.py reads), plain values only."""
    out: dict[str, Any] = {"device": _device(value) if "device" in value else None, "reference": info.get("reference"),
                           "budget_seconds": info.get("budget_seconds"), "step_budget": info.get("step_budget"),
                           "dynamics_steps": info.get("dynamics_steps")}
    if run is not None:
        out.update({"time_to_target": run.time_to_target, "steps_to_target": run.steps_to_target,
                    "steps_per_second": run.steps_per_second, "stopped": run.stopped, "curve": run.curve()})
    return out
