"""The training run as the grader saw it: snapshots of (W1, W2) timed by the grader's own clock.

The driver ticks once when training starts and once per snapshot; the runner timestamps every tick
with the grader's clock (``CallOutcome.ticks``), so snapshot i was taken ``ticks[i + 1] - ticks[0]``
seconds into training, whatever the sandbox's clocks say. Every distance and loss is recomputed here
from the snapshot weights and the trusted data; the driver's own judgement (when it stopped) only
says why the run ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .closed_form import ClosedForm, Distance, distance, eq6_loss, fitted_lambdas
from .gaps import relative_gap

if TYPE_CHECKING:
    from .objective import Objective


INITIAL_RTOL = 1e-2  #: the first snapshot against the grader's initial weights (a 16-bit model rounds them)


class ProtocolError(Exception):
    """The measurements and the grader's progress events do not fit together (interference)."""


@dataclass
class Run:
    steps: list[int]
    seconds: list[float]  #: since training started, by the grader's clock, one per snapshot
    distances: list[Distance]
    losses: list[float]  #: Eq. 6's L_lam at each snapshot (the grader's computation)
    student_losses: list[float]  #: the mean of the student's per-point loss (as reported)
    stopped: str  #: why the driver stopped: target, diverged, stalled, budget, max_steps, error
    error: str | None
    device: str
    W1: np.ndarray | None  #: snapshots, S x k x m
    W2: np.ndarray | None
    reached: int | None = None  #: the first snapshot within the tolerance
    tol: float = 1e-3
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def time_to_target(self) -> float | None:
        return None if self.reached is None else self.seconds[self.reached]

    @property
    def steps_to_target(self) -> int | None:
        return None if self.reached is None else self.steps[self.reached]

    @property
    def diverged(self) -> bool:
        return bool(self.distances) and not self.distances[-1].finite or self.stopped == "diverged"

    @property
    def steps_per_second(self) -> float | None:
        if len(self.steps) < 2 or self.seconds[-1] <= 0:
            return None
        return self.steps[-1] / self.seconds[-1]

    def curve(self) -> dict[str, list]:
        """The training curve for reports: distance to the closed form and losses against time."""
        return {"seconds": [round(t, 6) for t in self.seconds], "step": list(self.steps),
                "distance": [_num(d.value) for d in self.distances], "loss": [_num(v) for v in self.losses],
                "student_loss": [_num(v) for v in self.student_losses]}


def _num(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def read_run(training: dict, ticks: tuple[float, ...], X: np.ndarray, cf: ClosedForm, tol: float,
             initial: tuple[np.ndarray, np.ndarray] | None = None) -> Run:
    """Rebuild the run from the driver's snapshots and the grader's ticks; raises :class:`ProtocolError`.

    ``initial``: the grader's initial (W1, W2), which the first snapshot (taken before any step) must be:
    weights that already moved were changed outside the optimizer's step (a model that solves Eq. 6 from
    its batch).
    """
    steps = [int(s) for s in training.get("steps", [])]
    W1 = training.get("W1")
    W2 = training.get("W2")
    if steps:
        if not isinstance(W1, np.ndarray) or not isinstance(W2, np.ndarray):
            raise ProtocolError("the training snapshots are missing")
        if W1.shape != (len(steps), cf.k, cf.U.shape[0]) or W2.shape != (len(steps), cf.U.shape[0], cf.k):
            raise ProtocolError(f"the training snapshots have shapes {W1.shape} and {W2.shape}")
        if any(b <= a for a, b in zip(steps, steps[1:])) or steps[0] != 0:
            raise ProtocolError("the snapshots' step numbers are not increasing from 0")
        if initial is not None and not all(relative_gap(first[0], start) <= INITIAL_RTOL  # False for NaN
                                           for first, start in ((W1, initial[0]), (W2, initial[1]))):
            raise ProtocolError("the weights before the first step are not the grader's initial weights (they "
                                "changed outside optimizer.step())")
    if len(ticks) != len(steps) + 1:
        raise ProtocolError(f"the grader received {len(ticks)} progress events for {len(steps)} snapshots "
                            "(one when training starts and one per snapshot are expected)")
    start = ticks[0] if ticks else 0.0
    seconds = [float(t - start) for t in ticks[1:]]
    distances = [distance(W1[i], W2[i], cf) for i in range(len(steps))]
    Xf = np.asarray(X, dtype=np.float64)
    losses = [eq6_loss(Xf, cf.lam, W1[i], W2[i]) if distances[i].finite else float("nan") for i in range(len(steps))]
    student = [float(v) for v in training.get("loss", [])][: len(steps)]
    reached = next((i for i, d in enumerate(distances) if d.finite and d.value <= tol), None)
    return Run(steps, seconds, distances, losses, student, str(training.get("stopped", "")),
               training.get("error"), str(training.get("device", "")), W1 if steps else None,
               W2 if steps else None, reached, tol)


def no_progress(run: Run) -> bool:
    """The weights never moved from the grader's initial weights."""
    if run.W1 is None or len(run.steps) < 2:
        return False
    moved = np.linalg.norm(run.W1[-1] - run.W1[0]) + np.linalg.norm(run.W2[-1] - run.W2[0])
    size = np.linalg.norm(run.W1[0]) + np.linalg.norm(run.W2[0])
    return bool(moved <= 1e-9 * max(size, 1e-12))


@dataclass
class Mismatch:
    text: str
    fitted_lambda: float | None = None
    diagnosis: str = "wrong_minimiser"


def explain_mismatch(W1: np.ndarray, W2: np.ndarray, cf: ClosedForm, tol: float,
                     objective: "Objective | None" = None) -> Mismatch:
    """Why trained weights that stopped moving are not the closed form, in terms a student can act on.

    ``objective``: the objective check's reading of the setup, where the training does not contradict it
    (None: unknown). Only it can say whether a weight is penalised (the singular values cannot: W2's grow
    past 1 both without any penalty and with a penalty on W1 alone); without it they are described, not
    explained.
    """
    d = distance(W1, W2, cf)
    reading = None if objective is None else objective.diagnosis
    lam_eff = None if objective is None else objective.effective_lambda
    target = cf.singular_values
    sigma = np.asarray(d.sigma)
    parts: list[str] = []
    fitted = None
    shown = ", ".join(f"{v:.4f}" for v in sigma)
    wanted = ", ".join(f"{v:.4f}" for v in target)
    if sigma.size and float(np.max(sigma)) <= 1e-3:
        parts.append(f"the weights shrank to zero (W2's singular values {shown}; Eq. 6 with lam = {cf.lam:g} "
                     f"keeps all {cf.k} directions, with {wanted}): every direction switched off, as happens "
                     f"when the effective lambda is above the largest eigenvalue s_1 = {cf.s[0]:.4g}")
    elif d.singular > tol and reading == "unequal_decay" and None not in lam_eff:
        parts.append(f"W2's singular values are {shown}, where Eq. 6 gives sqrt(1 - lam/s_i) = {wanted} (largest "
                     f"difference {d.singular:.3g}): W1 and W2 are penalised differently (effective lambda "
                     f"{lam_eff[0] + 0.0:.4g} for W1, {lam_eff[1] + 0.0:.4g} for W2: see the objective check), where "
                     f"Eq. 6 puts lam = {cf.lam:g} on both")
    elif d.singular > tol:
        s = cf.s[: cf.k]
        on = sigma > 0.1  # directions still on; the others switched off (or are switching off)
        lams = fitted_lambdas(sigma[on], s[on])
        common = float(np.median(lams)) if lams.size else None
        consistent = (common is not None and common > 0 and np.all(np.abs(lams - common) <= 0.05 * common)
                      and np.all(s[~on] <= 1.05 * common))
        if consistent:
            fitted = common
            off = int((~on).sum())
            parts.append(f"W2's singular values are {shown}; Eq. 6 with lam = {cf.lam:g} gives sqrt(1 - lam/s_i) "
                         f"= {wanted}. Yours match sqrt(1 - lam'/s_i) with lam' = {common:.4g} = "
                         f"{common / cf.lam:.3g} * lam: the setup minimises Eq. 6 with another lambda"
                         + (f" ({off} direction(s) with s_i <= lam' switch off)" if off else ""))
        elif sigma.size and np.all(sigma >= 1 - 1e-3) and reading in ("no_weight_decay", "detached_penalty"):
            why = (": your loss's penalty is computed from detached weights, so it has no gradient (see the "
                   "objective check)" if reading == "detached_penalty" else "")
            parts.append(f"W2's singular values are {shown}, none shrunk below 1, where Eq. 6's penalty makes them "
                         f"sqrt(1 - lam/s_i) = {wanted}: the weights are not penalised (as with lambda = 0){why}")
        elif sigma.size and np.all(sigma >= 1 - 1e-3):  # no reading says why: described, not explained
            parts.append(f"W2's singular values are {shown}, none below 1, where Eq. 6's penalty shrinks them to "
                         f"sqrt(1 - lam/s_i) = {wanted}")
        else:
            parts.append(f"W2's singular values are {shown}, where Eq. 6 gives {wanted} (largest difference "
                         f"{d.singular:.3g})")
    angle = _significant_angle(W2, cf)  # directions that switched off have no meaningful angle
    if angle > tol:
        parts.append(f"the column space of W2 is not in the top-{cf.k} principal subspace (largest principal "
                     f"angle {np.degrees(np.arcsin(min(angle, 1.0))):.3g} degrees)")
    if d.balance > tol:
        parts.append(f"W1 is not W2^T (relative difference {d.balance:.3g}); at Eq. 6's minimum the encoder is "
                     "the decoder's transpose, which equal penalties on W1 and W2 enforce")
    if not parts:
        parts.append(f"the distance to the closed form is {d.value:.3g} (tolerance {tol:g})")
    return Mismatch("; ".join(parts), fitted)


def _significant_angle(W2: np.ndarray, cf: ClosedForm, floor: float = 0.1) -> float:
    """The sine of the largest angle between W2's directions with singular value above ``floor`` and span(U_k)."""
    U2, sigma, _ = np.linalg.svd(np.asarray(W2, dtype=np.float64), full_matrices=False)
    Q = U2[:, sigma > floor]
    if Q.shape[1] == 0:
        return 0.0
    return float(min(np.linalg.norm(Q - cf.Uk @ (cf.Uk.T @ Q), 2), 1.0))
