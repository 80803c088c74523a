"""What the student's model is, read from the driver's probes (``probe_structure`` in
``sandbox/_regularized_probes.py``): exactly two bias-free ``nn.Linear`` maps, W1 (k x m) then
W2 (m x k), a forward map equal to x -> W2 W1 x (probed on basis vectors and linear combinations, not read
off the code), and the gradients of that map reaching both weights (a detached encoder, a frozen weight or
a gradient hook leaves the forward map right and trains something else).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .gaps import LINEAR_RTOL, short_class
from .gaps import as_array as _arr
from .gaps import relative_gap as _rel

CONTAINERS = {"torch.nn.modules.container.Sequential", "torch.nn.modules.container.ModuleList",
              "torch.nn.modules.container.ModuleDict", "torch.nn.modules.linear.Linear",
              "torch.nn.modules.linear.Identity", "torch.nn.modules.flatten.Flatten"}
WEIGHTS = ("the encoder's weight W1", "the decoder's weight W2")


@dataclass
class Structure:
    ok: bool
    problems: list[str] = field(default_factory=list)
    diagnosis: str | None = None
    forward_map: np.ndarray | None = None  #: A with f(x) = A x + b, when the forward map is affine

    def explain(self) -> str:
        return "; ".join(self.problems)


def analyse_structure(data: dict, m: int, k: int) -> Structure:
    """Exactly two bias-free linear maps W1 (k x m), W2 (m x k), a forward map equal to x -> W2 W1 x, and
    that map's gradients reaching both weights."""
    if "error" in data:
        return Structure(False, [f"build_model({m}, {k}) failed: {data['error']}"], "model_error")
    problems: list[str] = []
    diagnoses: list[str] = []

    def problem(text: str, diagnosis: str) -> None:
        problems.append(text)
        diagnoses.append(diagnosis)

    linears = data.get("linears") or []
    shapes = [(int(l["in"]), int(l["out"])) for l in linears]
    shown = ", ".join(f"Linear({i}, {o})" for i, o in shapes) or "none"
    if len(linears) == 1:
        problem(f"the model has one nn.Linear ({shown}); Eq. 6 factors the map through k = {k} dimensions as "
                f"W2 W1: an encoder nn.Linear({m}, {k}) (W1, {k} x {m}) then a decoder nn.Linear({k}, {m}) "
                f"(W2, {m} x {k})", "one_linear_layer")
    elif len(linears) != 2:
        problem(f"the model has {len(linears)} nn.Linear modules ({shown}); Eq. 6 has exactly two: an encoder "
                f"nn.Linear({m}, {k}) then a decoder nn.Linear({k}, {m})", "layer_count")
    elif shapes == [(k, m), (m, k)]:
        problem(f"the decoder is registered first ({shown}): register the encoder nn.Linear({m}, {k}) (W1) "
                f"before the decoder nn.Linear({k}, {m}) (W2)", "layers_swapped")
    elif shapes != [(m, k), (k, m)]:
        problem(f"the linear maps are {shown}; Eq. 6 needs an encoder nn.Linear({m}, {k}) (W1 is {k} x {m}) "
                f"then a decoder nn.Linear({k}, {m})", "wrong_shapes")
    biased = [i for i, l in enumerate(linears[:2]) if l.get("bias")]
    if biased:
        which = "the encoder and the decoder have biases" if len(biased) == 2 else \
            f"the {('encoder', 'decoder')[biased[0]]} has a bias"
        problem(f"{which}: nn.Linear adds one by default (bias=True), and Eq. 6's model W2 W1 x "
                "has none (a bias changes both the model and its minimiser); pass bias=False", "bias")
    computed = [i for i, l in enumerate(linears[:2]) if l.get("parameter") is False]
    if computed:
        which = " and ".join(("W1", "W2")[i] for i in computed)
        problem(f"{which} {'is' if len(computed) == 1 else 'are'} computed from other parameters (a "
                "parametrization such as weight_norm or spectral_norm): Eq. 6 trains W1 and W2 themselves, "
                "each with its own penalty lam ||W||^2", "parametrized")
    names = {l.get("name") for l in linears}
    extra = [p for p in data.get("parameters", [])
             if not any(p[0] in (f"{n}.weight", f"{n}.bias") or (n == "" and p[0] in ("weight", "bias"))
                        for n in names)]
    if extra:
        listed = ", ".join(f"{p[0]} {tuple(p[1])}" for p in extra[:6])
        problem(f"the model has parameters besides W1 and W2: {listed}", "extra_parameters")
    others = sorted({short_class(c) for name, c in data.get("modules", [])[1:] if c not in CONTAINERS})
    forward = data.get("forward") or {}
    A = None
    if "error" in forward:
        problem(f"calling the model on a batch of shape (B, {m}) failed: {forward['error']}", "forward_error")
    elif forward:
        basis = _arr(forward["basis"])
        if basis.shape != (m, m):
            problem(f"the model maps a batch of shape ({m}, {m}) to shape {basis.shape}; it should return "
                    f"the reconstruction, shape (B, {m})", "output_shape")
        else:
            A, nonlinear = _forward_map(forward)
            where = f" (the model contains {', '.join(others)})" if others else ""
            if nonlinear > LINEAR_RTOL:
                problem(f"the forward map is not linear: f(2x - 3y) differs from 2 f(x) - 3 f(y) by "
                        f"{nonlinear:.2g} (relative){where}; Eq. 6's model is x -> W2 W1 x, with nothing "
                        "between the two linear maps (no activation)", "nonlinear")
                A = None
            batch = _rel(_arr(forward["single"]), _arr(forward["batch"]))
            again = _rel(_arr(forward["again"]), _arr(forward["batch"]))
            if again > LINEAR_RTOL:
                problem(f"the forward map is random (two calls on the same batch differ by {again:.2g}){where}; "
                        "Eq. 6 has no dropout or noise", "random_forward")
            elif batch > LINEAR_RTOL:
                problem(f"the output for a point depends on the other points of its batch (by {batch:.2g})"
                        f"{where}; Eq. 6 treats each point on its own (no batch statistics)", "batch_dependent")
            if A is not None and "W1" in data and not biased and len(linears) == 2 and shapes == [(m, k), (k, m)]:
                product = _arr(data["W2"]) @ _arr(data["W1"])
                gap = _rel(A, product)
                offset = float(np.linalg.norm(_arr(forward["zero"])))
                if gap > LINEAR_RTOL:
                    problem(f"the forward map is linear but is not W2 W1 x (it differs from the product of the "
                            f"two nn.Linear weights by {gap:.2g}, relative){where}: nothing else may act in the "
                            "forward path (no skip connection, scaling or extra layer)", "not_w2w1")
                elif offset > 1e-6 * max(1.0, float(np.linalg.norm(A))):
                    problem(f"the model maps 0 to a nonzero output (norm {offset:.2g}): Eq. 6's model has no "
                            "offset", "bias")
                else:
                    for text, diagnosis in _gradient_problems(data, linears):
                        problem(text, diagnosis)
    if not problems:
        return Structure(True, [], None, A)
    return Structure(False, problems, diagnoses[0], A)


def _forward_map(forward: dict) -> tuple[np.ndarray, float]:
    """A (f(x) = A x + b, from the basis probes) and how far f is from affine on the combination probes."""
    b = _arr(forward["zero"])
    A = (_arr(forward["basis"]) - b).T
    c = forward["combo"]
    fx, fy = _arr(c["fx"]) - b, _arr(c["fy"]) - b
    errors = [_rel(_arr(c["f_combo"]) - b, 2 * fx - 3 * fy), _rel(_arr(c["f_scaled"]) - b, 10 * fx),
              _rel(_arr(c["f_neg"]) - b, -fx), _rel(_arr(c["fx"]) - b, _arr(c["x"]) @ A.T)]
    return A, max(errors)


def _gradient_problems(data: dict, linears: list[dict]) -> list[tuple[str, str]]:
    """Whether backpropagation through the model gives W1 and W2 the gradients of x -> W2 W1 x: for
    sum(G * f(X)) they are W2^T G^T X and G^T X W1^T."""
    probe = data.get("gradient")
    if not probe:
        return []
    if "error" in probe:
        return [(f"backpropagating through the model failed: {probe['error']}", "backward_error")]
    X, G = _arr(probe["points"]), _arr(probe["G"])
    W1, W2 = _arr(data["W1"]), _arr(data["W2"])
    frozen = {p[0] for p in data.get("parameters", []) if len(p) > 2 and not p[2]}
    found = []
    for i, (got, want) in enumerate(zip((probe["W1"], probe["W2"]), (W2.T @ G.T @ X, G.T @ X @ W1.T))):
        name = linears[i].get("name", "")
        if f"{name}.weight" in frozen or (name == "" and "weight" in frozen):
            found.append((f"{WEIGHTS[i]} is frozen (requires_grad=False): training cannot move it, and Eq. 6 "
                          "is minimised over both weights", "frozen_weight"))
            continue
        scale = float(np.linalg.norm(want))
        if got is None or (scale > 0 and not np.any(_arr(got))):
            found.append((f"{WEIGHTS[i]} gets no gradient through the model: the forward map is right, but "
                          "the forward pass cuts the weight off from backpropagation (a .detach(), "
                          "torch.no_grad() or .data in forward), so training cannot move it", "no_gradient"))
            continue
        got = _arr(got)
        gap = _rel(got, want)
        if gap <= LINEAR_RTOL:
            continue
        factor = float(np.sum(got * want) / scale ** 2) if scale > 0 else 0.0
        how = (f"{factor:.3g} times that of x -> W2 W1 x" if _rel(got, factor * want) <= LINEAR_RTOL
               else f"not that of x -> W2 W1 x (it differs by {gap:.2g}, relative)")
        found.append((f"the gradient reaching {WEIGHTS[i]} is {how}: the forward map is right, but a gradient "
                      "hook or a custom autograd function changes what training follows", "wrong_gradient"))
    return found

